"""``ispc srs``: the universal PLONK setup (a powers-of-tau file, ``.ptau``).

* ``ispc srs new --insecure --power K [--curve C] [-o FILE]`` writes a
  development SRS from secrets this process draws and then forgets. It is
  **insecure**: whoever controlled that process could know the secrets and
  forge proofs. The flag ``--insecure`` is required to say so.
* ``ispc srs import FILE.ptau [-o FILE]`` checks a ceremony file (structure,
  every tauG1 point on the curve and in the subgroup — up to ``--check-points``
  —, and that they are consecutive powers of the tau of tauG2[1]) and copies it
  into the node's key store.
* ``ispc srs info [FILE]`` describes a file (default: the configured one).

The destination defaults to ``[plugin.plonk] ptau`` (relative to the node
home) or ``<home>/zkkeys/srs.ptau``, which is where the PLONK prover looks.
One SRS serves every circuit whose domain fits (``2^power`` gates, less 6).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import click

from ispc_core.cli.common import check_writable_dir
from ispc_core.cli.progress import say
from ispc_core.errors import RequestError


def configured_ptau(ctx: click.Context) -> Path:
    """Where the node's PLONK prover looks for its SRS (``[plugin.plonk] ptau`` or ``<home>/zkkeys/srs.ptau``)."""
    from ispc_core.config import load_config

    obj = ctx.find_root().obj or {}
    cfg = load_config(obj.get("home"), overrides=obj.get("overrides", {}))
    p = cfg.plugin_settings("plonk").get("ptau")
    if p:
        p = Path(p)
        return p if p.is_absolute() else cfg.home / p
    return cfg.home / "zkkeys" / "srs.ptau"


def check_destination(dest: Path, force: bool) -> None:
    """Refuse an existing ``dest`` without ``force``, and a destination that cannot be written, before any work."""
    if dest.exists() and not force:
        raise RequestError(f"{dest} exists; pass --force to replace it")
    if dest.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(dest))
    check_writable_dir(dest.parent)


def _write_atomic(dest: Path, data: bytes | None = None, src: Path | None = None) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".srs-", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if data is not None:
                fh.write(data)
            else:
                with open(src, "rb") as s:
                    shutil.copyfileobj(s, fh, 1 << 20)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _describe(ptau) -> dict:
    return {
        "curve": ptau.curve.name,
        "power": ptau.power,
        "ceremony_power": ptau.ceremony_power,
        "tau_g1_points": ptau.n_tau_g1,
        "max_plonk_domain": ptau.max_domain,
        "contributions": ptau.contributions() if 7 in ptau.sections else None,
        "prepared_phase2": ptau.has_lagrange,
    }


@click.group()
def srs() -> None:
    """The universal PLONK setup (powers of tau): create a development one, import a ceremony file."""


@srs.command("new")
@click.option("--insecure", is_flag=True, help="required: acknowledge that this SRS is for development only")
@click.option("--power", type=click.IntRange(1, 20), required=True, help="2^power gates (less 6) fit")
@click.option("--curve", type=click.Choice(["bn254", "bls12-381"]), default=None, help="default: proof.curve")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="default: the configured SRS path")
@click.option("--no-lagrange", is_flag=True, help="omit the prepared sections 12-15 (snarkjs setup needs them)")
@click.option("--force", is_flag=True, help="overwrite an existing file")
@click.pass_context
def srs_new(ctx, insecure, power, curve, output, no_lagrange, force) -> None:
    """Write a development SRS of 2^POWER from fresh random secrets (INSECURE)."""
    from ispc_core.zk.formats.ptau import generate_insecure_ptau

    if not insecure:
        raise click.UsageError(
            "a generated SRS is insecure (the process that makes it knows the secret tau and can forge proofs); "
            "pass --insecure to make a development one, or use `ispc srs import FILE.ptau` with a ceremony file"
        )
    if curve is None:
        from ispc_core.config import load_config

        obj = ctx.find_root().obj or {}
        curve = load_config(obj.get("home"), overrides=obj.get("overrides", {})).proof.curve
    dest = Path(output) if output else configured_ptau(ctx)
    check_destination(dest, force)
    t = time.perf_counter()
    say("srs new", f"generating 2^{power} powers of tau on {curve}{'' if no_lagrange else ' with the Lagrange sections'} …")
    data = generate_insecure_ptau(curve, power, lagrange=not no_lagrange)
    say("srs new", f"writing {len(data)} bytes to {dest} ({time.perf_counter() - t:.1f} s)")
    _write_atomic(dest, data)
    click.echo(
        f"wrote {dest}: {curve}, power {power} ({len(data)} bytes, {time.perf_counter() - t:.1f} s)\n"
        "WARNING: INSECURE development SRS. Its secrets were known to this process; anyone who knew them can "
        "forge proofs for every circuit keyed from it. Never use it to secure real value.",
        err=False,
    )


@srs.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="default: the configured SRS path")
@click.option("--check-points", type=int, default=1 << 16, show_default=True,
              help="check this many tauG1 points (curve, subgroup, powers); 0 = all")
@click.option("--force", is_flag=True, help="overwrite an existing file")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def srs_import(ctx, file, output, check_points, force, as_json) -> None:
    """Check a .ptau file (snarkjs / Hermez ceremony format) and copy it into the key store."""
    from ispc_core.zk.errors import ZKError
    from ispc_core.zk.formats.ptau import read_ptau

    dest = Path(output) if output else configured_ptau(ctx)
    check_destination(dest, force)
    try:
        p = read_ptau(file)
        say("srs import", f"checking {'every' if check_points == 0 else f'up to {check_points}'} tauG1 point(s) …")
        p.validate(count=None if check_points == 0 else check_points)
        info = _describe(p)
    except ZKError as exc:
        raise RequestError(f"{type(exc).__name__}: {exc}") from None
    _write_atomic(dest, src=Path(file))
    info["path"] = str(dest)
    if as_json:
        click.echo(json.dumps(info, indent=1))
    else:
        click.echo(
            f"imported {Path(file).name} -> {dest}: {info['curve']}, power {info['power']}, "
            f"{info['contributions']} contribution(s), PLONK domains up to 2^{info['max_plonk_domain'].bit_length() - 1}"
        )
        if not info["contributions"]:
            click.echo("WARNING: this file records no contributions: it is not a ceremony output (insecure).")


@srs.command("info")
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.pass_context
def srs_info(ctx, file) -> None:
    """Describe a .ptau file (default: the configured SRS)."""
    from ispc_core.zk.errors import ZKError
    from ispc_core.zk.formats.ptau import read_ptau

    path = Path(file) if file else configured_ptau(ctx)
    if not path.exists():
        raise RequestError(f"no SRS at {path}: `ispc srs new --insecure --power K` or `ispc srs import FILE.ptau`")
    try:
        info = _describe(read_ptau(path))
    except ZKError as exc:
        raise RequestError(f"{type(exc).__name__}: {exc}") from None
    info["path"] = str(path)
    click.echo(json.dumps(info, indent=1))


def register(main: click.Group) -> None:
    """Attach ``ispc srs`` to the main command group."""
    main.add_command(srs)
