"""The examples in the core's docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "ispc_core.config",
    "ispc_core.commitment",
    "ispc_core.trace",
    "ispc_core.builtins.evidence",
    "ispc_core.coordinator",
    "ispc_core.proofjobs.runner",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
