"""The example contracts, run by the node under wasmtime, replayed on the zkVM's interpreter from the journal.

Each run must agree with wasmtime: the same host calls with the same
arguments, every journal entry used, the same return values. A journal changed
the way a forger would change it is a replay mismatch, named.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import coincurve
import pytest

from ispc_core.context import CallRequest
from ispc_core.coordinator import Manager
from ispc_core.journal import decode_journal
from ispc_core.trace import TraceRecord
from ispc_zkvm.interpreter import ReplayMismatch, StepLimitExceeded
from ispc_zkvm.program import decode
from ispc_zkvm.replay import run

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"
ORACLE_KEY = coincurve.PrivateKey(bytes.fromhex("7f" * 32))


def _evidence(claim: bytes) -> bytes:
    import hashlib

    digest = hashlib.sha256(b"ispc.evidence\x00price\x00ETH/USD" + claim).digest()
    return coincurve.ecdsa.serialize_compact(coincurve.ecdsa.der_to_cdata(ORACLE_KEY.sign(digest, hasher=None)))


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    oracle = ORACLE_KEY.public_key.format(compressed=True).hex()
    m = Manager.open(tmp_path_factory.mktemp("zkvm") / "node",
                     overrides={"proof.mode": "off", "chain.accept_unproven": True, "evidence.oracle_keys": [oracle]})
    yield m
    m.close()


def _call(m, contract, function, args, input_data=b""):
    data = (CONTRACTS / contract).read_bytes()
    rid = m.deploy(CONTRACTS / contract).resource_id
    res = m.call(CallRequest(resource_id=rid, function=function, args=args, caller="alice", input_data=input_data))
    m.mine()
    records = [TraceRecord(e.index, e.function, e.args, e.result) for e in decode_journal(res.transaction.execution.journal)]
    return decode(data), res, records


def _cases(m):
    bob = m.address("bob")
    claim = (40).to_bytes(8, "little")
    return [
        ("token.wasm", "transfer", (250,), bob),
        ("token.wasm", "balance", (), b""),
        ("counter.wasm", "increment", (5,), b""),
        ("counter.wasm", "get", (), b""),
        ("counter.wasm", "version", (), b""),
        ("oracle_payment.wasm", "pay", (5,), bob + claim + _evidence(claim)),
        ("oracle_payment.wasm", "pay", (5,), bob + (1).to_bytes(8, "little") + _evidence(claim)),  # refused evidence: -1
        ("rust/counter_rs.wasm", "increment", (3,), b""),
    ]


def test_every_example_call_replays_exactly(node):
    for contract, function, args, inp in _cases(node):
        program, res, records = _call(node, contract, function, args, inp)
        ex = run(program, function, args, node.core.host_functions, records, max_steps=1 << 14, expect=res.values)
        assert ex.trap is None and ex.signed_results == tuple(res.values), (contract, function)
        assert ex.steps and all(s is not None for s in ex.steps)
        hosts = [s.aux[0][1] for s in ex.steps if s.op == "call" and s.aux and s.aux[0][0] == "host"]
        assert [h.replace("_", ".", 1) for h in hosts] == [r.function for r in records]


def test_the_token_transfer_fits_the_smallest_capacity(node):
    program, res, records = _call(node, "token.wasm", "transfer", (250,), node.address("bob"))
    ex = run(program, "transfer", (250,), node.core.host_functions, records, max_steps=1 << 8, expect=res.values)
    assert len(ex.steps) <= 256
    with pytest.raises(StepLimitExceeded, match="more than 64 steps"):
        run(program, "transfer", (250,), node.core.host_functions, records, max_steps=64)


@pytest.fixture(scope="module")
def transfer(node):
    return _call(node, "token.wasm", "transfer", (250,), node.address("bob"))


def _forged(records, i, **change):
    out = list(records)
    out[i] = attrs.evolve(out[i], **change)
    return out


def test_a_forged_journal_is_a_named_mismatch(node, transfer):
    program, res, records = transfer
    hf = node.core.host_functions
    names = [r.function for r in records]
    t = names.index("tx.transfer")
    recipient, amount = records[t].args
    cases = {
        "the transfer amount": (_forged(records, t, args=(recipient, amount + 1)), r"journal entry 1 \(tx.transfer\): argument 1"),
        "the recipient": (_forged(records, t, args=(b"\x01" * len(recipient), amount)), r"argument 0"),
        "the function": (_forged(records, t, function="event.emit"), r"the program calls tx.transfer, the journal records event.emit"),
        "an entry removed": (records[:t] + records[t + 1:], r"calls tx.transfer, the journal records event.emit"),
        "an entry added": (records + [records[-1]], r"made 4 host calls; the journal has 5"),
    }
    for what, (forged, message) in cases.items():
        with pytest.raises(ReplayMismatch, match=message):
            run(program, "transfer", (250,), hf, forged, max_steps=1 << 10)


def test_a_changed_host_result_or_return_value_is_caught(node, transfer):
    program, res, records = transfer
    hf = node.core.host_functions
    # the input the contract reads decides the recipient it pays: another input, another transfer call
    other = _forged(records, 0, result=b"\x07" * len(records[0].result))
    with pytest.raises(ReplayMismatch, match="argument 0"):
        run(program, "transfer", (250,), hf, other, max_steps=1 << 10)
    with pytest.raises(ReplayMismatch, match=r"returns \(0,\) on the zkVM's interpreter, \(1,\) on the engine"):
        run(program, "transfer", (250,), hf, records, max_steps=1 << 10, expect=(1,))
    with pytest.raises(ReplayMismatch, match="argument 1"):
        run(program, "transfer", (251,), hf, records, max_steps=1 << 10)
