"""End to end: `ispc call` on the token contract proves with Groth16 on node A; a second node home B on the
same chain (sharing only the key store and the chain configuration) takes the exported deploy and call with
`ispc tx submit`, verifies and accepts them, mines them and shows the same balances. A node with another key
store, and every tampered transaction (not re-signed, or re-signed by its caller and executor), is refused
with the failed check named, and nothing is written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from ispc_core.cli import main
from ispc_core.coordinator import Manager
from ispc_core.journal import encode_arg, rehash_execution
from ispc_core.node import txcodec
from ispc_core.node.keys import KeyStore
from ispc_core.proto import transaction_pb2 as pb

TOKEN = Path(__file__).resolve().parents[3] / "contracts" / "token.wasm"


def run(*args, ok=True):
    res = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert res.exit_code == 0, res.output
    return res


def last_json(res):
    return json.loads(res.output.strip().splitlines()[-1])


def call_token(home: Path, curve: str) -> tuple[list[Path], pb.Transaction]:
    """Deploy the token and have alice pay bob 250 on ``home``; the exported deploy and call transactions."""
    common = ("--home", home, "--proof-mode", "sync", "--scheme", "groth16", "--curve", curve)
    run("--home", home, "init")
    dep = run(*common, "deploy", TOKEN, ok=False)
    if dep.exit_code != 0:
        pytest.fail(f"deploying the token contract failed (is ispc-wasm installed?): {dep.output}")
    rid = dep.output.strip().splitlines()[-1]
    bob = last_json(run(*common, "balance", "bob", "--json"))["address"]
    out = run(*common, "call", rid, "transfer", "250", "--caller", "alice", "--data", bob, "--json").output
    tx_id = json.loads(out.strip().splitlines()[-1])["tx_id"]
    pending = last_json(run("--home", home, "mempool", "list", "--json"))
    assert [r["function"] for r in pending] == ["", "transfer"] and pending[1]["tx_id"] == tx_id  # deploy, call
    files = []
    for i, row in enumerate(pending):
        path = home.parent / f"{home.name}-tx{i}.bin"
        run("--home", home, "tx", "export", row["tx_id"], "-o", path)
        files.append(path)
    return files, pb.Transaction.FromString(files[1].read_bytes())


def join_chain(first: Path, home: Path) -> Path:
    """A new node home on the same chain as ``first``: its chain configuration in ispc.toml, then `ispc init`."""
    with Manager.open(first, create=False) as m:
        chain = m.chain_overrides()
    doc: dict = {}
    for key, value in chain.items():
        section, _, name = key.partition(".")
        if name:
            doc.setdefault(section, {})[name] = value
        else:
            doc[key] = value
    home.mkdir(parents=True)
    (home / "ispc.toml").write_text(tomli_w.dumps(doc), "utf-8")
    run("--home", home, "init")
    return home


def copy(tx: pb.Transaction) -> pb.Transaction:
    out = pb.Transaction()
    out.CopyFrom(tx)
    return out


def reseal(tx: pb.Transaction, curve: str) -> None:
    """Recompute the execution's hashes after an edit (what a forger does)."""
    rehash_execution(tx, curve)


def resign(tx: pb.Transaction, home: Path) -> None:
    """Sign again with the caller's and the executing node's own keys (a caller colluding with its node)."""
    keys = KeyStore(home / "keys")
    txcodec.sign_execution(tx, keys.by_address(bytes(tx.caller)), keys.get("node"))


def submit(home: Path, tx: pb.Transaction | Path, path: Path, *, ok=True) -> dict:
    if isinstance(tx, pb.Transaction):
        path.write_bytes(tx.SerializeToString())
    else:
        path = tx
    res = run("--home", home, "tx", "submit", path, "--json", ok=ok)
    verdict = last_json(res)
    assert verdict["accepted"] == ok and res.exit_code == (0 if ok else 1), res.output
    return verdict


def pending_ids(home: Path) -> list[str]:
    return [r["tx_id"] for r in last_json(run("--home", home, "mempool", "list", "--json"))]


@pytest.mark.parametrize("curve", ["bn254", "bls12-381"])
def test_token_call_is_proven_and_verified_elsewhere(tmp_path, curve):
    a = tmp_path / "a"
    (deploy_file, call_file), tx = call_token(a, curve)
    tx_id = txcodec.tx_id(tx).hex()
    states = [o.state for o in tx.outputs if o.HasField("state")]
    assert states
    for s in states:
        zk = s.zk_proof
        assert zk.proving_scheme == "groth16" and zk.curve == curve
        assert zk.circuit_id == "contract_execution.v1/64" and zk.circuit_version == "v1"
        assert len(zk.public_inputs) == 8 and zk.public_inputs[0] == s.execution_result_hash
        assert len(zk.proof) == (128 if curve == "bn254" else 192)
    # a second node home on the same chain that shares only the key store
    b = join_chain(a, tmp_path / "b")
    shutil.copytree(a / "zkkeys", b / "zkkeys", dirs_exist_ok=True)
    assert submit(b, deploy_file, deploy_file)["accepted"]
    deployed = pending_ids(b)
    txfile = tmp_path / "tx.bin"

    if curve == "bn254":
        # another key store on the same chain: the verification key is unknown there
        c = join_chain(a, tmp_path / "c")
        run("--home", c, "--curve", curve, "setup", "--capacity", "64")
        submit(c, deploy_file, deploy_file)
        bad = submit(c, call_file, call_file, ok=False)
        assert bad["check"] == "proof" and "unknown verification key" in bad["reason"], bad
        # a state value changed and not signed again: the caller's signature no longer covers it
        t = copy(tx)
        st = [o.state for o in t.outputs if o.HasField("state")][0]
        st.state_value = st.state_value + b"\x01"
        assert submit(b, t, txfile, ok=False)["check"] == "signatures"
        # the same, signed again by the caller and its node: the outputs are not what the journal explains
        resign(t, a)
        assert submit(b, t, txfile, ok=False)["check"] == "journal"
        # a public input of the proof changed (and signed again): not the value recomputed from the transaction
        t = copy(tx)
        for st in (o.state for o in t.outputs if o.HasField("state")):
            pi = bytearray(st.zk_proof.public_inputs[1])
            pi[-1] ^= 1
            st.zk_proof.public_inputs[1] = bytes(pi)
        resign(t, a)
        bad = submit(b, t, txfile, ok=False)
        assert bad["check"] == "proof" and "public input 1" in bad["reason"], bad
        # one bit of the proof changed (and signed again): the pairing fails
        t = copy(tx)
        for st in (o.state for o in t.outputs if o.HasField("state")):
            raw = bytearray(st.zk_proof.proof)
            raw[5] ^= 1
            st.zk_proof.proof = bytes(raw)
        resign(t, a)
        bad = submit(b, t, txfile, ok=False)
        assert bad["check"] == "proof" and "groth16 proof" in bad["reason"], bad
        # one output bit changed (bob gets 251, not 250), with a journal, events and return data to match, the
        # commitments recomputed and signed again: the journal check passes, the proof's statement does not
        t = forged_amount(tx, 250, 251)
        reseal(t, curve)
        resign(t, a)
        bad = submit(b, t, txfile, ok=False)
        assert bad["check"] == "proof" and "public input 0" in bad["reason"], bad
        assert pending_ids(b) == deployed  # nothing was written
        # the verifying key file of the key store damaged on disk: INVALID, naming the file (no traceback)
        vk_bins = list((b / "zkkeys" / "groth16" / curve).glob("*/vk.bin"))
        assert vk_bins
        saved = {p: p.read_bytes() for p in vk_bins}
        for vk_bin, raw in saved.items():
            raw = bytearray(raw)
            raw[len(raw) // 2] ^= 0xFF
            vk_bin.write_bytes(bytes(raw))
        bad = run("--home", b, "verify", call_file, "--json", ok=False)
        assert bad.exit_code == 1 and bad.exception is None or isinstance(bad.exception, SystemExit), bad.output
        report = last_json(bad)
        assert not report["valid"]
        assert "key file" in report["reason"] and "vk.bin is corrupt" in report["reason"], report["reason"]
        for vk_bin, raw in saved.items():
            vk_bin.write_bytes(raw)

    # B verifies the genuine call (every check, the ledger's too), says what the proof means, and accepts it
    report = last_json(run("--home", b, "verify", call_file, "--json"))
    assert report["valid"] and report["tx_id"] == tx_id, report
    assert [c["name"] for c in report["checks"]] == ["structure", "signatures", "resource", "journal", "proof", "ledger"]
    assert report["circuit"] == "contract_execution.v1/64" and not report["proves_computation"]
    assert "binding-only" in report["trust"]
    assert submit(b, call_file, call_file)["tx_id"] == tx_id
    assert pending_ids(b) == [*deployed, tx_id]
    # both nodes mine it: the same balances on both
    bob = last_json(run("--home", a, "balance", "bob", "--json"))["address"]
    alice = last_json(run("--home", a, "balance", "alice", "--json"))["address"]
    for home in (a, b):
        run("--home", home, "mine")
        assert [int(run("--home", home, "balance", who).output.split()[-1]) for who in (alice, bob)] == [999_750, 250]
    # a replay of the mined transaction is refused
    assert submit(b, call_file, call_file, ok=False)["check"] == "duplicate transaction"


def forged_amount(tx: pb.Transaction, old: int, new: int) -> pb.Transaction:
    """The token transfer paying ``new`` instead of ``old``: outputs, journal, events and return data rewritten
    consistently (the call's own argument is left alone: only the proof can tell)."""
    t = copy(tx)
    old8, new8 = old.to_bytes(8, "little"), new.to_bytes(8, "little")
    ex = t.execution
    for entry in ex.journal:
        for i, arg in enumerate(entry.args):
            if entry.function == "tx.transfer" and arg == encode_arg(old):
                entry.args[i] = encode_arg(new)
            else:
                entry.args[i] = arg.replace(old8, new8)
    for ev in ex.events:
        ev.data = ev.data.replace(old8, new8)
    ex.return_data = ex.return_data.replace(old8, new8)
    natives = [o for o in t.outputs if o.HasField("asset")]
    assert [o.asset.native_amount for o in natives][0] == old
    natives[0].asset.native_amount = new
    natives[1].asset.native_amount -= new - old  # the change
    return t
