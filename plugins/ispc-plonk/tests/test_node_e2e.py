"""End to end: a token transfer proven with PLONK on node A is accepted by node B on the same chain that
shares only the SRS (and the circuit definitions, which are code) and the chain configuration: B derives
its keys ahead of time, takes the deploy and the call through ``Manager.submit_transaction`` (verification
exactly as the mempool does it), mines them and shows the same balances. Tampered transactions and a node
with another SRS are refused with the failed check named, and nothing is written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ispc_core.context import CallRequest
from ispc_core.coordinator import Manager
from ispc_core.errors import TransactionRejected
from ispc_core.node import txcodec
from ispc_core.node.keys import KeyStore
from ispc_core.verify import verify_transaction
from ispc_core.zk.formats.ptau import generate_insecure_ptau

TOKEN = Path(__file__).resolve().parents[3] / "contracts" / "token.wasm"
PLONK = {"proof.mode": "sync", "proof.scheme": "plonk", "proof.curve": "bn254"}


@pytest.fixture(scope="module")
def srs(tmp_path_factory):
    """A development SRS of 2^15 (contract_execution.v1/64 is 22k PLONK gates)."""
    path = tmp_path_factory.mktemp("srs") / "srs.ptau"
    path.write_bytes(generate_insecure_ptau("bn254", 15, lagrange=False))
    return path


def _home(tmp_path: Path, name: str, srs: Path) -> Path:
    home = tmp_path / name
    (home / "zkkeys").mkdir(parents=True)
    shutil.copy(srs, home / "zkkeys" / "srs.ptau")
    return home


@pytest.fixture(scope="module")
def proven(tmp_path_factory, srs):
    """A token transfer proven with PLONK on node A: the call's result, the transactions A's mempool holds
    (the on-chain deploy, then the call), A's chain configuration, A's home and A's balances once mined."""
    home = _home(tmp_path_factory.mktemp("a"), "prover", srs)
    with Manager.open(home, overrides=PLONK) as a:
        token = a.deploy(TOKEN).resource_id
        res = a.call(CallRequest(token, "transfer", (250,), caller="alice", input_data=a.address("bob")))
        pending = a.node.mempool.list()
        assert [tx_id for tx_id, _ in pending][1:] == [res.tx_id]
        chain = a.chain_overrides()
        a.mine()
        balances = {who: a.balance(a.address(who).hex()) for who in ("alice", "bob")}
        addresses = {who: a.address(who).hex() for who in ("alice", "bob")}
        return res, [tx for _, tx in pending], chain, home, balances, addresses


def _copy(tx):
    out = type(tx)()
    out.CopyFrom(tx)
    return out


def _resign(tx, home: Path) -> None:
    """Sign again with the caller's and the executing node's own keys (a caller colluding with its node)."""
    keys = KeyStore(home / "keys")
    txcodec.sign_execution(tx, keys.by_address(bytes(tx.caller)), keys.get("node"))


def _refused(node, tx, check: str) -> TransactionRejected:
    before = [tx_id for tx_id, _ in node.node.mempool.list()], node.node.ledger.snapshot()
    with pytest.raises(TransactionRejected) as info:
        node.submit_transaction(tx)
    assert info.value.reason == check, str(info.value)
    assert ([tx_id for tx_id, _ in node.node.mempool.list()], node.node.ledger.snapshot()) == before  # nothing written
    return info.value


def test_plonk_transaction_verifies_on_a_node_sharing_only_the_srs(tmp_path, srs, proven):
    res, (deploy, call), chain, a_home, a_balances, addresses = proven
    tx = res.transaction
    assert call.SerializeToString() == tx.SerializeToString()
    assert res.proof.proving_scheme == "plonk"
    states = [o.state for o in tx.outputs if o.HasField("state")]
    assert states and all(s.zk_proof.proving_scheme == "plonk" for s in states)

    with Manager.open(_home(tmp_path, "verifier", srs), overrides={**chain, **PLONK}) as b:
        assert not (b.config.home / "zkkeys" / "plonk").exists()  # no keys copied: it derives them
        b.submit_transaction(deploy)
        # verification never derives keys: before B derives them, the proof's key is unknown
        err = _refused(b, call, "proof")
        assert "unknown verification key" in str(err)
        assert not (b.config.home / "zkkeys" / "plonk").exists()
        assert "contract_execution.v1/64" in b.core.prover("plonk").derive_known_keys("bn254")  # ahead of time

        report = verify_transaction(b, tx)
        assert report.valid, report.reason
        assert report.circuit == "contract_execution.v1/64" and not report.proves_computation

        tampered = _copy(tx)
        for out in tampered.outputs:
            if out.HasField("state"):
                pub = bytearray(out.state.zk_proof.public_inputs[1])
                pub[-1] ^= 1
                out.state.zk_proof.public_inputs[1] = bytes(pub)
        assert not verify_transaction(b, tampered, check_ledger=False).valid
        _refused(b, tampered, "signatures")  # the id covers the proof: the caller did not sign this one
        _resign(tampered, a_home)  # signed again by the caller and its node: the proof's statement is not the tx's
        assert "public input 1" in str(_refused(b, tampered, "proof"))
        tampered = _copy(tx)
        for out in tampered.outputs:
            if out.HasField("state"):
                raw = bytearray(out.state.zk_proof.proof)
                raw[40] ^= 1
                out.state.zk_proof.proof = bytes(raw)
        _resign(tampered, a_home)
        assert "plonk proof" in str(_refused(b, tampered, "proof"))  # one bit of the proof: it does not verify

        assert b.submit_transaction(tx) == res.tx_id
        block = b.mine()
        assert block.tx_count == 2  # the deploy and the call
        assert {who: b.balance(addr) for who, addr in addresses.items()} == a_balances == {"alice": 999_750, "bob": 250}


def test_a_node_with_another_srs_rejects_the_proof(tmp_path, proven):
    res, (deploy, call), chain, *_ = proven
    other = tmp_path / "other.ptau"
    other.write_bytes(generate_insecure_ptau("bn254", 15, lagrange=False))
    with Manager.open(_home(tmp_path, "stranger", other), overrides={**chain, **PLONK}) as c:
        c.core.prover("plonk").derive_known_keys("bn254")
        c.submit_transaction(deploy)
        report = verify_transaction(c, call)
        assert not report.valid
        assert "verification key" in report.reason
        assert "verification key" in str(_refused(c, call, "proof"))
