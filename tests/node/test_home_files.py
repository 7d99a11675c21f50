"""A node home whose databases are missing, empty, truncated or not databases is refused, never replaced.

Each case is one :class:`~ispc_core.errors.NodeFileError` naming the file and
what to do, and leaves every file as it was. Only ``create=True`` on a new home
(``ispc init``, ``Manager.open`` on an empty directory) makes a chain.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from ispc_core import errors
from ispc_core.node import files
from ispc_core.node.node import Node
from ispc_core.proofjobs.store import ProofJobStore

from .conftest import CHAIN, GENESIS_TIME, INTERVAL


def open_node(kit, home, **kw) -> Node:
    return Node(home, chain_id=CHAIN, genesis=kit.genesis, genesis_time=GENESIS_TIME, block_interval=INTERVAL,
                **kw)


@pytest.fixture
def home(tmp_path, kit):
    """A home with some history: one block with a transfer, one pending transaction."""
    home = tmp_path / "home"
    node = open_node(kit, home)
    node.submit(kit.transfer(node.ledger, kit.alice, kit.carol.address, 7))
    node.mine()
    node.submit(kit.transfer(node.ledger, kit.bob, kit.carol.address, 3))
    node.close()
    return home


def snapshot(home):
    """Every file of the home with its bytes (to check that a refusal changed nothing)."""
    return {p.relative_to(home): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def other_sqlite_db(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes(text)")
    conn.commit()
    conn.close()


def page_size(path) -> int:
    n = int.from_bytes(path.read_bytes()[16:18], "big")
    return 65536 if n == 1 else n


DAMAGE = {
    "empty": (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    "short": (lambda p: p.write_bytes(p.read_bytes()[:60]), "is truncated (60 bytes)"),
    "cut mid-page": (lambda p: p.write_bytes(p.read_bytes()[:-100]), "is truncated"),
    "cut pages": (lambda p: p.write_bytes(p.read_bytes()[: page_size(p)]), "is truncated"),
    "garbage": (lambda p: p.write_bytes(os.urandom(8192)), "is not an SQLite database"),
    "text": (lambda p: p.write_text("hello, I am not a database\n" * 400), "is not an SQLite database"),
    "header": (lambda p: p.write_bytes(b"\x00" * 100 + p.read_bytes()[100:]), "is not an SQLite database"),
    "other db": (lambda p: (p.unlink(), other_sqlite_db(p)), "is an SQLite database but not an ispc"),
}


@pytest.mark.parametrize("name", [files.LEDGER, files.MEMPOOL])
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_database_is_refused_and_left_alone(home, kit, name, damage):
    harm, fragment = DAMAGE[damage]
    harm(home / name)
    before = snapshot(home)
    with pytest.raises(errors.NodeFileError) as err:
        open_node(kit, home)
    message = str(err.value)
    assert f"{name} in {home}" in message and fragment in message, message
    assert "\n" not in message
    assert ("ispc init --force" if name == files.LEDGER else "ispc init") in message
    assert err.value.path == str(home / name)
    assert snapshot(home) == before


def test_a_zero_byte_ledger_never_becomes_a_new_chain(home, kit):
    (home / files.LEDGER).write_bytes(b"")
    for create in (True, False):
        with pytest.raises(errors.DatabaseCorrupt, match=r"ledger\.sqlite .* is empty \(0 bytes\)"):
            open_node(kit, home, create=create)
    assert (home / files.LEDGER).stat().st_size == 0


def test_a_zero_byte_mempool_does_not_read_as_empty(home, kit):
    (home / files.MEMPOOL).write_bytes(b"")
    with pytest.raises(errors.DatabaseCorrupt, match=r"mempool\.sqlite .* is empty \(0 bytes\)"):
        open_node(kit, home, repair=True)


def test_a_damaged_proof_job_store_is_refused(home, kit):
    ProofJobStore(home).close()
    for harm, fragment in (DAMAGE["empty"], DAMAGE["garbage"]):
        harm(home / files.PROOFJOBS)
        with pytest.raises(errors.DatabaseCorrupt) as err:
            open_node(kit, home)
        assert f"{files.PROOFJOBS} in {home}" in str(err.value) and fragment in str(err.value)
        with pytest.raises(errors.DatabaseCorrupt):
            ProofJobStore(home)


def test_a_missing_ledger_is_refused(home, kit):
    (home / files.LEDGER).unlink()
    before = snapshot(home)
    for create in (True, False):
        with pytest.raises(errors.DatabaseMissing) as err:
            open_node(kit, home, create=create)
        assert f"ledger.sqlite is missing from node home {home}" in str(err.value)
        assert "ispc init --force" in str(err.value)
    assert snapshot(home) == before


def test_a_ledger_without_its_genesis_block_is_refused(home, kit):
    conn = sqlite3.connect(home / files.LEDGER)
    conn.execute("DELETE FROM blocks")
    conn.commit()
    conn.close()
    with pytest.raises(errors.DatabaseCorrupt, match="has no genesis block"):
        open_node(kit, home)


def test_a_missing_mempool_is_refused_unless_repairing(home, kit):
    (home / files.MEMPOOL).unlink()
    with pytest.raises(errors.DatabaseMissing, match=r"mempool\.sqlite is missing .*`ispc init` to create an empty one"):
        open_node(kit, home)
    node = open_node(kit, home, repair=True)  # what `ispc init` does next to a healthy ledger
    try:
        assert node.ledger.snapshot().height == 1 and len(node.mempool) == 0
        assert node.ledger.balance(kit.carol.address) == 7
    finally:
        node.close()


def test_a_new_home_gets_a_chain_only_when_asked(tmp_path, kit):
    home = tmp_path / "new"
    with pytest.raises(errors.NoChain, match=r"no chain in .*new .*run `ispc init`"):
        open_node(kit, home, create=False)
    assert not home.exists()
    (home / "keys").mkdir(parents=True)  # a directory with no databases is still new
    with pytest.raises(errors.NoChain):
        open_node(kit, home, create=False)
    open_node(kit, home, create=True).close()
    assert {files.LEDGER, files.MEMPOOL} <= {p.name for p in home.iterdir()}


def test_prepare_init_refuses_an_existing_chain_and_force_moves_it_aside(home, kit):
    assert files.prepare_init(home.parent / "elsewhere", force=False) is None
    before = snapshot(home)
    with pytest.raises(errors.ChainExists, match=r"already has a chain .*ispc init --force"):
        files.prepare_init(home, force=False)
    (home / files.MEMPOOL).write_bytes(b"")  # damaged: reported as such, not as "exists"
    with pytest.raises(errors.DatabaseCorrupt, match="mempool.sqlite"):
        files.prepare_init(home, force=False)
    (home / files.MEMPOOL).write_bytes(before[Path(files.MEMPOOL)])
    moved = files.prepare_init(home, force=True)
    assert moved is not None and moved.parent == home and moved.name.startswith("replaced-")
    assert files.is_new_home(home)
    assert (moved / files.LEDGER).read_bytes() == before[Path(files.LEDGER)]
    assert (home / "keys").is_dir()  # keys are kept


def test_prepare_init_lets_init_recreate_a_missing_mempool(home):
    (home / files.MEMPOOL).unlink()
    assert files.prepare_init(home, force=False) is None
    (home / files.LEDGER).unlink()
    with pytest.raises(errors.NoChain):  # nothing left: a new home
        files.check_home(home, create=False)
