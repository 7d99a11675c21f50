"""The four-step API, one directory per compiled model: :func:`compile`, :func:`setup`, :func:`prove`, :func:`verify`.

The shape is ezkl's (``compile_circuit``, ``setup``, ``prove``, ``verify``)::

    from ispc_zkml import api

    api.compile("mlp.onnx", "mlp.zk")                       # model.onnx, settings.json, model.r1cs
    api.setup("mlp.zk")                                     # keys/ (Groth16, development setup)
    res = api.prove("mlp.zk", "mlp_input.json", "proof.json")
    v = api.verify("mlp.zk", "proof.json")
    assert v.valid and v.outputs["y"].shape == (1, 8)

What the directory holds:

``model.onnx``
    a copy of the model's bytes (its sha256 is the model id);
``settings.json``
    the circuit id, model sha256, scale, curve, the compile options and
    parameters, the inputs and outputs (names, shapes, ranges, scales), the
    constraint count, the error bound and the per-layer report;
``model.r1cs``
    the constraint system (iden3 ``.r1cs``; ``ispc zk r1cs info`` and snarkjs read it);
``secrets.json``
    committed weights only: the salt of their commitment (the prover's; :func:`verify` never reads it);
``keys.json``, ``keys/``
    after :func:`setup`: per scheme the verification key hash, and the
    prover's own key store (the node's format: ``keys/<scheme>/<curve>/<key
    id>/`` with ``proving_key.zkey``, ``verification_key.json``,
    ``meta.json``); for PLONK ``keys/srs.ptau`` is a link to (or a copy of)
    the SRS the keys were derived from.

What :func:`verify` checks before the pairing: the proof names this
directory's circuit id, curve and verification key; its first two public
inputs are this model's id; with committed weights, the weight commitment
among them is this model's (``settings.json``); with ``input_check="verifier"`` every input in the
public inputs lies in the declared range (that *is* the range check such a
circuit leaves to the verifier); the outputs written in the proof file are
the ones its public inputs state. It compiles nothing: the positions of the
outputs and their scales come from ``settings.json``.

The files themselves (formats, readers and their checks, the input file shapes) are
:mod:`ispc_zkml.artifacts`; this module is the four steps.

Errors: bad inputs, models and options raise the compiler's typed errors
(:class:`~ispc_zkml.errors.InputError`, :class:`~ispc_zkml.errors.ModelError`,
...); a missing, incomplete or malformed directory or proof file raises
:class:`ArtifactError`. Nothing is written on failure: every file goes
through a temporary file and a rename.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ispc_core.commitment import split128
from ispc_core.errors import RequestError

from .artifacts import (
    CURVES,
    INPUT_VISIBILITY,
    KEYS_DIR,
    KEYS_FILE,
    MODEL_FILE,
    PROOF_FORMAT,
    R1CS_FILE,
    SCHEMES,
    SECRETS_FILE,
    SETTINGS_FILE,
    SETTINGS_FORMAT,
    SRS_FILE,
    WEIGHTS,
    ArtifactError,
    choice,
    decode_public,
    field_modulus,
    json_bytes,
    key_entry,
    load_keys,
    load_settings,
    model_bytes,
    parse_proof,
    read_inputs,
    read_json,
    read_r1cs_file,
    write_atomic,
)
from .compiler import FAMILY, compile_model
from .errors import InputError

__all__ = [
    "ArtifactError",
    "CompileResult",
    "SetupResult",
    "ProofResult",
    "Verification",
    "compile",
    "setup",
    "prove",
    "verify",
    "read_inputs",
    "SCHEMES",
    "CURVES",
]

# ---------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompileResult:
    """What :func:`compile` wrote: the directory and its ``settings.json`` (as a dict)."""

    dir: Path
    settings: dict

    @property
    def circuit_id(self) -> str:
        return self.settings["circuit_id"]

    def to_json(self) -> dict:
        """A JSON-ready summary (what ``ispc zkml compile --json`` prints)."""
        s = self.settings
        return {
            "dir": str(self.dir),
            "circuit_id": s["circuit_id"],
            "model_sha256": s["model_sha256"],
            "curve": s["curve"],
            "scale": s["scale"],
            "constraints": s["constraints"],
            "public_inputs": s["public_inputs"],
            "error_bound_max": s["error_bound_max"],
            "inputs": s["inputs"],
            "outputs": s["outputs"],
        }


@dataclass(frozen=True)
class SetupResult:
    """The keys :func:`setup` made (or kept): scheme, curve, verification key hash and where they are."""

    dir: Path
    scheme: str
    curve: str
    circuit_id: str
    verification_key_hash: str
    verification_key: Path
    constraints: int
    origin: str

    def to_json(self) -> dict:
        """A JSON-ready summary (what ``ispc zkml setup --json`` prints)."""
        d = asdict(self)
        d["dir"], d["verification_key"] = str(self.dir), str(self.verification_key)
        return d


@dataclass(frozen=True)
class ProofResult:
    """A proof :func:`prove` wrote: the file, its document, the dequantized outputs and the time of each step."""

    path: Path
    document: dict = field(repr=False)
    outputs: dict[str, np.ndarray] = field(repr=False)
    #: seconds: "compile" (rebuilding the circuit's hints), "witness" (witness + check), "keys" (finding and
    #: checking the key), "prove" (reading the proving key and proving)
    timings: dict[str, float] = field(default_factory=dict)
    #: committed inputs: the salt of their commitment (not in the proof file; whoever opens the commitment needs it)
    input_salt: int | None = None

    def to_json(self) -> dict:
        """A JSON-ready summary (what ``ispc zkml prove --json`` prints)."""
        d = self.document
        return {
            "path": str(self.path),
            "circuit_id": d["circuit_id"],
            "scheme": d["scheme"],
            "curve": d["curve"],
            "outputs": d["outputs"],
            "proof_bytes": len(d["proof"]) // 2,
            "timings": {k: round(v, 6) for k, v in self.timings.items()},
            "input_commitment": d.get("input_commitment"),
            "input_salt": None if self.input_salt is None else str(self.input_salt),
        }


@dataclass(frozen=True)
class Verification:
    """The verdict of :func:`verify`; true when valid. ``outputs`` (dequantized) are filled only for a valid proof."""

    valid: bool
    reason: str
    circuit_id: str
    scheme: str
    curve: str
    outputs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    outputs_quantized: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    #: committed inputs: the commitment the proof binds them to (valid proofs only)
    input_commitment: int | None = None

    def __bool__(self) -> bool:
        return self.valid

    def to_json(self) -> dict:
        """A JSON-ready verdict (what ``ispc zkml verify --json`` prints)."""
        return {
            "valid": self.valid,
            "reason": self.reason,
            "circuit_id": self.circuit_id,
            "scheme": self.scheme,
            "curve": self.curve,
            "outputs": {k: v.tolist() for k, v in self.outputs.items()},
            "input_commitment": None if self.input_commitment is None else str(self.input_commitment),
        }


# ---------------------------------------------------------------------------------------
# compile
# ---------------------------------------------------------------------------------------
def _compile_kwargs(options: Mapping[str, Any], weight_salt: int | None = None) -> dict:
    """compile_model's keyword arguments for ``options`` (and the weights' salt); visibility modes the
    compiler lacks are refused."""
    kw = {
        "scale": options["scale"],
        "input_range": options["input_range"],
        "input_shapes": options.get("input_shapes"),
        "curve": options["curve"],
        "input_check": options.get("input_check", "circuit"),
    }
    params = inspect.signature(compile_model).parameters
    for key, default in (("input_visibility", "public"), ("weights", "fixed")):
        value = options.get(key, default)
        if key in params:
            kw[key] = value
        elif value != default:
            raise InputError(f"{key}={value!r} is not available in this version of the compiler (only {default!r})")
    if weight_salt is not None:
        kw["weight_salt"] = weight_salt
    return kw


def _settings(cm, options: dict, r1cs_bytes: bytes) -> dict:
    out_scales = getattr(cm, "output_scales", None) or {}
    outputs = [
        {
            "name": n,
            "shape": list(map(int, shape)),
            "scale": int(out_scales.get(n, cm.scale)),
            "error_bound_max": float(np.max(cm.error_bound[n], initial=0.0)),
            "max_abs": float(cm.output_bounds[n]),
        }
        for n, shape in cm.outputs.items()
    ]
    inputs = [{"name": n, "shape": list(map(int, shape)), "range": float(cm.input_bounds[n]), "scale": int(cm.scale)} for n, shape in cm.inputs.items()]
    layers = []
    for l in cm.layers:
        row = asdict(l)
        row["shape"] = list(row["shape"])
        layers.append(row)
    return {
        "format": SETTINGS_FORMAT,
        "circuit": FAMILY,
        "circuit_id": cm.circuit_id,
        "model_sha256": cm.model_id.hex(),
        "model": MODEL_FILE,
        "r1cs": R1CS_FILE,
        "r1cs_sha256": hashlib.sha256(r1cs_bytes).hexdigest(),
        "curve": cm.curve,
        "scale": int(cm.scale),
        "options": options,
        "compile_params": cm.params,
        "inputs": inputs,
        "outputs": outputs,
        "constraints": cm.constraint_count,
        "wires": cm.r1cs.n_wires,
        "public_inputs": cm.r1cs.n_public,
        "error_bound_max": max((o["error_bound_max"] for o in outputs), default=0.0),
        "max_quotient_bits": int(cm.max_quotient_bits),
        "folded_nodes": int(cm.folded),
        "layers": layers,
        "weight_commitment": None if getattr(cm, "weight_commitment", None) is None else str(cm.weight_commitment),
    }


def _write_dir(out: Path, files: dict[str, bytes], force: bool) -> None:
    """Put ``files`` into ``out``: a new directory appears whole (renamed from a temporary one); an existing
    compiled-model directory is refused unless ``force`` (its stale keys are removed, other files kept)."""
    if out.exists() and not out.is_dir():
        raise RequestError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not (out / SETTINGS_FILE).exists():
            raise RequestError(f"{out} is not empty and holds no compiled model; choose a new directory")
        if not force:
            raise RequestError(f"{out} already holds a compiled model; pass force=True (--force) to replace it and its keys")
        (out / KEYS_FILE).unlink(missing_ok=True)
        (out / SECRETS_FILE).unlink(missing_ok=True)
        shutil.rmtree(out / KEYS_DIR, ignore_errors=True)
        for name, data in files.items():
            write_atomic(out / name, data)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        if out.is_dir():
            out.rmdir()  # empty
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def compile(  # noqa: A001 - the step's name, as in ezkl
    model_path: str | Path,
    out_dir: str | Path,
    *,
    scale: int | None = None,
    input_range: float | tuple | Mapping[str, Any] = 1.0,
    input_shapes: Mapping[str, list[int]] | None = None,
    input_visibility: str = "public",
    weights: str = "fixed",
    input_check: str = "circuit",
    curve: str = "bn254",
    weight_salt: int | None = None,
    force: bool = False,
) -> CompileResult:
    """Compile ``model_path`` into the directory ``out_dir`` (model copy, ``settings.json``, ``model.r1cs``).

    The options are :func:`~ispc_zkml.compile_model`'s. ``input_check="verifier"``
    drops the inputs' range checks from the circuit; :func:`verify` then checks
    the inputs in the public inputs (sound because the public inputs are the
    verifier's own). An existing compiled-model directory is replaced only with
    ``force`` (its keys go with it). With ``weights="committed"`` the weights
    sit behind a public Poseidon commitment salted with ``weight_salt`` (by
    default a fresh random field element, so that the commitment hides them);
    the salt is kept in ``secrets.json``, which :func:`verify` never reads, and
    the commitment in ``settings.json``. Example::

        res = compile("plugins/ispc-onnx/examples/mlp.onnx", "mlp.zk")
        res.settings["constraints"]   # 625
    """
    from ispc_core.zk.formats import write_r1cs

    from .compiler import load_model

    choice(curve, CURVES, "curve")
    choice(input_visibility, INPUT_VISIBILITY, "input_visibility")
    choice(weights, WEIGHTS, "weights")
    _, data = load_model(model_path)
    options = {
        "scale": scale,
        "input_range": input_range,
        "input_shapes": {k: list(map(int, v)) for k, v in input_shapes.items()} if input_shapes else None,
        "input_visibility": input_visibility,
        "weights": weights,
        "input_check": input_check,
        "curve": curve,
    }
    secrets_doc = {}
    if weights == "committed":
        if weight_salt is None:
            weight_salt = _random_salt(curve)
        secrets_doc["weight_salt"] = str(weight_salt)
    cm = compile_model(data, **_compile_kwargs(options, weight_salt if weights == "committed" else None))
    # record what the prover must recompile exactly: the chosen scale, the ranges and shapes by name
    options = {**options, "scale_requested": scale, "scale": int(cm.scale), "input_range": dict(cm.input_bounds), "input_shapes": {k: list(map(int, v)) for k, v in cm.inputs.items()}}
    r1cs_bytes = write_r1cs(cm.r1cs)
    settings = _settings(cm, options, r1cs_bytes)
    files = {MODEL_FILE: data, SETTINGS_FILE: json_bytes(settings), R1CS_FILE: r1cs_bytes}
    if secrets_doc:
        files[SECRETS_FILE] = json_bytes(secrets_doc)
    out = Path(out_dir)
    _write_dir(out, files, force)
    return CompileResult(out, settings)


def _random_salt(curve: str) -> int:
    """A fresh random salt below the field modulus (what makes a commitment hiding)."""
    import secrets

    return secrets.randbelow(field_modulus(curve))


def _recompile(d: Path, settings: dict):
    """The compiled model of a directory (hints are needed for a witness), checked to be the one compiled."""
    from ispc_core.zk.formats import write_r1cs

    data = model_bytes(d, settings)
    salt = None
    if settings["options"].get("weights") == "committed":
        doc = read_json(Path(d) / SECRETS_FILE, "secrets")
        try:
            salt = int(doc["weight_salt"])
        except (TypeError, KeyError, ValueError):
            raise ArtifactError(f"{Path(d) / SECRETS_FILE}: no weight_salt (the committed weights' salt)", path=str(Path(d) / SECRETS_FILE)) from None
    cm = compile_model(data, **_compile_kwargs(settings["options"], salt))
    if cm.circuit_id != settings["circuit_id"]:
        raise ArtifactError(f"{d}: recompiling gives circuit {cm.circuit_id}, settings.json names {settings['circuit_id']}; compile again", path=str(d))
    if hashlib.sha256(write_r1cs(cm.r1cs)).hexdigest() != settings["r1cs_sha256"]:
        raise ArtifactError(f"{d}: this compiler makes another constraint system than the one compiled (r1cs sha256 differs); compile again", path=str(d))
    return cm


# ---------------------------------------------------------------------------------------
# setup
# ---------------------------------------------------------------------------------------
def _prover(d: Path, scheme: str):
    """The prover plugin ``scheme`` with its key store in ``d/keys`` (PLONK finds its SRS at ``d/keys/srs.ptau``)."""
    from ispc_core.plugins import PluginManager
    from ispc_core.specs import ProverServices

    choice(scheme, SCHEMES, "scheme")
    spec = PluginManager().get("ispc_provers", scheme)
    return spec.factory(ProverServices(home=Path(d), config=None, keystore_dir=Path(d) / KEYS_DIR))


def _link_srs(ptau: Path, dest: Path) -> None:
    """``dest`` becomes a hard link to ``ptau`` (a copy across file systems), replacing what was there."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(ptau, tmp)
        except OSError:
            shutil.copyfile(ptau, tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def setup(
    d: str | Path, *, scheme: str = "groth16", ptau: str | Path | None = None, force: bool = False, progress: Callable | None = None
) -> SetupResult:
    """Make the proving and verification keys of a compiled directory (``keys/``, ``keys.json``).

    Groth16: a single-party **development** setup (whoever ran it could forge
    proofs; use a ceremony key for anything real); an existing key for the
    same constraint system is kept unless ``force``. PLONK: keys derived from
    the SRS ``ptau`` (a ``.ptau`` file, e.g. ``ispc srs new --insecure`` or a
    ceremony file), which is linked into the directory for :func:`prove`.
    ``progress(stage, done, total)`` is the provers' progress callback.
    """
    from ispc_core.zk.errors import FormatError

    d = Path(d)
    settings = load_settings(d)
    choice(scheme, SCHEMES, "scheme")
    curve, cid = settings["curve"], settings["circuit_id"]
    r1cs = read_r1cs_file(d, settings)
    keys_dir = d / KEYS_DIR
    srs_dest = keys_dir / SRS_FILE
    linked = False
    if scheme == "plonk":
        if ptau is None and not srs_dest.exists():
            raise InputError("PLONK needs an SRS: pass ptau (a .ptau file; for development `ispc srs new --insecure --power K`)")
        if ptau is not None:
            from ispc_core.zk.formats.ptau import read_ptau

            ptau = Path(ptau)
            if not ptau.is_file():
                raise InputError(f"ptau: no such file {ptau}")
            try:
                srs = read_ptau(ptau)
            except (FormatError, OSError) as exc:
                raise InputError(f"ptau: {ptau} is not a readable .ptau file ({exc})") from None
            if srs.curve.name != curve:
                raise InputError(f"ptau: {ptau} is an SRS for {srs.curve.name}; the circuit is on {curve}")
            if not (srs_dest.exists() and os.path.samefile(ptau, srs_dest)):
                old = srs_dest.with_name(SRS_FILE + ".old") if srs_dest.exists() else None
                if old is not None:
                    os.replace(srs_dest, old)
                _link_srs(ptau, srs_dest)
                linked = True
    prover = _prover(d, scheme)
    try:
        if scheme == "groth16":
            vk_hash = prover.setup(cid, r1cs, curve, progress=progress, force=force).hex()
            origin = "dev-setup"
        else:
            _, meta = prover.keys(cid, r1cs, curve)
            vk_hash, origin = meta["verification_key_hash"], f"srs {meta.get('srs_id', '?')}"
    except BaseException:
        if linked:  # put the previous SRS back
            srs_dest.unlink(missing_ok=True)
            old = srs_dest.with_name(SRS_FILE + ".old")
            if old.exists():
                os.replace(old, srs_dest)
        raise
    srs_dest.with_name(SRS_FILE + ".old").unlink(missing_ok=True)
    info = prover.key_info(bytes.fromhex(vk_hash)) or {}
    if info.get("r1cs_sha256") not in (None, settings["r1cs_sha256"]):
        raise ArtifactError(f"{keys_dir}: the {scheme} key was made for another constraint system", path=str(keys_dir))
    key_dir = prover.keystore.key_dir(cid, curve) if scheme == "groth16" else prover.key_dir(cid, curve)
    entry = {
        "curve": curve,
        "circuit_id": cid,
        "verification_key_hash": vk_hash,
        "r1cs_sha256": settings["r1cs_sha256"],
        "origin": origin,
        "verification_key": str((key_dir / "verification_key.json").relative_to(d)),
    }
    keys = load_keys(d)
    keys[scheme] = entry
    write_atomic(d / KEYS_FILE, json_bytes(keys))
    return SetupResult(d, scheme, curve, cid, vk_hash, key_dir / "verification_key.json", settings["constraints"], origin)


# ---------------------------------------------------------------------------------------
# prove
# ---------------------------------------------------------------------------------------
def _groth16_meta(prover, circuit_id: str, curve: str) -> dict:
    """The metadata the Groth16 key store keeps for (circuit id, curve), or ``{}``."""
    store = getattr(prover, "keystore", None)
    try:
        return store.meta(circuit_id, curve) if store is not None and store.has_key(circuit_id, curve) else {}
    except Exception:  # noqa: BLE001 - a damaged record is a key that is not there
        return {}


def _check_srs(prover, info: dict, curve: str, d: Path) -> None:
    """PLONK: the SRS in ``d/keys`` is the one the keys were derived from (else the prover would derive new keys)."""
    from ispc_plonk.scheme import srs_id

    if info.get("srs_id") != srs_id(prover.srs(curve)):
        raise ArtifactError(f"{d / KEYS_DIR / SRS_FILE} is not the SRS the plonk keys were derived from; run setup again", path=str(d / KEYS_DIR))


def _nested(a: np.ndarray) -> list:
    return np.asarray(a).tolist()


def prove(
    d: str | Path, inputs: str | Path | Mapping, out_path: str | Path, *, scheme: str | None = None, input_salt: int | None = None
) -> ProofResult:
    """Prove the model of directory ``d`` on ``inputs`` (a JSON file or document, see :func:`read_inputs`);
    writes ``out_path`` (proof, public inputs, dequantized outputs, circuit id, scheme, curve).

    ``scheme`` may be left out when the directory has keys for one scheme only.
    :class:`InputError` for an input that is missing, misshapen or outside the
    declared range (nothing is written). Committed inputs: the proof states
    their commitment, salted with ``input_salt`` (by default a fresh random
    one, returned as :attr:`ProofResult.input_salt` and written nowhere).
    """
    d = Path(d)
    settings = load_settings(d)
    scheme, entry = key_entry(d, settings, scheme)
    names = [i["name"] for i in settings["inputs"]]
    feeds = read_inputs(inputs, names)
    t0 = time.perf_counter()
    cm = _recompile(d, settings)
    t1 = time.perf_counter()
    salt = None
    if settings["options"].get("input_visibility") == "committed":
        salt = _random_salt(cm.curve) if input_salt is None else input_salt
    inst = cm.instance(feeds, salt=salt) if salt is not None else cm.instance(feeds)  # quantizes (InputError), checked
    t2 = time.perf_counter()
    prover = _prover(d, scheme)
    vk_hash = bytes.fromhex(entry["verification_key_hash"])
    # the key must be there (a Groth16 prover would otherwise make a new one); which key the prover used is
    # checked below. key_info() is not asked here: for Groth16 it prepares the verifying key, seconds of work
    # for a circuit with many public inputs that proving never needs
    if not prover.has_verification_key(vk_hash):
        raise ArtifactError(f"{d / KEYS_DIR}: the {scheme} key {entry['verification_key_hash'][:16]}… is missing; run setup again", path=str(d / KEYS_DIR))
    if scheme == "groth16":  # the stored key's record (read, not prepared): the prover keeps it only if it matches
        meta = _groth16_meta(prover, cm.circuit_id, cm.curve)
        if meta.get("verification_key_hash") != entry["verification_key_hash"] or meta.get("r1cs_sha256") != settings["r1cs_sha256"]:
            raise ArtifactError(f"{d / KEYS_DIR}: the groth16 key stored for this circuit is not the one keys.json names; run setup again", path=str(d / KEYS_DIR))
    if scheme == "plonk":
        info = prover.key_info(vk_hash) or {}
        if info.get("circuit_id") != cm.circuit_id or info.get("r1cs_sha256") not in (None, settings["r1cs_sha256"]):
            raise ArtifactError(f"{d / KEYS_DIR}: the plonk key {entry['verification_key_hash'][:16]}… is not this circuit's; run setup again", path=str(d / KEYS_DIR))
        _check_srs(prover, info, cm.curve, d)
    t3 = time.perf_counter()
    art = prover.prove(inst, cm.curve)  # reads the proving key from the directory, then proves
    t4 = time.perf_counter()
    if art.verification_key_hash != vk_hash:
        raise ArtifactError(f"{d / KEYS_DIR}: the prover used another key than keys.json names; run setup again", path=str(d / KEYS_DIR))
    outputs = cm.dequantize(inst.outputs)
    doc = {
        "format": PROOF_FORMAT,
        "circuit_id": art.circuit_id,
        "circuit_version": art.circuit_version,
        "scheme": art.proving_scheme,
        "curve": art.curve,
        "verification_key_hash": art.verification_key_hash.hex(),
        "model_sha256": settings["model_sha256"],
        "proof": bytes(art.proof).hex(),
        "public_inputs": [str(v) for v in art.public_inputs],
        "outputs": {k: _nested(v) for k, v in outputs.items()},
        "outputs_quantized": {k: _nested(np.asarray(v, dtype=object).astype(np.int64)) for k, v in inst.outputs.items()},
        "constraint_count": art.constraint_count,
        "generation_time_ms": art.generation_time_ms,
    }
    stated = decode_public(settings, tuple(art.public_inputs), field_modulus(art.curve))
    for k in ("input_commitment", "weight_commitment"):
        if stated[k] is not None:
            doc[k] = str(stated[k])
    out = Path(out_path)
    write_atomic(out, json_bytes(doc))
    return ProofResult(out, doc, outputs, {"compile": t1 - t0, "witness": t2 - t1, "keys": t3 - t2, "prove": t4 - t3}, salt)


# ---------------------------------------------------------------------------------------
# verify
# ---------------------------------------------------------------------------------------
def _same(stated: Any, proven: np.ndarray) -> bool:
    try:
        a = np.asarray(stated, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == proven.shape and bool(np.array_equal(a, proven))


def verify(d: str | Path, proof: str | Path | Mapping) -> Verification:
    """Verify a proof file (or its parsed document) against the compiled directory ``d``.

    Invalid (``valid=False`` with the reason) when the proof is for another
    circuit, curve, key or model, when an input lies outside the declared
    range (``input_check="verifier"``), when the outputs written in the file
    are not those proven, or when the proof does not verify. A malformed
    directory or proof file raises :class:`ArtifactError`.
    """
    from ispc_core.specs import ProofArtifact
    from ispc_core.zk.errors import ZKError

    d = Path(d)
    settings = load_settings(d)
    where = str(proof) if isinstance(proof, (str, Path)) else "proof"
    doc = read_json(Path(proof), "proof") if isinstance(proof, (str, Path)) else proof
    p = parse_proof(doc, where)
    cid, scheme, curve = settings["circuit_id"], p["scheme"], p["curve"]

    def invalid(reason: str) -> Verification:
        return Verification(False, reason, p["circuit_id"], scheme, curve)

    if p["circuit_id"] != cid:
        return invalid(f"the proof is for circuit {p['circuit_id']}; {d} holds {cid}")
    if curve != settings["curve"]:
        return invalid(f"the proof is on {curve}; {d} is compiled for {settings['curve']}")
    if scheme not in SCHEMES:
        return invalid(f"unknown proving scheme {scheme!r}")
    scheme, entry = key_entry(d, settings, scheme)
    if p["verification_key_hash"].hex() != entry["verification_key_hash"]:
        return invalid(f"the proof was made with key {p['verification_key_hash'].hex()[:16]}…, not this directory's {scheme} key")
    public = p["public_inputs"]
    if len(public) != settings["public_inputs"]:
        return invalid(f"the proof has {len(public)} public inputs; the circuit has {settings['public_inputs']}")
    if tuple(public[:2]) != split128(bytes.fromhex(settings["model_sha256"])):
        return invalid("the public inputs name another model (model id differs)")
    r = field_modulus(curve)
    stated_pub = decode_public(settings, public, r)
    inputs_q, outputs_q, outputs = stated_pub["inputs_q"], stated_pub["outputs_q"], stated_pub["outputs"]
    if settings.get("weight_commitment") is not None and str(stated_pub["weight_commitment"]) != settings["weight_commitment"]:
        return invalid("the public inputs name another weight commitment than this model's")
    for k in ("input_commitment", "weight_commitment"):
        if k in doc and (stated_pub[k] is None or doc[k] != str(stated_pub[k])):
            return invalid(f"the {k.replace('_', ' ')} written in the proof file is not the one its public inputs state")
    if settings["options"].get("input_check") == "verifier":
        for i in settings["inputs"]:
            limit = int(np.rint(i["range"] * 2.0 ** i["scale"]))
            if int(np.abs(inputs_q[i["name"]]).max(initial=0)) > limit:
                return invalid(f"input {i['name']!r} in the public inputs is outside the declared range [-{i['range']}, {i['range']}]")
    stated = p["outputs"]
    if set(stated) != set(outputs) or not all(_same(stated[k], v) for k, v in outputs.items()):
        return invalid("the outputs written in the proof file are not the ones its public inputs state")
    if "outputs_quantized" in doc and not (
        isinstance(doc["outputs_quantized"], Mapping) and set(doc["outputs_quantized"]) == set(outputs_q)
        and all(_same(doc["outputs_quantized"][k], v.astype(np.float64)) for k, v in outputs_q.items())
    ):  # fmt: skip
        return invalid("the quantized outputs written in the proof file are not the ones its public inputs state")
    art = ProofArtifact(
        proof=p["proof"], public_inputs=public, proving_scheme=scheme, curve=curve, verification_key_hash=p["verification_key_hash"],
        circuit_id=cid, circuit_version=p["circuit_version"], constraint_count=settings["constraints"], generation_time_ms=0,
    )  # fmt: skip
    try:
        ok = _prover(d, scheme).verify(art)
    except ZKError as exc:
        raise ArtifactError(f"{where}: malformed proof ({exc})", path=where) from None
    if not ok:
        return invalid("the proof does not verify for these public inputs under this key")
    return Verification(True, "valid", cid, scheme, curve, outputs, outputs_q, stated_pub["input_commitment"])

