"""Plugin discovery, selection, failure reporting and name lookups (ispc_core.plugins).

Third-party plugins are simulated by real (if tiny) distributions written into
``tmp_path``: a ``<name>-<version>.dist-info`` folder with METADATA and
entry_points.txt next to the plugin module, put on ``sys.path``. The plugin
manager then finds them through ``importlib.metadata`` and stevedore exactly as
it finds installed distributions.
"""

from __future__ import annotations

import logging
import textwrap

import pytest

from ispc_core import hookimpl
from ispc_core.errors import NotProvided, PluginConflict, PluginError
from ispc_core.plugins import ENTRY_POINT_GROUP, HOOKS, KNOWN_PROVIDERS, PluginManager, hook_names
from ispc_core.specs import EngineSpec, ProofExecutorSpec, ProverSpec
from ispc_testdoubles import TestEnginePlugin, TestProverPlugin

BUILTINS = {"core-host-functions", "core-policies", "core-submitters", "core-executors", "core-evidence"}


@pytest.fixture(autouse=True)
def _clean_plugin_env(monkeypatch):
    for var in ("ISPC_STRICT_PLUGINS", "ISPC_LOAD_PLUGINS", "ISPC_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)


def make_distribution(root, dist: str, version: str, entry_points: dict[str, str], modules: dict[str, str]):
    """Write a minimal installed distribution into ``root`` (call before putting ``root`` on sys.path)."""
    info = root / f"{dist}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = [f"[{ENTRY_POINT_GROUP}]"] + [f"{name} = {target}" for name, target in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))
    return root


@pytest.fixture
def fakeplug(tmp_path, monkeypatch):
    """A distribution ``fakeplug`` 0.1 whose plugin module raises at import."""
    root = make_distribution(
        tmp_path / "site",
        "fakeplug",
        "0.1",
        {"fakeboom": "fakeplug_boom"},
        {"fakeplug_boom": 'raise RuntimeError("kaboom at import")\n'},
    )
    monkeypatch.syspath_prepend(str(root))
    return root


@pytest.fixture
def good_dist(tmp_path, monkeypatch):
    """A distribution ``fakegood`` 2.3 whose plugin provides a prover ``fakeprover``."""
    root = make_distribution(
        tmp_path / "site-good",
        "fakegood",
        "2.3",
        {"fakegood": "fakegood_plugin"},
        {
            "fakegood_plugin": """
                from ispc_core import hookimpl
                from ispc_core.specs import ProverSpec

                @hookimpl
                def ispc_provers():
                    return [ProverSpec(name="fakeprover", curves=("bn254",), factory=lambda services: None)]
                """
        },
    )
    monkeypatch.syspath_prepend(str(root))
    return root


# --- built-ins through entry points ---------------------------------------------


def test_builtins_are_discovered_through_the_entry_point_group():
    pm = PluginManager()
    infos = {i.name: i for i in pm.list_plugins()}
    assert BUILTINS <= set(infos)
    for name in BUILTINS:
        assert infos[name].distribution == "ispc-core"
        assert infos[name].status == "active"
        assert infos[name].version  # the installed version of ispc-core
    assert infos["core-host-functions"].hooks == ["ispc_host_functions"]
    assert infos["core-host-functions"].kinds == ["host function"]
    assert "host function:tx.transfer" in infos["core-host-functions"].provides
    assert "submitter:mempool" in infos["core-submitters"].provides
    assert pm.get("ispc_host_functions", "tx.transfer").name == "tx.transfer"


def test_without_entry_points_the_builtins_are_absent():
    pm = PluginManager(load_entry_points=False)
    assert not BUILTINS & {i.name for i in pm.list_plugins()}
    assert pm.collect("ispc_host_functions") == []


def test_third_party_distribution_is_discovered_like_the_builtins(good_dist):
    pm = PluginManager()
    infos = {i.name: i for i in pm.list_plugins()}
    info = infos["fakegood"]
    assert (info.distribution, info.version, info.status) == ("fakegood", "2.3", "active")
    assert info.hooks == ["ispc_provers"] and info.kinds == ["prover"]
    assert info.provides == ["prover:fakeprover"]
    assert pm.get("ispc_provers", "fakeprover").curves == ("bn254",)


def test_plugin_appearing_after_a_first_manager_is_loaded(tmp_path, monkeypatch):
    # a first manager in this process fills stevedore's entry-point caches
    assert "latecomer" not in {i.name for i in PluginManager().list_plugins()}
    root = make_distribution(
        tmp_path / "late",
        "latecomer",
        "1.0",
        {"latecomer": "latecomer_plugin"},
        {
            "latecomer_plugin": """
                from ispc_core import hookimpl
                from ispc_core.specs import SubmitterSpec

                @hookimpl
                def ispc_submitters():
                    return [SubmitterSpec(name="late", factory=lambda node: None)]
                """
        },
    )
    monkeypatch.syspath_prepend(str(root))
    pm = PluginManager()
    assert {i.name: i.status for i in pm.list_plugins()}["latecomer"] == "active"
    assert pm.get("ispc_submitters", "late").name == "late"


# --- failures at import -----------------------------------------------------------


def test_plugin_failing_at_import_is_reported_and_skipped(fakeplug, caplog):
    with caplog.at_level(logging.WARNING, logger="ispc_core.plugins"):
        pm = PluginManager()
    infos = {i.name: i for i in pm.list_plugins()}
    failed = infos["fakeboom"]
    assert failed.status == "failed"
    assert failed.distribution == "fakeplug" and failed.version == "0.1"
    assert failed.error == "RuntimeError: kaboom at import"
    assert failed.hooks == [] and failed.provides == []
    # the report names the entry point, its distribution and the error
    assert any(
        "fakeboom" in r.getMessage() and "fakeplug" in r.getMessage() and "kaboom at import" in r.getMessage()
        for r in caplog.records
    )
    # everything else still loaded
    assert all(infos[n].status == "active" for n in BUILTINS)
    assert pm.get("ispc_submitters", "mempool").name == "mempool"


def test_failing_plugin_is_fatal_in_strict_mode_by_argument(fakeplug):
    with pytest.raises(PluginError) as err:
        PluginManager(strict=True)
    msg = str(err.value)
    assert "fakeboom" in msg and "fakeplug" in msg and "RuntimeError: kaboom at import" in msg


def test_failing_plugin_is_fatal_with_ISPC_STRICT_PLUGINS(fakeplug, monkeypatch):
    monkeypatch.setenv("ISPC_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="fakeboom"):
        PluginManager()
    # strict=False given explicitly wins over the environment
    assert {i.name: i.status for i in PluginManager(strict=False).list_plugins()}["fakeboom"] == "failed"


def test_disabling_a_failing_plugin_avoids_importing_it(fakeplug, monkeypatch):
    monkeypatch.setenv("ISPC_STRICT_PLUGINS", "1")
    monkeypatch.setenv("ISPC_DISABLE_PLUGINS", "fakeboom")
    pm = PluginManager()  # would raise if the module were imported
    assert {i.name: i.status for i in pm.list_plugins()}["fakeboom"] == "disabled"


def test_not_provided_names_a_known_distribution_that_failed(fakeplug, monkeypatch):
    monkeypatch.setitem(KNOWN_PROVIDERS, ("prover", "boomprover"), "fakeplug")
    pm = PluginManager()
    with pytest.raises(NotProvided) as err:
        pm.get("ispc_provers", "boomprover")
    assert "fakeplug is installed but failed" in str(err.value)
    assert "kaboom at import" in str(err.value)


# --- selection ----------------------------------------------------------------------


def test_ISPC_DISABLE_PLUGINS_disables_by_entry_point_name(monkeypatch):
    monkeypatch.setenv("ISPC_DISABLE_PLUGINS", "core-evidence, core-submitters")
    pm = PluginManager()
    status = {i.name: i.status for i in pm.list_plugins()}
    assert status["core-evidence"] == "disabled"
    assert status["core-submitters"] == "disabled"
    assert status["core-host-functions"] == "active"
    assert pm.named("ispc_submitters") == {}
    with pytest.raises(NotProvided):
        pm.get("ispc_submitters", "mempool")


def test_ISPC_LOAD_PLUGINS_loads_only_the_named(monkeypatch):
    monkeypatch.setenv("ISPC_LOAD_PLUGINS", "core-host-functions,core-policies")
    pm = PluginManager()
    status = {i.name: i.status for i in pm.list_plugins()}
    assert status["core-host-functions"] == "active"
    assert status["core-policies"] == "active"
    others = {n: s for n, s in status.items() if n not in {"core-host-functions", "core-policies"}}
    assert others and set(others.values()) == {"disabled"}
    assert pm.collect("ispc_submitters") == []


def test_explicit_selection_arguments_beat_the_environment(monkeypatch):
    monkeypatch.setenv("ISPC_DISABLE_PLUGINS", "core-host-functions")
    pm = PluginManager(disable=["core-policies"], load=["core-host-functions", "core-policies", "core-submitters"])
    status = {i.name: i.status for i in pm.list_plugins()}
    assert status["core-host-functions"] == "active"
    assert status["core-policies"] == "disabled"
    assert status["core-submitters"] == "active"
    assert status["core-evidence"] == "disabled"


# --- name lookups -----------------------------------------------------------------


@pytest.mark.parametrize(
    "hook, name, dist",
    [
        ("ispc_provers", "plonk", "ispc-plonk"),
        ("ispc_provers", "groth16", "ispc-groth16"),
        ("ispc_proof_executors", "dask", "ispc-dask"),
    ],
)
def test_not_provided_lists_choices_and_the_distribution_to_install(hook, name, dist):
    # entry points are not loaded, so the providing distributions are absent even where they are installed
    from ispc_core.builtins import executors

    pm = PluginManager(load_entry_points=False, extra_plugins=[TestProverPlugin(), executors])
    with pytest.raises(NotProvided) as err:
        pm.get(hook, name)
    msg = str(err.value)
    kind = HOOKS[hook][0]
    assert msg.startswith(f"no {kind} {name!r} is installed; choose one of: ")
    assert msg.endswith(f"install {dist}")
    available = sorted(pm.named(hook))
    assert available, "the registry offers something to choose from"
    for choice in available:
        assert choice in msg


def test_not_provided_for_an_unknown_engine_has_no_install_hint():
    pm = PluginManager(load_entry_points=False, extra_plugins=[TestEnginePlugin()])
    with pytest.raises(NotProvided) as err:
        pm.get("ispc_engines", "cobol")
    assert str(err.value) == "no engine 'cobol' is installed; choose one of: test"


def test_not_provided_when_nothing_is_installed():
    pm = PluginManager(load_entry_points=False)
    with pytest.raises(NotProvided, match=r"choose one of: \(none installed\) — install ispc-plonk"):
        pm.get("ispc_provers", "plonk")


class _ExecutorPlugin:
    def __init__(self, label):
        self.__name__ = label

    @hookimpl
    def ispc_proof_executors(self):
        return [ProofExecutorSpec(name="inline", factory=lambda address, config: None)]


def test_two_plugins_providing_one_name_conflict():
    # the built-in core-executors already provides "inline"
    pm = PluginManager(extra_plugins=[_ExecutorPlugin("shadow-executors")])
    with pytest.raises(PluginConflict) as err:
        pm.get("ispc_proof_executors", "inline")
    msg = str(err.value)
    assert "core-executors" in msg and "shadow-executors" in msg and "'inline'" in msg
    assert "ISPC_DISABLE_PLUGINS" in msg
    # disabling one resolves it
    pm = PluginManager(extra_plugins=[_ExecutorPlugin("shadow-executors")], disable=["core-executors"])
    assert pm.get("ispc_proof_executors", "inline").name == "inline"


def test_two_third_party_engines_with_one_name_conflict():
    a, b = TestEnginePlugin(), TestEnginePlugin()
    pm = PluginManager(load_entry_points=False, extra_plugins=[a, b])
    with pytest.raises(PluginConflict, match="TestEnginePlugin-0 and TestEnginePlugin-1"):
        pm.named("ispc_engines")


class _SelfDuplicating:
    __name__ = "self-dup"

    @hookimpl
    def ispc_provers(self):
        spec = ProverSpec(name="twice", curves=("bn254",), factory=lambda s: None)
        return [spec, spec]


def test_one_plugin_providing_a_name_twice_conflicts():
    pm = PluginManager(load_entry_points=False, extra_plugins=[_SelfDuplicating()])
    with pytest.raises(PluginConflict, match="self-dup provides the prover 'twice' twice"):
        pm.named("ispc_provers")


# --- wrong types -------------------------------------------------------------------


class _WrongType:
    __name__ = "wrong-type"

    @hookimpl
    def ispc_engines(self):
        return ["not an EngineSpec"]


def test_plugin_returning_the_wrong_type_is_reported(caplog):
    good = TestEnginePlugin()
    pm = PluginManager(load_entry_points=False, extra_plugins=[_WrongType(), good])
    with caplog.at_level(logging.WARNING, logger="ispc_core.plugins"):
        engines = pm.named("ispc_engines")
    assert list(engines) == ["test"]  # the bad plugin's items are skipped, the good one's kept
    info = {i.name: i for i in pm.list_plugins()}["wrong-type"]
    assert info.status == "failed"
    assert "wrong-type" in info.error and "ispc_engines" in info.error
    assert "returned str, expected EngineSpec" in info.error
    assert any("wrong-type" in r.getMessage() and "EngineSpec" in r.getMessage() for r in caplog.records)


def test_plugin_returning_the_wrong_type_is_fatal_in_strict_mode():
    pm = PluginManager(load_entry_points=False, extra_plugins=[_WrongType()], strict=True)
    with pytest.raises(PluginError, match=r"'wrong-type' failed in ispc_engines: TypeError: .*expected EngineSpec"):
        pm.collect("ispc_engines")


class _RaisingHook:
    __name__ = "raising-hook"

    @hookimpl
    def ispc_provers(self):
        raise ValueError("no GPU here")


def test_plugin_whose_hook_raises_is_reported_and_skipped():
    pm = PluginManager(load_entry_points=False, extra_plugins=[_RaisingHook(), TestProverPlugin()])
    assert list(pm.named("ispc_provers")) == ["testproof"]
    info = {i.name: i for i in pm.list_plugins()}["raising-hook"]
    assert info.status == "failed" and "ValueError: no GPU here" in info.error


class _BadHookName:
    __name__ = "bad-hook-name"

    @hookimpl
    def ispc_engine(self):  # typo: not a hookspec
        return []


def test_plugin_with_an_unknown_hook_is_reported_or_fatal():
    pm = PluginManager(load_entry_points=False, extra_plugins=[_BadHookName()])
    info = {i.name: i for i in pm.list_plugins()}["bad-hook-name"]
    assert info.status == "failed" and "ispc_engine" in info.error
    with pytest.raises(PluginError, match="bad-hook-name"):
        PluginManager(load_entry_points=False, extra_plugins=[_BadHookName()], strict=True)


# --- listing ----------------------------------------------------------------------


def test_list_plugins_shows_name_version_kind_hooks_status(fakeplug, good_dist):
    pm = PluginManager(extra_plugins=[TestProverPlugin()], disable=["core-evidence"])
    infos = pm.list_plugins()
    assert [i.name for i in infos] == sorted(i.name for i in infos)
    by = {i.name: i for i in infos}
    assert by["fakegood"].to_json() == {
        "name": "fakegood",
        "distribution": "fakegood",
        "version": "2.3",
        "status": "active",
        "hooks": ["ispc_provers"],
        "kinds": ["prover"],
        "provides": ["prover:fakeprover"],
        "error": "",
    }
    direct = by["TestProverPlugin-0"]
    assert direct.distribution == "(registered directly)" and direct.status == "active"
    assert direct.hooks == ["ispc_circuits", "ispc_provers"]
    assert direct.kinds == ["circuit", "prover"]
    assert set(direct.provides) == {"prover:testproof", "circuit:test_circuit"}
    assert by["core-evidence"].status == "disabled"
    assert by["fakeboom"].status == "failed"
    # listing twice does not duplicate what a plugin provides
    assert pm.list_plugins()[0].provides == infos[0].provides
    assert len(by["core-host-functions"].provides) == len(set(by["core-host-functions"].provides))


def test_hook_names_are_the_hookspecs():
    assert hook_names() == sorted(HOOKS)
    assert "ispc_engines" in hook_names() and "ispc_provers" in hook_names()


def test_engine_registered_directly_is_usable():
    spec = PluginManager(load_entry_points=False, extra_plugins=[TestEnginePlugin()]).get("ispc_engines", "test")
    assert isinstance(spec, EngineSpec) and spec.kinds == ("test",) and spec.suffixes == (".testprog",)
