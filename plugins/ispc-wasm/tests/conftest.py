"""Fixtures for the wasm engine tests.

The helpers live in ``wasm_support.py``; they are loaded here under the unique
module name ``ispc_wasm_testsupport`` (test directories of several plugins are
collected together with ``--import-mode=importlib``, so a plain ``conftest``
or ``wasm_support`` import could resolve to another directory's module).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("ispc_wasm_testsupport", Path(__file__).with_name("wasm_support.py"))
support = importlib.util.module_from_spec(_spec)
sys.modules["ispc_wasm_testsupport"] = support
_spec.loader.exec_module(support)


@pytest.fixture(scope="session")
def host_functions():
    return support.make_host_functions()


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    from ispc_wasm import WasmEngine

    eng = WasmEngine(cache_dir=tmp_path_factory.mktemp("wasm-cache"))
    yield eng
    eng.close()


@pytest.fixture
def harness(engine, host_functions):
    ledger = support.MemoryLedger(balances={support.CALLER: 1_000, support.RECIPIENT: 5})
    return support.Harness(engine, host_functions, ledger)
