"""End to end: a token transfer proven with PLONK on one node home verifies on another
that shares only the SRS (and the circuit definitions, which are code)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ispc_core.context import CallRequest
from ispc_core.coordinator import Manager
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
def proven_tx(tmp_path_factory, srs):
    """A token transfer proven with PLONK on its own node home."""
    with Manager.open(_home(tmp_path_factory.mktemp("a"), "prover", srs), overrides=PLONK) as a:
        token = a.deploy(TOKEN).resource_id
        res = a.call(CallRequest(token, "transfer", (250,), caller="alice", input_data=a.address("bob")))
        assert a.node.mempool.get(res.tx_id) is not None
        return res


def test_plonk_transaction_verifies_on_a_node_sharing_only_the_srs(tmp_path, srs, proven_tx):
    tx = proven_tx.transaction
    assert proven_tx.proof.proving_scheme == "plonk"
    states = [o.state for o in tx.outputs if o.HasField("state")]
    assert states and all(s.zk_proof.proving_scheme == "plonk" for s in states)

    with Manager.open(_home(tmp_path, "verifier", srs), overrides=PLONK) as b:
        assert not (b.config.home / "zkkeys" / "plonk").exists()  # no keys copied: it derives them
        report = verify_transaction(b, tx, check_ledger=False)
        assert report.valid, report.reason

        tampered = type(tx)()
        tampered.CopyFrom(tx)
        for out in tampered.outputs:
            if out.HasField("state"):
                pub = bytearray(out.state.zk_proof.public_inputs[1])
                pub[-1] ^= 1
                out.state.zk_proof.public_inputs[1] = bytes(pub)
        assert not verify_transaction(b, tampered, check_ledger=False).valid


def test_a_node_with_another_srs_rejects_the_proof(tmp_path, proven_tx):
    tx = proven_tx.transaction
    other = tmp_path / "other.ptau"
    other.write_bytes(generate_insecure_ptau("bn254", 15, lagrange=False))
    with Manager.open(_home(tmp_path, "stranger", other), overrides=PLONK) as c:
        report = verify_transaction(c, tx, check_ledger=False)
        assert not report.valid
        assert "verification key" in report.reason
