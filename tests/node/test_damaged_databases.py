"""Corrupt, unreadable or locked databases are one typed error naming the file; a bad mempool row is quarantined.

* damaged pages and damaged rows of ``transactions`` / ``utxos``: ``DatabaseCorrupt``
  naming the file (and the row), raised by the read that meets them, while
  unrelated reads keep working;
* a damaged ``pending`` row is moved to the mempool's ``quarantine`` table and
  reported; the node opens and every other command works;
* no read permission: ``DatabasePermissionDenied``; no write permission: reads
  work, writes are ``DatabaseReadOnly``;
* another process holding the write lock: opening and reading work (opening
  writes nothing), a write is ``DatabaseLocked`` after the busy timeout.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from ispc_core import errors
from ispc_core.node import files, quarantine, sqlite as node_sqlite, txcodec
from ispc_core.node.node import Node

from .conftest import CHAIN, GENESIS_TIME, INTERVAL

def open_node(kit, home, **kw) -> Node:
    return Node(home, chain_id=CHAIN, genesis=kit.genesis, genesis_time=GENESIS_TIME, block_interval=INTERVAL,
                **kw)


def make_home(kit, home):
    """A home with one mined transfer (alice -> carol 7) and one pending one (bob -> carol 3); returns their ids."""
    node = open_node(kit, home)
    mined = node.submit(kit.transfer(node.ledger, kit.alice, kit.carol.address, 7))
    node.mine()
    pending = node.submit(kit.transfer(node.ledger, kit.bob, kit.carol.address, 3))
    node.close()
    return mined, pending


def sql(path, statement, params=()):
    conn = sqlite3.connect(path)
    conn.execute(statement, params)
    conn.commit()
    conn.close()


@pytest.fixture
def home(tmp_path, kit):
    home = tmp_path / "home"
    make_home(kit, home)
    return home


# --- damaged pages and rows -------------------------------------------------------------


def test_damaged_pages_are_one_typed_error_naming_the_file(home, kit):
    path = home / files.LEDGER
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    for offset in range(size, len(data), size):  # every page but the first (the header and schema)
        data[offset: offset + size] = os.urandom(size)
    path.write_bytes(bytes(data))
    with pytest.raises(errors.DatabaseCorrupt) as err:
        node = open_node(kit, home)
        try:
            node.ledger.balance(kit.alice.address)
            node.ledger.utxos_of(kit.alice.address)
        finally:
            node.close()
    assert f"ledger.sqlite in {home} is damaged" in str(err.value) and "ispc init --force" in str(err.value)
    assert err.value.path == str(path)


def test_a_damaged_transaction_row_names_the_row_and_spares_the_rest(home, kit):
    node = open_node(kit, home)
    (txid,) = node.ledger.block(1).tx_ids
    another = txcodec.encode(kit.transfer(node.ledger, kit.carol, kit.alice.address, 1))  # parses, other id
    node.close()
    for raw in (b"\xff\xfe not protobuf", "text", another):
        sql(home / files.LEDGER, "UPDATE transactions SET raw = ? WHERE id = ?", (raw, txid))
        node = open_node(kit, home)
        try:
            with pytest.raises(errors.DatabaseCorrupt) as err:
                node.ledger.get_tx(txid)
            assert f"ledger.sqlite in {home}: transaction {txid.hex()} is damaged" in str(err.value)
            # unrelated reads are unaffected
            assert node.ledger.balance(kit.carol.address) == 7
            assert node.ledger.snapshot().height == 1
            assert node.ledger.get_tx(node.ledger.block(0).tx_ids[0]) is not None
        finally:
            node.close()


def test_a_damaged_utxo_row_names_the_output(home, kit):
    sql(home / files.LEDGER, "UPDATE utxos SET raw_output = x'ffff' WHERE owner = ?", (kit.carol.address,))
    node = open_node(kit, home)
    try:
        with pytest.raises(errors.DatabaseCorrupt, match=r"ledger\.sqlite .*: output [0-9a-f]{64}:0 is damaged"):
            node.ledger.utxos_of(kit.carol.address)
        assert node.ledger.balance(kit.alice.address) == 993  # other owners' outputs read fine
    finally:
        node.close()


def test_a_damaged_output_met_while_validating_is_typed(home, kit):
    node = open_node(kit, home)
    spend = kit.transfer(node.ledger, kit.alice, kit.bob.address, 1)  # built while the output is intact
    node.close()
    sql(home / files.LEDGER, "UPDATE utxos SET raw_output = x'ffff' WHERE owner = ? AND spent_in IS NULL",
        (kit.alice.address,))
    node = open_node(kit, home)
    try:
        with pytest.raises(errors.DatabaseCorrupt, match=r"ledger\.sqlite .*: output [0-9a-f]{64}:\d+ is damaged"):
            node.submit(spend)
        assert len(node.mempool) == 1  # nothing was added
    finally:
        node.close()


def test_a_damaged_genesis_row_is_typed(home, kit):
    node = open_node(kit, home)
    (genesis,) = node.ledger.block(0).tx_ids
    node.close()
    sql(home / files.LEDGER, "UPDATE transactions SET raw = x'00ff' WHERE id = ?", (genesis,))
    node = open_node(kit, home)
    try:
        with pytest.raises(errors.DatabaseCorrupt, match=f"transaction {genesis.hex()} is damaged"):
            node.ledger.chain_params()
    finally:
        node.close()


def test_a_damaged_mempool_row_is_quarantined_and_reported(tmp_path, kit, caplog):
    home = tmp_path / "home"
    _, pending = make_home(kit, home)
    node = open_node(kit, home)
    good = node.submit(kit.transfer(node.ledger, kit.carol, kit.alice.address, 2))
    other = txcodec.encode(kit.transfer(node.ledger, kit.alice, kit.bob.address, 1))
    node.close()
    # three kinds of damage: bytes that do not parse, a non-blob, bytes that parse but are another transaction
    sql(home / files.MEMPOOL, "UPDATE pending SET raw = x'ff00ff' WHERE tx_id = ?", (pending,))
    sql(home / files.MEMPOOL, "INSERT INTO pending(tx_id, raw) VALUES (?, ?)", (b"\x01" * 32, 12345))
    sql(home / files.MEMPOOL, "INSERT INTO pending(tx_id, raw) VALUES (?, ?)", (b"\x02" * 32, other))
    with caplog.at_level(logging.WARNING, logger="ispc.node"):
        node = open_node(kit, home)  # opening reads the mempool: it must not fail
    try:
        assert [tid for tid, _ in node.mempool.list()] == [good]
        assert node.mempool.get(pending) is None and node.mempool.get(good) is not None
        assert node.ledger.balance(kit.alice.address) == 993
        # bob's output, reserved by the damaged transaction, is spendable again
        assert node.spendable_utxos(kit.bob.address)
        node.submit(kit.transfer(node.ledger, kit.bob, kit.carol.address, 1))
        assert node.mine().tx_count == 2
    finally:
        node.close()
    lines = [r.getMessage() for r in caplog.records if "quarantine" in r.getMessage()]
    assert len(lines) == 3, lines
    assert all(f"mempool.sqlite in {home}" in line for line in lines)
    assert any(pending.hex() in line for line in lines)
    conn = sqlite3.connect(home / files.MEMPOOL)
    moved = conn.execute("SELECT tx_id, raw FROM quarantine ORDER BY seq").fetchall()
    conn.close()
    assert [bytes(t) for t, _ in moved] == [pending, b"\x01" * 32, b"\x02" * 32]
    assert moved[0][1] == b"\xff\x00\xff"  # kept as it was, for inspection
    caplog.clear()
    open_node(kit, home).close()  # reported once: the rows are gone from pending
    assert not [r for r in caplog.records if "quarantine" in r.getMessage()]


def test_a_healthy_mempool_is_never_written_by_reading(home, kit):
    node = open_node(kit, home)
    node.mempool.list()
    node.close()
    conn = sqlite3.connect(home / files.MEMPOOL)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'quarantine'").fetchone() is None
    conn.close()


# --- permissions ----------------------------------------------------------------------------

NOBODY = 65534


def as_unprivileged(fn):
    """Run ``fn()`` where file permissions apply: in a child that dropped root, else in this process.

    Returns ``("ok", value)`` or ``(exception class name, message)``.
    """
    if os.geteuid() != 0:
        try:
            return "ok", fn()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            return type(exc).__name__, str(exc)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                result = ("ok", fn())
            except Exception as exc:  # noqa: BLE001
                result = (type(exc).__name__, str(exc))
            os.write(write, pickle.dumps(result))
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)


@pytest.fixture
def shared_home(kit):
    """A home the unprivileged user owns (outside pytest's root-only temporary directory)."""
    base = tempfile.mkdtemp(prefix="ispc-perm-")
    home = os.path.join(base, "home")
    make_home(kit, home)
    open_node(kit, home).close()  # every module the child needs is imported now
    os.chmod(base, 0o755)
    if os.geteuid() == 0:
        for root, dirs, names in os.walk(base):
            for name in [*dirs, *names, ""]:
                os.chown(os.path.join(root, name), NOBODY, NOBODY)
    from pathlib import Path

    yield Path(home)
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("name", [files.LEDGER, files.MEMPOOL])
def test_an_unreadable_database_is_one_typed_error(shared_home, kit, name):
    os.chmod(shared_home / name, 0o000)
    kind, message = as_unprivileged(lambda: open_node(kit, shared_home).close())
    assert kind == "DatabasePermissionDenied", message
    assert f"{name} in {shared_home} cannot be read (permission denied)" in message


def test_a_read_only_home_can_be_read_and_refuses_writes(shared_home, kit):
    for name in (files.LEDGER, files.MEMPOOL):
        os.chmod(shared_home / name, 0o444)

    def read_then_write():
        node = open_node(kit, shared_home)
        try:
            balance = node.ledger.balance(kit.carol.address)
            pending = len(node.mempool.list())
            try:
                node.submit(kit.transfer(node.ledger, kit.carol, kit.alice.address, 1))
            except errors.DatabaseReadOnly as exc:
                return balance, pending, str(exc)
            return balance, pending, "the write went through"
        finally:
            node.close()

    kind, value = as_unprivileged(read_then_write)
    assert kind == "ok", value
    balance, pending, message = value
    assert (balance, pending) == (7, 1)
    assert f"mempool.sqlite in {shared_home} is read-only" in message


def test_a_read_only_directory_is_named_when_sqlite_needs_it(shared_home, kit):
    os.chmod(shared_home, 0o555)  # no -shm file can be made next to the databases
    try:
        kind, message = as_unprivileged(lambda: open_node(kit, shared_home).close())
    finally:
        os.chmod(shared_home, 0o755)
    assert kind == "DatabaseReadOnly", message
    assert f"in {shared_home} cannot be opened: its directory is read-only" in message


# --- locks ----------------------------------------------------------------------------------

HOLD_LOCKS = textwrap.dedent("""
    import sqlite3, sys
    conns = []
    for path in sys.argv[1:]:
        c = sqlite3.connect(path, isolation_level=None)
        c.execute("BEGIN IMMEDIATE")
        conns.append(c)
    print("locked", flush=True)
    sys.stdin.read()
""")


def test_a_lock_held_by_another_process(home, kit, monkeypatch):
    monkeypatch.setattr(node_sqlite, "BUSY_TIMEOUT_S", 0.3)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCKS, str(home / files.LEDGER), str(home / files.MEMPOOL)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        node = open_node(kit, home)  # opening to read needs no write lock
        try:
            assert node.ledger.balance(kit.carol.address) == 7 and len(node.mempool) == 1
            assert time.monotonic() - started < 5
            with pytest.raises(errors.DatabaseLocked) as err:
                node.submit(kit.transfer(node.ledger, kit.carol, kit.alice.address, 1))
            assert f"mempool.sqlite in {home} is locked by another process (waited 0.3 s" in str(err.value)
            with pytest.raises(errors.DatabaseLocked, match=r"(ledger|mempool)\.sqlite"):
                node.mine()
        finally:
            node.close()
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    node = open_node(kit, home)  # the lock is gone: writes work again
    try:
        node.submit(kit.transfer(node.ledger, kit.carol, kit.alice.address, 1))
        assert node.mine().tx_count == 2
    finally:
        node.close()


def test_nothing_is_quarantined_when_the_mempool_cannot_be_written(home, kit, monkeypatch, caplog):
    sql(home / files.MEMPOOL, "INSERT INTO pending(tx_id, raw) VALUES (?, x'ff')", (b"\x03" * 32,))
    monkeypatch.setattr(node_sqlite, "BUSY_TIMEOUT_S", 0.2)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCKS, str(home / files.MEMPOOL)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with caplog.at_level(logging.WARNING, logger="ispc.node"):
            node = open_node(kit, home)
        try:
            assert len(node.mempool.list()) == 1  # the damaged row is skipped, the good one read
        finally:
            node.close()
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    assert any("skipped" in r.getMessage() and "03030303" in r.getMessage() for r in caplog.records)
    open_node(kit, home).close()  # the lock is gone: now it is moved
    conn = sqlite3.connect(home / files.MEMPOOL)
    assert conn.execute(f"SELECT COUNT(*) FROM {quarantine.TABLE}").fetchone()[0] == 1
    conn.close()
