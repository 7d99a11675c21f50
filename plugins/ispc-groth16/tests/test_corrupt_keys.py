"""Damaged Groth16 key files give one typed error naming the file (and the zkey section), never a traceback.

Each test builds the damage itself: a truncated ``proving_key.zkey``, a
garbage ``vk.bin``, a truncated or non-JSON ``meta.json``, a file that cannot
be read, and a ``.zkey`` with one flipped byte (which used to prove
"successfully" and fail only at verification).
"""

from __future__ import annotations

import json
import struct

import pytest
from click.testing import CliRunner

from ispc_core.cli import main
from ispc_core.errors import CorruptData, IspcError, KeyFileCorrupt
from ispc_core.zk.formats import write_r1cs, write_wtns
from ispc_core.zk.formats.zkey import read_zkey, write_zkey
from ispc_core.zk.r1cs import CircuitBuilder
from ispc_groth16.files import import_zkey, prove_files, setup_files
from ispc_groth16.keystore import CorruptKeyFile, KeyStore
from ispc_groth16.plugin import Groth16Prover

CURVE = "bn254"
CID = "small/1"


def small_circuit(curve=CURVE, x=3, y=5):
    cb = CircuitBuilder(curve)
    out = cb.public_output("out", hint=lambda get: get(t) ** 2)
    xw = cb.public_input("x", x)
    yw = cb.private_input("y", y)
    t = cb.mul(xw, yw, "t")
    cb.constrain(t, t, out, "square")
    return cb.build()


class Inst:
    def __init__(self, r1cs, witness, curve=CURVE):
        self.circuit_id, self.version, self.r1cs, self.witness, self.curve = CID, "v1", r1cs, tuple(witness), curve
        self.public_inputs = tuple(witness[1 : 1 + r1cs.n_public])


@pytest.fixture()
def store(tmp_path):
    """A key store holding one proven key: (keystore dir, key dir, r1cs, witness, artifact)."""
    r1cs, wit = small_circuit()
    prover = Groth16Prover(tmp_path / "zkkeys")
    art = prover.prove(Inst(r1cs, wit), CURVE)
    d = KeyStore(tmp_path / "zkkeys").key_dir(CID, CURVE)
    return tmp_path / "zkkeys", d, r1cs, wit, art


def _one_clear_line(exc: BaseException, filename: str) -> str:
    msg = str(exc)
    assert isinstance(exc, IspcError) and isinstance(exc, CorruptData) and isinstance(exc, KeyFileCorrupt)
    assert "\n" not in msg and filename in msg and exc.path.endswith(filename), msg
    assert "re-import" in msg or "setup" in msg or "permissions" in msg, msg  # says what to do
    return msg


def _section_offset(data: bytes, typ: int) -> int:
    """Offset of the payload of section ``typ`` in an iden3 binary file."""
    (n,) = struct.unpack_from("<I", data, 8)
    pos = 12
    for _ in range(n):
        t, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if t == typ:
            return pos
        pos += size
    raise AssertionError(f"no section {typ}")


def _flip(path, typ: int, at: int = 5) -> None:
    data = bytearray(path.read_bytes())
    data[_section_offset(bytes(data), typ) + at] ^= 0x01
    path.write_bytes(bytes(data))


def _prove_again(keys, r1cs, wit):
    return Groth16Prover(keys).prove(Inst(r1cs, wit), CURVE)


# ---- proving_key.zkey ------------------------------------------------------------------
@pytest.mark.parametrize("cut", [0, 11, 100, 0.5, -1])
def test_a_truncated_proving_key_is_a_typed_error_naming_the_file(store, cut):
    keys, d, r1cs, wit, _ = store
    zk = d / "proving_key.zkey"
    data = zk.read_bytes()
    zk.write_bytes(data[: int(len(data) * cut) if isinstance(cut, float) else (cut if cut >= 0 else len(data) + cut)])
    with pytest.raises(CorruptKeyFile) as e:
        _prove_again(keys, r1cs, wit)
    msg = _one_clear_line(e.value, "proving_key.zkey")
    assert "is corrupt" in msg


@pytest.mark.parametrize("typ,name", [(3, "IC"), (5, "A"), (6, "B1"), (7, "B2"), (8, "C"), (9, "H")])
def test_a_flipped_byte_in_a_point_section_fails_at_load_naming_the_section(store, typ, name):
    keys, d, r1cs, wit, _ = store
    _flip(d / "proving_key.zkey", typ)
    with pytest.raises(CorruptKeyFile) as e:
        _prove_again(keys, r1cs, wit)
    msg = _one_clear_line(e.value, "proving_key.zkey")
    assert f"section {typ} ({name})" in msg and e.value.section == f"section {typ} ({name})", msg


def test_a_flipped_byte_outside_the_points_is_caught_by_the_recorded_digest(store):
    keys, d, r1cs, wit, _ = store
    _flip(d / "proving_key.zkey", 4, at=4 + 12 + 3)  # a coefficient value: still a well-formed zkey
    with pytest.raises(CorruptKeyFile, match="sha256 differs from the zkey_sha256 recorded in meta.json"):
        _prove_again(keys, r1cs, wit)


def test_a_key_stored_without_a_digest_still_has_its_points_checked(store):
    keys, d, r1cs, wit, _ = store
    meta = json.loads((d / "meta.json").read_text())
    del meta["zkey_sha256"]  # as an older version stored it
    (d / "meta.json").write_text(json.dumps(meta))
    assert _prove_again(keys, r1cs, wit).verification_key_hash  # intact: fine
    _flip(d / "proving_key.zkey", 9)
    with pytest.raises(CorruptKeyFile, match=r"section 9 \(H\)"):
        _prove_again(keys, r1cs, wit)


def test_a_proving_key_that_cannot_be_read_is_a_typed_error(store):
    keys, d, r1cs, wit, _ = store
    zk = d / "proving_key.zkey"
    zk.unlink()
    zk.mkdir()  # reading it fails with an OSError, as for a file without read permission (even as root)
    with pytest.raises(CorruptKeyFile) as e:
        _prove_again(keys, r1cs, wit)
    assert "unreadable" in _one_clear_line(e.value, "proving_key.zkey")


# ---- meta.json ----------------------------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b'{"scheme": "groth16", "circ', b"\xff\xfe garbage", b"[1, 2]", b'{"scheme": "groth16"}'])
def test_a_truncated_or_non_json_meta_is_a_typed_error(store, content):
    keys, d, r1cs, wit, art = store
    (d / "meta.json").write_bytes(content)
    with pytest.raises(CorruptKeyFile) as e:
        _prove_again(keys, r1cs, wit)
    _one_clear_line(e.value, "meta.json")
    with pytest.raises(CorruptKeyFile) as e:
        Groth16Prover(keys).verify(art)
    _one_clear_line(e.value, "meta.json")


# ---- vk.bin -----------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "unreadable"])
def test_verifying_against_a_damaged_vk_bin_names_the_file(store, damage):
    keys, d, r1cs, wit, art = store
    vk = d / "vk.bin"
    data = vk.read_bytes()
    if damage == "garbage":
        vk.write_bytes(b"\x00garbage" * 20)
    elif damage == "truncated":
        vk.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":
        vk.write_bytes(data[:40] + bytes([data[40] ^ 0x80]) + data[41:])
    else:
        vk.unlink()
        vk.mkdir()
    prover = Groth16Prover(keys)
    assert prover.has_verification_key(art.verification_key_hash)  # known, but damaged: not "unknown key"
    with pytest.raises(CorruptKeyFile) as e:
        prover.verify(art)
    msg = _one_clear_line(e.value, "vk.bin")
    assert ("unreadable" if damage == "unreadable" else "is corrupt") in msg


def test_a_vk_bin_whose_garbage_hashes_to_the_named_key_is_corrupt_not_a_crash(store):
    keys, d, r1cs, wit, art = store
    import hashlib

    garbage = b"ISPC-G16-VK\x01\x00\x01\x00\x00\x00" + b"\x07" * 224
    (d / "vk.bin").write_bytes(garbage)
    meta = json.loads((d / "meta.json").read_text())
    meta["verification_key_hash"] = hashlib.sha256(garbage).hexdigest()
    (d / "meta.json").write_text(json.dumps(meta))
    import attrs

    forged = attrs.evolve(art, verification_key_hash=hashlib.sha256(garbage).digest())
    with pytest.raises(CorruptKeyFile, match="vk.bin is corrupt"):
        Groth16Prover(keys).verify(forged)


# ---- files and the zk CLI ---------------------------------------------------------------------
@pytest.fixture()
def key_files(tmp_path):
    r1cs, wit = small_circuit()
    (tmp_path / "c.r1cs").write_bytes(write_r1cs(r1cs))
    (tmp_path / "c.wtns").write_bytes(write_wtns(r1cs.field, wit))
    setup_files(tmp_path / "c.r1cs", tmp_path / "keys")
    return tmp_path


def test_prove_files_and_import_refuse_a_flipped_zkey_naming_the_section(key_files, tmp_path):
    zk = key_files / "keys" / "circuit.zkey"
    assert prove_files(key_files / "keys", key_files / "c.wtns")  # intact: proves
    _flip(zk, 7)
    with pytest.raises(CorruptKeyFile) as e:
        prove_files(key_files / "keys", key_files / "c.wtns")
    assert "section 7 (B2)" in _one_clear_line(e.value, "circuit.zkey")
    with pytest.raises(CorruptKeyFile, match=r"section 7 \(B2\)"):
        import_zkey(zk, KeyStore(tmp_path / "store"), CID)
    assert not (tmp_path / "store" / "groth16").exists() or not any((tmp_path / "store" / "groth16").rglob("*.zkey"))


def test_prove_files_names_a_damaged_r1cs_next_to_the_key(key_files):
    (key_files / "keys" / "circuit.r1cs").write_bytes(b"r1cs\x01\x00\x00\x00")
    with pytest.raises(CorruptKeyFile) as e:
        prove_files(key_files / "keys", key_files / "c.wtns")
    _one_clear_line(e.value, "circuit.r1cs")


def test_zk_prove_cli_reports_a_truncated_zkey_on_one_line(key_files):
    zk = key_files / "keys" / "circuit.zkey"
    zk.write_bytes(zk.read_bytes()[:-7])
    res = CliRunner().invoke(main, ["zk", "prove", str(key_files / "keys"), str(key_files / "c.wtns"),
                                    "-o", str(key_files / "p.json"), "--public", str(key_files / "pub.json")])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.output  # "malformed", no crash
    assert "circuit.zkey is corrupt" in res.output and "Traceback" not in res.output
    assert not (key_files / "p.json").exists()


def test_a_stored_key_records_the_zkey_digest(store):
    import hashlib

    keys, d, *_ = store
    meta = json.loads((d / "meta.json").read_text())
    assert meta["zkey_sha256"] == hashlib.sha256((d / "proving_key.zkey").read_bytes()).hexdigest()
    assert write_zkey(read_zkey((d / "proving_key.zkey").read_bytes())) == (d / "proving_key.zkey").read_bytes()
