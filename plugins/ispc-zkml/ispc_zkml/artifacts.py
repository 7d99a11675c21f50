"""The files of a compiled-model directory and of a proof, read and written for :mod:`ispc_zkml.api`.

A directory holds ``model.onnx``, ``settings.json`` (:data:`SETTINGS_FORMAT`), ``model.r1cs``,
``keys.json`` and ``keys/``; a proof file is a :data:`PROOF_FORMAT` document. Every reader
checks what it reads and raises :class:`ArtifactError` naming the file (or
:class:`~ispc_zkml.errors.InputError` for an input file); every writer goes through a
temporary file and a rename (:func:`write_atomic`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ispc_core import boundedjson
from ispc_core.node.files import write_atomic

from .errors import InputError, ZkmlError

__all__ = [
    "ArtifactError", "SETTINGS_FORMAT", "PROOF_FORMAT", "SCHEMES", "CURVES", "read_inputs", "load_settings", "load_keys",
    "key_entry", "parse_proof", "decode_public", "write_atomic",
]  # fmt: skip

SETTINGS_FORMAT = "ispc-zkml-settings/1"
PROOF_FORMAT = "ispc-zkml-proof/1"
MODEL_FILE, SETTINGS_FILE, R1CS_FILE = "model.onnx", "settings.json", "model.r1cs"
KEYS_FILE, KEYS_DIR, SRS_FILE = "keys.json", "keys", "srs.ptau"
#: what only the prover may know (the weights' commitment salt); never read by verify
SECRETS_FILE = "secrets.json"
SCHEMES = ("groth16", "plonk")
CURVES = ("bn254", "bls12-381")
INPUT_VISIBILITY = ("public", "committed")
WEIGHTS = ("fixed", "committed")


class ArtifactError(ZkmlError):
    """A compiled-model directory, its keys or a proof file is missing, incomplete or malformed (``path`` names it)."""

    code = "zkml_artifact"

    def __init__(self, message: str, *, path: str = ""):
        super().__init__(message)
        self.path = path


def choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    """``value`` if it is one of ``allowed``, else :class:`InputError` naming ``what``."""
    if value not in allowed:
        raise InputError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
    return value



def json_bytes(obj: Any) -> bytes:
    """``obj`` as indented, key-sorted JSON bytes with a final newline (what every file here holds)."""
    return (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()


def read_json(path: Path, what: str) -> Any:
    """A JSON document from ``path``; :class:`ArtifactError` naming ``what`` if missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{what}: no such file {path}", path=str(path))
    try:
        return boundedjson.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ArtifactError(f"{what}: {path} is not a readable JSON document ({exc})", path=str(path)) from None


def load_settings(d: Path) -> dict:
    """The ``settings.json`` of directory ``d``, checked to be one :func:`ispc_zkml.api.compile` wrote."""
    d = Path(d)
    if not d.is_dir():
        raise ArtifactError(f"{d} is not a directory made by `ispc zkml compile`", path=str(d))
    s = read_json(d / SETTINGS_FILE, "settings")
    need = ("circuit_id", "model_sha256", "r1cs_sha256", "curve", "scale", "options", "inputs", "outputs", "public_inputs")
    if not isinstance(s, dict) or s.get("format") != SETTINGS_FORMAT or any(k not in s for k in need):
        raise ArtifactError(f"{d / SETTINGS_FILE} is not an {SETTINGS_FORMAT} settings file", path=str(d / SETTINGS_FILE))
    return s


def load_keys(d: Path) -> dict:
    """``keys.json`` of ``d`` (``{scheme: {verification_key_hash, ...}}``); empty before any setup."""
    p = Path(d) / KEYS_FILE
    if not p.exists():
        return {}
    k = read_json(p, "keys")
    if not isinstance(k, dict) or not all(isinstance(v, dict) and "verification_key_hash" in v for v in k.values()):
        raise ArtifactError(f"{p} is malformed: expected {{scheme: {{verification_key_hash, ...}}}}", path=str(p))
    return k


def model_bytes(d: Path, settings: dict) -> bytes:
    """The bytes of ``d/model.onnx``, checked against the sha256 ``settings`` names."""
    p = Path(d) / MODEL_FILE
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"model: cannot read {p} ({exc.strerror or type(exc).__name__})", path=str(p)) from None
    if hashlib.sha256(data).hexdigest() != settings["model_sha256"]:
        raise ArtifactError(f"{p} is not the model {settings['model_sha256'][:16]}… settings.json names (changed since compile)", path=str(p))
    return data


# ---------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------
def read_inputs(source: str | Path | Mapping, names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Inputs from a JSON file or an already parsed document, as float arrays by input name.

    Accepted shapes: ``{"inputs": {name: value}}`` (the ``ispc call`` input
    files), ``{name: value}``, and ezkl's ``{"input_data": [flat list, ...]}``
    (one list per graph input, in ``names`` order). A value is a number, a
    (nested) list, or ``{"shape": [...], "data": [flat list]}``.

    >>> read_inputs({"input_data": [[0.5, -1]]}, ["x"])["x"].tolist()
    [0.5, -1.0]
    """
    if isinstance(source, (str, Path)):
        p = Path(source)
        if not p.is_file():
            raise InputError(f"input file: no such file {p}")
        try:
            doc = boundedjson.loads(p.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise InputError(f"input file {p}: not a readable JSON document ({exc})") from None
    else:
        doc = source
    if not isinstance(doc, Mapping):
        raise InputError("inputs: expected a JSON object {name: values} (or {\"inputs\": ...}, {\"input_data\": [...]})")
    if "input_data" in doc:
        data = doc["input_data"]
        if names is None or not isinstance(data, list) or len(data) != len(names):
            raise InputError(f"input_data: expected one list per model input ({', '.join(names or [])})")
        doc = dict(zip(names, data))
    elif isinstance(doc.get("inputs"), Mapping):
        doc = doc["inputs"]
    out = {}
    for name, value in doc.items():
        shape = None
        if isinstance(value, Mapping):
            if "data" not in value:
                raise InputError(f"input {name!r}: an object needs \"data\" (and \"shape\")", name=name)
            shape, value = value.get("shape"), value["data"]
        try:
            a = np.asarray(value, dtype=np.float64)
            if shape is not None:
                a = a.reshape([int(x) for x in shape])
        except (TypeError, ValueError) as exc:
            raise InputError(f"input {name!r}: not an array of numbers ({exc})", name=name) from None
        out[str(name)] = a
    return out


def read_r1cs_file(d: Path, settings: dict):
    """The constraint system of ``d/model.r1cs``, checked against the sha256 ``settings`` names."""
    from ispc_core.zk.errors import FormatError
    from ispc_core.zk.formats import read_r1cs

    p = Path(d) / R1CS_FILE
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"r1cs: cannot read {p} ({exc.strerror or type(exc).__name__})", path=str(p)) from None
    if hashlib.sha256(raw).hexdigest() != settings["r1cs_sha256"]:
        raise ArtifactError(f"{p} is not the constraint system settings.json names (changed since compile)", path=str(p))
    try:
        return read_r1cs(raw)
    except FormatError as exc:
        raise ArtifactError(f"{p}: {exc}", path=str(p)) from None


def key_entry(d: Path, settings: dict, scheme: str | None) -> tuple[str, dict]:
    """``(scheme, keys.json entry)`` for ``scheme`` (or the only one set up), checked to be this circuit's."""
    keys = load_keys(d)
    if scheme is None:
        if len(keys) == 1:
            scheme = next(iter(keys))
        elif not keys:
            raise ArtifactError(f"{d} has no keys: run `ispc zkml setup {d}` first", path=str(d))
        else:
            raise InputError(f"{d} has keys for {', '.join(sorted(keys))}: choose the scheme")
    choice(scheme, SCHEMES, "scheme")
    if scheme not in keys:
        raise ArtifactError(f"{d} has no {scheme} keys: run `ispc zkml setup {d} --scheme {scheme}` first", path=str(d))
    entry = keys[scheme]
    if entry.get("circuit_id") != settings["circuit_id"] or entry.get("r1cs_sha256") != settings["r1cs_sha256"]:
        raise ArtifactError(f"{d / KEYS_FILE}: the {scheme} keys are for another circuit; run setup again", path=str(d / KEYS_FILE))
    return scheme, entry


def field_modulus(curve: str) -> int:
    """The scalar field order of ``curve``."""
    from ispc_core.zk.fields import get_field

    return get_field(curve).modulus


def parse_proof(doc: Any, where: str) -> dict:
    """The proof document's fields, type-checked; :class:`ArtifactError` naming the first bad one."""
    if not isinstance(doc, Mapping) or doc.get("format") != PROOF_FORMAT:
        raise ArtifactError(f"{where}: not an {PROOF_FORMAT} proof file", path=where)
    for k, t in (("circuit_id", str), ("circuit_version", str), ("scheme", str), ("curve", str), ("verification_key_hash", str),
                 ("proof", str), ("public_inputs", list), ("outputs", dict)):  # fmt: skip
        if not isinstance(doc.get(k), t):
            raise ArtifactError(f"{where}: field {k!r} is missing or not a {t.__name__}", path=where)
    try:
        proof = bytes.fromhex(doc["proof"])
        vk_hash = bytes.fromhex(doc["verification_key_hash"])
    except ValueError:
        raise ArtifactError(f"{where}: 'proof' and 'verification_key_hash' must be hex", path=where) from None
    if doc["curve"] not in CURVES:
        raise ArtifactError(f"{where}: unknown curve {doc['curve']!r}", path=where)
    r = field_modulus(doc["curve"])
    public = []
    for i, v in enumerate(doc["public_inputs"]):
        if not isinstance(v, str) or not v.isdigit() or len(v) > 80 or int(v) >= r:
            raise ArtifactError(f"{where}: public input {i} is not a decimal field element", path=where)
        public.append(int(v))
    return {**doc, "proof": proof, "verification_key_hash": vk_hash, "public_inputs": tuple(public)}


def signed(v: int, r: int) -> int:
    """A field element as the signed integer it encodes (``r − |v|`` ↦ ``v``)."""
    return v - r if v > r // 2 else v


def decode_public(settings: dict, public: tuple[int, ...], r: int) -> dict:
    """What the public inputs state, by the statement's layout: the model id, the inputs (public inputs)
    or their commitment (committed inputs), the weight commitment (committed weights), the outputs last.

    Returns ``{"inputs_q", "input_commitment", "weight_commitment", "outputs_q", "outputs"}``
    (commitments ``None`` when the mode has none; ``outputs`` dequantized by each output's scale).
    """
    opts = settings["options"]
    pos, inputs_q, input_commitment, weight_commitment = 2, {}, None, None
    if opts.get("input_visibility", "public") == "public":
        for i in settings["inputs"]:
            n = int(np.prod(i["shape"], dtype=np.int64))
            inputs_q[i["name"]] = np.array([signed(v, r) for v in public[pos : pos + n]], dtype=np.int64).reshape(i["shape"])
            pos += n
    else:
        input_commitment = public[pos]
    n_out = sum(int(np.prod(o["shape"], dtype=np.int64)) for o in settings["outputs"])
    pos = len(public) - n_out
    if opts.get("weights", "fixed") == "committed":
        weight_commitment = public[pos - 1]
    outputs_q, outputs = {}, {}
    for o in settings["outputs"]:
        n = int(np.prod(o["shape"], dtype=np.int64))
        q = np.array([signed(v, r) for v in public[pos : pos + n]], dtype=np.int64).reshape(o["shape"])
        outputs_q[o["name"]], outputs[o["name"]] = q, q.astype(np.float64) / 2.0 ** o["scale"]
        pos += n
    return {"inputs_q": inputs_q, "input_commitment": input_commitment, "weight_commitment": weight_commitment, "outputs_q": outputs_q, "outputs": outputs}
