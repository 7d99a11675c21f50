"""The proof check: only the pinned circuit, only with a local key made for it, only over public inputs the
victim recomputes from the transaction (issue 10, attacks 6 and 9; and every public input tampered)."""

from __future__ import annotations

import hashlib
import shutil

import attrs
import pytest

from ispc_core.coordinator import to_zk_state_proof
from ispc_core.zk.circuits import contract_execution as ce

from adversarial import forger
from adversarial.conftest import TOY_CIRCUIT, toy_circuit

E = forger.entry
BILLION = (10**9).to_bytes(8, "little")


def _billion(net):
    """counter's state set to 10^9 at version 2: consistent with B's ledger, so only the proof can refuse it."""
    head = net.B.node.ledger.state_head(net.count_state)
    tx = net.execution("counter", "increment", args=(10**9 - 1,), journal=[
        E("state.get", b"count", result=head.value), E("state.set", b"count", BILLION)])
    tx.outputs.append(forger.state_output(net.tpl.counter, b"count", BILLION, version=2, parent=head.state_hash))
    return forger.commit(tx)


@attrs.frozen
class ToyInstance:
    circuit_id: str
    version: str
    r1cs: object
    witness: tuple
    public_inputs: tuple
    curve: str = "bn254"


def _toy_proof(net, tx):
    """A valid Groth16 proof under the toy circuit (key in both stores) whose 8 free public inputs are exactly
    the public inputs contract_execution.v1 would have for ``tx``."""
    publics = ce.public_inputs_of_transaction(tx, "bn254")
    r1cs, witness = toy_circuit(publics, secret=7).build()
    inst = ToyInstance(TOY_CIRCUIT, "v1", r1cs, tuple(witness), tuple(witness[1:9]))
    artifact = net.A.core.prover("groth16").prove(inst, "bn254")
    assert net.B.core.prover("groth16").verify(artifact)  # the victim's prover itself accepts it for the toy circuit
    return to_zk_state_proof(artifact)


# ------------------------------------------------------------------------------ attack 6: another circuit's key
def test_a_proof_under_an_unpinned_circuit_whose_key_the_victim_holds(net):
    tx = _billion(net)
    forger.attach(tx, _toy_proof(net, tx))
    forger.sign(tx, caller_key=net.mallory, executor_key=net.executor)
    net.reject(tx, "proof", f"circuit {TOY_CIRCUIT} is not pinned", "contract_execution.v1")


def test_the_toy_proof_relabelled_as_the_pinned_circuit(net):
    tx = _billion(net)
    zk = _toy_proof(net, tx)
    zk.circuit_id = ce.circuit_id(64)
    zk.circuit_version = ce.VERSION
    zk.constraint_count = len(ce.compiled(64, "bn254").constraints)
    forger.attach(tx, zk)
    forger.sign(tx, caller_key=net.mallory, executor_key=net.executor)
    net.reject(tx, "proof", f"is the key of {TOY_CIRCUIT}", f"not of {ce.circuit_id(64)}")


# ------------------------------------------------------------------------------ tampering a valid proof
@pytest.fixture
def proven(net):
    """An honest token.transfer made on A, with its proof; tampered copies are re-signed by alice and A."""
    return net.call("token", "transfer", 5, input_data=net.bob).transaction


def _resign(net, tx):
    return forger.sign(tx, caller_key=net.alice, executor_key=net.executor, input_key=net.alice)


@pytest.mark.parametrize("index", range(len(ce.PUBLIC_INPUTS)))
def test_each_public_input_tampered(net, proven, index):
    tx = forger.copy(proven)
    zk = forger.the_proof(tx)
    value = int.from_bytes(zk.public_inputs[index], "big")
    zk_new = zk.__class__()
    zk_new.CopyFrom(zk)
    zk_new.public_inputs[index] = (value ^ 1).to_bytes(32, "big")
    forger.attach(tx, zk_new)
    _resign(net, tx)
    net.reject(tx, "proof", f"public input {index} is not the value recomputed from the transaction")


def test_public_inputs_dropped(net, proven):
    tx = forger.copy(proven)
    zk = forger.the_proof(tx).__class__()
    zk.CopyFrom(forger.the_proof(tx))
    del zk.public_inputs[-1]
    forger.attach(tx, zk)
    _resign(net, tx)
    net.reject(tx, "proof", "7 public inputs")


def test_the_proof_bytes_tampered(net, proven):
    tx = forger.copy(proven)
    zk = forger.the_proof(tx).__class__()
    zk.CopyFrom(forger.the_proof(tx))
    zk.proof = zk.proof[:40] + bytes([zk.proof[40] ^ 1]) + zk.proof[41:]
    forger.attach(tx, zk)
    _resign(net, tx)
    exc = net.reject(tx, "proof")
    assert "does not verify" in str(exc) or "malformed" in str(exc)


def test_a_valid_proof_of_another_execution(net, proven):
    other = net.call("counter", "increment", 1).transaction
    tx = forger.copy(proven)
    forger.attach(tx, forger.the_proof(other))
    _resign(net, tx)
    net.reject(tx, "proof", "public input 0 is not the value recomputed")


def test_the_state_outputs_carry_different_proofs(net):
    honest = net.call("counter", "increment", 1).transaction
    tx = forger.copy(honest)
    state = tx.outputs[0].state
    tx.outputs.append(forger.state_output(net.tpl.counter, b"other", b"", version=1))
    tx.outputs[-1].state.execution_result_hash = state.execution_result_hash
    _resign(net, tx)
    exc = net.reject(tx, "proof")
    assert "some state outputs carry the proof" in str(exc)


def test_an_unknown_groth16_verification_key(net, proven):
    tx = forger.copy(proven)
    zk = forger.the_proof(tx).__class__()
    zk.CopyFrom(forger.the_proof(tx))
    zk.verification_key_hash = hashlib.sha256(b"a key nobody has").digest()
    forger.attach(tx, zk)
    _resign(net, tx)
    net.reject(tx, "proof", "unknown verification key")


# ------------------------------------------------------------------------------ attack 9: PLONK, unknown key
def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_a_plonk_proof_naming_an_unknown_key_is_refused_without_deriving_keys(net, proven, plonk_srs, monkeypatch):
    """B holds an SRS big enough for contract_execution.v1/64, so it *could* derive keys; it must not."""
    zkkeys = net.home_b / "zkkeys"
    shutil.copy(plonk_srs, zkkeys / "srs.ptau")
    from ispc_plonk.scheme import PlonkProver

    derived = []
    monkeypatch.setattr(PlonkProver, "keys", lambda self, *a, **k: derived.append(a) or pytest.fail("derived keys"))
    monkeypatch.setattr(PlonkProver, "derive_known_keys", lambda self, *a, **k: derived.append(a) or [])
    before = _files(zkkeys)
    tx = forger.copy(proven)
    zk = forger.the_proof(tx).__class__()
    zk.CopyFrom(forger.the_proof(tx))
    zk.proving_scheme = "plonk"
    zk.verification_key_hash = hashlib.sha256(b"a random plonk key hash").digest()
    forger.attach(tx, zk)
    _resign(net, tx)
    net.reject(tx, "proof", "unknown verification key", "never derived during verification")
    assert derived == []
    assert _files(zkkeys) == before and not (zkkeys / "plonk").exists()


@pytest.mark.parametrize("field, value, words", [
    ("curve", "bls12-381", "not the Poseidon commitment of the journal"),  # commitments are per curve
    ("proving_scheme", "plonk", "unknown verification key"),
    ("proving_scheme", "testproof", "cannot check scheme"),
    ("circuit_id", "contract_execution.v1/+64", "is the key of contract_execution.v1/64"),
    ("circuit_id", "contract_execution.v1/256", "is the key of contract_execution.v1/64"),
    ("circuit_version", "v2", "circuit version"),
    ("constraint_count", 1, "constraint count 1"),
])
def test_the_proof_metadata_relabelled(net, proven, field, value, words):
    tx = forger.copy(proven)
    zk = forger.the_proof(tx).__class__()
    zk.CopyFrom(forger.the_proof(tx))
    setattr(zk, field, value)
    forger.attach(tx, zk)
    _resign(net, tx)
    exc = net.reject(tx, ("proof", "journal"))
    assert words in str(exc)
