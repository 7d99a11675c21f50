"""Fixtures: the example MLP of ispc-onnx and its input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "ispc-onnx" / "examples"


@pytest.fixture(scope="session")
def mlp_bytes() -> bytes:
    return (EXAMPLES / "mlp.onnx").read_bytes()


@pytest.fixture(scope="session")
def mlp_input() -> np.ndarray:
    d = json.loads((EXAMPLES / "mlp_input.json").read_text())["inputs"]["x"]
    return np.array(d["data"], dtype=np.float32).reshape(d["shape"])
