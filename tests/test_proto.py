"""The transaction wire format: field numbers fixed by the design, and the committed generated module."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.descriptor import FieldDescriptor

from ispc_core.proto import transaction_pb2 as pb

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gen_proto.sh"
PROTO = REPO / "ispc_core" / "proto" / "transaction.proto"
COMMITTED = REPO / "ispc_core" / "proto" / "transaction_pb2.py"

STATE_OUTPUT = {"state_id": 1, "state_version": 2, "zk_proof": 3, "execution_result_hash": 10, "parent_state_hash": 20}
ZK_STATE_PROOF = {
    "proof": 1,
    "public_inputs": 2,
    "proving_scheme": 3,
    "curve": 4,
    "verification_key_hash": 5,
    "circuit_id": 10,
    "circuit_version": 11,
}


@pytest.mark.parametrize("message, numbers", [(pb.StateOutput, STATE_OUTPUT), (pb.ZKStateProof, ZK_STATE_PROOF)])
def test_field_numbers(message, numbers):
    fields = message.DESCRIPTOR.fields_by_name
    assert {name: fields[name].number for name in numbers} == numbers


def test_field_types():
    so = pb.StateOutput.DESCRIPTOR.fields_by_name
    assert so["zk_proof"].message_type is pb.ZKStateProof.DESCRIPTOR
    for name in ("state_id", "execution_result_hash", "parent_state_hash"):
        assert so[name].type == FieldDescriptor.TYPE_BYTES
    assert so["state_version"].type == FieldDescriptor.TYPE_UINT64
    zk = pb.ZKStateProof.DESCRIPTOR.fields_by_name
    assert zk["public_inputs"].is_repeated and zk["public_inputs"].type == FieldDescriptor.TYPE_BYTES
    for name in ("proving_scheme", "curve", "circuit_id", "circuit_version"):
        assert zk[name].type == FieldDescriptor.TYPE_STRING
    assert pb.DESCRIPTOR.package == "ispc.v1"


def test_field_numbers_on_the_wire():
    # tag = (number << 3) | wire type 2 (length-delimited); 20 << 3 | 2 = 162 = varint a2 01
    assert pb.StateOutput(parent_state_hash=b"\x07").SerializeToString() == bytes.fromhex("a2 01 01 07")
    assert pb.StateOutput(execution_result_hash=b"\x07").SerializeToString() == bytes.fromhex("52 01 07")
    assert pb.ZKStateProof(circuit_version="v").SerializeToString() == bytes.fromhex("5a 01 76")
    assert pb.ZKStateProof(verification_key_hash=b"\x01").SerializeToString() == bytes.fromhex("2a 01 01")


def _generate(script: Path, out: Path) -> bytes:
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # the script runs `python -m grpc_tools.protoc`: make that this interpreter
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    proc = subprocess.run(["bash", str(script), str(out)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return (out / "transaction_pb2.py").read_bytes()


def test_committed_module_is_not_stale(tmp_path):
    generated = _generate(SCRIPT, tmp_path / "out")
    assert generated == COMMITTED.read_bytes(), (
        "ispc_core/proto/transaction_pb2.py is stale: run `make proto` (scripts/gen_proto.sh) and commit the result"
    )


def test_staleness_check_detects_a_changed_proto(tmp_path):
    # the same script over a copy of the repository layout whose .proto gained a field
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    (copy / "ispc_core" / "proto").mkdir(parents=True)
    shutil.copy(SCRIPT, copy / "scripts" / "gen_proto.sh")
    text = PROTO.read_text()
    assert "uint64 generation_time_ms = 13;" in text
    changed = text.replace("uint64 generation_time_ms = 13;", "uint64 generation_time_ms = 13;\n  uint64 zz_added = 14;")
    (copy / "ispc_core" / "proto" / "transaction.proto").write_text(changed)
    generated = _generate(copy / "scripts" / "gen_proto.sh", tmp_path / "out")
    assert generated != COMMITTED.read_bytes()
    assert b"zz_added" in generated
