"""The snarkjs commands people reach for, on circom/snarkjs files: ``ispc zk r1cs info``,
``ispc zk wtns check``, ``ispc zk export verificationkey``, ``ispc zk export solidityverifier``
and ``ispc zk export calldata``.

They need no node home. Outputs match snarkjs 0.7 (``snarkjs r1cs info``,
``snarkjs zkey export verificationkey``, ``snarkjs zkey export soliditycalldata``);
the interop tests compare them. ``export solidityverifier`` writes the project's
own contracts, drop-ins for snarkjs' (same ``verifyProof`` ABI and verdicts;
``tests/test_cli_solidity.py`` compares them in an EVM). Exit codes as for the other ``zk`` commands:
0 success, 1 failure (``wtns check``: the witness does not satisfy the
circuit), 2 malformed input (one ``error: malformed input: ...`` line).

The readers are the ZK layer's (:mod:`ispc_core.zk.formats`); turning a
``.zkey`` into a verification key needs the scheme's plugin (``ispc-groth16``
for Groth16, ``ispc-plonk`` for PLONK), looked up through the plugin manager;
the Solidity verifier comes from the scheme's prover, through its optional
``solidity_verifier(verification_key_json) -> str`` method.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import click

from ispc_core import boundedjson
from ispc_core.cli.zk import _plugins, malformed, write_json_atomic, zk_errors

#: snarkjs' names for the curves in ``r1cs info``
SNARKJS_R1CS_CURVE = {"bn254": "bn-128", "bls12-381": "bls12-381"}

#: ``.zkey`` header protocol ids (iden3 / snarkjs)
ZKEY_PROTOCOLS = {1: "groth16", 2: "plonk", 10: "fflonk"}


def _read_bytes(path: str, what: str) -> bytes:
    """The bytes of ``path``; a missing file is malformed input (exit 2), other OS errors one error line."""
    p = Path(path)
    if not p.is_file():
        malformed(FileNotFoundError(f"{what}: no such file {path}"))
    return p.read_bytes()


def _read_json(path: str, what: str) -> Any:
    """Parsed JSON of ``path``; malformed (exit 2) when missing, not UTF-8, not JSON or nested too deeply."""
    raw = _read_bytes(path, what)
    try:
        return boundedjson.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        malformed(ValueError(f"{what} {path}: " + ("JSON nested too deeply" if isinstance(exc, RecursionError) else str(exc))))


def r1cs_summary(r1cs) -> dict[str, Any]:
    """What ``snarkjs r1cs info`` reports about an :class:`~ispc_core.zk.r1cs.R1CS`, as a dict."""
    return {
        "curve": r1cs.field.name,
        "wires": r1cs.n_wires,
        "constraints": len(r1cs.constraints),
        "private_inputs": r1cs.n_prv_in,
        "public_inputs": r1cs.n_pub_in,
        "labels": r1cs.n_labels,
        "outputs": r1cs.n_pub_out,
    }


def zkey_protocol(data: bytes) -> str:
    """The protocol of a ``.zkey`` (``groth16``, ``plonk``, ``fflonk``) from its header section."""
    from ispc_core.zk.errors import FormatError
    from ispc_core.zk.formats.binfile import one_section, read_binfile

    _, sections = read_binfile(data, b"zkey", 1)
    header = one_section(sections, 1, "zkey", "header")
    if len(header) < 4:
        raise FormatError("zkey: header section too short")
    (pid,) = struct.unpack_from("<I", header, 0)
    if pid not in ZKEY_PROTOCOLS:
        raise FormatError(f"zkey: unknown protocol id {pid}")
    return ZKEY_PROTOCOLS[pid]


def _scheme_module(scheme: str, module: str):
    """A module of the plugin that provides ``scheme`` (checked to be installed and enabled first)."""
    import importlib

    from ispc_core.errors import NotProvided

    _plugins().get("ispc_provers", scheme)  # NotProvided: "no prover ... choose one of ..."
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise NotProvided(f"prover {scheme!r}: {module} is not importable ({exc})") from None


def verification_key_from_zkey(data: bytes) -> dict[str, Any]:
    """``verification_key.json`` (as snarkjs writes it) of a Groth16 or PLONK ``.zkey``; its points are checked."""
    from ispc_core.zk.errors import FormatError

    protocol = zkey_protocol(data)
    if protocol == "groth16":
        from ispc_core.zk.formats.zkey import check_points, read_zkey

        structures = _scheme_module("groth16", "ispc_groth16.data_structures")
        z = read_zkey(data)
        check_points(z)
        return structures.VerifyingKey.from_zkey(z).to_json()
    if protocol == "plonk":
        from ispc_core.zk.formats.plonk_json import plonk_vk_to_json

        plonk_zkey = _scheme_module("plonk", "ispc_plonk.zkey")
        return plonk_vk_to_json(plonk_zkey.read_zkey(data).vk)
    raise FormatError(f"zkey: {protocol} keys are not supported (groth16, plonk)")


def _p256(v: Any) -> str:
    return '"0x' + format(int(v), "064x") + '"'


def solidity_calldata(public_json: Any, proof_json: Any) -> str:
    """snarkjs ``zkey export soliditycalldata`` for a Groth16 or PLONK proof (both documents checked first)."""
    from ispc_core.zk.errors import FormatError
    from ispc_core.zk.formats.snarkjs_json import public_from_json

    protocol = proof_json.get("protocol") if isinstance(proof_json, dict) else None
    if protocol == "groth16":
        from ispc_core.zk.formats.snarkjs_json import groth16_proof_from_json, groth16_proof_to_json

        proof = groth16_proof_to_json(groth16_proof_from_json(proof_json))  # checked, affine
        public = public_from_json(public_json, proof_json["curve"])
        a, b, c = proof["pi_a"], proof["pi_b"], proof["pi_c"]
        return (
            f"[{_p256(a[0])}, {_p256(a[1])}],"
            f"[[{_p256(b[0][1])}, {_p256(b[0][0])}],[{_p256(b[1][1])}, {_p256(b[1][0])}]],"
            f"[{_p256(c[0])}, {_p256(c[1])}],"
            f"[{','.join(_p256(v) for v in public)}]"
        )
    if protocol == "plonk":
        from ispc_core.zk.formats.plonk_json import plonk_proof_from_json, plonk_proof_to_json

        parsed = plonk_proof_from_json(proof_json)
        proof = plonk_proof_to_json(parsed)
        public = public_from_json(public_json, parsed.curve)
        points = ",".join(f"{_p256(proof[k][0])},{_p256(proof[k][1])}" for k in ("A", "B", "C", "Z", "T1", "T2", "T3", "Wxi", "Wxiw"))
        evals = ",".join(_p256(proof[k]) for k in ("eval_a", "eval_b", "eval_c", "eval_s1", "eval_s2", "eval_zw"))
        # snarkjs' own spacing: ", " once after A's x, and no comma between the proof and the inputs
        points = points.replace(",", ", ", 1)
        return f"[{points},{evals}][{','.join(_p256(v) for v in public)}]"
    raise FormatError(f"proof.json: protocol {protocol!r} is not groth16 or plonk")


# ---------------------------------------------------------------------------- ispc zk r1cs
@click.group("r1cs")
def r1cs_group() -> None:
    """Inspect .r1cs constraint systems."""


@r1cs_group.command("info")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def r1cs_info(file, as_json) -> None:
    """Curve, wires, constraints, inputs, labels and outputs of FILE.r1cs (as `snarkjs r1cs info`)."""
    from ispc_core.zk.formats import read_r1cs

    data = _read_bytes(file, "r1cs")
    try:
        info = r1cs_summary(read_r1cs(data))
    except zk_errors() as exc:
        malformed(exc)
    if as_json:
        click.echo(json.dumps(info, sort_keys=True))
        return
    click.echo(
        f"Curve: {SNARKJS_R1CS_CURVE.get(info['curve'], info['curve'])}\n"
        f"# of Wires: {info['wires']}\n"
        f"# of Constraints: {info['constraints']}\n"
        f"# of Private Inputs: {info['private_inputs']}\n"
        f"# of Public Inputs: {info['public_inputs']}\n"
        f"# of Labels: {info['labels']}\n"
        f"# of Outputs: {info['outputs']}"
    )


# ---------------------------------------------------------------------------- ispc zk wtns
@click.group("wtns")
def wtns_group() -> None:
    """Inspect .wtns witnesses."""


@wtns_group.command("check")
@click.argument("r1cs", type=click.Path(dir_okay=False))
@click.argument("wtns", type=click.Path(dir_okay=False))
def wtns_check(r1cs, wtns) -> None:
    """Check that WTNS satisfies every constraint of R1CS: exit 0 yes, 1 no (naming the first failing constraint), 2 malformed."""
    from ispc_core.cli.errors import fail
    from ispc_core.zk.errors import ConstraintUnsatisfied
    from ispc_core.zk.formats import read_r1cs, read_wtns

    r1cs_data, wtns_data = _read_bytes(r1cs, "r1cs"), _read_bytes(wtns, "wtns")
    try:
        system = read_r1cs(r1cs_data)
        field, witness = read_wtns(wtns_data)
    except zk_errors() as exc:
        malformed(exc)
    if field.modulus != system.field.modulus:
        malformed(ValueError(f"wtns: the witness is over the {field.name} field, the r1cs over {system.field.name}"))
    if len(witness) != system.n_wires:
        malformed(ValueError(f"wtns: {len(witness)} values, the r1cs has {system.n_wires} wires"))
    try:
        system.check(witness)
    except ConstraintUnsatisfied as exc:
        fail(f"the witness does not satisfy the circuit: {exc}", 1)
    click.echo(f"ok: the witness satisfies all {len(system.constraints)} constraints")


# ---------------------------------------------------------------------------- ispc zk export
@click.group("export")
def export_group() -> None:
    """Export verification keys, Solidity verifiers and Solidity calldata (as snarkjs does)."""


@export_group.command("verificationkey")
@click.argument("zkey", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="write verification_key.json here (default: stdout)")
def export_verificationkey(zkey, output) -> None:
    """The verification_key.json of a Groth16 or PLONK .zkey (ours or snarkjs'); the key's points are checked."""
    data = _read_bytes(zkey, "zkey")
    try:
        vk = verification_key_from_zkey(data)
    except zk_errors() as exc:
        malformed(exc)
    if output is None:
        click.echo(json.dumps(vk, indent=1))
        return
    write_json_atomic(Path(output), vk)
    click.echo(f"verification key ({vk['protocol']}, {vk['curve']}, {vk['nPublic']} public) written to {output}")


def solidity_verifier_of(ctx, vk: dict[str, Any]) -> str:
    """The Solidity verifier contract of ``vk`` from its scheme's prover (``solidity_verifier``, optional)."""
    from ispc_core.cli.zk import _file_prover
    from ispc_core.errors import NotProvided

    scheme = vk["protocol"]
    method = getattr(_file_prover(ctx, scheme), "solidity_verifier", None)
    if not callable(method):
        raise NotProvided(f"prover {scheme!r} does not implement solidity_verifier; it cannot export a Solidity verifier")
    return method(vk)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file (nothing partial is left behind)."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@export_group.command("solidityverifier")
@click.argument("zkey", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="write the contract here (default: stdout)")
@click.pass_context
def export_solidityverifier(ctx, zkey, output) -> None:
    """The Solidity verifier contract of a bn254 Groth16 or PLONK .zkey (verifyProof takes `ispc zk export calldata`'s arguments)."""
    data = _read_bytes(zkey, "zkey")
    try:
        vk = verification_key_from_zkey(data)
        text = solidity_verifier_of(ctx, vk)
    except zk_errors() as exc:
        malformed(exc)
    if output is None:
        click.echo(text, nl=False)
        return
    write_text_atomic(Path(output), text)
    click.echo(f"Solidity verifier ({vk['protocol']}, {vk['nPublic']} public) written to {output}")


@export_group.command("calldata")
@click.argument("public", type=click.Path(dir_okay=False))
@click.argument("proof", type=click.Path(dir_okay=False))
def export_calldata(public, proof) -> None:
    """Solidity calldata for PUBLIC and PROOF (Groth16 or PLONK), as `snarkjs zkey export soliditycalldata` prints it."""
    public_json, proof_json = _read_json(public, "public signals"), _read_json(proof, "proof")
    try:
        text = solidity_calldata(public_json, proof_json)
    except (*zk_errors(), ValueError, TypeError, KeyError) as exc:
        malformed(exc)
    click.echo(text)


def register(main: click.Group) -> None:
    """Attach ``r1cs``, ``wtns`` and ``export`` to the ``ispc zk`` group."""
    zk = main.commands["zk"]
    zk.add_command(r1cs_group)
    zk.add_command(wtns_group)
    zk.add_command(export_group)
