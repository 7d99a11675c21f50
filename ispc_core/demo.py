"""``ispc demo``: the main job end to end on fresh embedded nodes.

On node A it deploys the example token contract (on chain), has alice pay
bob through it, bumps a versioned counter and runs an ONNX model, proving
every call when a prover is installed, and mines a block. Then a second node
home B on the same chain (it shares only the key store and the chain
configuration) takes A's transactions as exported bytes, verifies each as its
mempool does, says which circuit proved it and what that proof means, mines
them and shows the same balances; last, a forged transfer (alice's payment
re-pointed to an attacker, re-signed with the attacker's own key) is refused
by B with the failed check named. Whatever a missing plugin prevents is
named, with the distribution that provides it, and the rest still runs.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import click

from ispc_core.context import CallRequest

DEMO_HOME = ".ispc-demo"  # PLONK: first `ispc --home .ispc-demo srs new --insecure --power 15`


def repository_root() -> Path:
    """The checkout the core was installed from (examples live there)."""
    return Path(__file__).resolve().parent.parent


def find_example(*relative: str) -> Path | None:
    """The first existing example file among ``relative`` paths (``$ISPC_EXAMPLES`` first, then the checkout)."""
    roots = [Path(os.environ["ISPC_EXAMPLES"])] if os.environ.get("ISPC_EXAMPLES") else []
    roots += [Path.cwd(), repository_root()]
    for root in roots:
        for rel in relative:
            if (root / rel).is_file():
                return root / rel
    return None


def _say(text: str = "") -> None:
    click.echo(text)


def _fresh_home(home: str | None) -> Path:
    """A clean demo home; its key store (``zkkeys/``: proving keys, an SRS) survives between runs."""
    path = Path(home or DEMO_HOME).resolve()
    if path.exists():
        entries = sorted(p.name for p in path.iterdir())
        foreign = [e for e in entries if e not in ("zkkeys", ".demo")]
        if home is not None and not (path / ".demo").exists() and foreign:
            raise click.ClickException(
                f"{path} holds {', '.join(foreign)} and was not made by ispc demo; choose an empty directory"
            )
        for child in path.iterdir():
            if child.name == "zkkeys":
                continue
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    path.mkdir(parents=True, exist_ok=True)
    (path / ".demo").write_text("created by ispc demo; emptied by the next run except zkkeys/\n")
    return path


def _plan(overrides: dict[str, Any]):
    """Which plugins are here, and the proof mode the demo can honour."""
    from ispc_core.config import load_config
    from ispc_core.plugins import PluginManager

    cfg = load_config(None, overrides)
    pm = PluginManager(load=cfg.plugins.load or None, disable=cfg.plugins.disable or None)
    engines = sorted(pm.named("ispc_engines"))
    provers = sorted(pm.named("ispc_provers"))
    circuits = sorted(pm.named("ispc_circuits"))
    missing = []
    for kind in ("wasm", "onnx"):
        if kind not in engines:
            missing.append(pm.missing_message("ispc_engines", kind, engines))
    mode = overrides.get("proof.mode", cfg.proof.mode)
    scheme = overrides.get("proof.scheme", cfg.proof.scheme)
    if mode != "off" and (scheme not in provers or cfg.proof.circuit not in circuits):
        if scheme not in provers:
            missing.append(pm.missing_message("ispc_provers", scheme, provers))
        else:
            missing.append(pm.missing_message("ispc_circuits", cfg.proof.circuit, circuits))
        mode = "off"
    if mode != "off":
        families = {spec.family for spec in pm.named("ispc_circuits").values() for spec in [spec[1]]}
        for kind, pinned in cfg.chain.pinned().items():
            if kind in engines and not families & set(pinned):
                missing.append(f"no installed circuit proves {kind!r} calls under this chain's pins ({', '.join(pinned)})"
                               + (" — install ispc-zkml" if "onnx_inference.v1" in pinned else ""))
    if mode == "async":
        mode = "sync"  # the demo waits for its proofs either way
    return engines, provers, missing, mode, pm


def run_demo(home: str | None, overrides: dict[str, Any]) -> None:
    """Run the demo on fresh node homes (``./.ispc-demo`` and ``./.ispc-demo-b`` unless ``home`` is given)."""
    from ispc_core.coordinator import Manager

    engines, provers, missing, mode, pm = _plan(overrides)
    path = _fresh_home(home)
    _say("== ispc demo: run once, build the transaction while running, prove it; another node checks it ==")
    _say(f"node home   {path}")
    _say(f"engines     {', '.join(engines) or '(none)'}")
    _say(f"provers     {', '.join(provers) or '(none)'}")
    for line in missing:
        _say(f"missing     {line}")
    _say(f"proof mode  {mode}" + ("  (no prover installed: transactions carry no proof)" if mode == "off" else ""))
    overrides = {**overrides, "proof.mode": mode}
    if mode == "off":  # only a development chain accepts executions without a proof
        overrides["chain.accept_unproven"] = True
    _say()
    results: list = []
    with Manager.open(path, overrides=overrides) as m:
        chain = m.config.chain
        _say(f"chain       {m.config.node.chain_id}: pins {', '.join(chain.circuits)}"
             + ("; accepts unproven executions (development chain)" if chain.accept_unproven else ""))
        alice, bob = m.address("alice"), m.address("bob")
        _say(f"alice {alice.hex()}  balance {m.balance('alice')}")
        _say(f"bob   {bob.hex()}  balance {m.balance('bob')}")
        _say("\n== node A runs and proves ==")
        if "wasm" in engines:
            results += _wasm_part(m, alice, bob)
        else:
            _say("\n-- skipped: WebAssembly token contract (no wasm engine)")
        if "onnx" in engines:
            results += _onnx_part(m)
        else:
            _say("\n-- skipped: ONNX model call (no onnx engine)")
        if not results:
            _say("\ndemo finished" + (f"; {len(missing)} plugin(s) missing, see above" if missing else ""))
            return
        from ispc_core.node import txcodec

        exported = [txcodec.encode(tx) for _, tx in m.node.mempool.list()]  # what `ispc tx export` writes
        block = m.mine()
        if block is not None:
            _say(f"\nmined block {block.height} ({block.tx_count} transactions) at deterministic time {block.time}")
        _say(f"balances now: alice {m.balance('alice')}, bob {m.balance('bob')}")
        balances = (m.balance(alice.hex()), m.balance(bob.hex()))
        join = {**overrides, **m.chain_overrides()}
        transfer = next((r for r in results if r.transaction.execution.function == "transfer"), None)
        inference = next((r for r in results if r.metadata.get("proven_by") and r.proof is not None), None)
    _on_node_b(path, join, exported, (alice, bob), balances, transfer, inference)
    _say("\ndemo finished" + (f"; {len(missing)} plugin(s) missing, see above" if missing else ""))


def _show(label: str, res) -> None:
    _say(f"  tx {res.tx_id.hex()}")
    _say(f"  {label}; fuel {res.usage.get('fuel_used', 0)}, host calls {res.usage.get('host_calls', 0)}")
    for topic, data in res.events:
        _say(f"  event {topic} {data.hex()}")
    _say(f"  execution result hash {res.execution_result_hash.hex()}")
    if res.proof is not None:
        p = res.proof
        _say(
            f"  proof {p.proving_scheme}/{p.curve} circuit {p.circuit_id}: "
            f"{p.constraint_count} constraints, {p.generation_time_ms} ms, vk {p.verification_key_hash.hex()[:16]}…"
        )


def _wasm_part(m, alice: bytes, bob: bytes) -> list:
    out = []
    token = find_example("contracts/token.wasm")
    if token is None:
        _say("\n-- skipped: contracts/token.wasm not found (run from the repository, or set ISPC_EXAMPLES)")
        return out
    dep = m.deploy(token)
    _say(f"\n-- deployed token contract {dep.resource_id.hex()} exports {', '.join(dep.exports)}")
    _say("-- alice calls token.transfer(250) with bob as recipient")
    res = m.call(CallRequest(dep.resource_id, "transfer", (250,), caller="alice", input_data=bob))
    _show(f"returned {list(res.values)}", res)
    out.append(res)
    counter = find_example("contracts/counter.wasm")
    if counter is not None:
        dep = m.deploy(counter)
        _say(f"\n-- deployed counter contract {dep.resource_id.hex()}")
        for by in (5, 7):
            res = m.call(CallRequest(dep.resource_id, "increment", (by,), caller="alice"))
            state = next(o.state for o in res.transaction.outputs if o.HasField("state"))
            _say(f"  increment({by}) -> {res.values[0]}  state version {state.state_version}")
            out.append(res)
    return out


#: the example models the demo deploys and calls: (file stem, what it is)
ONNX_EXAMPLES = (("mlp", "16→8 MLP"), ("cnn", "8×8 CNN: conv, ReLU, max pool, dense"), ("mlp_int8", "int8-quantized MLP"))


def _onnx_part(m) -> list:
    from ispc_core.errors import DeployError
    from ispc_core.inputs import load_json_inputs

    out = []
    for stem, what in ONNX_EXAMPLES:
        model = find_example(f"plugins/ispc-onnx/examples/{stem}.onnx")
        inputs = find_example(f"plugins/ispc-onnx/examples/{stem}_input.json")
        if model is None or inputs is None:
            _say(f"\n-- skipped: the example model {stem}.onnx was not found")
            continue
        try:
            dep = m.deploy(model)
        except DeployError as exc:
            _say(f"\n-- skipped: {stem}.onnx ({what}) cannot be deployed on this chain: {exc}")
            continue
        _say(f"\n-- deployed ONNX model {stem}.onnx ({what}) {dep.resource_id.hex()}")
        res = m.call(CallRequest(dep.resource_id, "run", caller="alice", named_inputs=load_json_inputs(inputs)))
        for name, arr in res.values:
            _say(f"  output {name} {list(getattr(arr, 'shape', ()))}: {json.dumps([round(float(x), 4) for x in arr.ravel()[:8]])}")
        if res.metadata.get("proven_by"):
            _say(f"  (the {res.metadata['proven_by']} fixed-point outputs; onnxruntime's float outputs differ by at most "
                 f"{float(res.metadata.get('max_deviation', 'nan')):.2g})")
        _show("inference done", res)
        out.append(res)
    return out


def _on_node_b(path: Path, join: dict[str, Any], exported: list[bytes], people, balances, transfer, inference=None) -> None:
    """Node B on A's chain, sharing only A's key store: it verifies and admits A's transactions, mines them
    and shows the same balances; then it refuses a forged transfer."""
    from ispc_core.coordinator import Manager
    from ispc_core.errors import TransactionRejected
    from ispc_core.node import txcodec
    from ispc_core.verify import verify_transaction

    other = _fresh_home(str(path.parent / (path.name + "-b")))
    shutil.rmtree(other / "zkkeys", ignore_errors=True)
    if (path / "zkkeys").is_dir():
        shutil.copytree(path / "zkkeys", other / "zkkeys")
    alice, bob = people
    with Manager.open(other, overrides=join) as b:
        _say(f"\n== node B ({other.name}): the same chain, sharing only the key store; it gets A's transactions ==")
        for raw in exported:
            tx = txcodec.decode(raw)
            name = tx.execution.function or "deploy"
            report = verify_transaction(b, tx)
            try:
                b.submit_transaction(raw)  # verified again exactly as the mempool verifies
                verdict = "accepted"
            except TransactionRejected as exc:
                verdict = f"REFUSED ({exc.reason}): {exc}"
            if not tx.HasField("execution"):
                what = "deployer's signature"
            elif report.circuit:
                what = (f"computation proven: {report.circuit.split('/')[0]}" if report.proves_computation
                        else f"{report.circuit}: binding-only, trusts the executing node")
            else:
                what = "no proof (development chain)"
            _say(f"  {report.tx_id.hex()[:16]}… {name:<9} {verdict}  [{what}]")
        block = b.mine()
        if block is not None:
            _say(f"mined block {block.height} ({block.tx_count} transactions) at deterministic time {block.time}")
        now = (b.balance(alice.hex()), b.balance(bob.hex()))
        _say(f"balances on B: alice {now[0]}, bob {now[1]}" + ("  (the same as on A)" if now == balances else "  DIFFERENT FROM A"))
        if transfer is not None:
            _forgery(b, transfer.transaction, bob)
        if inference is not None:
            _inference_forgery(b, inference)


def _forgery(b, tx, payee: bytes) -> None:
    """alice's transfer with its payee replaced by an attacker wherever it appears (call, journal, events,
    outputs), every hash recomputed as a forger would, signed with the attacker's own key: B refuses it."""
    from ispc_core.errors import TransactionRejected
    from ispc_core.journal import rehash_execution
    from ispc_core.node import txcodec
    from ispc_core.node.keys import NodeKey
    from ispc_core.proto import transaction_pb2 as pb

    attacker = NodeKey.generate("attacker")
    t = pb.Transaction()
    t.CopyFrom(tx)
    ex = t.execution

    def swap(data: bytes) -> bytes:
        return bytes(data).replace(payee, attacker.address)

    ex.input_data, ex.return_data = swap(ex.input_data), swap(ex.return_data)
    for event in ex.events:
        event.data = swap(event.data)
    for entry in ex.journal:
        entry.args[:] = [swap(a) for a in entry.args]
        entry.result = swap(entry.result)
    for out in t.outputs:
        if out.owner == payee:
            out.owner = out.locking.owner_address = attacker.address
    proof = next((o.state.zk_proof for o in t.outputs if o.HasField("state") and o.state.zk_proof.curve), None)
    curve = proof.curve if proof is not None else b.config.proof.curve
    rehash_execution(t, curve)
    txcodec.sign_execution(t, attacker, attacker)
    _say(f"\n-- a forgery: alice's transfer re-pointed to attacker {attacker.address.hex()[:16]}…, "
         "hashes recomputed, signed with the attacker's own key")
    height = b.node.ledger.snapshot().height
    try:
        b.submit_transaction(txcodec.encode(t))
        _say("  ACCEPTED (this is a bug)")
    except TransactionRejected as exc:
        _say(f"  node B refuses it ({exc.reason}): {str(exc).split('): ', 1)[-1]}")
    unchanged = len(b.node.mempool) == 0 and b.node.ledger.snapshot().height == height
    _say(f"  node B {'unchanged' if unchanged else 'CHANGED'}: mempool {len(b.node.mempool)}, height "
         f"{b.node.ledger.snapshot().height}, attacker balance {b.balance(attacker.address.hex())}")


def _inference_forgery(b, res) -> None:
    """An ONNX call's first output moved by one unit in the last place (2^-s) wherever it appears (return
    values, return data, the journal's result.set), hashes recomputed, signed with the attacker's own key:
    the journal is consistent, so only the proof can refuse it — and B does."""
    from ispc_core.errors import TransactionRejected
    from ispc_core.journal import decode_arg, encode_arg, rehash_execution, request_hash_of
    from ispc_core.node import txcodec
    from ispc_core.node.keys import NodeKey
    from ispc_core.proto import transaction_pb2 as pb
    from ispc_core.seal import receipt_state_id

    attacker = NodeKey.generate("attacker")
    t = pb.Transaction()
    t.CopyFrom(res.transaction)
    ex = t.execution
    scale = int(res.proof.circuit_id.rsplit("/s", 1)[1].split("-")[0])
    name, arr = decode_arg(bytes(ex.return_values[0]))
    moved = arr.copy()
    moved.flat[0] += 2.0**-scale
    old, new = arr.tobytes(), moved.tobytes()
    ex.return_values[0] = encode_arg((name, moved))
    ex.return_data = bytes(ex.return_data).replace(old, new)
    for entry in ex.journal:
        entry.args[:] = [bytes(a).replace(old, new) for a in entry.args]
    t.caller = attacker.address  # the attacker's own call, so every signature is genuinely its own
    for out in t.outputs:  # its receipt is named by the (new) request hash
        if out.HasField("state") and out.state.metadata.get("receipt") == "1":
            out.state.state_id = receipt_state_id(request_hash_of(t))
    rehash_execution(t, res.proof.curve)
    txcodec.sign_execution(t, attacker, attacker)
    _say(f"\n-- a forgery: the inference's output {name}[0] moved from {arr.flat[0]:.6f} to {moved.flat[0]:.6f} "
         f"(one unit at scale 2^{scale}) in the result and the journal, called and signed by an attacker, hashes recomputed")
    try:
        b.submit_transaction(txcodec.encode(t))
        _say("  ACCEPTED (this is a bug)")
    except TransactionRejected as exc:
        _say(f"  node B refuses it ({exc.reason}): {str(exc).split('): ', 1)[-1]}")
