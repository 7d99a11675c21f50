"""Content-addressed resource store.

A resource (a WebAssembly module, an ONNX model, ...) is stored under its id,
the sha256 of its bytes. Layout under the store root::

    <root>/<id[:2]>/<id>          the bytes
    <root>/<id[:2]>/<id>.json     {"kind": ..., "size": ..., "metadata": {...}}

Writes go to a temporary file in the same directory and are renamed into
place, so a reader never sees a half-written resource. ``get`` re-hashes the
bytes and refuses a file whose hash no longer matches its name.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import attrs

from ispc_core import errors
from ispc_core.node.files import write_atomic

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_KIND = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")


@attrs.frozen
class StoredResource:
    """A resource read back from the store, with its bytes."""

    resource_id: bytes
    kind: str
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    metadata: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class ResourceEntry:
    """A listing entry: a stored resource without its bytes."""

    resource_id: bytes
    kind: str
    size: int
    metadata: dict[str, str] = attrs.field(factory=dict)


def parse_resource_id(text: str) -> bytes:
    """Parse a resource id written as 64 hex characters; raise ``RequestError`` otherwise."""
    if not isinstance(text, str) or not _HEX64.fullmatch(text.strip()):
        raise errors.RequestError(f"a resource id is 64 hex characters, got {text!r}")
    return bytes.fromhex(text.strip())


def _check_id(resource_id: bytes | str) -> bytes:
    """Normalise a resource id given as 32 bytes (or, for convenience, 64 hex chars)."""
    if isinstance(resource_id, str):
        return parse_resource_id(resource_id)
    if not isinstance(resource_id, (bytes, bytearray)) or len(resource_id) != 32:
        raise errors.RequestError(f"a resource id is 32 bytes, got {resource_id!r}")
    return bytes(resource_id)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    write_atomic(path, data)


class ResourceStore:
    """Content-addressed store of deployed resources under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _paths(self, resource_id: bytes) -> tuple[Path, Path]:
        hex_id = resource_id.hex()
        directory = self.root / hex_id[:2]
        return directory / hex_id, directory / f"{hex_id}.json"

    def put(self, data: bytes, kind: str, metadata: dict[str, str] | None = None) -> bytes:
        """Store ``data`` and return its id (sha256). Storing the same bytes again is a no-op.

        ``kind`` is a short lowercase name (``"wasm"``, ``"onnx"``); ``metadata``
        maps strings to strings. The first ``put`` of some bytes fixes their
        kind and metadata.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise errors.RequestError(f"resource data must be bytes, got {type(data).__name__}")
        data = bytes(data)
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise errors.RequestError(f"resource kind must match {_KIND.pattern}, got {kind!r}")
        metadata = dict(metadata or {})
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise errors.RequestError(f"resource metadata must map str to str, got {key!r}: {value!r}")
        resource_id = hashlib.sha256(data).digest()
        data_path, meta_path = self._paths(resource_id)
        if data_path.exists() and meta_path.exists():
            return resource_id
        data_path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"kind": kind, "size": len(data), "metadata": metadata}
        # metadata first: a data file is only ever visible together with its metadata
        _atomic_write(meta_path, json.dumps(meta, sort_keys=True).encode())
        _atomic_write(data_path, data)
        return resource_id

    def _read_meta(self, resource_id: bytes) -> dict:
        data_path, meta_path = self._paths(resource_id)
        if not (data_path.exists() and meta_path.exists()):
            raise errors.UnknownResource(f"no resource {resource_id.hex()} is deployed")
        try:
            meta = json.loads(meta_path.read_text())
            return {"kind": str(meta["kind"]), "size": int(meta["size"]), "metadata": dict(meta["metadata"])}
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.CorruptData(f"metadata of resource {resource_id.hex()} is unreadable: {exc}") from exc

    def get(self, resource_id: bytes) -> StoredResource:
        """Read a resource and check its hash; raise ``UnknownResource`` if absent."""
        resource_id = _check_id(resource_id)
        meta = self._read_meta(resource_id)
        data = self._paths(resource_id)[0].read_bytes()
        if hashlib.sha256(data).digest() != resource_id:
            raise errors.CorruptData(f"resource {resource_id.hex()} is corrupt: its bytes no longer hash to its id")
        return StoredResource(resource_id=resource_id, kind=meta["kind"], data=data, metadata=meta["metadata"])

    def has(self, resource_id: bytes) -> bool:
        """Whether a resource with this id is stored."""
        resource_id = _check_id(resource_id)
        data_path, meta_path = self._paths(resource_id)
        return data_path.exists() and meta_path.exists()

    def list(self) -> list[ResourceEntry]:
        """Every stored resource (without its bytes), sorted by id."""
        entries = []
        for meta_path in sorted(self.root.glob("??/*.json")):
            stem = meta_path.name[: -len(".json")]
            if not _HEX64.fullmatch(stem) or not (meta_path.parent / stem).exists():
                continue
            resource_id = bytes.fromhex(stem)
            meta = self._read_meta(resource_id)
            entries.append(ResourceEntry(resource_id, meta["kind"], meta["size"], meta["metadata"]))
        return entries
