"""The ``ispc`` command line.

Every command opens the node at ``--home`` (default ``$ISPC_HOME`` or
``./.ispc``). Errors print one line to stderr (``error: ...``) and exit 1;
``--json`` output is stable and machine-readable. See docs/cli.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ispc_core.errors import IspcError, RequestError


def _hex(b: bytes | None) -> str | None:
    return None if b is None else b.hex()


def _open(ctx: click.Context, **extra):
    from ispc_core.coordinator import Manager

    obj = ctx.ensure_object(dict)
    overrides = dict(obj.get("overrides", {}))
    overrides.update(extra)
    return Manager.open(obj.get("home"), overrides=overrides)


def _emit(data: Any, as_json: bool, text: str) -> None:
    if as_json:
        click.echo(json.dumps(data, sort_keys=True))
    else:
        click.echo(text)


def parse_call_arg(text: str) -> Any:
    """A CLI argument: a decimal or negative integer, ``0x``-prefixed hex bytes, or ``str:TEXT``."""
    if text.startswith("0x"):
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            raise RequestError(f"malformed argument {text!r}: not valid hex after 0x") from None
    if text.startswith("str:"):
        return text[4:]
    try:
        return int(text, 10)
    except ValueError:
        raise RequestError(f"malformed argument {text!r}: expected an integer, 0xHEX or str:TEXT") from None


def tx_to_json(tx) -> dict[str, Any]:
    """A transaction as JSON-ready dict (bytes in hex)."""
    from google.protobuf import json_format

    data = json_format.MessageToDict(tx, preserving_proto_field_name=True)

    # protobuf renders bytes as base64; re-render them as hex for humans and scripts
    import base64

    def hexify(value: Any, field: Any) -> Any:
        return base64.b64decode(value).hex()

    def walk(msg, node):
        for fd in msg.DESCRIPTOR.fields:
            name = fd.name
            if name not in node:
                continue
            if fd.type == fd.TYPE_BYTES:
                if fd.is_repeated:
                    node[name] = [hexify(v, fd) for v in node[name]]
                else:
                    node[name] = hexify(node[name], fd)
            elif fd.type == fd.TYPE_MESSAGE and not (fd.message_type.GetOptions().map_entry):
                sub = getattr(msg, name)
                if fd.is_repeated:
                    for m, n in zip(sub, node[name]):
                        walk(m, n)
                else:
                    walk(sub, node[name])
        return node

    return walk(tx, data)


class IspcGroup(click.Group):
    """A click group that turns typed errors into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IspcError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=IspcGroup)
@click.option("--home", type=click.Path(file_okay=False), help="node home (default: $ISPC_HOME or ./.ispc)")
@click.option("--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE", help="override a configuration value")
@click.option("--proof-mode", type=click.Choice(["sync", "async", "off"]), help="override proof.mode")
@click.option("--scheme", help="override proof.scheme (groth16, plonk)")
@click.option("--curve", help="override proof.curve (bn254, bls12-381)")
@click.pass_context
def main(ctx: click.Context, home, sets, proof_mode, scheme, curve) -> None:
    """ispc: run a program once, build a transaction while it runs, attach a proof."""
    overrides: dict[str, Any] = {}
    for item in sets:
        if "=" not in item:
            raise click.UsageError(f"--set expects SECTION.KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        overrides[k.strip()] = v.strip()
    if proof_mode:
        overrides["proof.mode"] = proof_mode
    if scheme:
        overrides["proof.scheme"] = scheme
    if curve:
        overrides["proof.curve"] = curve
    ctx.obj = {"home": home, "overrides": overrides}


@main.command()
@click.option("--force", is_flag=True, help="overwrite an existing ispc.toml")
@click.pass_context
def init(ctx: click.Context, force: bool) -> None:
    """Create the node home: ispc.toml, keys, genesis ledger."""
    from ispc_core.config import CONFIG_FILE, default_toml, resolve_home

    home = resolve_home(ctx.obj.get("home"))
    home.mkdir(parents=True, exist_ok=True)
    path = home / CONFIG_FILE
    if path.exists() and not force:
        click.echo(f"{CONFIG_FILE} already exists in the node home; keeping it")
    else:
        path.write_text(default_toml(), "utf-8")
    with _open(ctx) as m:
        snap = m.node.ledger.snapshot()
        click.echo(f"node home ready: chain {m.config.node.chain_id}, height {snap.height}")
        for key in m.node.keys.list():
            click.echo(f"  key {key.name}: {key.address.hex()} balance {m.node.ledger.balance(key.address)}")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kind", help="resource kind (default: from the file)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def deploy(ctx: click.Context, file: str, kind: str | None, as_json: bool) -> None:
    """Deploy a WebAssembly module or ONNX model; prints its resource id."""
    with _open(ctx) as m:
        res = m.deploy(Path(file), kind=kind)
        _emit(
            {"resource_id": _hex(res.resource_id), "kind": res.kind, "exports": list(res.exports), "created": res.created},
            as_json,
            _hex(res.resource_id),
        )


def _load_json_inputs(path: str) -> dict[str, Any]:
    import numpy as np

    try:
        doc = json.loads(Path(path).read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RequestError(f"cannot read input file {path}: {exc}") from None
    inputs = doc.get("inputs", doc) if isinstance(doc, dict) else None
    if not isinstance(inputs, dict):
        raise RequestError(f"input file {path}: expected an object of name -> tensor")
    out = {}
    for name, value in inputs.items():
        if isinstance(value, dict) and "data" in value:
            try:
                arr = np.array(value["data"], dtype=value.get("dtype"))
                if "shape" in value:
                    arr = arr.reshape(value["shape"])
            except (TypeError, ValueError) as exc:
                raise RequestError(f"input {name!r} in {path}: {exc}") from None
            out[name] = arr
        else:
            out[name] = value
    return out


@main.command()
@click.argument("resource")
@click.argument("function", required=False, default=None)
@click.argument("args", nargs=-1)
@click.option("--caller", default="node", show_default=True, help="name of the caller's key")
@click.option("--data", "data_hex", help="input data as hex")
@click.option("--input", "input_file", type=click.Path(dir_okay=False), help="JSON file of named tensors (ONNX)")
@click.option("--nonce", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def call(ctx, resource, function, args, caller, data_hex, input_file, nonce, as_json) -> None:
    """Call FUNCTION of RESOURCE (a resource id, or a file that is deployed first)."""
    from ispc_core.context import CallRequest
    from ispc_core.node.store import parse_resource_id

    with _open(ctx) as m:
        if Path(resource).is_file():
            rid = m.deploy(Path(resource)).resource_id
        else:
            rid = parse_resource_id(resource)
        try:
            data = bytes.fromhex(data_hex) if data_hex else b""
        except ValueError:
            raise RequestError("--data: not valid hex") from None
        named = _load_json_inputs(input_file) if input_file else None
        if function is None:
            function = "run" if named is not None else None
        if function is None:
            raise RequestError("missing FUNCTION")
        req = CallRequest(
            resource_id=rid,
            function=function,
            args=tuple(parse_call_arg(a) for a in args),
            caller=caller,
            input_data=data,
            nonce=nonce,
            named_inputs=named,
        )
        res = m.call(req)
        values = [_value_json(v) for v in res.values]
        payload = {
            "tx_id": _hex(res.tx_id),
            "values": values,
            "return_data": _hex(res.return_data),
            "events": [{"topic": t, "data": _hex(d)} for t, d in res.events],
            "usage": res.usage,
            "execution_result_hash": _hex(res.execution_result_hash),
            "proof": None if res.proof is None else {
                "scheme": res.proof.proving_scheme,
                "curve": res.proof.curve,
                "circuit": f"{res.proof.circuit_id}/{res.proof.circuit_version}",
                "verification_key_hash": _hex(res.proof.verification_key_hash),
                "generation_time_ms": res.proof.generation_time_ms,
            },
        }
        if res.proof_job_id:  # async proof mode: the transaction waits for its proof
            payload["proof_job_id"] = res.proof_job_id
        text = f"tx {payload['tx_id'] or 'pending: proof job ' + str(res.proof_job_id)}\nvalues {json.dumps(values)}\nfuel {res.usage.get('fuel_used', 0)} host_calls {res.usage.get('host_calls', 0)}"
        if res.events:
            text += "\n" + "\n".join(f"event {t} {d.hex()}" for t, d in res.events)
        text += "\nproof " + ("none (proof.mode = off)" if res.proof is None else f"{res.proof.proving_scheme}/{res.proof.curve}")
        _emit(payload, as_json, text)


def _value_json(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str):
        name, arr = v
        try:
            return {"name": name, "dtype": str(arr.dtype), "shape": list(arr.shape), "data": arr.tolist()}
        except AttributeError:
            return {"name": name, "value": arr}
    if hasattr(v, "tolist"):
        return v.tolist()
    return v


@main.group()
def tx() -> None:
    """Inspect transactions."""


@tx.command("show")
@click.argument("tx_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def tx_show(ctx, tx_id: str, as_json: bool) -> None:
    """Show a transaction from the ledger or the mempool."""
    from ispc_core.errors import UnknownTransaction

    try:
        raw = bytes.fromhex(tx_id)
    except ValueError:
        raise RequestError(f"transaction id {tx_id!r} is not hex") from None
    with _open(ctx) as m:
        found = m.node.ledger.get_tx(raw)
        if found is not None:
            txn, height = found
            where = {"status": "confirmed", "height": height}
        else:
            txn = m.node.mempool.get(raw)
            if txn is None:
                raise UnknownTransaction(f"no transaction {tx_id} in the ledger or the mempool")
            where = {"status": "pending"}
        data = {"tx_id": tx_id, **where, "transaction": tx_to_json(txn)}
        _emit(data, as_json, json.dumps(data, indent=2, sort_keys=True))


@main.group()
def mempool() -> None:
    """Inspect the mempool."""


@mempool.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def mempool_list(ctx, as_json: bool) -> None:
    """List pending transactions in arrival order."""
    with _open(ctx) as m:
        items = m.node.mempool.list()
        rows = [
            {"tx_id": _hex(tid), "inputs": len(t.inputs), "outputs": len(t.outputs), "function": t.execution.function}
            for tid, t in items
        ]
        text = "\n".join(f"{r['tx_id']}  {r['function'] or '-'}  in={r['inputs']} out={r['outputs']}" for r in rows) or "(empty)"
        _emit(rows, as_json, text)


@main.command()
@click.argument("address")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def balance(ctx, address: str, as_json: bool) -> None:
    """Confirmed native balance of ADDRESS (40 hex characters or a key name)."""
    with _open(ctx) as m:
        addr = m.address(address)
        amount = m.node.ledger.balance(addr)
        _emit({"address": _hex(addr), "balance": amount}, as_json, str(amount))


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def mine(ctx, as_json: bool) -> None:
    """Move every pending transaction into a new block."""
    with _open(ctx) as m:
        block = m.mine()
        if block is None:
            _emit({"block": None}, as_json, "mempool empty; no block made")
            return
        data = {"height": block.height, "hash": _hex(block.hash), "time": block.time, "tx_count": block.tx_count}
        _emit(data, as_json, f"block {block.height} {data['hash']} with {block.tx_count} transactions")


@main.group()
def plugins() -> None:
    """Inspect plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def plugins_list(ctx, as_json: bool) -> None:
    """Every plugin: name, version, kind, hooks, status."""
    from ispc_core.config import load_config
    from ispc_core.plugins import PluginManager

    cfg = load_config(ctx.obj.get("home"), ctx.obj.get("overrides"))
    pm = PluginManager(
        strict=cfg.plugins.strict or None, load=cfg.plugins.load or None, disable=cfg.plugins.disable or None
    )
    infos = pm.list_plugins()
    if as_json:
        click.echo(json.dumps([i.to_json() for i in infos], sort_keys=True))
        return
    for i in infos:
        status = i.status + (f" ({i.error})" if i.error else "")
        click.echo(f"{i.name:24} {i.distribution} {i.version:8} {','.join(i.kinds) or '-':28} {status}")
        if i.provides:
            click.echo(f"{'':24} provides {', '.join(i.provides)}")


@main.command()
@click.pass_context
def demo(ctx) -> None:
    """Run the main job end to end on an embedded node (a fresh home under ./.ispc-demo by default)."""
    from ispc_core.demo import run_demo

    run_demo(ctx.obj.get("home"), ctx.obj.get("overrides", {}))


#: modules that add command groups to ``ispc``; each has ``register(main)``
COMMAND_MODULES = ("ispc_core.cli_proofs", "ispc_core.cli_zk", "ispc_core.cli_srs")


def _attach_command_modules() -> None:
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but something it imports is missing
                raise
            continue
        module.register(main)


_attach_command_modules()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
