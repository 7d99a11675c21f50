"""``ispc demo``: the main job end to end on a fresh embedded node.

It deploys the example token contract, has alice pay bob through it, mines a
block, bumps a versioned counter, runs an ONNX model, and — when a prover is
installed — proves every call and verifies the proofs on a second node home
that shares only the key store. Whatever a missing plugin prevents is named,
with the distribution that provides it, and the rest still runs.
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
    if mode == "async":
        mode = "sync"  # the demo waits for its proofs either way
    return engines, provers, missing, mode, pm


def run_demo(home: str | None, overrides: dict[str, Any]) -> None:
    """Run the demo on a fresh node home (``./.ispc-demo`` unless ``home`` is given)."""
    from ispc_core.coordinator import Manager

    engines, provers, missing, mode, pm = _plan(overrides)
    path = _fresh_home(home)
    _say("== ispc demo: run once, build the transaction while running, prove it ==")
    _say(f"node home   {path}")
    _say(f"engines     {', '.join(engines) or '(none)'}")
    _say(f"provers     {', '.join(provers) or '(none)'}")
    for line in missing:
        _say(f"missing     {line}")
    _say(f"proof mode  {mode}" + ("  (no prover installed: transactions carry no proof)" if mode == "off" else ""))
    _say()
    overrides = {**overrides, "proof.mode": mode}
    results = []
    with Manager.open(path, overrides=overrides) as m:
        alice, bob = m.address("alice"), m.address("bob")
        _say(f"alice {alice.hex()}  balance {m.balance('alice')}")
        _say(f"bob   {bob.hex()}  balance {m.balance('bob')}")
        if "wasm" in engines:
            results += _wasm_part(m, alice, bob)
        else:
            _say("\n-- skipped: WebAssembly token contract (no wasm engine)")
        if "onnx" in engines:
            results += _onnx_part(m)
        else:
            _say("\n-- skipped: ONNX model call (no onnx engine)")
        if results:
            block = m.mine()
            if block is not None:
                _say(f"\nmined block {block.height} ({block.tx_count} transactions) at deterministic time {block.time}")
            _say(f"balances now: alice {m.balance('alice')}, bob {m.balance('bob')}")
        if mode != "off" and results:
            _verify_elsewhere(m, path, results, overrides)
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


def _onnx_part(m) -> list:
    model = find_example("plugins/ispc-onnx/examples/mlp.onnx")
    inputs = find_example("plugins/ispc-onnx/examples/mlp_input.json")
    if model is None or inputs is None:
        _say("\n-- skipped: the example MLP model was not found")
        return []
    from ispc_core.inputs import load_json_inputs

    dep = m.deploy(model)
    _say(f"\n-- deployed ONNX model (16→8 MLP) {dep.resource_id.hex()}")
    res = m.call(CallRequest(dep.resource_id, "run", caller="alice", named_inputs=load_json_inputs(inputs)))
    for name, arr in res.values:
        _say(f"  output {name} {list(getattr(arr, 'shape', ()))}: {json.dumps([round(float(x), 4) for x in arr.ravel()[:8]])}")
    _show("inference done", res)
    return [res]


def _verify_elsewhere(m, path: Path, results: list, overrides: dict[str, Any]) -> None:
    """Verify every proof on a second node home that shares only the key store."""
    try:
        from ispc_core.verify import verify_transaction
    except ImportError:
        _say("\n-- proofs made; a verifier for other node homes is not installed")
        return
    from ispc_core.coordinator import Manager

    other = path.parent / (path.name + "-verifier")
    if other.exists():
        shutil.rmtree(other)
    other.mkdir()
    shutil.copytree(path / "zkkeys", other / "zkkeys")
    with Manager.open(other, overrides=overrides) as v:
        _say(f"\n-- verifying on a second node home sharing only the key store ({other.name})")
        for res in results:
            report = verify_transaction(v, res.transaction, check_ledger=False)
            _say(f"  {res.tx_id.hex()[:16]}… {'valid' if report.valid else 'INVALID: ' + report.reason}")
