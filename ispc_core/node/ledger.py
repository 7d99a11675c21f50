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
from ispc_core.node import txcodec
from ispc_core.node.keys import address_of, verify_signature
from ispc_core.node.sqlite import open_database
from ispc_core.proto import transaction_pb2 as pb

REASON_MISSING_SIGNATURE = "missing signature"
REASON_BAD_SIGNATURE = "bad signature"
REASON_LOCKED = "locked output"
REASON_UNKNOWN_OUTPOINT = "unknown or spent outpoint"
REASON_DOUBLE_SPEND = "double spend"
REASON_OUTPUTS_EXCEED_INPUTS = "outputs exceed inputs"
REASON_STATE_CONFLICT = "state version conflict"
REASON_PROOF_MISSING = "proof missing"
REASON_WRONG_CHAIN = "wrong chain"
REASON_DUPLICATE = "duplicate transaction"
REASON_MALFORMED = "malformed transaction"

#: amounts are stored as SQLite integers (signed 64-bit)
MAX_AMOUNT = (1 << 63) - 1
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


def rejection(reason: str, detail: str) -> errors.TransactionRejected:
    """A ``TransactionRejected`` with ``reason`` and a message giving the detail (to be raised)."""
    return errors.TransactionRejected(f"transaction rejected ({reason}): {detail}", reason=reason)


def _output_kind(output: pb.TxOutput) -> str:
    content = output.WhichOneof("content")
    if content == "asset":
        return "native" if output.asset.WhichOneof("asset") == "native_amount" else "token"
    return content or ""


class Ledger:
    """The chain state in one SQLite file; safe to use from several threads."""

    def __init__(self, path: Path, chain_id: bytes, genesis_time: int, block_interval: int):
        if not isinstance(chain_id, (bytes, bytearray)) or not chain_id:
            raise errors.ConfigError("chain_id must be non-empty bytes")
        if int(genesis_time) < 0 or int(block_interval) <= 0:
            raise errors.ConfigError("genesis_time must be >= 0 and block_interval > 0")
        self.path = Path(path)
        self.chain_id = bytes(chain_id)
        self.genesis_time = int(genesis_time)
        self.block_interval = int(block_interval)
        self._lock = threading.RLock()
        self._conn = open_database(self.path)
        with self._lock:
            self._conn.executescript(_SCHEMA)
            self._check_meta()

    # ------------------------------------------------------------------ plumbing
    def _check_meta(self) -> None:
        wanted = {
            "chain_id": self.chain_id,
            "genesis_time": str(self.genesis_time).encode(),
            "block_interval": str(self.block_interval).encode(),
        }
        for key, value in wanted.items():
            self._conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", (key, value))
            (stored,) = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
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
    def _genesis_tx(self, allocations: Mapping[bytes, int]) -> pb.Transaction:
        tx = pb.Transaction(version=1, chain_id=self.chain_id)
        for address in sorted(allocations):
            amount = allocations[address]
            if not isinstance(address, (bytes, bytearray)) or len(address) != 20:
                raise errors.ConfigError(f"genesis address must be 20 bytes, got {address!r}")
            if not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
                raise errors.ConfigError(f"genesis amount for {bytes(address).hex()} must be in 1..{MAX_AMOUNT}")
            tx.outputs.append(txcodec.native_output(bytes(address), amount))
        return tx

    def init_genesis(self, allocations: Mapping[bytes, int]) -> Block:
        """Create the genesis block (height 0) once; later calls with the same allocations are no-ops.

        The genesis transaction creates one native output per address, sorted
        by address. Calling it again with different allocations raises
        ``LedgerError``.
        """
        tx = self._genesis_tx(allocations)
        gid = txcodec.tx_id(tx)
        with self._write() as conn:
            row = conn.execute("SELECT id FROM transactions WHERE height = 0").fetchone()
            if row is not None:
                if bytes(row[0]) != gid:
                    raise errors.LedgerError("ledger already has a different genesis")
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

    @staticmethod
    def _utxo(row) -> Utxo:
        tx_id_, idx, raw, native = row
        output = pb.TxOutput.FromString(raw)
        return Utxo(outpoint=pb.OutPoint(tx_id=bytes(tx_id_), index=idx), output=output, amount=native)

    def utxos_of(self, address: bytes, *, native_only: bool = True) -> list[Utxo]:
        """Unspent outputs owned by ``address`` (only native ones unless ``native_only=False``), oldest first."""
        sql = "SELECT tx_id, idx, raw_output, native_amount FROM utxos WHERE owner = ? AND spent_in IS NULL"
        if native_only:
            sql += " AND kind = 'native'"
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
        """Sum of the native amounts of the unspent outputs owned by ``address``."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT native_amount FROM utxos WHERE owner = ? AND spent_in IS NULL AND kind = 'native'",
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
            row = conn.execute("SELECT raw, height FROM transactions WHERE id = ?", (bytes(tx_id),)).fetchone()
        return None if row is None else (pb.Transaction.FromString(row[0]), row[1])

    def has_tx(self, tx_id: bytes) -> bool:
        """Whether a transaction with this id is confirmed."""
        with self._read() as conn:
            return conn.execute("SELECT 1 FROM transactions WHERE id = ?", (bytes(tx_id),)).fetchone() is not None

    # ------------------------------------------------------------------ rules
    def validate(
        self,
        tx: pb.Transaction,
        *,
        spent_elsewhere: set[str] | frozenset[str] = frozenset(),
        proofs_required: bool,
        state_overlay: Mapping[bytes, StateHead] | None = None,
    ) -> None:
        """Check ``tx`` against the ledger; raise ``TransactionRejected(reason=...)`` if it breaks a rule.

        ``spent_elsewhere`` holds outpoint keys already spent by pending
        transactions; ``state_overlay`` gives state heads written by pending
        transactions (they take precedence over the ledger's heads).
        """
        if not isinstance(tx, pb.Transaction):
            raise errors.RequestError(f"a Transaction is expected, got {type(tx).__name__}")
        with self._read() as conn:
            self._validate(conn, tx, spent_elsewhere, proofs_required, state_overlay or {})

    def _validate(self, conn, tx, spent_elsewhere, proofs_required, state_overlay) -> None:
        if tx.chain_id != self.chain_id:
            raise rejection(REASON_WRONG_CHAIN, f"chain id {tx.chain_id.hex() or '(empty)'} is not {self.chain_id.hex()}")
        txid = txcodec.tx_id(tx)
        if conn.execute("SELECT 1 FROM transactions WHERE id = ?", (txid,)).fetchone():
            raise rejection(REASON_DUPLICATE, f"transaction {txid.hex()} is already in the ledger")
        native_in, token_in = self._check_inputs(conn, tx, txid, spent_elsewhere)
        native_out, token_out, states = self._check_outputs(tx)
        if native_out + tx.fee > native_in:
            raise rejection(
                REASON_OUTPUTS_EXCEED_INPUTS,
                f"native outputs {native_out} + fee {tx.fee} exceed native inputs {native_in}",
            )
        minter = tx.execution.resource_id
        for token_id, amount in token_out.items():
            if amount > token_in.get(token_id, 0) and not (minter and token_id == minter):
                raise rejection(
                    REASON_OUTPUTS_EXCEED_INPUTS,
                    f"token {token_id.hex()} outputs {amount} exceed inputs {token_in.get(token_id, 0)}",
                )
        self._check_states(conn, states, proofs_required, state_overlay)

    def _check_inputs(self, conn, tx, txid, spent_elsewhere) -> tuple[int, dict[bytes, int]]:
        seen: set[str] = set()
        native_in = 0
        token_in: dict[bytes, int] = defaultdict(int)
        for i, tx_input in enumerate(tx.inputs):
            key = txcodec.outpoint_key(tx_input.outpoint)
            if not tx_input.reference_only:
                if key in seen:
                    raise rejection(REASON_DOUBLE_SPEND, f"input {i} spends {key} twice in one transaction")
                if key in spent_elsewhere:
                    raise rejection(REASON_DOUBLE_SPEND, f"input {i}: {key} is already spent by a pending transaction")
                seen.add(key)
            row = conn.execute(
                "SELECT raw_output FROM utxos WHERE outpoint = ? AND spent_in IS NULL", (key,)
            ).fetchone()
            if row is None:
                raise rejection(REASON_UNKNOWN_OUTPOINT, f"input {i}: {key} is unknown or already spent")
            if tx_input.reference_only:
                continue  # read, not consumed: no unlocking needed
            output = pb.TxOutput.FromString(row[0])
            self._check_unlock(tx, txid, i, tx_input, output)
            if _output_kind(output) == "native":
                native_in += output.asset.native_amount
            elif _output_kind(output) == "token":
                token_in[output.asset.token.token_id] += output.asset.token.amount
        return native_in, token_in

    @staticmethod
    def _check_unlock(tx, txid, i, tx_input, output) -> None:
        condition = output.locking.WhichOneof("condition")
        if condition == "owner_address":
            proof = tx_input.unlocking_proof
            if not proof.public_key and not proof.signature:
                raise rejection(REASON_MISSING_SIGNATURE, f"input {i} is owned by {output.locking.owner_address.hex()} and is not signed")
            if address_of(proof.public_key) != output.locking.owner_address:
                raise rejection(REASON_BAD_SIGNATURE, f"input {i} is signed by a key that does not own it")
            if not verify_signature(proof.public_key, txid, proof.signature):
                raise rejection(REASON_BAD_SIGNATURE, f"input {i}: the signature does not verify")
        elif condition == "contract":
            if tx.execution.resource_id != output.locking.contract:
                raise rejection(REASON_LOCKED, f"input {i} is locked to contract {output.locking.contract.hex()}; only its execution may spend it")
        else:
            raise rejection(REASON_LOCKED, f"input {i} has no locking condition and can only be referenced")

    @staticmethod
    def _check_outputs(tx) -> tuple[int, dict[bytes, int], list[pb.StateOutput]]:
        native_out = 0
        token_out: dict[bytes, int] = defaultdict(int)
        states: list[pb.StateOutput] = []
        for j, output in enumerate(tx.outputs):
            kind = _output_kind(output)
            condition = output.locking.WhichOneof("condition")
            if condition == "owner_address" and len(output.locking.owner_address) != 20:
                raise rejection(REASON_MALFORMED, f"output {j}: owner address must be 20 bytes")
            if condition == "contract" and len(output.locking.contract) != 32:
                raise rejection(REASON_MALFORMED, f"output {j}: contract id must be 32 bytes")
            if kind in ("native", "token") and condition is None:
                raise rejection(REASON_MALFORMED, f"output {j}: an asset output needs a locking condition")
            if kind == "native":
                amount = output.asset.native_amount
                if amount > MAX_AMOUNT:
                    raise rejection(REASON_MALFORMED, f"output {j}: amount {amount} is above {MAX_AMOUNT}")
                native_out += amount
            elif kind == "token":
                token = output.asset.token
                if not token.token_id or token.amount > MAX_AMOUNT:
                    raise rejection(REASON_MALFORMED, f"output {j}: a token output needs a token id and an amount <= {MAX_AMOUNT}")
                token_out[token.token_id] += token.amount
            elif kind == "state":
                if not output.state.state_id:
                    raise rejection(REASON_MALFORMED, f"output {j}: a state output needs a state id")
                states.append(output.state)
            elif kind == "":
                raise rejection(REASON_MALFORMED, f"output {j} has no content")
        return native_out, token_out, states

    def _check_states(self, conn, states, proofs_required, state_overlay) -> None:
        written: set[bytes] = set()
        for state in states:
            sid = state.state_id
            if sid in written:
                raise rejection(REASON_STATE_CONFLICT, f"state {sid.hex()} is written twice in one transaction")
            written.add(sid)
            head = state_overlay.get(sid)
            if head is None:
                row = conn.execute(
                    "SELECT version, state_hash, value FROM states WHERE state_id = ? ORDER BY version DESC LIMIT 1",
                    (sid,),
                ).fetchone()
                head = None if row is None else StateHead(row[0], bytes(row[1]), bytes(row[2]))
            want_version, want_parent = (1, b"") if head is None else (head.version + 1, head.state_hash)
            if state.state_version != want_version or state.parent_state_hash != want_parent:
                raise rejection(
                    REASON_STATE_CONFLICT,
                    f"state {sid.hex()}: version {state.state_version} with parent {state.parent_state_hash.hex() or '(empty)'}"
                    f" does not follow the head (expected version {want_version}, parent {want_parent.hex() or '(empty)'})",
                )
            if proofs_required and not state.zk_proof.proof:
                raise rejection(REASON_PROOF_MISSING, f"state {sid.hex()} version {state.state_version} carries no zk proof")

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

    def apply_block(self, txs: list[pb.Transaction], *, proofs_required: bool = False) -> Block:
        """Append one block with ``txs`` in order, all or nothing.

        Each transaction is re-validated against the ledger including the
        earlier transactions of the same block; the first failure rolls the
        whole block back and is raised as ``TransactionRejected``.
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
                self._validate(conn, tx, frozenset(), proofs_required, {})
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
        self, txs: list[pb.Transaction], *, proofs_required: bool = False
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
                        self._validate(self._conn, tx, frozenset(), proofs_required, {})
                    except errors.TransactionRejected as exc:
                        rejected.append((txid, exc))
                        continue
                    self._apply_tx(self._conn, tx, txid, -1, len(valid))
                    valid.append(tx)
            finally:
                self._conn.execute("ROLLBACK")
        return valid, rejected
