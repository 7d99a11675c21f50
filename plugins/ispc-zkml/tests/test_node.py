"""onnx_inference.v1 in the node: an ONNX call proves its computation, and a second node that never runs
the model accepts it — and refuses every forgery a caller colluding with its node can build.

Node A (Groth16, bn254) deploys the example MLP, which makes its keys, and calls it: the transaction
carries the fixed-point outputs the proof states, onnxruntime's floats are reported beside them. Node B
shares only A's key store and chain configuration; it takes A's transactions through
``Manager.submit_transaction`` (exactly the mempool's verification). Each forgery is built through the
public API — decode, edit, recompute every hash as the verifier does, sign with the forger's own keys —
so that only the proof can refuse it, and the test shows it does, naming the check, with nothing written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ispc_core.context import CallRequest
from ispc_core.coordinator import Manager
from ispc_core.errors import DeployError, InvalidArguments
from ispc_core.inputs import load_json_inputs
from ispc_core.journal import decode_arg, encode_arg
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.seal import contract_address
from ispc_core.verify import verify_transaction
from ispc_zkml import CircuitTooLarge, compile_model
from ispc_zkml.circuit import NODE_INPUT_CHECK, RANGE_KEY, SCALE_KEY
from ispc_zkml.testing import as_attacker, copy_tx, refused

EXAMPLES = Path(__file__).resolve().parents[2] / "ispc-onnx" / "examples"
GROTH16 = {"proof.mode": "sync", "proof.scheme": "groth16", "proof.curve": "bn254"}


def _mlp_variant(tmp_path: Path, *, props: dict[str, str] | None = None, bump: float = 0.0) -> Path:
    """The example MLP with its first weight moved by ``bump`` and/or metadata set (another model)."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(EXAMPLES / "mlp.onnx"))
    if bump:
        t = m.graph.initializer[0]
        w = numpy_helper.to_array(t).copy()
        w.flat[0] += bump
        t.CopyFrom(numpy_helper.from_array(w, t.name))
    for k, v in (props or {}).items():
        m.metadata_props.add(key=k, value=v)
    path = tmp_path / f"variant-{abs(hash((bump, tuple(sorted((props or {}).items())))))}.onnx"
    onnx.save(m, str(path))
    return path


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """Node A's deploy and call of the MLP (proven), its chain configuration and its home."""
    root = tmp_path_factory.mktemp("zkml-node")
    with Manager.open(root / "a", overrides=GROTH16) as a:
        dep = a.deploy(EXAMPLES / "mlp.onnx")
        inputs = load_json_inputs(str(EXAMPLES / "mlp_input.json"))
        res = a.call(CallRequest(dep.resource_id, "run", caller="alice", named_inputs=inputs))
        (deploy_id, deploy), (call_id, _) = a.node.mempool.list()
        assert call_id == res.tx_id
        return {"res": res, "deploy": deploy, "chain": a.chain_overrides(), "home": root / "a", "model": dep.resource_id,
                "inputs": inputs, "root": root}


@pytest.fixture
def node_b(tmp_path, chain):
    """Node B: the same chain, A's key store, A's deploy admitted; it never executes anything."""
    (tmp_path / "b").mkdir()
    shutil.copytree(chain["home"] / "zkkeys", tmp_path / "b" / "zkkeys")
    with Manager.open(tmp_path / "b", overrides={**chain["chain"], **GROTH16}) as b:
        b.submit_transaction(chain["deploy"])
        yield b






def _set_output(t: pb.Transaction, arr_new: np.ndarray) -> None:
    """Write a new first output tensor consistently: return values, return data and the journal's result.set."""
    ex = t.execution
    name, arr = decode_arg(bytes(ex.return_values[0]))
    old, new = arr.tobytes(), np.asarray(arr_new, dtype=arr.dtype).tobytes()
    ex.return_values[0] = encode_arg((name, np.asarray(arr_new, dtype=arr.dtype)))
    ex.return_data = bytes(ex.return_data).replace(old, new)
    for entry in ex.journal:
        entry.args[:] = [bytes(a).replace(old, new) for a in entry.args]




# ---------------------------------------------------------------------------------------
# the honest path
# ---------------------------------------------------------------------------------------
def test_the_call_carries_the_proven_fixed_point_outputs(chain):
    res = chain["res"]
    cm = compile_model(EXAMPLES / "mlp.onnx", input_check=NODE_INPUT_CHECK)
    assert res.proof.circuit_id == cm.circuit_id
    assert res.proof.constraint_count == cm.constraint_count
    ((name, y),) = res.values
    assert name == "y" and y.dtype == np.float64
    q = np.ldexp(y, cm.scale)
    assert np.array_equal(q, np.rint(q))  # exactly on the 2^-s grid
    # the same outputs the compiled circuit proves on the same inputs
    inst = cm.instance({"x": np.asarray(chain["inputs"]["x"], dtype=np.float32)})
    assert [int(v) for v in q.reshape(-1)] == [int(v) for v in np.asarray(inst.outputs["y"]).reshape(-1)]
    # onnxruntime's floats beside them, within the compiler's bound
    import json

    ref = np.asarray(json.loads(res.metadata["onnxruntime_outputs"])["y"])
    dev = float(res.metadata["max_deviation"])
    assert res.metadata["proven_by"] == "onnx_inference.v1"
    assert dev == pytest.approx(float(np.max(np.abs(ref - y))))
    assert dev <= float(cm.error_bound["y"].max()) + 1e-6


def test_a_node_that_never_runs_the_model_accepts_the_proof(chain, node_b):
    report = verify_transaction(node_b, chain["res"].transaction)
    assert report.valid, report.reason
    assert report.proves_computation and report.circuit == chain["res"].proof.circuit_id
    assert node_b.submit_transaction(chain["res"].transaction) == chain["res"].tx_id
    assert node_b.mine().tx_count == 2
    assert not node_b.core._engines  # B built no engine: it never ran a model


def test_keys_are_made_at_deploy(tmp_path):
    with Manager.open(tmp_path / "h", overrides=GROTH16) as m:
        keys = lambda: {p: p.stat().st_mtime_ns for p in (m.config.home / "zkkeys").rglob("*") if p.is_file()}  # noqa: E731
        before = keys()
        rid = m.deploy(EXAMPLES / "mlp.onnx").resource_id
        at_deploy = keys()
        assert set(at_deploy) - set(before), "deploy made no key"
        m.call(CallRequest(rid, "run", caller="alice", named_inputs=load_json_inputs(str(EXAMPLES / "mlp_input.json"))))
        assert keys() == at_deploy  # the call found its keys: none made or rewritten


def test_the_deployers_metadata_sets_the_scale_and_range(tmp_path):
    model = _mlp_variant(tmp_path, props={SCALE_KEY: "10", RANGE_KEY: "2.0"})
    with Manager.open(tmp_path / "h", overrides=GROTH16) as m:
        rid = m.deploy(model).resource_id
        x = np.full((1, 16), 1.5, dtype=np.float32)  # outside the default range 1, inside 2
        res = m.call(CallRequest(rid, "run", caller="alice", named_inputs={"x": x}))
        ((_, y),) = res.values
        assert np.array_equal(np.ldexp(y, 10), np.rint(np.ldexp(y, 10)))  # on the 2^-10 grid
        with pytest.raises(InvalidArguments, match=r"outside the declared range"):
            m.call(CallRequest(rid, "run", caller="alice", named_inputs={"x": np.full((1, 16), 2.5, dtype=np.float32)}))


# ---------------------------------------------------------------------------------------
# bad input: typed errors, nothing written
# ---------------------------------------------------------------------------------------
def test_an_input_outside_the_proven_range_is_refused_when_it_runs(tmp_path):
    with Manager.open(tmp_path / "h", overrides=GROTH16) as m:
        rid = m.deploy(EXAMPLES / "mlp.onnx").resource_id
        before = len(m.node.mempool)
        x = np.zeros((1, 16), dtype=np.float32)
        x[0, 3] = 1.5
        with pytest.raises(InvalidArguments, match=r"'x'\[0, 3\].*outside the declared range"):
            m.call(CallRequest(rid, "run", caller="alice", named_inputs={"x": x}))
        assert len(m.node.mempool) == before


def test_a_model_without_a_circuit_is_refused_at_deploy(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("Sin", ["x"], ["y"], name="wave")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    path = tmp_path / "sin.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with Manager.open(tmp_path / "h", overrides=GROTH16) as m:
        before = len(m.node.mempool)
        with pytest.raises(DeployError, match=r"node 'wave': operator Sin is not supported by onnx_inference.v1"):
            m.deploy(path)
        assert len(m.node.mempool) == before
        assert not m.node.store.has(txcodec_sha(path.read_bytes()))


def txcodec_sha(data: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(data).digest()


# ---------------------------------------------------------------------------------------
# the forger's tests
# ---------------------------------------------------------------------------------------
def test_an_output_moved_by_one_unit_is_refused_by_the_proof(chain, node_b):
    res = chain["res"]
    t = copy_tx(res.transaction)
    _, y = decode_arg(bytes(t.execution.return_values[0]))
    scale = int(res.proof.circuit_id.rsplit("/s", 1)[1].split("-")[0])
    for k in range(y.size):  # every output element, up and down
        for step in (+1, -1):
            moved = y.copy()
            moved.flat[k] += step * 2.0**-scale
            f = copy_tx(res.transaction)
            _set_output(f, moved)
            msg = refused(node_b, as_attacker(f), "proof")
            assert f"public input {2 + 16 + k} is not the value recomputed" in msg


def test_an_output_off_the_grid_or_of_another_dtype_is_refused(chain, node_b):
    res = chain["res"]
    _, y = decode_arg(bytes(res.transaction.execution.return_values[0]))
    off = y.copy()
    off.flat[0] += 2.0**-20
    f = copy_tx(res.transaction)
    _set_output(f, off)
    assert "not a multiple of 2^-16" in refused(node_b, as_attacker(f), "proof")


def test_a_changed_input_is_refused_by_the_proof(chain, node_b):
    res = chain["res"]
    f = copy_tx(res.transaction)
    (nv,) = f.execution.named_inputs
    x = np.asarray(decode_arg(bytes(nv.value)), dtype=np.float32).copy()
    x.flat[5] = np.float32(x.flat[5] + 2.0**-10)
    nv.value = encode_arg(x)
    assert "public input 7 is not the value recomputed" in refused(node_b, as_attacker(f), "proof")


def test_a_changed_public_input_or_proof_byte_fails(chain, node_b):
    res = chain["res"]
    for i in range(len(res.transaction.outputs[0].state.zk_proof.public_inputs)):
        f = copy_tx(res.transaction)
        for out in f.outputs:
            if out.HasField("state"):
                v = bytearray(out.state.zk_proof.public_inputs[i])
                v[-1] ^= 1
                out.state.zk_proof.public_inputs[i] = bytes(v)
        assert "not the value recomputed" in refused(node_b, as_attacker(f), "proof")
    f = copy_tx(res.transaction)
    for out in f.outputs:
        if out.HasField("state"):
            p = bytearray(out.state.zk_proof.proof)
            p[40] ^= 1
            out.state.zk_proof.proof = bytes(p)
    refused(node_b, as_attacker(f), "proof")


def test_a_proof_for_model_a_does_not_verify_as_model_b(chain, tmp_path):
    """B's chain also has model B (the MLP with one other weight). A's proof, moved into a call of B with
    the same inputs and outputs, is refused whatever circuit id it claims."""
    res = chain["res"]
    model_b = _mlp_variant(tmp_path, bump=0.25)
    (tmp_path / "b").mkdir()
    shutil.copytree(chain["home"] / "zkkeys", tmp_path / "b" / "zkkeys")
    with Manager.open(tmp_path / "b", overrides={**chain["chain"], **GROTH16}) as b:
        b.submit_transaction(chain["deploy"])
        rid_b = b.deploy(model_b).resource_id  # B's keys are made here, in B's key store
        f = copy_tx(res.transaction)
        f.execution.resource_id = rid_b
        for out in f.outputs:
            if out.HasField("state"):
                out.owner, out.locking.contract = contract_address(rid_b), rid_b
        msg = refused(b, as_attacker(f), "proof")
        assert "is not the circuit this node derives" in msg or "this call's circuit is" in msg
        # the proof relabelled with B's circuit id: A's key is not B's circuit's key
        cid_b = compile_model(model_b, input_check=NODE_INPUT_CHECK).circuit_id
        g = copy_tx(f)
        for out in g.outputs:
            if out.HasField("state"):
                out.state.zk_proof.circuit_id = cid_b
        assert "is the key of" in refused(b, as_attacker(g), "proof")


def test_a_node_without_the_key_refuses_and_derives_none(chain, tmp_path):
    with Manager.open(tmp_path / "c", overrides={**chain["chain"], **GROTH16}) as c:
        c.submit_transaction(chain["deploy"])
        assert "unknown verification key" in refused(c, chain["res"].transaction, "proof")


def test_an_async_proof_job_proves_the_inference_in_a_worker(tmp_path):
    """The worker process gets the model bytes with the job (it may not share the node's store)."""
    overrides = {"proof.mode": "async", "proof.scheme": "groth16", "proof.executor": "processes://1"}
    with Manager.open(tmp_path / "h", overrides=overrides) as m:
        rid = m.deploy(EXAMPLES / "mlp.onnx").resource_id
        res = m.call(CallRequest(rid, "run", caller="alice", named_inputs=load_json_inputs(str(EXAMPLES / "mlp_input.json"))))
        assert res.tx_id is None and res.proof_job_id
        job = m.proof_jobs.wait(res.proof_job_id, timeout=120)
        assert job.state == "done", job.cause
        tx = m.node.mempool.get(job.tx_id)
        report = verify_transaction(m, tx)
        assert report.valid and report.proves_computation and report.circuit.startswith("onnx_inference.v1/"), report.reason


def test_plonk_keys_are_derived_by_a_verifying_node_from_the_srs_and_the_deployed_model(tmp_path):
    from ispc_core.zk.formats.ptau import generate_insecure_ptau

    srs = generate_insecure_ptau("bn254", 11, lagrange=False)
    plonk = {"proof.mode": "sync", "proof.scheme": "plonk", "proof.curve": "bn254"}
    for name in ("a", "b"):
        (tmp_path / name / "zkkeys").mkdir(parents=True)
        (tmp_path / name / "zkkeys" / "srs.ptau").write_bytes(srs)
    with Manager.open(tmp_path / "a", overrides=plonk) as a:
        rid = a.deploy(EXAMPLES / "mlp.onnx").resource_id
        res = a.call(CallRequest(rid, "run", caller="alice", named_inputs=load_json_inputs(str(EXAMPLES / "mlp_input.json"))))
        (_, deploy), _ = a.node.mempool.list()
        chain = a.chain_overrides()
    with Manager.open(tmp_path / "b", overrides={**chain, **plonk}) as b:
        b.submit_transaction(deploy)
        assert "unknown verification key" in refused(b, res.transaction, "proof")  # verification derives nothing
        assert b.prepare_circuits(rid) == [res.proof.circuit_id]  # ahead of time, from B's own ledger
        report = verify_transaction(b, res.transaction)
        assert report.valid and report.proves_computation, report.reason
        assert b.submit_transaction(res.transaction) == res.tx_id


def test_ispc_setup_makes_the_keys_of_a_deployed_models_circuit(tmp_path):
    from click.testing import CliRunner

    from ispc_core.cli import main

    home = str(tmp_path / "h")
    run = lambda *a: CliRunner().invoke(main, ["--home", home, *a], catch_exceptions=False)  # noqa: E731
    assert run("init").exit_code == 0
    dep = run("--proof-mode", "off", "deploy", str(EXAMPLES / "mlp.onnx"))
    assert dep.exit_code == 0, dep.output
    rid = dep.output.split()[0]
    missing = run("setup", "--circuit", "onnx_inference")
    assert missing.exit_code == 1 and "give --resource ID" in missing.output
    ok = run("setup", "--circuit", "onnx_inference", "--resource", rid)
    cid = compile_model(EXAMPLES / "mlp.onnx", input_check=NODE_INPUT_CHECK).circuit_id
    assert ok.exit_code == 0 and f"{cid} groth16/bn254: verification key" in ok.output, ok.output
    unknown = run("setup", "--circuit", "onnx_inference", "--resource", "ab" * 32)
    assert unknown.exit_code == 1 and "error:" in unknown.output


def test_proofs_off_leaves_the_engines_result_and_compiles_nothing(tmp_path):
    """A development chain whose node makes no proofs: nothing will be proven, so a model without a circuit
    deploys and the call's values are onnxruntime's own float32 outputs."""
    with Manager.open(tmp_path / "h", overrides={"proof.mode": "off", "chain.accept_unproven": True}) as m:
        rid = m.deploy(EXAMPLES / "mlp.onnx").resource_id
        res = m.call(CallRequest(rid, "run", caller="alice", named_inputs=load_json_inputs(str(EXAMPLES / "mlp_input.json"))))
        ((_, y),) = res.values
        assert y.dtype == np.float32 and "proven_by" not in res.metadata


def test_a_model_too_large_to_compile_is_refused_before_it_is_built(tmp_path):
    """An activation x activation MatMul of 512 x 512: 134 million products. Refused at once, naming the node."""
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "x"], ["y"], name="square")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", "n"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "n"])],
    )
    path = tmp_path / "square.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with Manager.open(tmp_path / "h", overrides=GROTH16) as m:
        rid = m.deploy(path).resource_id  # n = 1 at deploy: a tiny circuit
        before = len(m.node.mempool)
        with pytest.raises(CircuitTooLarge, match=r"node 'square' \(MatMul, 262,144 outputs\).*past the limit"):
            m.call(CallRequest(rid, "run", caller="alice", named_inputs={"x": np.zeros((512, 512), np.float32)}))
        assert len(m.node.mempool) == before


def test_a_public_input_negated_or_moved_fails_the_signed_input_msm(chain):
    """The verifying key's input MSM takes a scalar above r/2 as minus its complement (fixed-point
    negatives are stored as r - |v|). A forger's public input negated (x -> r - x), moved by one, or
    swapped for its neighbour's must fail the pairing, for positive and negative inputs alike."""
    import attrs

    from ispc_core.zk.fields import get_field
    from ispc_groth16.plugin import Groth16Prover

    art = chain["res"].proof
    prover = Groth16Prover(chain["home"] / "zkkeys")
    assert prover.verify(art)
    r = get_field("bn254").modulus
    pub = list(art.public_inputs)
    assert any(x > r // 2 for x in pub) and any(0 < x < r // 2 for x in pub)  # both signs are exercised
    for i, x in enumerate(pub):
        for forged in {(r - x) % r, (x + 1) % r, (x - 1) % r, pub[(i + 1) % len(pub)]} - {x}:
            bad = pub[:i] + [forged] + pub[i + 1 :]
            assert not prover.verify(attrs.evolve(art, public_inputs=tuple(bad))), (i, forged)
