"""Resource store: content addressing, integrity, typed errors."""

import hashlib
import os

import pytest

from ispc_core import errors
from ispc_core.node.store import ResourceStore, parse_resource_id


def test_put_get_roundtrip_and_id_is_sha256(tmp_path):
    store = ResourceStore(tmp_path)
    rid = store.put(b"\x00asm module", "wasm", {"name": "demo"})
    assert rid == hashlib.sha256(b"\x00asm module").digest()
    res = store.get(rid)
    assert (res.resource_id, res.kind, res.data, res.metadata) == (rid, "wasm", b"\x00asm module", {"name": "demo"})
    assert store.has(rid)
    assert store.get(rid.hex()).data == b"\x00asm module"


def test_put_is_idempotent_and_leaves_no_temp_files(tmp_path):
    store = ResourceStore(tmp_path)
    a = store.put(b"x", "onnx", {})
    b = store.put(b"x", "onnx", {})
    assert a == b
    assert [e.resource_id for e in store.list()] == [a]
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_list_has_entries_without_data(tmp_path):
    store = ResourceStore(tmp_path)
    ids = sorted([store.put(b"one", "wasm", {}), store.put(b"two", "onnx", {"k": "v"})])
    entries = store.list()
    assert [e.resource_id for e in entries] == ids
    assert {e.kind for e in entries} == {"wasm", "onnx"}
    assert all(not hasattr(e, "data") for e in entries)
    assert {e.size for e in entries} == {3}


def test_unknown_resource_names_the_id(tmp_path):
    store = ResourceStore(tmp_path)
    missing = b"\x11" * 32
    with pytest.raises(errors.UnknownResource, match=missing.hex()):
        store.get(missing)
    assert not store.has(missing)


def test_corrupted_bytes_are_detected(tmp_path):
    store = ResourceStore(tmp_path)
    rid = store.put(b"original", "wasm", {})
    path = tmp_path / rid.hex()[:2] / rid.hex()
    path.write_bytes(b"tampered")
    with pytest.raises(errors.CorruptData, match=rid.hex()):
        store.get(rid)


@pytest.mark.parametrize("text", ["", "zz" * 32, "ab" * 31, "ab" * 33, None, b"\x00" * 32])
def test_parse_resource_id_rejects_bad_text(text):
    with pytest.raises(errors.RequestError):
        parse_resource_id(text)


def test_parse_resource_id_accepts_hex():
    assert parse_resource_id("AB" * 32) == b"\xab" * 32


@pytest.mark.parametrize(
    "args",
    [("notbytes", "wasm", {}), (b"x", "", {}), (b"x", "Bad Kind", {}), (b"x", "wasm", {"k": 1})],
)
def test_put_rejects_bad_input(tmp_path, args):
    with pytest.raises(errors.RequestError):
        ResourceStore(tmp_path).put(*args)


@pytest.mark.parametrize("rid", [b"short", "nothex", 42])
def test_get_rejects_malformed_ids(tmp_path, rid):
    with pytest.raises(errors.RequestError):
        ResourceStore(tmp_path).get(rid)
