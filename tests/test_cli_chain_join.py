"""A second node joins a chain from `ispc chain spec` and takes its transactions with `ispc tx submit`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ispc_core.cli import main
from ispc_testdoubles import program

ENV = {"ISPC_PROOF_MODE": "off", "ISPC_CHAIN_ACCEPT_UNPROVEN": "true"}


def run(*args, ok=True):
    res = CliRunner(env=ENV).invoke(main, list(map(str, args)), catch_exceptions=False)
    assert (res.exit_code == 0) == ok, res.output
    return res.output


def test_join_by_spec_then_submit(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run("--home", a, "init")
    run("--home", a, "chain", "spec", "-o", tmp_path / "chain.toml")
    run("--home", b, "init", "--chain", tmp_path / "chain.toml")
    rid = json.loads(run("--home", a, "deploy", "contracts/counter.wasm", "--json"))["resource_id"]
    run("--home", a, "call", rid, "increment", "5", "--caller", "alice")
    pending = json.loads(run("--home", a, "mempool", "list", "--json"))
    assert len(pending) == 2  # the deploy, then the call
    for row in pending:
        out = tmp_path / f"{row['tx_id']}.bin"
        run("--home", a, "tx", "export", row["tx_id"], "-o", out)
        assert json.loads(run("--home", b, "tx", "submit", out, "--json")) == {"accepted": True, "tx_id": row["tx_id"]}
    assert run("--home", a, "mine") == run("--home", b, "mine")  # the same block on both nodes


def test_a_node_of_another_chain_refuses_and_writes_nothing(tmp_path):
    a, c = tmp_path / "a", tmp_path / "c"
    run("--home", a, "init")
    run("--home", c, "init")  # its own genesis: another chain
    rid = json.loads(run("--home", a, "deploy", "contracts/counter.wasm", "--json"))["resource_id"]
    run("--home", a, "call", rid, "increment", "5", "--caller", "alice")
    call = json.loads(run("--home", a, "mempool", "list", "--json"))[1]["tx_id"]
    out = tmp_path / "call.bin"
    run("--home", a, "tx", "export", call, "-o", out)
    refused = json.loads(run("--home", c, "tx", "submit", out, "--json", ok=False))
    assert refused["accepted"] is False and refused["check"] in ("resource", "journal")
    assert json.loads(run("--home", c, "mempool", "list", "--json")) == []
