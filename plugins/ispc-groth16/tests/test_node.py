"""End to end: `ispc call` on the token contract proves with Groth16; `ispc verify` on another node home
that shares only the key store accepts; a node with another key store, or a tampered transaction, rejects."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ispc_core.cli import main
from ispc_core.proto import transaction_pb2 as pb

TOKEN = Path(__file__).resolve().parents[3] / "contracts" / "token.wasm"


def run(*args, ok=True):
    res = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert res.exit_code == 0, res.output
    return res


def call_token(home: Path, curve: str) -> tuple[str, pb.Transaction]:
    common = ("--home", home, "--proof-mode", "sync", "--scheme", "groth16", "--curve", curve)
    run(*common, "init")
    dep = run(*common, "deploy", TOKEN, ok=False)
    if dep.exit_code != 0:
        pytest.fail(f"deploying the token contract failed (is ispc-wasm installed?): {dep.output}")
    rid = dep.output.strip().splitlines()[-1]
    bob = json.loads(run(*common, "balance", "bob", "--json").output.strip().splitlines()[-1])["address"]
    out = run(*common, "call", rid, "transfer", "250", "--caller", "alice", "--data", bob, "--json").output
    tx_id = json.loads(out.strip().splitlines()[-1])["tx_id"]
    path = home / "tx.bin"
    run("--home", home, "tx", "export", tx_id, "-o", path)
    return tx_id, pb.Transaction.FromString(path.read_bytes())


@pytest.mark.parametrize("curve", ["bn254", "bls12-381"])
def test_token_call_is_proven_and_verified_elsewhere(tmp_path, curve):
    a = tmp_path / "a"
    tx_id, tx = call_token(a, curve)
    states = [o.state for o in tx.outputs if o.HasField("state")]
    assert states
    for s in states:
        zk = s.zk_proof
        assert zk.proving_scheme == "groth16" and zk.curve == curve
        assert zk.circuit_id == "contract_execution.v1/64" and zk.circuit_version == "v1"
        assert len(zk.public_inputs) == 8 and zk.public_inputs[0] == s.execution_result_hash
        assert len(zk.proof) == (128 if curve == "bn254" else 192)
    # a second node home that shares only the key store
    b = tmp_path / "b"
    run("--home", b, "--curve", curve, "init")
    shutil.copytree(a / "zkkeys", b / "zkkeys", dirs_exist_ok=True)
    txfile = tmp_path / "tx.bin"
    txfile.write_bytes(tx.SerializeToString())
    ok = run("--home", b, "--curve", curve, "verify", txfile, "--no-ledger", "--json")
    report = json.loads(ok.output.strip().splitlines()[-1])
    assert report["valid"], report
    if curve != "bn254":
        return
    # another key store: unknown verification key
    c = tmp_path / "c"
    run("--home", c, "--curve", curve, "setup", "--capacity", "64")
    bad = run("--home", c, "--curve", curve, "verify", txfile, "--no-ledger", ok=False)
    assert bad.exit_code == 1 and "unknown verification key" in bad.output
    # a tampered transaction: a state value changed (the result hash no longer matches what it carries)
    t2 = pb.Transaction()
    t2.CopyFrom(tx)
    st2 = [o.state for o in t2.outputs if o.HasField("state")][0]
    st2.state_value = st2.state_value + b"\x01"
    txfile.write_bytes(t2.SerializeToString())
    bad = run("--home", b, "--curve", curve, "verify", txfile, "--no-ledger", ok=False)
    assert bad.exit_code == 1
    # a public input changed in the proof: the proof no longer verifies
    t3 = pb.Transaction()
    t3.CopyFrom(tx)
    st = [o.state for o in t3.outputs if o.HasField("state")][0]
    pi = bytearray(st.zk_proof.public_inputs[1])
    pi[-1] ^= 1
    st.zk_proof.public_inputs[1] = bytes(pi)
    txfile.write_bytes(t3.SerializeToString())
    bad = run("--home", b, "--curve", curve, "verify", txfile, "--no-ledger", ok=False)
    assert bad.exit_code == 1
    # the verifying key file of the key store damaged on disk: INVALID, naming the file (no traceback)
    txfile.write_bytes(tx.SerializeToString())
    vk_bins = list((b / "zkkeys" / "groth16" / curve).glob("*/vk.bin"))
    assert vk_bins
    for vk_bin in vk_bins:
        raw = bytearray(vk_bin.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        vk_bin.write_bytes(bytes(raw))
    bad = run("--home", b, "--curve", curve, "verify", txfile, "--no-ledger", "--json", ok=False)
    assert bad.exit_code == 1 and bad.exception is None or isinstance(bad.exception, SystemExit), bad.output
    report = json.loads(bad.output.strip().splitlines()[-1])
    assert not report["valid"]
    assert "key file" in report["reason"] and "vk.bin is corrupt" in report["reason"], report["reason"]
