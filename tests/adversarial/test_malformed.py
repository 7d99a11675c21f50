"""Bad input: a malformed call record or journal, an oversized journal, an unknown host function, arguments
that do not decode — a typed refusal naming the entry and field, nothing written."""

from __future__ import annotations

import pytest

from ispc_core.errors import JournalError
from ispc_core.journal import decode_journal
from ispc_core.proto import transaction_pb2 as pb

from adversarial import forger

E = forger.entry


def _journal_tx(net, journal):
    tx = net.execution("counter", "get", journal=journal)
    tx.outputs.append(forger.receipt_output(tx))
    return net.forge(tx, proof=False)


@pytest.mark.parametrize(
    "entry, words",
    [
        (pb.JournalEntry(function="", result=b"\x00"), ("journal entry 0", "function name")),
        (pb.JournalEntry(function="x" * 300, result=b"\x00"), ("journal entry 0", "function name")),
        (pb.JournalEntry(function="state.get", args=[b"\x09junk"], result=b"\x00"), ("journal entry 0 (state.get)", "argument 0 does not decode")),
        (pb.JournalEntry(function="state.get", args=[b"\x02\xff\x00\x00\x00"], result=b"\x00"), ("journal entry 0 (state.get)", "argument 0")),
        (pb.JournalEntry(function="env.caller", result=b"\x01\x00"), ("journal entry 0 (env.caller)", "result does not decode")),
        (pb.JournalEntry(function="env.caller", result=b"\x00\x00"), ("journal entry 0 (env.caller)", "result")),
        (pb.JournalEntry(function="env.caller", result=b""), ("journal entry 0 (env.caller)", "result")),
    ],
    ids=["empty-name", "long-name", "bad-tag", "truncated-bytes", "truncated-int", "stray-byte", "empty-result"],
)
def test_a_journal_entry_that_does_not_decode(net, entry, words):
    exc = net.reject(_journal_tx(net, [E("env.block_height", result=net.height), entry]), "structure",
                     *[w.replace("entry 0", "entry 1") for w in words])
    assert exc.reason == "structure"


def test_the_journal_error_names_the_entry_and_field():
    with pytest.raises(JournalError) as info:
        decode_journal([E("env.caller", result=b""), pb.JournalEntry(function="state.get", args=[b"\x09"], result=b"\x00")])
    assert (info.value.entry, info.value.field) == (1, "args[0]")


def test_an_oversized_journal(net):
    limit = net.B.config.limits.max_trace_bytes
    big = E("log.write", "x" * (limit + 1))
    net.reject(_journal_tx(net, [big]), "structure", f"exceeds {limit} bytes at entry 0")


def test_a_journal_with_too_many_entries(net):
    from ispc_core.journal import MAX_JOURNAL_ENTRIES

    tx = _journal_tx(net, [E("env.block_height", result=net.height)] * (MAX_JOURNAL_ENTRIES + 1))
    net.reject(tx, "structure", "entries")


def test_an_unknown_host_function(net):
    net.reject(_journal_tx(net, [E("evil.mint", 10**18)]), "journal", "journal entry 0 names host function 'evil.mint'")


def test_a_host_call_with_the_wrong_number_of_arguments(net):
    net.reject(_journal_tx(net, [E("state.get", result=b"")]), "journal", "journal entry 0 (state.get): 0 arguments")


def test_a_host_call_with_an_argument_of_the_wrong_type(net):
    net.reject(_journal_tx(net, [E("tx.transfer", 5, 5, result=0)]), "journal", "journal entry 0", "tx.transfer(to)")


def test_a_host_call_with_an_i64_argument_as_bytes(net):
    net.reject(_journal_tx(net, [E("external.provide_evidence", b"0", b"", result=0)]), "journal", "(handle)")


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda tx: setattr(tx.execution, "resource_id", tx.execution.resource_id[:31]), ("execution.resource_id is 31 bytes",)),
        (lambda tx: setattr(tx.execution, "function", ""), ("execution.function is empty",)),
        (lambda tx: setattr(tx, "caller", tx.caller[:19]), ("caller is 19 bytes",)),
        (lambda tx: tx.execution.args.append(b"\x07"), ("execution.args[0] does not decode",)),
        (lambda tx: tx.execution.return_values.append(b"\x10\x00"), ("execution.return_values[0] does not decode",)),
        (lambda tx: tx.execution.named_inputs.extend([pb.NamedValue(name="b", value=b"\x00"), pb.NamedValue(name="a", value=b"\x00")]),
         ("named_inputs must be sorted",)),
        (lambda tx: tx.execution.named_inputs.append(pb.NamedValue(name="x", value=b"\x10")), ("named_inputs['x'] does not decode",)),
    ],
    ids=["resource-id", "function", "caller", "args", "return-values", "named-unsorted", "named-value"],
)
def test_a_malformed_call_record(net, mutate, words):
    tx = net.execution("counter", "get", journal=[])
    tx.outputs.append(forger.receipt_output(tx))
    forger.commit(tx)
    mutate(tx)
    forger.sign(tx, caller_key=net.mallory, executor_key=net.executor)
    net.reject(tx, "structure", *words)


@pytest.mark.parametrize("field", ["request_hash", "trace_commitment", "execution_result_hash"])
def test_a_commitment_of_the_wrong_length(net, field):
    tx = net.execution("counter", "get", journal=[])
    tx.outputs.append(forger.receipt_output(tx))
    forger.commit(tx)
    setattr(tx.execution, field, b"\x01" * 31)
    forger.sign(tx, caller_key=net.mallory, executor_key=net.executor)
    net.reject(tx, "structure", f"execution.{field} is 31 bytes")


@pytest.mark.parametrize("field, words", [
    ("request_hash", "request_hash is not the hash of the call record"),
    ("trace_commitment", "trace_commitment is not the Poseidon commitment of the journal"),
    ("execution_result_hash", "state output 0 names another execution result hash"),
])
def test_a_commitment_that_is_not_recomputed(net, field, words):
    tx = net.execution("counter", "get", journal=[E("env.block_height", result=net.height)])
    tx.outputs.append(forger.receipt_output(tx))
    forger.commit(tx)
    setattr(tx.execution, field, bytes(31) + b"\x01")  # the real key cannot prove this statement: none is attached
    forger.sign(tx, caller_key=net.mallory, executor_key=net.executor)
    net.reject(tx, "structure" if field == "execution_result_hash" else "journal", words)


def test_bytes_that_are_not_a_transaction(net):
    from ispc_core.errors import RequestError

    before = net.state()
    with pytest.raises(RequestError):
        net.B.submit_transaction(b"\xff\xff\xff not a transaction")
    assert net.state() == before
