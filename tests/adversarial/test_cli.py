"""The way a forgery reaches a victim from outside: ``ispc tx submit FILE`` (exit 1, the check named)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ispc_core.node import txcodec

from adversarial import forger


def _submit(net, tx, tmp_path, *extra):
    from ispc_core.cli import main

    path = tmp_path / "forged.tx"
    path.write_bytes(txcodec.encode(tx))
    net.B.close()  # the CLI opens the victim's home itself
    try:
        return CliRunner().invoke(main, ["--home", str(net.home_b), "tx", "submit", str(path), *extra])
    finally:
        net.B = type(net.B).open(net.home_b, create=False)


def _forged_mint(net):
    m = net.mallory.address
    tx = net.execution("token", "transfer", args=(10**6,), input_data=m, journal=[forger.entry("tx.transfer", m, 10**6, result=0)])
    tx.outputs.append(txcodec.native_output(m, 10**6))
    tx.outputs.append(forger.receipt_output(tx))
    return net.forge(tx)


def test_cli_submit_refuses_a_forgery_naming_the_check(net, tmp_path):
    before = net.state()
    res = _submit(net, _forged_mint(net), tmp_path)
    assert res.exit_code == 1, res.output
    assert "refused" in res.output and "(journal)" in res.output and "tx.transfer" in res.output
    assert net.state() == before


def test_cli_submit_json_names_the_check(net, tmp_path):
    before = net.state()
    res = _submit(net, _forged_mint(net), tmp_path, "--json")
    assert res.exit_code == 1, res.output
    data = json.loads(res.output.strip().splitlines()[-1])
    assert data["accepted"] is False and data["check"] == "journal"
    assert net.state() == before


def test_cli_submit_accepts_the_honest_transaction(net, tmp_path):
    tx = net.call("token", "transfer", 3, input_data=net.bob).transaction
    res = _submit(net, tx, tmp_path)
    assert res.exit_code == 0, res.output
    assert "accepted" in res.output
    assert net.B.node.mempool.get(txcodec.tx_id(tx)) is not None
