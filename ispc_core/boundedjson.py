"""JSON from outside, with its nesting bounded before it is parsed.

``json.loads`` recurses once per nesting level. Python's recursion limit
normally turns a hostile document into a ``RecursionError``, but a process
that has imported ``py_ecc`` runs with a limit of 100000 (``py_ecc`` raises it
on import), and there a document nested some 100000 levels deep overflows the
C stack and kills the process. :func:`loads` checks the depth first with a
linear scan and refuses a deeper document with an ordinary
:class:`json.JSONDecodeError`, which every caller already reports as
malformed JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: deeper than any document ispc reads (tensors have at most 64 dimensions)
MAX_DEPTH = 256

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


def check_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`json.JSONDecodeError` if ``text`` nests arrays/objects deeper than ``max_depth``."""
    if text.count("[") + text.count("{") <= max_depth:
        return
    blanked = _STRING.sub(lambda m: '"' + " " * (len(m.group()) - 2) + '"', text)  # same length: positions hold
    depth = 0
    for m in _BRACKET.finditer(blanked):
        if m.group() in "[{":
            depth += 1
            if depth > max_depth:
                raise json.JSONDecodeError(f"nested more than {max_depth} levels deep", text, m.start())
        else:
            depth -= 1


def loads(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(text)`` after :func:`check_depth`."""
    check_depth(text, max_depth)
    return json.loads(text)
