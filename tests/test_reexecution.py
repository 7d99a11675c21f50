"""`ispc verify --reexecute` (audits): the call is rebuilt from the transaction and re-run at its snapshot height."""

from __future__ import annotations

from ispc_core.context import CallRequest
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.verification import verify_transaction
from ispc_core.verification.reexecution import check_reexecution, request_from_transaction
from ispc_testdoubles import program

PROG = program({"pay": [["tx.transfer", "$0", "$1"], ["env.block_height"]], "count": [["state.set", "hex:6b", "$0"]]})


def _deployed(m):
    rid = m.deploy(PROG, kind="test").resource_id
    m.mine()
    return rid


def test_pending_and_mined_transactions_reexecute_to_the_same_result(manager):
    rid = _deployed(manager)
    res = manager.call(CallRequest(rid, "pay", (manager.address("bob"), 7), caller="alice"))
    assert verify_transaction(manager, res.transaction, reexecute=True).valid  # pending
    manager.mine()
    manager.mine()  # the tip moved on: the re-run still reads the ledger at the snapshot height
    report = verify_transaction(manager, res.transaction, reexecute=True)
    assert report.valid and report.checks[-1].name == "reexecution"


def test_the_request_is_rebuilt_from_the_call_record(manager):
    rid = _deployed(manager)
    res = manager.call(CallRequest(rid, "count", (b"\x01\x02",), caller="alice"))
    req = request_from_transaction(res.transaction)
    assert (req.resource_id, req.function, req.args, req.nonce) == (rid, "count", (b"\x01\x02",), res.transaction.nonce)


def test_a_journal_the_program_would_not_produce_is_caught_by_the_audit(manager):
    rid = _deployed(manager)
    res = manager.call(CallRequest(rid, "pay", (manager.address("bob"), 7), caller="alice"))
    forged = pb.Transaction()
    forged.CopyFrom(res.transaction)
    forged.execution.journal[1].result = bytes.fromhex("01") + (99).to_bytes(8, "little", signed=True)  # env.block_height
    check = check_reexecution(manager, forged, b"", None)
    assert not check.ok and "journal entry 1 (env.block_height) differs" in check.detail
