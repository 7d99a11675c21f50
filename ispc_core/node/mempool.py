"""The mempool: validated transactions waiting for the next block, in SQLite.

A transaction is admitted only if it is valid against the ledger *and* does
not conflict with the transactions already pending: it may not spend an
outpoint a pending transaction spends, and a state it writes must follow the
head as updated by pending transactions (so writes to one state chain up in
arrival order). Validation and insertion happen in one ``BEGIN IMMEDIATE``
transaction, so two concurrent ``add`` calls cannot both spend one output.
Proof and journal verification happen *before* that, outside the write lock
(:meth:`ispc_core.node.node.Node.submit`); ``add(tx, authorized=True)`` says
they passed.

Pending transactions may only spend confirmed outputs (not outputs created by
other pending transactions).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Callable, Iterable

from ispc_core import errors
from ispc_core.node import quarantine, txcodec
from ispc_core.node.ledger import REASON_DOUBLE_SPEND, REASON_DUPLICATE, Ledger, StateHead, rejection
from ispc_core.node.sqlite import ensure_schema, open_database
from ispc_core.proto import transaction_pb2 as pb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, tx_id BLOB NOT NULL UNIQUE, raw BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pending_spends(
    outpoint TEXT PRIMARY KEY, tx_id BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pending_resources(
    resource_id BLOB PRIMARY KEY, kind TEXT NOT NULL, tx_id BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pending_states(
    state_id BLOB NOT NULL, version INTEGER NOT NULL, state_hash BLOB NOT NULL, value BLOB NOT NULL,
    tx_id BLOB NOT NULL, PRIMARY KEY(state_id, version));
"""

#: ``verifier(tx)``: verifies a transaction's signatures, journal and proof; raises ``TransactionRejected``
TransactionVerifier = Callable[[pb.Transaction], None]


class Mempool:
    """Pending transactions in one SQLite file; safe to use from several threads."""

    def __init__(self, path: Path, ledger: Ledger, *, create: bool = True):
        """Open the mempool at ``path`` (creating the file only with ``create``; see :func:`open_database`).

        Opening an existing mempool writes nothing.
        """
        self.path = Path(path)
        self.ledger = ledger
        self._lock = threading.RLock()
        self._conn = open_database(self.path, create=create)
        try:
            with self._lock:
                ensure_schema(self._conn, _SCHEMA)
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def _state_overlay(self) -> dict[bytes, StateHead]:
        rows = self._conn.execute(
            "SELECT state_id, version, state_hash, value FROM pending_states ORDER BY state_id, version"
        ).fetchall()
        return {bytes(r[0]): StateHead(r[1], bytes(r[2]), bytes(r[3])) for r in rows}  # last version wins

    def pending_resources(self) -> dict[bytes, str]:
        """Resources that pending deploy transactions create: id -> kind."""
        with self._lock:
            rows = self._conn.execute("SELECT resource_id, kind FROM pending_resources").fetchall()
        return {bytes(r[0]): r[1] for r in rows}

    def pending_resource_code(self, resource_id: bytes) -> tuple[str, bytes] | None:
        """``(kind, code)`` of a resource a pending deploy transaction creates, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT kind, tx_id FROM pending_resources WHERE resource_id = ?", (bytes(resource_id),)
            ).fetchone()
        tx = self.get(bytes(row[1])) if row is not None else None
        if tx is None:
            return None
        for out in tx.outputs:
            if out.WhichOneof("content") == "resource" and out.resource.resource_id == bytes(resource_id):
                return row[0], bytes(out.resource.code)
        return None

    def add(self, tx: pb.Transaction, *, authorized: bool = False) -> bytes:
        """Validate ``tx`` against the ledger and the pending set, store it, and return its id.

        ``authorized``: its execution was verified (signatures, journal, proof),
        so the ledger's rules grant it its contract's authority. Raises
        ``TransactionRejected`` (with ``reason``) if it is refused.
        """
        if not isinstance(tx, pb.Transaction):
            raise errors.RequestError(f"a Transaction is expected, got {type(tx).__name__}")
        txid = txcodec.tx_id(tx)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if self._conn.execute("SELECT 1 FROM pending WHERE tx_id = ?", (txid,)).fetchone():
                    raise rejection(REASON_DUPLICATE, f"transaction {txid.hex()} is already pending")
                spent = {r[0] for r in self._conn.execute("SELECT outpoint FROM pending_spends")}
                resources = {bytes(r[0]): r[1] for r in self._conn.execute("SELECT resource_id, kind FROM pending_resources")}
                self.ledger.validate(
                    tx, spent_elsewhere=spent, state_overlay=self._state_overlay(),
                    pending_resources=resources, authorized=authorized,
                )
                self._insert(tx, txid)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return txid

    def _insert(self, tx: pb.Transaction, txid: bytes) -> None:
        self._conn.execute("INSERT INTO pending(tx_id, raw) VALUES (?, ?)", (txid, txcodec.encode(tx)))
        for tx_input in tx.inputs:
            if tx_input.reference_only:
                continue
            try:
                self._conn.execute(
                    "INSERT INTO pending_spends(outpoint, tx_id) VALUES (?, ?)",
                    (txcodec.outpoint_key(tx_input.outpoint), txid),
                )
            except sqlite3.IntegrityError:  # belt and braces: validate() already checked
                raise rejection(REASON_DOUBLE_SPEND, f"{txcodec.outpoint_key(tx_input.outpoint)} is already spent") from None
        for output in tx.outputs:
            if output.WhichOneof("content") == "resource":
                self._conn.execute(
                    "INSERT INTO pending_resources(resource_id, kind, tx_id) VALUES (?, ?, ?)",
                    (output.resource.resource_id, output.resource.kind, txid),
                )
            if output.WhichOneof("content") == "state":
                state = output.state
                self._conn.execute(
                    "INSERT INTO pending_states(state_id, version, state_hash, value, tx_id) VALUES (?, ?, ?, ?, ?)",
                    (state.state_id, state.state_version, txcodec.state_hash(state), state.state_value, txid),
                )

    def get(self, tx_id: bytes) -> pb.Transaction | None:
        """A pending transaction by id, or ``None``."""
        with self._lock:
            rows = self._conn.execute("SELECT seq, tx_id, raw FROM pending WHERE tx_id = ?", (bytes(tx_id),)).fetchall()
            good = self._decoded(rows)
        return good[0][1] if good else None

    def list(self) -> list[tuple[bytes, pb.Transaction]]:
        """Every pending transaction as ``(id, tx)``, in arrival order (damaged rows are quarantined)."""
        with self._lock:
            rows = self._conn.execute("SELECT seq, tx_id, raw FROM pending ORDER BY seq").fetchall()
            return self._decoded(rows)

    def _decoded(self, rows) -> list[tuple[bytes, pb.Transaction]]:
        """``(seq, tx_id, raw)`` rows as ``(id, tx)``; damaged ones are moved to quarantine and reported."""
        good, damaged = quarantine.split_pending(rows)
        if damaged:
            quarantine.quarantine(self._conn, damaged, path=self.path)
        return good

    def pending_state_head(self, state_id: bytes) -> StateHead | None:
        """The newest version of ``state_id`` written by a pending transaction, or ``None``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT version, state_hash, value FROM pending_states WHERE state_id = ? ORDER BY version DESC LIMIT 1",
                (bytes(state_id),),
            ).fetchone()
        return None if row is None else StateHead(row[0], bytes(row[1]), bytes(row[2]))

    def state_version(self, state_id: bytes, version: int) -> StateHead | None:
        """One version of a state written by a pending transaction, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT version, state_hash, value FROM pending_states WHERE state_id = ? AND version = ?",
                (bytes(state_id), int(version)),
            ).fetchone()
        return None if row is None else StateHead(row[0], bytes(row[1]), bytes(row[2]))

    def spenders(self) -> dict[str, bytes]:
        """Outpoint key -> id of the pending transaction that spends it."""
        with self._lock:
            return {r[0]: bytes(r[1]) for r in self._conn.execute("SELECT outpoint, tx_id FROM pending_spends")}

    def spent_outpoints(self) -> set[str]:
        """Outpoint keys (``"txidhex:index"``) spent by pending transactions."""
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT outpoint FROM pending_spends")}

    def remove(self, tx_ids: Iterable[bytes]) -> None:
        """Drop these transactions (unknown ids are ignored), in one transaction."""
        ids = [(bytes(t),) for t in tx_ids]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for table in ("pending", "pending_spends", "pending_states", "pending_resources"):
                    self._conn.executemany(f"DELETE FROM {table} WHERE tx_id = ?", ids)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def __len__(self) -> int:
        """Number of pending transactions."""
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0]
