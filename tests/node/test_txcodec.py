"""Transaction codec: ids, signing, encoding, state hashes."""

import hashlib

import pytest

from ispc_core import errors
from ispc_core.node import txcodec
from ispc_core.proto import transaction_pb2 as pb


def _tx(kit):
    tx = pb.Transaction(version=1, chain_id=b"c", nonce=7)
    tx.inputs.add(outpoint=pb.OutPoint(tx_id=b"\x01" * 32, index=0))
    tx.inputs.add(outpoint=pb.OutPoint(tx_id=b"\x02" * 32, index=3))
    tx.outputs.append(txcodec.native_output(kit.bob.address, 5))
    return tx


def test_tx_id_ignores_unlocking_proofs(kit):
    tx = _tx(kit)
    before = txcodec.tx_id(tx)
    txcodec.sign_inputs(tx, lambda i, inp: kit.alice if i == 0 else None)
    assert txcodec.tx_id(tx) == before == hashlib.sha256(txcodec.unsigned_bytes(tx)).digest()
    assert tx.inputs[0].unlocking_proof.public_key == kit.alice.public_key
    assert kit.alice.sign(before) == tx.inputs[0].unlocking_proof.signature
    assert not tx.inputs[1].HasField("unlocking_proof")
    assert txcodec.unsigned_bytes(tx) != txcodec.encode(tx)


def test_tx_id_changes_with_content(kit):
    tx = _tx(kit)
    other = pb.Transaction()
    other.CopyFrom(tx)
    other.nonce = 8
    assert txcodec.tx_id(tx) != txcodec.tx_id(other)


def test_encode_decode_roundtrip(kit):
    tx = _tx(kit)
    txcodec.sign_inputs(tx, lambda i, inp: kit.alice)
    back = txcodec.decode(txcodec.encode(tx))
    assert back == tx and txcodec.tx_id(back) == txcodec.tx_id(tx)


@pytest.mark.parametrize("data", [b"\xff\xff\xff", b"\x0a\x05ab", "text", None])
def test_decode_rejects_garbage(data):
    with pytest.raises(errors.RequestError):
        txcodec.decode(data)


def test_state_hash_and_ids():
    s = pb.StateOutput(state_id=b"s" * 32, state_version=1, state_value=b"v", metadata={"b": "2", "a": "1"})
    s2 = pb.StateOutput()
    s2.CopyFrom(s)
    assert txcodec.state_hash(s) == txcodec.state_hash(s2)
    s2.state_value = b"w"
    assert txcodec.state_hash(s) != txcodec.state_hash(s2)
    assert txcodec.state_id_for(b"c" * 32, b"k") == hashlib.sha256(b"ispc.state\x00" + b"c" * 32 + b"k").digest()
    assert txcodec.state_id_for(b"c" * 32, b"k") != txcodec.state_id_for(b"d" * 32, b"k")
    assert txcodec.outpoint_key(pb.OutPoint(tx_id=b"\xab" * 32, index=2)) == "ab" * 32 + ":2"
