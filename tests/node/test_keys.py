"""Keys: storage, addresses, deterministic low-s signatures, robust verification."""

import hashlib
import os
import stat

import coincurve
import pytest

from ispc_core import errors
from ispc_core.node.keys import KeyStore, NodeKey, address_of, parse_address, verify_signature

N = int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", 16)
DIGEST = hashlib.sha256(b"message").digest()


def test_create_get_list_and_file_mode(tmp_path):
    ks = KeyStore(tmp_path)
    key = ks.create("alice")
    assert len(key.public_key) == 33 and key.public_key[0] in (2, 3)
    assert key.address == hashlib.sha256(key.public_key).digest()[-20:] == address_of(key.public_key)
    again = ks.get("alice")
    assert again.public_key == key.public_key
    mode = stat.S_IMODE(os.stat(tmp_path / "alice.key").st_mode)
    assert mode == 0o600
    ks.create("bob")
    assert [k.name for k in ks.list()] == ["alice", "bob"]
    assert ks.by_address(key.address).name == "alice"
    assert ks.by_address(b"\x00" * 20) is None
    assert not list(tmp_path.glob(".tmp-*"))


def test_create_refuses_to_overwrite(tmp_path):
    ks = KeyStore(tmp_path)
    first = ks.create("k")
    with pytest.raises(errors.RequestError, match="already exists"):
        ks.create("k")
    assert ks.get("k").public_key == first.public_key


def test_get_or_create_is_stable(tmp_path):
    ks = KeyStore(tmp_path)
    assert ks.get_or_create("node").address == ks.get_or_create("node").address


def test_unknown_key_lists_existing(tmp_path):
    ks = KeyStore(tmp_path)
    ks.create("alice")
    with pytest.raises(errors.UnknownKey, match="'carol'.*alice"):
        ks.get("carol")


@pytest.mark.parametrize("name", ["", "a/b", "../x", "x" * 65, "sp ace", ".."])
def test_bad_key_names(tmp_path, name):
    with pytest.raises(errors.RequestError):
        KeyStore(tmp_path).create(name)


def test_corrupt_key_file(tmp_path):
    (tmp_path / "bad.key").write_text("not hex")
    with pytest.raises(errors.CorruptData):
        KeyStore(tmp_path).get("bad")


def test_sign_verify_deterministic_low_s():
    key = NodeKey("k", b"\x01" * 32)
    sig = key.sign(DIGEST)
    assert len(sig) == 64
    assert sig == key.sign(DIGEST)  # RFC 6979
    assert int.from_bytes(sig[32:], "big") <= N // 2
    assert verify_signature(key.public_key, DIGEST, sig)
    # the digest is signed as is (no re-hashing): coincurve agrees with hasher=None
    der = coincurve.ecdsa.cdata_to_der(coincurve.ecdsa.deserialize_compact(sig))
    assert coincurve.PublicKey(key.public_key).verify(der, DIGEST, hasher=None)


def test_verify_rejects_wrong_digest_key_and_tampering():
    key, other = NodeKey("k", b"\x01" * 32), NodeKey("o", b"\x02" * 32)
    sig = key.sign(DIGEST)
    assert not verify_signature(key.public_key, hashlib.sha256(b"other").digest(), sig)
    assert not verify_signature(other.public_key, DIGEST, sig)
    tampered = bytes([sig[0] ^ 1]) + sig[1:]
    assert not verify_signature(key.public_key, DIGEST, tampered)
    # the high-s twin of a valid signature is refused (malleability)
    s = int.from_bytes(sig[32:], "big")
    assert not verify_signature(key.public_key, DIGEST, sig[:32] + (N - s).to_bytes(32, "big"))


@pytest.mark.parametrize(
    "pub,digest,sig",
    [(b"", DIGEST, b"\x00" * 64), (b"\x02" + b"\xff" * 32, DIGEST, b"\x01" * 64),
     (b"\x02" * 33, b"short", b"\x01" * 64), (b"\x02" * 33, DIGEST, b"\xff" * 64), (None, None, None)],
)
def test_verify_never_raises_on_garbage(pub, digest, sig):
    assert verify_signature(pub, digest, sig) is False


def test_sign_requires_32_byte_digest():
    with pytest.raises(errors.RequestError):
        NodeKey("k", b"\x01" * 32).sign(b"not a digest")


def test_invalid_secret_is_a_request_error():
    with pytest.raises(errors.RequestError):
        NodeKey("k", b"\x00" * 32)


def test_parse_address():
    assert parse_address("ab" * 20) == b"\xab" * 20
    assert parse_address("0x" + "AB" * 20) == b"\xab" * 20
    for bad in ["ab" * 19, "zz" * 20, "", None]:
        with pytest.raises(errors.RequestError):
            parse_address(bad)
