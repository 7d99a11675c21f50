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
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from ispc_core.zk.formats.zkey import read_zkey, write_zkey

from .data_structures import ProvingKey, VerifyingKey

SCHEME_DIR = "groth16"

__all__ = ["KeyStore", "key_id"]


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
            (tmp / "proving_key.zkey").write_bytes(write_zkey(pk.zkey))
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

    def meta(self, circuit_id: str, curve: str) -> dict:
        """The ``meta.json`` of a stored key."""
        return json.loads((self.key_dir(circuit_id, curve) / "meta.json").read_text())

    def load_proving_key(self, circuit_id: str, curve: str) -> tuple[ProvingKey, dict]:
        """The stored proving key and its metadata."""
        d = self.key_dir(circuit_id, curve)
        z = read_zkey((d / "proving_key.zkey").read_bytes())
        return ProvingKey.from_zkey(z), json.loads((d / "meta.json").read_text())

    # ---- lookup by hash -----------------------------------------------------------
    def _scan(self) -> None:
        index: dict[bytes, Path] = {}
        if self.root.exists():
            for vk_file in self.root.glob("*/*/vk.bin"):
                if vk_file.parent.name.startswith("."):
                    continue
                index[hashlib.sha256(vk_file.read_bytes()).digest()] = vk_file.parent
        self._index = index

    def _dir_of(self, vk_hash: bytes) -> Path | None:
        with self._lock:
            d = self._index.get(vk_hash)
            if d is None or not (d / "vk.bin").exists():
                self._scan()
                d = self._index.get(vk_hash)
        return d

    def has_verification_key(self, vk_hash: bytes) -> bool:
        """True if a verifying key with this hash is stored here."""
        return isinstance(vk_hash, (bytes, bytearray)) and len(vk_hash) == 32 and self._dir_of(bytes(vk_hash)) is not None

    def find_verifying_key(self, vk_hash: bytes) -> tuple[VerifyingKey, dict] | None:
        """The stored verifying key with this hash (re-hashed on load) and its metadata, or None."""
        if not isinstance(vk_hash, (bytes, bytearray)) or len(vk_hash) != 32:
            return None
        d = self._dir_of(bytes(vk_hash))
        if d is None:
            return None
        data = (d / "vk.bin").read_bytes()
        if hashlib.sha256(data).digest() != vk_hash:  # changed on disk since the scan
            return None
        return VerifyingKey.from_bytes(data), json.loads((d / "meta.json").read_text())
