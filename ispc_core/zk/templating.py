"""A very small text template language, for the provers' Solidity verifier templates.

The text between tags is copied exactly (no whitespace is trimmed around tags, as
in EJS without ``-%>``), which is what lets a template reproduce another tool's
output byte for byte. Tags:

``<%= EXPR %>``
    the value of the Python expression ``EXPR`` (``str()`` of it);
``<% for NAME in EXPR %>`` … ``<% end %>``
    the body once per item of ``EXPR``, with ``NAME`` bound to the item;
``<% if EXPR %>`` … [``<% else %>`` …] ``<% end %>``
    one branch or the other;
``<% # … %>``
    a comment (renders as nothing).

Expressions see the values passed to :func:`render`, the loop variables and the
builtins ``len``, ``max``, ``min``, ``range``, ``int``, ``str`` — nothing else.
Templates are trusted text shipped with a plugin; the *values* need not be (they
are only ever inserted, never evaluated).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = ["TemplateError", "render"]

_TAG = re.compile(r"<%(=?)(.*?)%>", re.S)
_BUILTINS = {"len": len, "max": max, "min": min, "range": range, "int": int, "str": str}


class TemplateError(ValueError):
    """The template itself is broken (unbalanced blocks, an unknown statement)."""


def _expr(src: str):
    try:
        return compile(src.strip(), "<template>", "eval")
    except SyntaxError as exc:
        raise TemplateError(f"template expression {src.strip()!r}: {exc.msg}") from None


@lru_cache(maxsize=32)
def _parse(text: str) -> list:
    """The template as a tree: ``str`` | ``("=", code)`` | ``("for", name, code, body)`` | ``("if", code, then, else)``."""
    root: list = []
    stack: list[tuple[str, list, Any]] = [("root", root, None)]
    pos = 0
    for m in _TAG.finditer(text):
        if m.start() > pos:
            stack[-1][1].append(text[pos : m.start()])
        pos = m.end()
        body = m.group(2).strip()
        if m.group(1):
            stack[-1][1].append(("=", _expr(body)))
            continue
        word = body.split(None, 1)[0] if body else ""
        if word.startswith("#") or not body:
            continue
        if word == "for":
            fm = re.fullmatch(r"for\s+([A-Za-z_]\w*)\s+in\s+(.+)", body, re.S)
            if fm is None:
                raise TemplateError(f"template: malformed for statement {body!r}")
            node = ("for", fm.group(1), _expr(fm.group(2)), [])
            stack[-1][1].append(node)
            stack.append(("for", node[3], node))
        elif word == "if":
            node = ("if", _expr(body[2:]), [], [])
            stack[-1][1].append(node)
            stack.append(("if", node[2], node))
        elif body == "else":
            kind, _, node = stack[-1]
            if kind != "if":
                raise TemplateError("template: else outside an if")
            stack[-1] = ("else", node[3], node)
        elif body == "end":
            if len(stack) == 1:
                raise TemplateError("template: end without a block")
            stack.pop()
        else:
            raise TemplateError(f"template: unknown statement {body!r}")
    if len(stack) != 1:
        raise TemplateError(f"template: {len(stack) - 1} block(s) not closed")
    if pos < len(text):
        root.append(text[pos:])
    return root


def _render(nodes: list, scope: dict[str, Any], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif node[0] == "=":
            out.append(str(eval(node[1], {"__builtins__": _BUILTINS}, scope)))
        elif node[0] == "for":
            _, name, code, body = node
            for item in eval(code, {"__builtins__": _BUILTINS}, scope):
                _render(body, {**scope, name: item}, out)
        else:
            _, code, then, other = node
            _render(then if eval(code, {"__builtins__": _BUILTINS}, scope) else other, scope, out)


def render(template: str, values: dict[str, Any]) -> str:
    """``template`` with its tags replaced, ``values`` in scope (see the module docstring)."""
    out: list[str] = []
    _render(_parse(template), dict(values), out)
    return "".join(out)
