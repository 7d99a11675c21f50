"""The embedded node: one home directory holding a resource store, keys, a ledger and a mempool.

Layout of the node home::

    resources/        content-addressed resources (see store.py)
    keys/             secp256k1 keys, one <name>.key file each (mode 0600)
    ledger.sqlite     blocks, transactions, utxos, states
    mempool.sqlite    pending transactions

Blocks are made only by :meth:`Node.mine` (``ispc mine`` on the command
line): there is no background block producer.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Mapping

from ispc_core.node.keys import KeyStore, NodeKey
from ispc_core.node.ledger import Block, Ledger, Utxo
from ispc_core.node.mempool import Mempool, ProofVerifier
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
        proofs_required: bool,
        proof_verifier: ProofVerifier | None = None,
    ):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.proofs_required = bool(proofs_required)
        self.store = ResourceStore(self.home / "resources")
        self.keys = KeyStore(self.home / "keys")
        self.ledger = Ledger(self.home / "ledger.sqlite", chain_id, genesis_time, block_interval)
        self.ledger.init_genesis(genesis)
        self.mempool = Mempool(
            self.home / "mempool.sqlite", self.ledger, self.proofs_required, proof_verifier=proof_verifier
        )
        self._mine_lock = threading.Lock()
        self._node_key: NodeKey | None = None
        self._recover()

    def _recover(self) -> None:
        """Drop pending transactions that are already confirmed (a crash between block and mempool cleanup)."""
        done = [tid for tid, _ in self.mempool.list() if self.ledger.has_tx(tid)]
        if done:
            log.info("dropping %d already-confirmed transactions from the mempool", len(done))
            self.mempool.remove(done)

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

    def submit(self, tx: pb.Transaction) -> bytes:
        """Add a signed transaction to the mempool; return its id (``TransactionRejected`` if refused)."""
        return self.mempool.add(tx)

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
            valid, rejected = self.ledger.select_valid([tx for _, tx in pending], proofs_required=self.proofs_required)
            for txid, exc in rejected:
                log.warning("dropping transaction %s from the mempool: %s", txid.hex(), exc.reason)
            if not valid:
                self.mempool.remove(txid for txid, _ in rejected)
                return None
            block = self.ledger.apply_block(valid, proofs_required=self.proofs_required)
            self.mempool.remove([tid for tid, _ in pending])
            log.info("mined block %d (%d transactions, %d dropped)", block.height, block.tx_count, len(rejected))
            return block

    def close(self) -> None:
        """Close the ledger and mempool databases."""
        self.mempool.close()
        self.ledger.close()
