"""ONNX models as circuits on the command line: ``ispc zkml compile | setup | prove | verify``.

* ``ispc zkml compile MODEL.onnx -o DIR [--scale S] [--input-range R] [--input-visibility public|committed]
  [--weights fixed|committed] [--input-check circuit|verifier] [--curve bn254|bls12-381]`` writes the
  model, ``settings.json`` and ``model.r1cs`` into DIR;
* ``ispc zkml setup DIR [--scheme groth16|plonk] [--ptau FILE]`` makes the keys in DIR;
* ``ispc zkml prove DIR INPUT.json -o proof.json`` proves one inference;
* ``ispc zkml verify DIR proof.json`` checks it and prints the proven outputs.

They need no node: the directory is everything (see :mod:`ispc_zkml.api`,
which does the work; it is imported only when a command runs, so ``ispc``
works without ispc-zkml installed).

Exit codes, as the ``zk`` commands: 0 success (``verify``: valid), 1 failure
(``verify``: invalid; ``prove``: the witness does not satisfy the circuit; a
directory that already holds a model without ``--force``), 2 bad input (a
model the compiler refuses, an input outside the declared range, a malformed
file), each one line ``error: ...``. Nothing is written on failure.
"""

from __future__ import annotations

import json
from typing import NoReturn

import click

from ispc_core.cli.errors import fail
from ispc_core.cli.progress import say, stage_progress
from ispc_core.cli.zk import DEV_SETUP_WARNING


def _api():
    """:mod:`ispc_zkml.api`, or a clear error when ispc-zkml is not installed."""
    try:
        from ispc_zkml import api
    except ImportError as exc:
        from ispc_core.errors import NotProvided

        raise NotProvided(f"`ispc zkml` needs the ispc-zkml package (pip install -e plugins/ispc-zkml): {exc}") from None
    return api


def _bad_input(exc: Exception) -> NoReturn:
    """Bad input: one ``error: ...`` line, exit 2."""
    if isinstance(exc, RecursionError):
        fail("malformed input: JSON nested too deeply", 2)
    fail(str(exc), 2)


def _input_errors() -> tuple[type[BaseException], ...]:
    """What a ``zkml`` command reports as bad input (exit 2): the compiler's typed errors and malformed files."""
    from ispc_core.zk.errors import FormatError, InvalidPoint
    from ispc_zkml.errors import ZkmlError

    return (ZkmlError, FormatError, InvalidPoint, json.JSONDecodeError, UnicodeDecodeError, RecursionError)


def _emit(data: dict, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, sort_keys=True) if as_json else text)


def _salt(text: str | None, option: str) -> int | None:
    """A salt given on the command line (a decimal integer), or None."""
    if text is None:
        return None
    if not text.isdigit():
        raise click.BadParameter(f"expected a non-negative decimal integer, got {text!r}", param_hint=option)
    return int(text)


def _fmt(values) -> str:
    return json.dumps(values.tolist() if hasattr(values, "tolist") else values)


# ---------------------------------------------------------------------------- ispc zkml
@click.group("zkml")
def zkml() -> None:
    """ONNX models as circuits: compile, setup, prove, verify (one directory per model)."""


@zkml.command("compile")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="directory for the compiled model")
@click.option("--scale", type=click.IntRange(1, 64), default=None, help="fractional bits (default: the largest that fits)")
@click.option("--input-range", type=float, default=1.0, show_default=True, help="largest |value| of every input element")
@click.option("--input-visibility", type=click.Choice(["public", "committed"]), default="public", show_default=True)
@click.option("--weights", type=click.Choice(["fixed", "committed"]), default="fixed", show_default=True)
@click.option("--input-check", type=click.Choice(["circuit", "verifier"]), default="circuit", show_default=True,
              help="where the inputs' range is checked (verifier: by `zkml verify`, no constraints)")
@click.option("--curve", type=click.Choice(["bn254", "bls12-381"]), default="bn254", show_default=True)
@click.option("--weight-salt", type=str, default=None, help="committed weights: the commitment's salt (default: random; kept in DIR/secrets.json)")
@click.option("--force", is_flag=True, help="replace a model already compiled into DIR (and its keys)")
@click.option("--json", "as_json", is_flag=True)
def zkml_compile(model, out_dir, scale, input_range, input_visibility, weights, input_check, curve, weight_salt, force, as_json) -> None:
    """Compile MODEL.onnx into DIR: the model, settings.json and model.r1cs."""
    api = _api()
    try:
        res = api.compile(
            model, out_dir, scale=scale, input_range=input_range, input_visibility=input_visibility,
            weights=weights, input_check=input_check, curve=curve, force=force, weight_salt=_salt(weight_salt, "--weight-salt"),
        )  # fmt: skip
    except _input_errors() as exc:
        _bad_input(exc)
    s = res.settings
    outs = ", ".join(f"{o['name']}{o['shape']} ±{o['error_bound_max']:.2g}" for o in s["outputs"])
    _emit(
        res.to_json(), as_json,
        f"compiled {model} -> {out_dir}\ncircuit {s['circuit_id']}\n"
        f"scale 2^{s['scale']} on {s['curve']}: {s['constraints']} constraints, {s['public_inputs']} public inputs\n"
        f"outputs (worst-case error bound): {outs}",
    )  # fmt: skip


@zkml.command("setup")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option("--scheme", type=click.Choice(["groth16", "plonk"]), default="groth16", show_default=True)
@click.option("--ptau", type=click.Path(dir_okay=False), default=None, help="PLONK: the SRS (.ptau); default the node's configured one")
@click.option("--force", is_flag=True, help="Groth16: make a new key even if one for this circuit exists")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def zkml_setup(ctx, model_dir, scheme, ptau, force, as_json) -> None:
    """Make the proving and verification keys of a compiled model in DIR."""
    api = _api()
    if scheme == "plonk" and ptau is None:
        from pathlib import Path

        from ispc_core.cli.srs import configured_ptau

        if not (Path(model_dir) / "keys" / "srs.ptau").exists():
            found = configured_ptau(ctx)
            ptau = str(found) if found.exists() else None
    try:
        with stage_progress(f"zkml setup {scheme}", 7) as progress:
            res = api.setup(model_dir, scheme=scheme, ptau=ptau, force=force, progress=progress)
    except _input_errors() as exc:
        _bad_input(exc)
    if scheme == "groth16" and res.origin == "dev-setup":
        say("zkml setup", DEV_SETUP_WARNING)
    _emit(
        res.to_json(), as_json,
        f"{res.scheme}/{res.curve} keys of {res.circuit_id} ({res.constraints} constraints)\n"
        f"verification key {res.verification_key_hash}: {res.verification_key}",
    )  # fmt: skip


@zkml.command("prove")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("input_json", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "proof_path", required=True, type=click.Path(dir_okay=False), help="where to write proof.json")
@click.option("--scheme", type=click.Choice(["groth16", "plonk"]), default=None, help="needed when DIR has keys for both")
@click.option("--input-salt", type=str, default=None, help="committed inputs: the commitment's salt (default: random, printed)")
@click.option("--json", "as_json", is_flag=True)
def zkml_prove(model_dir, input_json, proof_path, scheme, input_salt, as_json) -> None:
    """Prove the model in DIR on INPUT.json; write the proof, its public inputs and the outputs."""
    from ispc_core.zk.errors import ConstraintUnsatisfied, WitnessError

    api = _api()
    try:
        res = api.prove(model_dir, input_json, proof_path, scheme=scheme, input_salt=_salt(input_salt, "--input-salt"))
    except (ConstraintUnsatisfied, WitnessError) as exc:
        fail(str(exc), 1)
    except _input_errors() as exc:
        _bad_input(exc)
    lines = [f"{res.document['scheme']} proof written to {proof_path} ({res.timings['prove']:.2f} s)"]
    lines += [f"{k} = {_fmt(v)}" for k, v in res.outputs.items()]
    if res.input_salt is not None:
        lines.append(f"input commitment {res.document['input_commitment']} (salt {res.input_salt}: keep it to open the commitment)")
    _emit(res.to_json(), as_json, "\n".join(lines))


@zkml.command("verify")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("proof", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def zkml_verify(model_dir, proof, as_json) -> None:
    """Verify PROOF against the model in DIR and print the proven outputs: exit 0 valid, 1 invalid, 2 malformed."""
    api = _api()
    try:
        v = api.verify(model_dir, proof)
    except _input_errors() as exc:
        _bad_input(exc)
    if v.valid:
        text = "\n".join(["valid"] + [f"{k} = {_fmt(a)}" for k, a in v.outputs.items()])
        if v.input_commitment is not None:
            text += f"\ninput commitment {v.input_commitment}"
    else:
        text = f"invalid: {v.reason}"
    _emit(v.to_json(), as_json, text)
    raise SystemExit(0 if v.valid else 1)


def register(main: click.Group) -> None:
    """Attach the ``zkml`` group to the ``ispc`` command."""
    main.add_command(zkml)
