"""Moving damaged mempool rows aside, so one bad row cannot stop the node.

A ``pending`` row whose bytes no longer decode, or no longer hash to the id it
is stored under, is moved into the mempool's ``quarantine`` table (its
sequence number, id, raw bytes, why, and when), and the rows of the other
``pending_*`` tables that belong to it (same ``tx_id``: its spends, states,
...) are dropped, so the outputs it reserved are spendable again. Each move is
reported with one warning naming the file and the transaction.

The table is created the first time something is quarantined: a mempool that
never had a bad row is never written by this. When the move cannot be written
(a read-only file, another process holding the lock) the bad rows are only
skipped, and reported as such.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterable, Sequence

import attrs

from ispc_core import errors
from ispc_core.node.rows import BadRow, parse_stored_tx
from ispc_core.proto import transaction_pb2 as pb

log = logging.getLogger("ispc.node")

TABLE = "quarantine"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE}(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, pending_seq INTEGER, tx_id BLOB, raw BLOB,
    reason TEXT NOT NULL, moved_at REAL NOT NULL);
"""


@attrs.frozen
class DamagedRow:
    """One ``pending`` row that cannot be used: its ``seq``, stored ``tx_id`` and ``raw`` value, and ``why``."""

    seq: int
    tx_id: object
    raw: object
    why: str

    @property
    def name(self) -> str:
        """The row's transaction id in hex (or what is stored instead of one)."""
        tid = self.tx_id
        return bytes(tid).hex() if isinstance(tid, (bytes, bytearray, memoryview)) else f"at seq {self.seq}"


def split_pending(rows: Iterable[Sequence[object]]) -> tuple[list[tuple[bytes, pb.Transaction]], list[DamagedRow]]:
    """Decode ``(seq, tx_id, raw)`` rows of ``pending``: ``([(id, tx), ...], [damaged, ...])``, in row order."""
    good: list[tuple[bytes, pb.Transaction]] = []
    bad: list[DamagedRow] = []
    for seq, tx_id, raw in rows:
        try:
            good.append(parse_stored_tx(tx_id, raw))
        except BadRow as exc:
            bad.append(DamagedRow(seq, tx_id, raw, exc.why))
    return good, bad


def _pending_tables(conn) -> list[str]:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'pending\\_%' ESCAPE '\\'")]
    return [n for n in names if any(col[1] == "tx_id" for col in conn.execute(f'PRAGMA table_info("{n}")'))]


def quarantine(conn, damaged: Sequence[DamagedRow], *, path: Path) -> bool:
    """Move ``damaged`` rows of ``pending`` (and their ``pending_*`` rows) into the quarantine table.

    Returns True if they were moved, False if they could only be skipped (the
    connection is inside another transaction, or the file cannot be written
    now); either way each row is reported once with a warning.
    """
    if not damaged:
        return True
    where = f"{Path(path).name} in {Path(path).parent}"
    moved = False
    if not conn.in_transaction:
        try:
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN IMMEDIATE")
            try:
                tables = _pending_tables(conn)
                now = time.time()
                for row in damaged:
                    conn.execute(
                        f"INSERT INTO {TABLE}(pending_seq, tx_id, raw, reason, moved_at) VALUES (?, ?, ?, ?, ?)",
                        (row.seq, row.tx_id, row.raw, row.why, now),
                    )
                    conn.execute("DELETE FROM pending WHERE seq = ?", (row.seq,))
                    if isinstance(row.tx_id, (bytes, bytearray, memoryview)):
                        for table in tables:
                            conn.execute(f'DELETE FROM "{table}" WHERE tx_id = ?', (bytes(row.tx_id),))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            moved = True
        except (errors.DatabaseReadOnly, errors.DatabaseLocked, errors.DatabasePermissionDenied) as exc:
            log.warning("%s: could not quarantine damaged pending transactions (%s)", where, exc)
    for row in damaged:
        if moved:
            log.warning(
                "%s: pending transaction %s is damaged (%s); moved it to the %s table, the outputs it spent are free again",
                where, row.name, row.why, TABLE,
            )
        else:
            log.warning("%s: pending transaction %s is damaged (%s); skipped", where, row.name, row.why)
    return moved


def quarantined(conn) -> list[tuple[object, str]]:
    """``(tx_id, reason)`` of every quarantined row, oldest first (empty if nothing was ever quarantined)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)).fetchone() is None:
        return []
    return [(r[0], r[1]) for r in conn.execute(f"SELECT tx_id, reason FROM {TABLE} ORDER BY seq")]
