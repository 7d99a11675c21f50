"""The node's Groth16 key store: proving and verifying keys per (circuit id, curve), found by hash.

Layout under the node's key-store directory (``<home>/zkkeys``)::

    groth16/<curve>/<key id>/
        proving_key.zkey        snarkjs .zkey (usable by `snarkjs groth16 prove`)
        verification_key.json   snarkjs verification_key.json
        vk.bin                  canonical verifying-key encoding (its sha256 is the key's hash)
        circuit.r1cs            the constraint system the key was made for (when known)
        meta.json               circuit id, curve, vk hash, r1cs sha256, origin ("dev-setup" | "zkey-import")

``<key id>`` is the circuit id with ``/`` replaced by ``-``. A key directory
is written to a temporary sibling and renamed into place, so a crash never
leaves half a key. Verification looks a key up **by its hash** among the
``vk.bin`` files and re-hashes the file it finds; nothing that arrives with a
proof is ever used as a key.

Damaged files never give a traceback: a truncated or garbled
``proving_key.zkey``, ``vk.bin`` or ``meta.json``, or one that cannot be
read, raises :class:`CorruptKeyFile` naming the file (and the zkey section
when one is wrong) and what to do. ``meta.json`` records the sha256 of the
``.zkey`` (``zkey_sha256``), so loading a stored key checks one digest instead
of every point; a key without it (stored by an older version) has its points
checked (:func:`~ispc_core.zk.formats.zkey.check_points`). A ``vk.bin`` that no
longer hashes to the ``verification_key_hash`` of its ``meta.json`` stays
findable under that hash, so verification against it reports the corrupt
file instead of "unknown key".
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from ispc_core.errors import KeyFileCorrupt
from ispc_core.zk.errors import FormatError, InvalidPoint
from ispc_core.zk.formats.zkey import check_points, read_zkey, write_zkey

from .data_structures import ProvingKey, VerifyingKey

SCHEME_DIR = "groth16"

log = logging.getLogger("ispc.groth16")

__all__ = ["KeyStore", "key_id", "CorruptKeyFile", "read_key_file", "load_zkey_file"]


class CorruptKeyFile(KeyFileCorrupt, FormatError):
    """A Groth16 key file is unreadable, truncated or garbled.

    Both an :class:`ispc_core.errors.CorruptData` (the node reports it as a
    typed error) and a :class:`~ispc_core.zk.errors.FormatError` (the ``ispc zk``
    commands report it as malformed input).
    """


_REPAIR = "restore the key directory from a backup or re-import its .zkey (development keys: `ispc setup --force`)"


def corrupt(path: Any, why: str, *, section: str = "", fix: str = _REPAIR) -> CorruptKeyFile:
    """The error for a damaged key file: ``key file PATH is corrupt: WHY; FIX``."""
    return CorruptKeyFile(f"key file {path} is corrupt: {why}; {fix}", path=str(path), section=section)


def read_key_file(path: Any, *, fix: str = _REPAIR) -> bytes:
    """The bytes of a key file; :class:`CorruptKeyFile` if it cannot be read."""
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise corrupt(p, "the file is missing", fix=fix) from None
    except OSError as exc:
        raise CorruptKeyFile(
            f"key file {p} is unreadable ({exc.strerror or type(exc).__name__}); fix its permissions, or {fix}",
            path=str(p),
        ) from None


def _section_of(exc: Exception) -> str:
    msg = str(exc)
    i = msg.find("section ")
    if i < 0:
        return ""
    j = msg.find(")", i)
    return msg[i : j + 1] if j > 0 else msg[i:].split(":")[0]


def load_zkey_file(path: Any, data: bytes | None = None, *, subgroup: str = "batch", fix: str = _REPAIR):
    """Parse and check a ``.zkey`` file → ``(Zkey, ProvingKey)``; :class:`CorruptKeyFile` names the file and section."""
    raw = read_key_file(path, fix=fix) if data is None else data
    try:
        z = read_zkey(raw)
        if subgroup is not None:
            check_points(z, subgroup=subgroup)
        pk = ProvingKey.from_zkey(z)
    except (FormatError, InvalidPoint) as exc:
        why = str(exc)
        raise corrupt(path, why[6:] if why.startswith("zkey: ") else why, section=_section_of(exc), fix=fix) from None
    return z, pk


def key_id(circuit_id: str) -> str:
    """The directory name of a circuit id (``contract_execution.v1/64`` → ``contract_execution.v1-64``)."""
    safe = circuit_id.replace("/", "-")
    if not safe or safe.startswith(".") or any(c in safe for c in "\\\0"):
        raise ValueError(f"circuit id {circuit_id!r} cannot name a key directory")
    return safe


class KeyStore:
    """Groth16 keys under ``root / "groth16"``."""

    def __init__(self, root: Any):
        self.root = Path(root) / SCHEME_DIR
        self._index: dict[bytes, Path] = {}
        self._lock = threading.Lock()

    def key_dir(self, circuit_id: str, curve: str) -> Path:
        """Where the keys of one (circuit id, curve) live."""
        return self.root / curve / key_id(circuit_id)

    def has_key(self, circuit_id: str, curve: str) -> bool:
        """True if a complete key for (circuit id, curve) is stored."""
        d = self.key_dir(circuit_id, curve)
        return (d / "meta.json").exists() and (d / "proving_key.zkey").exists()

    def save(self, circuit_id: str, curve: str, pk: ProvingKey, *, r1cs_bytes: bytes | None = None, origin: str = "dev-setup", extra: dict | None = None) -> bytes:
        """Store a key atomically; returns its verifying-key hash."""
        target = self.key_dir(circuit_id, curve)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            vk_bytes = pk.vk.to_bytes()
            vk_hash = hashlib.sha256(vk_bytes).digest()
            zkey_bytes = write_zkey(pk.zkey)
            (tmp / "proving_key.zkey").write_bytes(zkey_bytes)
            (tmp / "vk.bin").write_bytes(vk_bytes)
            (tmp / "verification_key.json").write_text(json.dumps(pk.vk.to_json(), indent=1))
            meta = {
                "scheme": "groth16",
                "circuit_id": circuit_id,
                "curve": curve,
                "verification_key_hash": vk_hash.hex(),
                "n_public": pk.n_public,
                "n_vars": pk.n_vars,
                "domain_size": pk.domain_size,
                "origin": origin,
                "zkey_sha256": hashlib.sha256(zkey_bytes).hexdigest(),
                **(extra or {}),
            }
            if r1cs_bytes is not None:
                (tmp / "circuit.r1cs").write_bytes(r1cs_bytes)
                meta["r1cs_sha256"] = hashlib.sha256(r1cs_bytes).hexdigest()
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
            with self._lock:
                if target.exists():
                    old = target.with_name(f".{target.name}.old")
                    if old.exists():
                        shutil.rmtree(old)
                    os.replace(target, old)
                    os.replace(tmp, target)
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    os.replace(tmp, target)
                self._index = {h: p for h, p in self._index.items() if p != target}
                self._index[vk_hash] = target
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return vk_hash

    @staticmethod
    def _read_meta(d: Path) -> dict:
        path = d / "meta.json"
        raw = read_key_file(path)
        try:
            meta = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise corrupt(path, f"not a JSON document ({exc})", section="json") from None
        if not isinstance(meta, dict):
            raise corrupt(path, "not a JSON object", section="json")
        h = meta.get("verification_key_hash")
        try:
            ok = isinstance(h, str) and len(bytes.fromhex(h)) == 32
        except ValueError:
            ok = False
        if not ok:
            raise corrupt(path, "it has no valid verification_key_hash (64 hex digits)", section="verification_key_hash")
        return meta

    def meta(self, circuit_id: str, curve: str) -> dict:
        """The ``meta.json`` of a stored key (:class:`CorruptKeyFile` if it is damaged)."""
        return self._read_meta(self.key_dir(circuit_id, curve))

    def load_proving_key(self, circuit_id: str, curve: str) -> tuple[ProvingKey, dict]:
        """The stored proving key and its metadata; :class:`CorruptKeyFile` names a damaged file.

        The ``.zkey`` is checked against the sha256 ``meta.json`` recorded when
        the key was stored (its points were checked then); without that digest
        (older key stores) its points are checked now.
        """
        d = self.key_dir(circuit_id, curve)
        meta = self._read_meta(d)
        path = d / "proving_key.zkey"
        data = read_key_file(path)
        digest = meta.get("zkey_sha256")
        if isinstance(digest, str) and hashlib.sha256(data).hexdigest() == digest:
            z, pk = load_zkey_file(path, data, subgroup=None)
        else:
            # no digest, or a damaged file: check every point so the error names the section
            z, pk = load_zkey_file(path, data, subgroup="batch")
            if isinstance(digest, str):
                raise corrupt(path, "its sha256 differs from the zkey_sha256 recorded in meta.json (a damaged or replaced byte)")
        if pk.vk.hash().hex() != meta["verification_key_hash"]:
            raise corrupt(path, f"its verifying key is not the one meta.json names ({meta['verification_key_hash'][:16]}…)")
        if pk.curve != curve:
            raise corrupt(path, f"it is a key for {pk.curve}, stored under {curve}")
        return pk, meta

    # ---- lookup by hash -----------------------------------------------------------
    def _scan(self) -> None:
        index: dict[bytes, Path] = {}
        if self.root.exists():
            for d in sorted(self.root.glob("*/*")):
                if d.name.startswith(".") or not d.is_dir():
                    continue
                try:
                    index[hashlib.sha256((d / "vk.bin").read_bytes()).digest()] = d
                except OSError:
                    pass
                try:  # a damaged vk.bin stays findable under the hash its meta.json names
                    h = bytes.fromhex(json.loads((d / "meta.json").read_text("utf-8"))["verification_key_hash"])
                except (OSError, ValueError, KeyError, TypeError, AttributeError):
                    continue
                if len(h) == 32:
                    index.setdefault(h, d)
        self._index = index

    def _dir_of(self, vk_hash: bytes) -> Path | None:
        with self._lock:
            d = self._index.get(vk_hash)
            if d is None or not d.is_dir():
                self._scan()
                d = self._index.get(vk_hash)
        return d

    def has_verification_key(self, vk_hash: bytes) -> bool:
        """True if a verifying key with this hash is stored here (possibly damaged: :meth:`find_verifying_key` says so)."""
        return isinstance(vk_hash, (bytes, bytearray)) and len(vk_hash) == 32 and self._dir_of(bytes(vk_hash)) is not None

    def find_verifying_key(self, vk_hash: bytes) -> tuple[VerifyingKey, dict] | None:
        """The stored verifying key with this hash (re-hashed on load) and its metadata, or None.

        :class:`CorruptKeyFile` if the key directory for this hash is damaged.
        """
        if not isinstance(vk_hash, (bytes, bytearray)) or len(vk_hash) != 32:
            return None
        vk_hash = bytes(vk_hash)
        d = self._dir_of(vk_hash)
        if d is None:
            return None
        path = d / "vk.bin"
        data = read_key_file(path)
        if hashlib.sha256(data).digest() != vk_hash:
            with self._lock:
                self._scan()  # changed on disk since the scan?
                d2 = self._index.get(vk_hash)
            if d2 is None:
                return None
            path = d2 / "vk.bin"
            data = read_key_file(path)
            if hashlib.sha256(data).digest() != vk_hash:
                raise corrupt(path, f"it no longer hashes to the verification_key_hash {vk_hash.hex()[:16]}… its meta.json names")
            d = d2
        try:
            vk = VerifyingKey.from_bytes(data)
        except (FormatError, InvalidPoint) as exc:
            raise corrupt(path, str(exc)) from None
        return vk, self._read_meta(d)
