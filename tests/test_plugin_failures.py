"""Exceptions raised inside third-party plugin code become one typed error naming the plugin and the stage."""

from __future__ import annotations

import pytest

from ispc_core import errors, hookimpl
from ispc_core.context import CallRequest
from ispc_core.coordinator import Manager
from ispc_core.specs import EngineResult, EngineSpec, FunctionSignature, ResourceInfo

UNPROVEN = {"proof.mode": "off", "chain.accept_unproven": True}


class BuggyEngine:
    def validate(self, code, host_functions):
        if code == b"bad-validate":
            return {}["missing"]  # KeyError inside the plugin
        return ResourceInfo(kind="buggy", exports=(FunctionSignature("run"),))

    def execute(self, call):
        return 1 // 0


class BuggyPlugin:
    @hookimpl
    def ispc_engines(self):
        return [EngineSpec(name="buggy-engine", kinds=("buggy",), factory=lambda services: BuggyEngine())]


@pytest.fixture
def m(tmp_path, monkeypatch):
    monkeypatch.delenv("ISPC_TRACEBACK", raising=False)
    with Manager.open(tmp_path / "home", overrides=UNPROVEN, plugins=[BuggyPlugin()]) as manager:
        yield manager


def test_an_engine_bug_at_execute_is_one_typed_error_naming_the_plugin(m):
    rid = m.deploy(b"fine", kind="buggy").resource_id
    before = len(m.node.mempool)
    with pytest.raises(errors.PluginFailure) as exc:
        m.call(CallRequest(rid, "run", caller="alice"))
    assert exc.value.plugin == "buggy-engine" and exc.value.stage == "engine.execute"
    assert "ZeroDivisionError" in str(exc.value) and "test_plugin_failures.py:" in str(exc.value)
    assert isinstance(exc.value.__cause__, ZeroDivisionError)
    assert len(m.node.mempool) == before  # nothing written


def test_an_engine_bug_at_deploy_names_the_stage(m):
    with pytest.raises(errors.PluginFailure, match=r"'buggy-engine' failed in engine.validate: KeyError"):
        m.deploy(b"bad-validate", kind="buggy")


def test_the_traceback_switch_lets_the_original_through(m, monkeypatch):
    rid = m.deploy(b"fine", kind="buggy").resource_id
    monkeypatch.setenv("ISPC_TRACEBACK", "1")
    with pytest.raises(ZeroDivisionError):
        m.call(CallRequest(rid, "run", caller="alice"))
