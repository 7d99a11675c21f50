"""secp256k1 node keys, signatures and addresses (coincurve / libsecp256k1).

Signatures are 64-byte compact ``r || s`` ECDSA signatures over a 32-byte
digest (no re-hashing), with RFC 6979 deterministic nonces and low ``s``.
An address is the last 20 bytes of sha256 of the 33-byte compressed public key.

Keys live in ``<root>/<name>.key`` as the hex of the 32-byte secret, mode 0600.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import coincurve
from coincurve import ecdsa

from ispc_core import errors

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_HEX40 = re.compile(r"[0-9a-fA-F]{40}")


def address_of(public_key: bytes) -> bytes:
    """The 20-byte address of a 33-byte compressed public key."""
    return hashlib.sha256(bytes(public_key)).digest()[-20:]


def parse_address(text: str) -> bytes:
    """Parse an address written as 40 hex characters (an optional ``0x`` prefix is allowed)."""
    if isinstance(text, str):
        stripped = text.strip()
        if stripped[:2].lower() == "0x":
            stripped = stripped[2:]
        if _HEX40.fullmatch(stripped):
            return bytes.fromhex(stripped)
    raise errors.RequestError(f"an address is 40 hex characters, got {text!r}")


def check_key_name(name: str) -> str:
    """Return ``name`` if it is a valid key name (``[A-Za-z0-9_.-]{1,64}``), else raise ``RequestError``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise errors.RequestError(f"a key name matches {_NAME.pattern}, got {name!r}")
    return name


def verify_signature(public_key: bytes, digest: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (64-byte compact, low-s) signs ``digest`` under ``public_key``.

    Never raises: malformed keys, digests or signatures give ``False``.
    """
    try:
        if len(digest) != 32 or len(signature) != 64 or len(public_key) != 33:
            return False
        pub = coincurve.PublicKey(bytes(public_key))
        der = ecdsa.cdata_to_der(ecdsa.deserialize_compact(bytes(signature)))
        # libsecp256k1 verification rejects high-s signatures (malleability)
        return bool(pub.verify(der, bytes(digest), hasher=None))
    except Exception:  # noqa: BLE001 - garbage in, False out
        return False


class NodeKey:
    """A named secp256k1 key pair."""

    def __init__(self, name: str, secret: bytes):
        self.name = check_key_name(name)
        try:
            self._private = coincurve.PrivateKey(bytes(secret))
        except Exception as exc:  # invalid scalar (zero, >= n) or wrong length
            raise errors.RequestError(f"key {name!r}: not a valid secp256k1 secret") from exc
        #: 33-byte compressed public key
        self.public_key: bytes = self._private.public_key.format(compressed=True)
        #: 20-byte address
        self.address: bytes = address_of(self.public_key)

    @classmethod
    def generate(cls, name: str) -> "NodeKey":
        """A fresh random key (from the OS random source)."""
        return cls(name, coincurve.PrivateKey().secret)

    def sign(self, digest: bytes) -> bytes:
        """Sign a 32-byte digest; return the 64-byte compact ``r || s`` signature."""
        if not isinstance(digest, (bytes, bytearray)) or len(digest) != 32:
            raise errors.RequestError("only 32-byte digests are signed")
        # recoverable form is r || s || recid; drop the recovery id
        return self._private.sign_recoverable(bytes(digest), hasher=None)[:64]

    def secret_hex(self) -> str:
        """The secret as hex (what the key file holds)."""
        return self._private.secret.hex()

    def __repr__(self) -> str:
        return f"NodeKey(name={self.name!r}, address={self.address.hex()})"


class KeyStore:
    """Named keys stored as ``<root>/<name>.key`` files."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(self.root, 0o700)
        except OSError:
            pass

    def _path(self, name: str) -> Path:
        return self.root / f"{check_key_name(name)}.key"

    def names(self) -> list[str]:
        """Names of every stored key, sorted."""
        return sorted(p.name[: -len(".key")] for p in self.root.glob("*.key") if _NAME.fullmatch(p.name[:-4]))

    def create(self, name: str) -> NodeKey:
        """Create and store a new key; raise ``RequestError`` if ``name`` exists."""
        path = self._path(name)
        key = NodeKey.generate(name)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")  # created with mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(key.secret_hex() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)  # atomic, and fails if the name is taken
            except FileExistsError:
                raise errors.RequestError(f"key {name!r} already exists; refusing to overwrite it") from None
        finally:
            os.unlink(tmp)
        return key

    def get(self, name: str) -> NodeKey:
        """Load a key; raise ``UnknownKey`` (listing the existing ones) if absent."""
        path = self._path(name)
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            known = ", ".join(self.names()) or "none"
            raise errors.UnknownKey(f"no key named {name!r}; existing keys: {known}") from None
        try:
            secret = bytes.fromhex(text)
            if len(secret) != 32:
                raise ValueError("not 32 bytes")
            return NodeKey(name, secret)
        except (ValueError, errors.RequestError) as exc:
            raise errors.CorruptData(f"key file for {name!r} is unreadable: {exc}") from exc

    def get_or_create(self, name: str) -> NodeKey:
        """Load ``name``, creating it first if it does not exist."""
        try:
            return self.get(name)
        except errors.UnknownKey:
            try:
                return self.create(name)
            except errors.RequestError:  # created concurrently
                return self.get(name)

    def list(self) -> list[NodeKey]:
        """Every stored key, sorted by name."""
        return [self.get(name) for name in self.names()]

    def by_address(self, address: bytes) -> NodeKey | None:
        """The stored key with this 20-byte address, or ``None``."""
        for key in self.list():
            if key.address == bytes(address):
                return key
        return None
