"""The ``ispc`` command line (ispc_core.cli), driven through click's CliRunner.

The CLI opens its node through entry points only, so the scripted test engine
is installed the way any third-party engine would be: a small distribution
(``fakeengine-0.1.dist-info`` with an ``ispc`` entry point) written into
``tmp_path`` and put on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from ispc_core.cli import main, parse_call_arg
from ispc_core.config import default_toml
from ispc_core.errors import RequestError
from ispc_testdoubles import program

TESTS_DIR = Path(__file__).resolve().parent

PROGRAM = {
    "hello": [["event.emit", "greet", "hex:00ff"], ["result.set", "hex:abcd"], ["env.block_height"]],
    "pay": [["tx.transfer", "$0", "$1"]],
    "put": [["state.set", "$0", "$1"]],
}


def make_engine_distribution(root: Path) -> Path:
    """A distribution ``fakeengine`` 0.1 whose entry point ``test-engine`` is the scripted test engine."""
    info = root / "fakeengine-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeengine\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ispc]\ntest-engine = ispc_fake_testengine:plugin\n")
    (root / "ispc_fake_testengine.py").write_text(
        "from ispc_testdoubles import TestEnginePlugin\nplugin = TestEnginePlugin()\n"
    )
    return root


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A CLI environment: the test engine installed, proofs off on a development chain that accepts
    unproven executions (``chain.accept_unproven``, part of the chain's genesis), a node home made by ``ispc init``."""
    for var in ("ISPC_STRICT_PLUGINS", "ISPC_LOAD_PLUGINS", "ISPC_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.syspath_prepend(str(make_engine_distribution(tmp_path / "site")))
    monkeypatch.setenv("ISPC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ISPC_PROOF_MODE", "off")
    monkeypatch.setenv("ISPC_CHAIN_ACCEPT_UNPROVEN", "true")
    prog = tmp_path / "contract.testprog"
    prog.write_bytes(program(PROGRAM))
    run("init")  # the only command that creates a chain
    return tmp_path


def run(*args, ok=True):
    result = CliRunner().invoke(main, list(args))
    if ok:
        assert result.exit_code == 0, (result.output, result.stderr, result.exception)
    return result


def run_json(*args):
    return json.loads(run(*args, "--json").stdout)


def deploy(env) -> str:
    return run("deploy", str(env / "contract.testprog")).stdout.strip()


def address(name: str) -> str:
    return run_json("balance", name)["address"]


def assert_one_error_line(result, *fragments):
    assert result.exit_code == 1, (result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output
    return lines[0]


# --- commands ---------------------------------------------------------------------


def test_init_creates_config_keys_and_genesis(env):
    home = env / "fresh"
    result = run("--home", str(home), "init")
    assert (home / "ispc.toml").is_file()
    assert "node home ready: chain ispc-dev, height 0" in result.stdout
    for key in ("alice", "bob", "node"):
        assert f"key {key}: " in result.stdout
    assert "balance 1000000" in result.stdout
    assert tomllib.loads((home / "ispc.toml").read_text()) == tomllib.loads(default_toml())
    # a second init refuses the existing chain and keeps an edited config; --force rewrites both
    (home / "ispc.toml").write_text("[limits]\nfuel = 5\n")
    assert_one_error_line(run("--home", str(home), "init", ok=False), "already has a chain", "--force")
    assert (home / "ispc.toml").read_text() == "[limits]\nfuel = 5\n"
    assert "already exists" not in run("--home", str(home), "init", "--force").stdout
    assert (home / "ispc.toml").read_text() == default_toml()


def test_deploy_prints_the_resource_id_and_json(env):
    rid = deploy(env)
    assert len(rid) == 64 and bytes.fromhex(rid)
    data = run_json("deploy", str(env / "contract.testprog"))
    assert data == {"resource_id": rid, "kind": "test", "exports": ["hello", "pay", "put"], "created": False}


def test_deploy_unknown_kind_is_one_error_line(env, tmp_path):
    bogus = tmp_path / "thing.xyz"
    bogus.write_bytes(b"hello")
    assert_one_error_line(run("deploy", str(bogus), ok=False), "kind")
    assert_one_error_line(run("deploy", str(tmp_path / "missing.testprog"), ok=False), "no such file")


def test_call_json_has_stable_keys(env):
    rid = deploy(env)
    data = run_json("call", rid, "hello")
    assert set(data) == {"tx_id", "values", "return_data", "events", "usage", "execution_result_hash", "proof"}
    assert len(data["tx_id"]) == 64 and len(data["execution_result_hash"]) == 64
    assert data["values"] == [0]  # env.block_height at genesis
    assert data["return_data"] == "abcd"
    assert data["events"] == [{"topic": "greet", "data": "00ff"}]
    assert data["proof"] is None
    assert data["usage"]["host_calls"] == 3
    # text output
    text = run("call", rid, "hello").stdout
    assert text.startswith("tx ")
    assert "event greet 00ff" in text and "proof none (proof.mode = off)" in text


def test_call_a_file_deploys_it_first(env):
    data = run_json("call", str(env / "contract.testprog"), "hello")
    assert data["return_data"] == "abcd"


def test_tx_show_mempool_list_mine_and_balance(env):
    assert run("mempool", "list").stdout.strip() == "(empty)"
    rid = deploy(env)
    # a deploy is a transaction: pending until mined (and deploying the same bytes again adds nothing)
    [dep] = run_json("mempool", "list")
    assert (dep["function"], dep["inputs"], dep["outputs"]) == ("", 0, 1)
    assert run_json("deploy", str(env / "contract.testprog"))["created"] is False
    assert [row["tx_id"] for row in run_json("mempool", "list")] == [dep["tx_id"]]
    assert run_json("tx", "show", dep["tx_id"])["status"] == "pending"
    assert run_json("mine")["tx_count"] == 1
    assert run_json("tx", "show", dep["tx_id"])["status"] == "confirmed"
    bob = address("bob")
    assert run_json("balance", "bob") == {"address": bob, "balance": 0}
    assert run("mempool", "list").stdout.strip() == "(empty)"
    pay = run_json("call", rid, "pay", "0x" + bob, "25", "--caller", "alice")
    hello = run_json("call", rid, "hello")

    pending = run_json("mempool", "list")
    assert [row["tx_id"] for row in pending] == [pay["tx_id"], hello["tx_id"]]
    assert set(pending[0]) == {"tx_id", "inputs", "outputs", "function"}
    assert pending[0]["function"] == "pay" and pending[0]["inputs"] >= 1

    shown = run_json("tx", "show", pay["tx_id"])
    assert shown["status"] == "pending" and shown["tx_id"] == pay["tx_id"]
    assert shown["transaction"]["execution"]["function"] == "pay"
    assert "height" not in shown

    block = run_json("mine")
    assert set(block) == {"height", "hash", "time", "tx_count"}
    assert block["height"] == 2 and block["tx_count"] == 2
    assert run_json("mine") == {"block": None}
    assert run("mine").stdout.strip() == "mempool empty; no block made"
    assert run_json("mempool", "list") == []

    shown = run_json("tx", "show", pay["tx_id"])
    assert shown["status"] == "confirmed" and shown["height"] == 2
    assert run("balance", "bob").stdout.strip() == "25"
    assert run_json("balance", bob)["balance"] == 25  # by address as well as key name


def test_plugins_list(env):
    text = run("plugins", "list").stdout
    assert "core-host-functions" in text and "ispc-core" in text and "active" in text
    assert "test-engine" in text and "fakeengine" in text and "provides engine:test" in text
    data = run_json("plugins", "list")
    by = {p["name"]: p for p in data}
    assert set(by["test-engine"]) == {"name", "distribution", "version", "status", "hooks", "kinds", "provides", "error"}
    assert by["test-engine"]["distribution"] == "fakeengine" and by["test-engine"]["version"] == "0.1"
    assert by["core-submitters"]["provides"] == ["submitter:mempool"]


def test_plugins_list_honours_disable(env, monkeypatch):
    monkeypatch.setenv("ISPC_DISABLE_PLUGINS", "test-engine")
    by = {p["name"]: p for p in run_json("plugins", "list")}
    assert by["test-engine"]["status"] == "disabled"
    assert by["core-host-functions"]["status"] == "active"


# --- errors: one line on stderr, exit 1 -----------------------------------------------


def test_unknown_resource(env):
    deploy(env)  # something is deployed, just not this
    line = assert_one_error_line(run("call", "ab" * 32, "hello", ok=False), "no resource", "ab" * 8)
    assert "deployed" in line
    assert_one_error_line(run("call", "abcd", "hello", ok=False), "64 hex")


def test_unknown_function(env):
    rid = deploy(env)
    assert_one_error_line(run("call", rid, "nope", ok=False), "'nope'", "hello, pay, put")


def test_malformed_argument(env):
    rid = deploy(env)
    assert_one_error_line(run("call", rid, "pay", "zz", ok=False), "malformed argument 'zz'")
    assert_one_error_line(run("call", rid, "pay", "0xzz", ok=False), "malformed argument '0xzz'")
    assert_one_error_line(run("call", rid, "hello", "--data", "xyz", ok=False), "--data")


def test_unknown_caller_key(env):
    rid = deploy(env)
    assert_one_error_line(run("call", rid, "hello", "--caller", "mallory", ok=False), "mallory")


def test_insufficient_balance(env):
    rid = deploy(env)
    after_deploy = run_json("mempool", "list")
    alice = address("alice")
    line = assert_one_error_line(run("call", rid, "pay", "0x" + alice, "5", "--caller", "bob", ok=False))
    assert "has 0" in line and "needs 5" in line
    assert run_json("mempool", "list") == after_deploy  # nothing half-built reached the mempool


def test_a_default_chain_refuses_an_unproven_call(env, monkeypatch):
    monkeypatch.delenv("ISPC_CHAIN_ACCEPT_UNPROVEN")
    home = str(env / "strict")
    run("--home", home, "init")  # chain.accept_unproven = false: the default
    rid = run("--home", home, "deploy", str(env / "contract.testprog")).stdout.strip()
    after_deploy = run_json("--home", home, "mempool", "list")
    line = assert_one_error_line(run("--home", home, "--proof-mode", "off", "call", rid, "hello", ok=False),
                                 "rejected (proof)", "no proof", "accepts no unproven executions")
    assert "Traceback" not in line
    assert run_json("--home", home, "mempool", "list") == after_deploy  # nothing written
    # the chain's rules are in its genesis: a node configured with other rules does not open it
    assert_one_error_line(run("--home", home, "--set", "chain.accept_unproven=true", "mempool", "list", ok=False),
                          "other rules")
    # while the development chain of the fixture accepts the same call
    monkeypatch.setenv("ISPC_CHAIN_ACCEPT_UNPROVEN", "true")
    assert run_json("call", deploy(env), "hello")["proof"] is None


def test_unknown_transaction_and_key(env):
    assert_one_error_line(run("tx", "show", "00" * 32, ok=False), "no transaction")
    assert_one_error_line(run("tx", "show", "nothex", ok=False), "not hex")
    assert_one_error_line(run("balance", "mallory", ok=False), "mallory")


def test_bad_configuration_is_one_error_line(env, monkeypatch):
    monkeypatch.setenv("ISPC_PROOF_MDOE", "off")  # unknown env vars are ignored ...
    run("mempool", "list")
    (env / "home" / "ispc.toml").write_text('[proof]\nmdoe = "off"\n')  # ... unknown file keys are not
    assert_one_error_line(run("mempool", "list", ok=False), "proof.mdoe")
    assert_one_error_line(run("plugins", "list", ok=False), "proof.mdoe")


def test_missing_prover_is_one_error_line(env, monkeypatch):
    monkeypatch.setenv("ISPC_PROOF_MODE", "sync")
    monkeypatch.setenv("ISPC_PLUGINS_DISABLE", "plonk")  # installed here, so switch it off
    rid = deploy(env)
    line = assert_one_error_line(run("--scheme", "plonk", "call", rid, "hello", ok=False), "plonk")
    assert "ispc-plonk is installed but disabled" in line


@pytest.mark.parametrize(
    "text, value",
    [("42", 42), ("-7", -7), ("0x00ff", b"\x00\xff"), ("0x", b""), ("str:hi there", "hi there"), ("str:", "")],
)
def test_parse_call_arg(text, value):
    assert parse_call_arg(text) == value


@pytest.mark.parametrize("text", ["", "1.5", "0xabc", "hello", "0b101"])
def test_parse_call_arg_rejects(text):
    with pytest.raises(RequestError, match="malformed argument"):
        parse_call_arg(text)


# --- the real console script ---------------------------------------------------------


def test_console_script_plugins_list_json(tmp_path):
    site = make_engine_distribution(tmp_path / "site")
    ispc = Path(sys.executable).with_name("ispc")
    assert ispc.is_file(), "the ispc console script is installed next to the interpreter"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ISPC_")}
    environ["PYTHONPATH"] = os.pathsep.join([str(site), str(TESTS_DIR)])
    environ["ISPC_HOME"] = str(tmp_path / "home")
    proc = subprocess.run(
        [str(ispc), "plugins", "list", "--json"], capture_output=True, text=True, env=environ, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    by = {p["name"]: p for p in data}
    assert by["core-host-functions"]["distribution"] == "ispc-core"
    assert by["core-host-functions"]["status"] == "active"
    assert by["test-engine"]["kinds"] == ["engine"] and by["test-engine"]["provides"] == ["engine:test"]
    assert [p["name"] for p in data] == sorted(by)

    bad = subprocess.run(
        [str(ispc), "--set", "proof.mdoe=off", "plugins", "list"], capture_output=True, text=True, env=environ, timeout=60
    )
    assert bad.returncode == 1
    assert bad.stderr.splitlines() == [bad.stderr.strip()] and bad.stderr.startswith("error: ")
