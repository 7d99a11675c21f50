"""The UTXO ledger: blocks, transactions, unspent outputs and state heads in SQLite.

One SQLite database (WAL) holds the chain. A block is applied in one SQLite
transaction, so it is either entirely in the ledger or not at all. Block
height and time are deterministic (``time = genesis_time + height *
block_interval``): nothing here reads the wall clock.

:meth:`Ledger.validate` states the rules a transaction must satisfy; every
refusal is an :class:`ispc_core.errors.TransactionRejected` whose ``reason``
is one of the ``REASON_*`` constants below (see ``docs/node.md``).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import attrs

from ispc_core import errors
from ispc_core.config_ranges import check_int
from ispc_core.node import txcodec
from ispc_core.node.keys import address_of, verify_signature
from ispc_core.node.files import LEDGER, remedy
from ispc_core.node.rows import BadRow, corrupt_row, parse_stored, parse_stored_tx
from ispc_core.node.sqlite import ensure_schema, open_database
from ispc_core.proto import transaction_pb2 as pb

from ispc_core.node.rules import (  # noqa: F401 - the rules' reasons are part of the ledger's API
    MAX_AMOUNT,
    REASON_BAD_DEPLOY,
    REASON_BAD_SIGNATURE,
    REASON_DOUBLE_SPEND,
    REASON_DUPLICATE,
    REASON_LOCKED,
    REASON_MALFORMED,
    REASON_MISSING_SIGNATURE,
    REASON_NO_AUTHORITY,
    REASON_OUTPUTS_EXCEED_INPUTS,
    REASON_PROOF_MISSING,
    REASON_STATE_CONFLICT,
    REASON_UNKNOWN_OUTPOINT,
    REASON_UNKNOWN_RESOURCE,
    REASON_WRONG_CHAIN,
    check_transaction,
    output_kind,
    rejection,
)

ZERO_HASH = b"\x00" * 32

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS blocks(
    height INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, prev_hash BLOB NOT NULL,
    time INTEGER NOT NULL, tx_count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS transactions(
    id BLOB PRIMARY KEY, height INTEGER NOT NULL, position INTEGER NOT NULL, raw BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS transactions_height ON transactions(height, position);
CREATE TABLE IF NOT EXISTS utxos(
    outpoint TEXT PRIMARY KEY, tx_id BLOB NOT NULL, idx INTEGER NOT NULL, owner BLOB,
    kind TEXT NOT NULL, native_amount INTEGER NOT NULL DEFAULT 0, token_id BLOB,
    token_amount INTEGER NOT NULL DEFAULT 0, contract BLOB, raw_output BLOB NOT NULL, spent_in BLOB);
CREATE INDEX IF NOT EXISTS utxos_owner ON utxos(owner, spent_in);
CREATE INDEX IF NOT EXISTS utxos_contract ON utxos(contract, spent_in);
CREATE TABLE IF NOT EXISTS states(
    state_id BLOB NOT NULL, version INTEGER NOT NULL, state_hash BLOB NOT NULL,
    value BLOB NOT NULL, tx_id BLOB NOT NULL, PRIMARY KEY(state_id, version));
CREATE TABLE IF NOT EXISTS resources(
    resource_id BLOB PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL, tx_id BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS utxos_tx ON utxos(tx_id);
CREATE INDEX IF NOT EXISTS utxos_spent ON utxos(spent_in);
"""


@attrs.frozen
class Block:
    """A block of the ledger."""

    height: int
    hash: bytes
    prev_hash: bytes
    time: int
    tx_ids: tuple[bytes, ...] = ()

    @property
    def tx_count(self) -> int:
        """Number of transactions in the block."""
        return len(self.tx_ids)


@attrs.frozen
class LedgerSnapshot:
    """The tip of the ledger: what an execution sees as "now"."""

    height: int
    block_time: int
    tip_hash: bytes


@attrs.frozen(eq=False)
class Utxo:
    """An unspent output: where it is, what it is, and its native amount (0 if not native)."""

    outpoint: pb.OutPoint
    output: pb.TxOutput
    amount: int

    @property
    def key(self) -> str:
        """The outpoint as ``"txidhex:index"``."""
        return txcodec.outpoint_key(self.outpoint)


@attrs.frozen
class StateHead:
    """The latest version of a state."""

    version: int
    state_hash: bytes
    value: bytes


def block_hash(prev_hash: bytes, height: int, time: int, tx_ids: list[bytes]) -> bytes:
    """sha256(prev_hash || height (8 bytes BE) || time (8 bytes BE) || tx ids in order)."""
    h = hashlib.sha256(prev_hash)
    h.update(height.to_bytes(8, "big"))
    h.update(time.to_bytes(8, "big"))
    for tid in tx_ids:
        h.update(tid)
    return h.digest()


_output_kind = output_kind


def _stored_output(path: Path, key: str, raw: object) -> pb.TxOutput:
    """A stored ``utxos.raw_output`` (``DatabaseCorrupt`` naming the ledger and the output if it is damaged)."""
    try:
        return parse_stored(pb.TxOutput, raw)
    except BadRow as bad:
        raise corrupt_row(path, f"output {key}", bad.why, remedy(LEDGER)) from None


class _ConnReader:
    """The :class:`~ispc_core.node.rules.ChainReader` of one open SQLite connection."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def unspent_output(self, key: str) -> pb.TxOutput | None:
        row = self.conn.execute("SELECT raw_output FROM utxos WHERE outpoint = ? AND spent_in IS NULL", (key,)).fetchone()
        return None if row is None else _stored_output(self.conn.path, key, row[0])

    def has_tx(self, tx_id: bytes) -> bool:
        return self.conn.execute("SELECT 1 FROM transactions WHERE id = ?", (bytes(tx_id),)).fetchone() is not None

    def state_head(self, state_id: bytes):
        row = self.conn.execute(
            "SELECT version, state_hash, value FROM states WHERE state_id = ? ORDER BY version DESC LIMIT 1",
            (bytes(state_id),),
        ).fetchone()
        return None if row is None else StateHead(row[0], bytes(row[1]), bytes(row[2]))

    def resource_kind(self, resource_id: bytes) -> str | None:
        row = self.conn.execute("SELECT kind FROM resources WHERE resource_id = ?", (bytes(resource_id),)).fetchone()
        return None if row is None else row[0]


class Ledger:
    """The chain state in one SQLite file; safe to use from several threads."""

    def __init__(self, path: Path, chain_id: bytes, genesis_time: int, block_interval: int, *, create: bool = True):
        """Open the ledger at ``path`` (creating the file only with ``create``; see :func:`open_database`).

        Opening an existing ledger writes nothing; a file that is not an
        ispc ledger, or one made with another chain id or block clock, is refused.
        """
        if not isinstance(chain_id, (bytes, bytearray)) or not chain_id:
            raise errors.ConfigError("chain_id must be non-empty bytes")
        check_int("node.genesis_time", int(genesis_time))  # the ranges configuration enforces
        check_int("node.block_interval", int(block_interval))
        self.path = Path(path)
        self.chain_id = bytes(chain_id)
        self.genesis_time = int(genesis_time)
        self.block_interval = int(block_interval)
        self._lock = threading.RLock()
        self._conn = open_database(self.path, create=create)
        try:
            with self._lock:
                ensure_schema(self._conn, _SCHEMA)
                self._check_meta()
        except BaseException:
            self._conn.close()
            raise

    # ------------------------------------------------------------------ plumbing
    def _check_meta(self) -> None:
        wanted = {
            "chain_id": self.chain_id,
            "genesis_time": str(self.genesis_time).encode(),
            "block_interval": str(self.block_interval).encode(),
        }
        for key, value in wanted.items():
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row is None:  # a new ledger: the only time opening writes
                self._conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", (key, value))
                row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            stored = row[0]
            if not isinstance(stored, (bytes, bytearray, memoryview)):
                raise corrupt_row(self.path, f"meta row {key!r}", f"a {type(stored).__name__} is stored", remedy(LEDGER))
            if bytes(stored) != value:
                raise errors.LedgerError(
                    f"ledger {self.path.name} was created with {key}={bytes(stored)!r}, not {value!r}"
                )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any error)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read: reuses an open transaction, else opens a deferred one."""
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("ROLLBACK")

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------------ genesis
    def _genesis_tx(self, allocations: Mapping[bytes, int], chain_params: pb.ChainParams | None) -> pb.Transaction:
        tx = pb.Transaction(version=1, chain_id=self.chain_id)
        if chain_params is not None and chain_params.ByteSize():
            tx.chain_params.CopyFrom(chain_params)
        for address in sorted(allocations):
            amount = allocations[address]
            if not isinstance(address, (bytes, bytearray)) or len(address) != 20:
                raise errors.ConfigError(f"genesis address must be 20 bytes, got {address!r}")
            if not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
                raise errors.ConfigError(f"genesis amount for {bytes(address).hex()} must be in 1..{MAX_AMOUNT}")
            tx.outputs.append(txcodec.native_output(bytes(address), amount))
        return tx

    def init_genesis(self, allocations: Mapping[bytes, int], chain_params: pb.ChainParams | None = None) -> Block:
        """Create the genesis block (height 0) once; later calls with the same allocations and rules are no-ops.

        The genesis transaction creates one native output per address, sorted
        by address, and carries the chain's rules (``chain_params``). Calling
        it again with other allocations or rules raises ``LedgerError``.
        """
        tx = self._genesis_tx(allocations, chain_params)
        gid = txcodec.tx_id(tx)
        with self._write() as conn:
            row = conn.execute("SELECT id FROM transactions WHERE height = 0").fetchone()
            if row is not None:
                if bytes(row[0]) != gid:
                    stored = pb.Transaction.FromString(
                        conn.execute("SELECT raw FROM transactions WHERE height = 0").fetchone()[0]
                    )
                    if stored.chain_params != tx.chain_params:
                        raise errors.LedgerError(
                            f"ledger {self.path.name} belongs to a chain with other rules: this node's [chain] "
                            "settings or evidence.oracle_keys differ from the chain's genesis"
                        )
                    raise errors.LedgerError(
                        f"ledger {self.path.name} already has a different genesis (the [genesis] allocations differ)"
                    )
            else:
                bhash = block_hash(ZERO_HASH, 0, self.genesis_time, [gid])
                conn.execute(
                    "INSERT INTO blocks(height, hash, prev_hash, time, tx_count) VALUES (0, ?, ?, ?, 1)",
                    (bhash, ZERO_HASH, self.genesis_time),
                )
                self._apply_tx(conn, tx, gid, 0, 0)
        block = self.block(0)
        assert block is not None
        return block

    # ------------------------------------------------------------------ reads
    def snapshot(self) -> LedgerSnapshot:
        """Height, time and hash of the tip block; ``LedgerError`` before genesis."""
        with self._read() as conn:
            row = conn.execute("SELECT height, time, hash FROM blocks ORDER BY height DESC LIMIT 1").fetchone()
        if row is None:
            raise errors.LedgerError("the ledger has no genesis block yet")
        return LedgerSnapshot(height=row[0], block_time=row[1], tip_hash=bytes(row[2]))

    def block(self, height: int) -> Block | None:
        """The block at ``height`` with its transaction ids, or ``None``."""
        with self._read() as conn:
            row = conn.execute("SELECT height, hash, prev_hash, time FROM blocks WHERE height = ?", (height,)).fetchone()
            if row is None:
                return None
            ids = conn.execute("SELECT id FROM transactions WHERE height = ? ORDER BY position", (height,)).fetchall()
        return Block(row[0], bytes(row[1]), bytes(row[2]), row[3], tuple(bytes(i[0]) for i in ids))

    def _utxo(self, row) -> Utxo:
        """A ``utxos`` row as a :class:`Utxo` (``DatabaseCorrupt`` naming the output if it is damaged)."""
        tx_id_, idx, raw, native = row
        output = _stored_output(self.path, f"{bytes(tx_id_).hex()}:{idx}", raw)
        return Utxo(outpoint=pb.OutPoint(tx_id=bytes(tx_id_), index=idx), output=output, amount=native)

    def utxos_of(self, address: bytes, *, native_only: bool = True) -> list[Utxo]:
        """Unspent outputs owned by ``address`` (only native ones unless ``native_only=False``), oldest first.

        Native ones are those ``address`` can spend: an output locked to a contract counts for nobody's
        balance, whatever its ``owner`` field says (any payer may fill that in).
        """
        sql = "SELECT tx_id, idx, raw_output, native_amount FROM utxos WHERE owner = ? AND spent_in IS NULL"
        if native_only:
            sql += " AND kind = 'native' AND contract IS NULL"
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY rowid", (bytes(address),)).fetchall()
        return [self._utxo(r) for r in rows]

    def contract_utxos(self, contract_id: bytes) -> list[Utxo]:
        """Unspent outputs locked to contract ``contract_id``, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT tx_id, idx, raw_output, native_amount FROM utxos"
                " WHERE contract = ? AND spent_in IS NULL ORDER BY rowid",
                (bytes(contract_id),),
            ).fetchall()
        return [self._utxo(r) for r in rows]

    def get_utxo(self, outpoint: pb.OutPoint) -> Utxo | None:
        """The output at ``outpoint`` if it exists and is unspent, else ``None``."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT tx_id, idx, raw_output, native_amount FROM utxos WHERE outpoint = ? AND spent_in IS NULL",
                (txcodec.outpoint_key(outpoint),),
            ).fetchone()
        return None if row is None else self._utxo(row)

    def balance(self, address: bytes) -> int:
        """Sum of the native amounts of the unspent outputs ``address`` can spend (not those locked to a contract)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT native_amount FROM utxos WHERE owner = ? AND spent_in IS NULL AND kind = 'native'"
                " AND contract IS NULL",
                (bytes(address),),
            ).fetchall()
        return sum(r[0] for r in rows)

    def state_head(self, state_id: bytes) -> StateHead | None:
        """The latest version of state ``state_id``, or ``None`` if it was never written."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT version, state_hash, value FROM states WHERE state_id = ? ORDER BY version DESC LIMIT 1",
                (bytes(state_id),),
            ).fetchone()
        return None if row is None else StateHead(row[0], bytes(row[1]), bytes(row[2]))

    def get_tx(self, tx_id: bytes) -> tuple[pb.Transaction, int] | None:
        """A confirmed transaction and the height of its block, or ``None``."""
        with self._read() as conn:
            row = conn.execute("SELECT id, raw, height FROM transactions WHERE id = ?", (bytes(tx_id),)).fetchone()
        return None if row is None else (self._decode_tx(row[0], row[1]), row[2])

    def _decode_tx(self, tx_id: object, raw: object) -> pb.Transaction:
        """A stored ``transactions`` row's transaction, checked against its id (``DatabaseCorrupt`` if damaged)."""
        try:
            return parse_stored_tx(tx_id, raw)[1]
        except BadRow as bad:
            name = bytes(tx_id).hex() if isinstance(tx_id, (bytes, bytearray, memoryview)) else repr(tx_id)
            raise corrupt_row(self.path, f"transaction {name}", bad.why, remedy(LEDGER)) from None

    def has_tx(self, tx_id: bytes) -> bool:
        """Whether a transaction with this id is confirmed."""
        with self._read() as conn:
            return conn.execute("SELECT 1 FROM transactions WHERE id = ?", (bytes(tx_id),)).fetchone() is not None

    def output(self, outpoint_key: str) -> pb.TxOutput | None:
        """The output at ``"txid:index"`` whether spent or not (None if this chain never created it)."""
        with self._read() as conn:
            row = conn.execute("SELECT raw_output FROM utxos WHERE outpoint = ?", (outpoint_key,)).fetchone()
        return None if row is None else _stored_output(self.path, outpoint_key, row[0])

    def state_version(self, state_id: bytes, version: int) -> StateHead | None:
        """One confirmed version of a state, or None."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT version, state_hash, value FROM states WHERE state_id = ? AND version = ?",
                (bytes(state_id), int(version)),
            ).fetchone()
        return None if row is None else StateHead(row[0], bytes(row[1]), bytes(row[2]))

    def balance_at(self, address: bytes, height: int) -> int:
        """Native balance of ``address`` as of the end of block ``height``: outputs created at or
        below it and not spent at or below it (what a program reading the ledger at that snapshot saw)."""
        with self._read() as conn:
            (total,) = conn.execute(
                "SELECT COALESCE(SUM(u.native_amount), 0) FROM utxos u JOIN transactions c ON c.id = u.tx_id"
                " WHERE u.owner = ? AND u.kind = 'native' AND u.contract IS NULL AND c.height BETWEEN 0 AND ?"
                " AND (u.spent_in IS NULL OR (SELECT s.height FROM transactions s WHERE s.id = u.spent_in) > ?)",
                (bytes(address), int(height), int(height)),
            ).fetchone()
        return int(total)

    def resource_kind(self, resource_id: bytes) -> str | None:
        """The kind of a resource deployed on this chain, or None."""
        with self._read() as conn:
            return _ConnReader(conn).resource_kind(resource_id)

    def resource_code(self, resource_id: bytes) -> tuple[str, bytes] | None:
        """``(kind, code)`` of a deployed resource (from its deploy transaction), or None."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT r.kind, t.id, t.raw FROM resources r JOIN transactions t ON t.id = r.tx_id WHERE r.resource_id = ?",
                (bytes(resource_id),),
            ).fetchone()
        if row is None:
            return None
        for out in self._decode_tx(row[1], row[2]).outputs:
            if out.WhichOneof("content") == "resource" and out.resource.resource_id == bytes(resource_id):
                return row[0], bytes(out.resource.code)
        return None

    def chain_params(self) -> pb.ChainParams:
        """The chain's rules, as its genesis transaction carries them."""
        with self._read() as conn:
            row = conn.execute("SELECT id, raw FROM transactions WHERE height = 0 AND position = 0").fetchone()
        if row is None:
            raise errors.LedgerError("the ledger has no genesis block yet")
        return self._decode_tx(row[0], row[1]).chain_params

    # ------------------------------------------------------------------ rules
    def validate(
        self,
        tx: pb.Transaction,
        *,
        spent_elsewhere: set[str] | frozenset[str] = frozenset(),
        state_overlay: Mapping[bytes, StateHead] | None = None,
        pending_resources: Mapping[bytes, str] | None = None,
        authorized: bool = False,
    ) -> None:
        """Check ``tx`` against the ledger's rules (:mod:`ispc_core.node.rules`); ``TransactionRejected`` if broken.

        ``authorized``: the transaction's execution was verified (proof and
        journal, :mod:`ispc_core.verification`), so it may use its contract's
        authority. ``spent_elsewhere``, ``state_overlay`` and
        ``pending_resources`` describe the pending transactions.
        """
        if not isinstance(tx, pb.Transaction):
            raise errors.RequestError(f"a Transaction is expected, got {type(tx).__name__}")
        with self._read() as conn:
            check_transaction(
                tx, _ConnReader(conn), chain_id=self.chain_id, spent_elsewhere=spent_elsewhere,
                state_overlay=state_overlay, pending_resources=pending_resources, authorized=authorized,
            )

    # ------------------------------------------------------------------ writes
    @staticmethod
    def _apply_tx(conn, tx: pb.Transaction, txid: bytes, height: int, position: int) -> None:
        conn.execute(
            "INSERT INTO transactions(id, height, position, raw) VALUES (?, ?, ?, ?)",
            (txid, height, position, txcodec.encode(tx)),
        )
        for tx_input in tx.inputs:
            if tx_input.reference_only:
                continue
            cur = conn.execute(
                "UPDATE utxos SET spent_in = ? WHERE outpoint = ? AND spent_in IS NULL",
                (txid, txcodec.outpoint_key(tx_input.outpoint)),
            )
            if cur.rowcount != 1:  # validate() ran first; this is a broken invariant
                raise errors.LedgerError(f"input {txcodec.outpoint_key(tx_input.outpoint)} vanished while applying")
        for idx, output in enumerate(tx.outputs):
            kind = _output_kind(output)
            condition = output.locking.WhichOneof("condition")
            owner = output.locking.owner_address if condition == "owner_address" else (output.owner or None)
            contract = output.locking.contract if condition == "contract" else None
            conn.execute(
                "INSERT INTO utxos(outpoint, tx_id, idx, owner, kind, native_amount, token_id, token_amount,"
                " contract, raw_output, spent_in) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    f"{txid.hex()}:{idx}", txid, idx, owner, kind,
                    output.asset.native_amount if kind == "native" else 0,
                    output.asset.token.token_id if kind == "token" else None,
                    output.asset.token.amount if kind == "token" else 0,
                    contract, output.SerializeToString(deterministic=True),
                ),
            )
            if kind == "state":
                conn.execute(
                    "INSERT INTO states(state_id, version, state_hash, value, tx_id) VALUES (?, ?, ?, ?, ?)",
                    (output.state.state_id, output.state.state_version, txcodec.state_hash(output.state),
                     output.state.state_value, txid),
                )
            elif kind == "resource":
                res = output.resource
                conn.execute(
                    "INSERT INTO resources(resource_id, kind, size, tx_id) VALUES (?, ?, ?, ?)",
                    (res.resource_id, res.kind, res.size, txid),
                )

    def rewind_to(self, height: int) -> None:
        """Forget every block above ``height`` (their spends undone, their outputs and states removed).

        For scratch copies only (an audit re-running a program against the
        ledger as it was): never called on a node's own ledger. Deployed
        resources are kept.
        """
        with self._write() as conn:
            ids = [bytes(r[0]) for r in conn.execute("SELECT id FROM transactions WHERE height > ?", (int(height),))]
            for tid in ids:
                conn.execute("UPDATE utxos SET spent_in = NULL WHERE spent_in = ?", (tid,))
            for tid in ids:
                conn.execute("DELETE FROM utxos WHERE tx_id = ?", (tid,))
                conn.execute("DELETE FROM states WHERE tx_id = ?", (tid,))
            conn.execute("DELETE FROM transactions WHERE height > ?", (int(height),))
            conn.execute("DELETE FROM blocks WHERE height > ?", (int(height),))

    def apply_block(self, txs: list[pb.Transaction], *, authorized: bool = False) -> Block:
        """Append one block with ``txs`` in order, all or nothing.

        Each transaction is re-validated against the ledger including the
        earlier transactions of the same block; the first failure rolls the
        whole block back and is raised as ``TransactionRejected``.
        ``authorized``: every execution among ``txs`` was verified (the
        mempool admits only verified ones).
        """
        with self._write() as conn:
            tip = conn.execute("SELECT height, hash FROM blocks ORDER BY height DESC LIMIT 1").fetchone()
            if tip is None:
                raise errors.LedgerError("the ledger has no genesis block yet; call init_genesis first")
            height = tip[0] + 1
            prev_hash = bytes(tip[1])
            time = self.genesis_time + height * self.block_interval
            ids = []
            for position, tx in enumerate(txs):
                if not isinstance(tx, pb.Transaction):
                    raise errors.RequestError(f"a Transaction is expected, got {type(tx).__name__}")
                check_transaction(tx, _ConnReader(conn), chain_id=self.chain_id, authorized=authorized)
                txid = txcodec.tx_id(tx)
                self._apply_tx(conn, tx, txid, height, position)
                ids.append(txid)
            bhash = block_hash(prev_hash, height, time, ids)
            conn.execute(
                "INSERT INTO blocks(height, hash, prev_hash, time, tx_count) VALUES (?, ?, ?, ?, ?)",
                (height, bhash, prev_hash, time, len(ids)),
            )
        return Block(height, bhash, prev_hash, time, tuple(ids))

    def select_valid(
        self, txs: list[pb.Transaction], *, authorized: bool = False
    ) -> tuple[list[pb.Transaction], list[tuple[bytes, errors.TransactionRejected]]]:
        """Split ``txs`` (in order) into those that would apply one after another and those that would not.

        Nothing is written: the trial runs in a transaction that is rolled back.
        """
        valid: list[pb.Transaction] = []
        rejected: list[tuple[bytes, errors.TransactionRejected]] = []
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for tx in txs:
                    txid = txcodec.tx_id(tx)
                    try:
                        check_transaction(tx, _ConnReader(self._conn), chain_id=self.chain_id, authorized=authorized)
                    except errors.TransactionRejected as exc:
                        rejected.append((txid, exc))
                        continue
                    self._apply_tx(self._conn, tx, txid, -1, len(valid))
                    valid.append(tx)
            finally:
                self._conn.execute("ROLLBACK")
        return valid, rejected
