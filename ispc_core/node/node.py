"""The embedded node: one home directory holding a resource store, keys, a ledger and a mempool.

Layout of the node home::

    resources/        content-addressed resources (see store.py)
    keys/             secp256k1 keys, one <name>.key file each (mode 0600)
    ledger.sqlite     blocks, transactions, utxos, states
    mempool.sqlite    pending transactions
    proofjobs.sqlite  asynchronous proof jobs (homes that ran in async mode)

Only ``ispc init`` (or :class:`Node` with ``create=True`` on a new home)
creates a chain; a home whose databases are missing, empty or damaged is
refused with one typed line naming the file (see :mod:`ispc_core.node.files`).

Blocks are made only by :meth:`Node.mine` (``ispc mine`` on the command
line): there is no background block producer.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Mapping

from ispc_core import errors
from ispc_core.node import files, txcodec
from ispc_core.node.keys import KeyStore, NodeKey
from ispc_core.node.ledger import Block, Ledger, Utxo
from ispc_core.node.mempool import Mempool, TransactionVerifier
from ispc_core.node.store import ResourceStore
from ispc_core.proto import transaction_pb2 as pb

log = logging.getLogger("ispc.node")

NODE_KEY_NAME = "node"


class Node:
    """An embedded single-node chain rooted at ``home``."""

    def __init__(
        self,
        home: Path,
        *,
        chain_id: bytes,
        genesis: Mapping[bytes, int],
        genesis_time: int,
        block_interval: int,
        chain_params: pb.ChainParams | None = None,
        verifier: TransactionVerifier | None = None,
        create: bool = True,
        repair: bool = False,
    ):
        """Open the node at ``home``, checking its databases first (:func:`ispc_core.node.files.check_home`).

        ``create``: a new home (no databases) gets a new chain; without it a new
        home is ``NoChain``. ``repair`` (``ispc init``): a missing mempool next to
        a healthy ledger is created. A missing, empty or damaged database is
        never replaced: it is one ``NodeFileError`` naming the file. Opening an
        existing home writes nothing (unless a crash left something to clean up).
        """
        self.home = Path(home)
        to_create = files.check_home(self.home, create=create, repair=repair)
        self.home.mkdir(parents=True, exist_ok=True)
        self.store = ResourceStore(self.home / "resources")
        self.keys = KeyStore(self.home / "keys")
        new_chain = files.LEDGER in to_create
        self.ledger = Ledger(self.home / files.LEDGER, chain_id, genesis_time, block_interval, create=new_chain)
        try:
            self._open_genesis(genesis, chain_params, new=new_chain)
            self.mempool = Mempool(self.home / files.MEMPOOL, self.ledger, create=files.MEMPOOL in to_create)
        except BaseException:
            self.ledger.close()
            raise
        #: ``verifier(tx)`` checks signatures, journal and proof before admission (set by the Manager);
        #: without one, executions get no contract authority
        self.verifier = verifier
        self._mine_lock = threading.Lock()
        self._node_key: NodeKey | None = None
        self._recover()

    def _open_genesis(self, genesis: Mapping[bytes, int], chain_params: pb.ChainParams | None, *, new: bool) -> None:
        """Create the genesis block of a new ledger; check an existing ledger's genesis without writing."""
        if new:
            self.ledger.init_genesis(genesis, chain_params)
            return
        block = self.ledger.block(0)
        if block is None:
            path = self.ledger.path
            raise errors.DatabaseCorrupt(
                f"{path.name} in {path.parent} has no genesis block: {files.remedy(files.LEDGER)}", path=str(path)
            )
        if block.tx_ids != (txcodec.tx_id(self.ledger._genesis_tx(genesis, chain_params)),):
            self.ledger.init_genesis(genesis, chain_params)  # raises the ledger's error saying what differs

    def _recover(self) -> None:
        """Drop pending transactions that are already confirmed (a crash between block and mempool cleanup)."""
        done = [tid for tid, _ in self.mempool.list() if self.ledger.has_tx(tid)]
        if done:
            log.info("dropping %d already-confirmed transactions from the mempool", len(done))
            try:
                self.mempool.remove(done)
            except (errors.DatabaseReadOnly, errors.DatabaseLocked) as exc:  # reading still works; mining drops them
                log.warning("could not drop confirmed transactions from the mempool now: %s", exc)

    @property
    def node_key(self) -> NodeKey:
        """The node's own key (named ``"node"``), created on first use."""
        if self._node_key is None:
            self._node_key = self.keys.get_or_create(NODE_KEY_NAME)
        return self._node_key

    def spendable_utxos(self, address: bytes) -> list[Utxo]:
        """Confirmed native outputs of ``address`` that no pending transaction spends yet."""
        spent = self.mempool.spent_outpoints()
        return [u for u in self.ledger.utxos_of(address) if u.key not in spent]

    def submit(self, tx: pb.Transaction, *, verified=None) -> bytes:
        """Verify ``tx`` (outside any write lock), then add it to the mempool; return its id.

        ``TransactionRejected`` names the failed check. A transaction whose
        execution could not be verified (no verifier set) is still checked by
        the ledger's rules, which then grant it no contract authority.
        ``verified``: proof artifacts already batch-verified, handed to the
        verifier (``verifier(tx, verified=...)``) so it skips their pairings.
        """
        authorized = False
        if self.verifier is not None:
            if verified:
                self.verifier(tx, verified=verified)
            else:
                self.verifier(tx)
            authorized = tx.HasField("execution")
        return self.mempool.add(tx, authorized=authorized)

    def mine(self) -> Block | None:
        """Move every pending transaction into one new block; ``None`` if the mempool is empty.

        Transactions that are no longer valid (in arrival order) are dropped
        from the mempool with a logged reason; the rest become the block,
        applied atomically. Blocks are made only by this method.
        """
        with self._mine_lock:
            pending = self.mempool.list()
            if not pending:
                return None
            # every pending execution was verified when it was admitted
            valid, rejected = self.ledger.select_valid([tx for _, tx in pending], authorized=True)
            for txid, exc in rejected:
                log.warning("dropping transaction %s from the mempool: %s", txid.hex(), exc.reason)
            if not valid:
                self.mempool.remove(txid for txid, _ in rejected)
                return None
            block = self.ledger.apply_block(valid, authorized=True)
            self.mempool.remove([tid for tid, _ in pending])
            log.info("mined block %d (%d transactions, %d dropped)", block.height, block.tx_count, len(rejected))
            return block

    def close(self) -> None:
        """Close the ledger and mempool databases."""
        self.mempool.close()
        self.ledger.close()
