"""Named tensor inputs read from a JSON file (``ispc call --input FILE``, the demo).

The file is either ``{"inputs": {name: tensor}}`` or ``{name: tensor}``; a
tensor is ``{"data": [...], "dtype": "float32", "shape": [1, 16]}`` (``dtype``
and ``shape`` optional) or a plain JSON value passed through unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ispc_core import boundedjson
from ispc_core.errors import RequestError


def load_json_inputs(path: str | Path) -> dict[str, Any]:
    """The named inputs in the JSON file at ``path``: name -> numpy array (or plain value).

    Raises :class:`RequestError` naming the file when it cannot be read, is not
    UTF-8 JSON, is nested too deeply, or does not hold an object of name -> tensor.
    """
    import numpy as np

    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise RequestError(f"cannot read input file {path}: {exc.strerror or exc}") from None
    try:
        doc = boundedjson.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RequestError(f"input file {path} is not UTF-8 text (byte {raw[exc.start:exc.start + 1]!r} at offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise RequestError(f"input file {path} is not JSON: {exc}") from None
    except RecursionError:
        raise RequestError(f"input file {path}: JSON nested too deeply") from None
    inputs = doc.get("inputs", doc) if isinstance(doc, dict) else None
    if not isinstance(inputs, dict):
        raise RequestError(f"input file {path}: expected an object of name -> tensor")
    out = {}
    for name, value in inputs.items():
        if isinstance(value, dict) and "data" in value:
            try:
                arr = np.array(value["data"], dtype=value.get("dtype"))
                if "shape" in value:
                    arr = arr.reshape(value["shape"])
            except (TypeError, ValueError, RecursionError) as exc:
                raise RequestError(f"input {name!r} in {path}: {type(exc).__name__ if isinstance(exc, RecursionError) else exc}") from None
            out[name] = arr
        else:
            out[name] = value
    return out
