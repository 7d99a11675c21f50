"""Running programs: ``ispc deploy FILE`` and ``ispc call RESOURCE FUNCTION ARGS...``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from ispc_core.cli.common import emit, hexstr, open_node
from ispc_core.cli.errors import one_line
from ispc_core.errors import RequestError

#: the largest nonce a transaction can carry (an unsigned 64-bit field)
MAX_NONCE = (1 << 64) - 1

_NEGATIVE_INT = re.compile(r"-[0-9]+")


class CallCommand(click.Command):
    """``ispc call``: a negative integer (``-7``) among the program's arguments is an argument, not an option.

    Anything else that starts with ``-`` and is not one of the command's
    options is still a usage error (``No such option``).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse ``args``, keeping ``-N`` tokens as positional program arguments."""
        rest = super().parse_args(ctx, args)
        for name in ("resource", "function"):
            value = ctx.params.get(name)
            if isinstance(value, str) and value.startswith("-"):
                raise click.NoSuchOption(value, ctx=ctx)
        for arg in ctx.params.get("args", ()):
            if arg.startswith("-") and not _NEGATIVE_INT.fullmatch(arg):
                raise click.NoSuchOption(arg, ctx=ctx)
        return rest


def proves_computation(m, circuit_id: str) -> bool:
    """Whether the circuit family ``circuit_id`` belongs to proves the program's computation."""
    for _, spec in m.plugins.named("ispc_circuits").values():
        if spec.member(circuit_id):
            return bool(spec.proves_computation)
    return False


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


def value_json(v: Any) -> Any:
    """A returned value as JSON: bytes in hex, named tensors as ``{name, dtype, shape, data}``."""
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


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kind", help="resource kind (default: from the file)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def deploy(ctx: click.Context, file: str, kind: str | None, as_json: bool) -> None:
    """Deploy a WebAssembly module or ONNX model; prints its resource id."""
    with open_node(ctx) as m:
        res = m.deploy(Path(file), kind=kind)
        emit(
            {"resource_id": hexstr(res.resource_id), "kind": res.kind, "exports": list(res.exports), "created": res.created},
            as_json,
            hexstr(res.resource_id),
        )


def reference_outputs(metadata: dict) -> dict | None:
    """What the engine reported beside a result a circuit defines (``proven_by``, onnxruntime's float
    ``outputs`` by name, ``max_deviation``), or None when the values are the engine's own.

    >>> reference_outputs({"proven_by": "onnx_inference.v1", "onnxruntime_outputs": '{"y": [0.5]}', "max_deviation": "1e-05"})
    {'proven_by': 'onnx_inference.v1', 'outputs': {'y': [0.5]}, 'max_deviation': 1e-05}
    """
    if not metadata.get("proven_by"):
        return None
    try:
        outputs = json.loads(metadata.get("onnxruntime_outputs", "{}"))
        deviation = float(metadata.get("max_deviation", "nan"))
    except ValueError:
        outputs, deviation = {}, float("nan")
    return {"proven_by": metadata["proven_by"], "outputs": outputs, "max_deviation": deviation}


@click.command(cls=CallCommand, context_settings={"ignore_unknown_options": True})
@click.argument("resource")
@click.argument("function", required=False, default=None)
@click.argument("args", nargs=-1)
@click.option("--caller", default="node", show_default=True, help="name of the caller's key")
@click.option("--data", "data_hex", help="input data as hex")
@click.option("--input", "input_file", type=click.Path(dir_okay=False), help="JSON file of named tensors (ONNX)")
@click.option("--nonce", type=click.IntRange(0, MAX_NONCE), help="transaction nonce, 0 to 2^64-1 (default: chosen by the node)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def call(ctx, resource, function, args, caller, data_hex, input_file, nonce, as_json) -> None:
    """Call FUNCTION of RESOURCE (a resource id, or a file that is deployed first)."""
    from ispc_core.context import CallRequest
    from ispc_core.inputs import load_json_inputs
    from ispc_core.node.store import parse_resource_id

    with open_node(ctx) as m:
        if Path(resource).is_file():
            rid = m.deploy(Path(resource)).resource_id
        else:
            rid = parse_resource_id(resource)
        try:
            data = bytes.fromhex(data_hex) if data_hex else b""
        except ValueError:
            raise RequestError("--data: not valid hex") from None
        named = load_json_inputs(input_file) if input_file else None
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
        values = [value_json(v) for v in res.values]
        payload = {
            "tx_id": hexstr(res.tx_id),
            "values": values,
            "return_data": hexstr(res.return_data),
            "events": [{"topic": t, "data": hexstr(d)} for t, d in res.events],
            "usage": res.usage,
            "execution_result_hash": hexstr(res.execution_result_hash),
            "proof": None if res.proof is None else {
                "scheme": res.proof.proving_scheme,
                "curve": res.proof.curve,
                "circuit": res.proof.circuit_id,
                "circuit_version": res.proof.circuit_version,
                "proves_computation": proves_computation(m, res.proof.circuit_id),
                "constraint_count": res.proof.constraint_count,
                "verification_key_hash": hexstr(res.proof.verification_key_hash),
                "generation_time_ms": res.proof.generation_time_ms,
            },
        }
        if res.proof_job_id:  # async proof mode: the transaction waits for its proof
            payload["proof_job_id"] = res.proof_job_id
        reference = reference_outputs(res.metadata)
        if reference is not None:
            payload["reference"] = reference
        text = f"tx {payload['tx_id'] or 'pending: proof job ' + str(res.proof_job_id)}\nvalues {json.dumps(values)}\nfuel {res.usage.get('fuel_used', 0)} host_calls {res.usage.get('host_calls', 0)}"
        if reference is not None:
            text += (
                f"\nvalues are the {reference['proven_by']} outputs; onnxruntime's float outputs "
                f"{json.dumps(reference['outputs'])} (largest deviation {reference['max_deviation']:.3g})"
            )
        if res.events:
            text += "\n" + "\n".join(f"event {one_line(t)} {d.hex()}" for t, d in res.events)
        if res.proof is not None:
            meaning = "computation proven" if payload["proof"]["proves_computation"] else "binding-only"
            text += f"\nproof {res.proof.proving_scheme}/{res.proof.curve} {res.proof.circuit_id} ({meaning})"
        elif res.proof_job_id:
            text += f"\nproof pending: job {res.proof_job_id} (`ispc proofs wait {res.proof_job_id}`)"
        else:
            text += "\nproof none (proof.mode = off)"
        emit(payload, as_json, text)


def register(main: click.Group) -> None:
    """Attach ``deploy`` and ``call`` to the main command group."""
    main.add_command(deploy)
    main.add_command(call)
