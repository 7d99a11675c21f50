"""circom/snarkjs files on the command line: ``ispc zk setup | prove | verify``.

* ``ispc zk setup --scheme S CIRCUIT.r1cs -o DIR [--ptau FILE]``,
  ``ispc zk prove --scheme S DIR CIRCUIT.wtns -o proof.json --public public.json``,
  ``ispc zk verify verification_key.json public.json proof.json`` work on files in the
  circom/snarkjs formats and need no node. They dispatch by scheme name through the
  plugin manager to the prover's ``setup_files`` / ``prove_files`` / ``verify_files``;
  ``zk verify`` takes the scheme from the key's ``protocol`` field.

Exit codes of the ``zk`` commands: 0 success (``verify``: valid), 1 failure
(``verify``: invalid; ``prove``: the witness does not satisfy the circuit),
2 malformed input (one line saying what is wrong). Nothing is written on failure.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import NoReturn

import click

from ispc_core import boundedjson
from ispc_core.cli.common import check_writable_dir
from ispc_core.cli.errors import fail
from ispc_core.cli.progress import say, stage_progress
from ispc_core.errors import RequestError


def _plugins():
    from ispc_core.plugins import PluginManager

    return PluginManager()


def _file_prover(ctx, scheme: str):
    """The prover plugin ``scheme`` built for file operations (no node is opened)."""
    from ispc_core.config import resolve_home
    from ispc_core.specs import ProverServices

    spec = _plugins().get("ispc_provers", scheme)
    home = resolve_home((ctx.find_root().obj or {}).get("home"))
    prover = spec.factory(ProverServices(home=home, config=None, keystore_dir=home / "zkkeys"))
    for method in ("setup_files", "prove_files", "verify_files"):
        if not callable(getattr(prover, method, None)):
            from ispc_core.errors import NotProvided

            raise NotProvided(f"prover {scheme!r} does not implement {method}; it cannot work on circom/snarkjs files")
    return prover


def malformed(exc: Exception) -> NoReturn:
    """Malformed input: one ``error: malformed input: ...`` line, exit 2."""
    if isinstance(exc, RecursionError):
        fail("malformed input: JSON nested too deeply", 2)
    fail(f"malformed input: {exc}", 2)


def zk_errors() -> tuple[type[BaseException], ...]:
    """The exception classes that mean malformed input to a ``zk`` command."""
    from ispc_core.zk.errors import ZKError

    return (ZKError, json.JSONDecodeError, UnicodeDecodeError, RecursionError)


def write_json_atomic(path: Path, obj) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file (nothing partial is left behind)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(obj, fh, indent=1)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- ispc zk
@click.group("zk")
def zk() -> None:
    """Setup, prove and verify on circom/snarkjs files (.r1cs, .wtns, .zkey, proof.json)."""


#: files ``ispc zk setup`` writes into its output directory (any of them existing needs ``--force``)
SETUP_OUTPUTS = ("circuit.zkey", "verification_key.json", "circuit.r1cs")

DEV_SETUP_WARNING = (
    "WARNING: single-party development setup. This process drew the setup's secrets (the toxic waste); "
    "whoever knew them can forge proofs for this circuit. Use a multi-party ceremony .zkey for anything real."
)


@zk.command("setup")
@click.option("--scheme", default="groth16", show_default=True, help="proving scheme")
@click.argument("r1cs", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="directory for the proving key and verification_key.json")
@click.option("--ptau", type=click.Path(dir_okay=False), default=None, help="prepared powers-of-tau file (schemes that use one)")
@click.option("--curve", default=None, help="check that the .r1cs is over this curve's field")
@click.option("--force", is_flag=True, help="replace keys already in the output directory")
@click.pass_context
def zk_setup(ctx, scheme, r1cs, out_dir, ptau, curve, force) -> None:
    """Make a proving key and verification_key.json for CIRCUIT.r1cs."""
    out = Path(out_dir)
    existing = [name for name in SETUP_OUTPUTS if (out / name).exists()]
    if existing and not force:
        raise RequestError(f"{out} already holds {', '.join(existing)}; pass --force to replace the keys")
    prover = _file_prover(ctx, scheme)
    if not Path(r1cs).is_file():
        malformed(FileNotFoundError(f"r1cs: no such file {r1cs}"))
    check_writable_dir(out)
    try:
        with stage_progress(f"zk setup {scheme}", 7) as progress:
            info = prover.setup_files(r1cs, out_dir, curve=curve, ptau=ptau, progress=progress)
    except zk_errors() as exc:
        malformed(exc)
    if scheme == "groth16":
        say("zk setup", DEV_SETUP_WARNING)
    click.echo(json.dumps(info, sort_keys=True))


@zk.command("prove")
@click.option("--scheme", default="groth16", show_default=True, help="proving scheme")
@click.argument("key_dir", type=click.Path())
@click.argument("wtns", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "proof_path", required=True, type=click.Path(dir_okay=False), help="where to write proof.json")
@click.option("--public", "public_path", required=True, type=click.Path(dir_okay=False), help="where to write public.json")
@click.pass_context
def zk_prove(ctx, scheme, key_dir, wtns, proof_path, public_path) -> None:
    """Prove with the key in KEY_DIR (or a .zkey file) and a witness file."""
    from ispc_core.zk.errors import ConstraintUnsatisfied, WitnessError

    prover = _file_prover(ctx, scheme)
    try:
        proof, public = prover.prove_files(key_dir, wtns)
    except (ConstraintUnsatisfied, WitnessError) as exc:
        fail(str(exc), 1)
    except zk_errors() as exc:
        malformed(exc)
    write_json_atomic(Path(proof_path), proof)
    write_json_atomic(Path(public_path), public)
    click.echo(f"proof written to {proof_path}, {len(public)} public signal(s) to {public_path}")


@zk.command("verify")
@click.argument("vk", type=click.Path(dir_okay=False))
@click.argument("public", type=click.Path(dir_okay=False))
@click.argument("proof", type=click.Path(dir_okay=False))
@click.pass_context
def zk_verify(ctx, vk, public, proof) -> None:
    """Verify PROOF for PUBLIC under VK (scheme from the key's protocol field): exit 0 valid, 1 invalid, 2 malformed."""
    from ispc_core.errors import NotProvided

    try:
        docs = []
        for what, path in (("verification key", vk), ("public signals", public), ("proof", proof)):
            p = Path(path)
            if not p.is_file():
                raise FileNotFoundError(f"{what}: no such file {path}")
            docs.append(boundedjson.loads(p.read_text("utf-8")))
        vk_json, public_json, proof_json = docs
        scheme = vk_json.get("protocol") if isinstance(vk_json, dict) else None
        if not isinstance(scheme, str):
            raise ValueError("verification key: no 'protocol' field naming the scheme")
        prover = _file_prover(ctx, scheme)
        ok = prover.verify_files(vk_json, public_json, proof_json)
    except NotProvided as exc:
        malformed(exc)
    except (*zk_errors(), FileNotFoundError, ValueError) as exc:
        malformed(exc)
    if ok:
        click.echo("valid")
        raise SystemExit(0)
    click.echo("invalid: the proof does not verify for these public signals under this key")
    raise SystemExit(1)


def register(main: click.Group) -> None:
    """Attach the ``zk`` group to the ``ispc`` command."""
    main.add_command(zk)
