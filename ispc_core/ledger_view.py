"""What an execution may read of the ledger: one snapshot, plus this node's pending work.

The view is fixed when the context is created (block height and time never
move during a call). Balances count confirmed outputs that no pending
transaction spends, no concurrent execution has reserved and no pending
proof job's transaction spends; state reads see
the newest version, pending ones included, so consecutive calls build on each
other before a block is mined.
"""

from __future__ import annotations

from ispc_core.node import txcodec


class LedgerView:
    """A read-only window on the node for one execution."""

    def __init__(self, node, reserved: set[str], job_reserved: set[str] | frozenset[str] = frozenset()) -> None:
        self.node = node
        self.snapshot = node.ledger.snapshot()
        self._reserved = reserved
        #: outpoints spent by transactions whose proof jobs are still pending (async mode)
        self._job_reserved = job_reserved
        self._mempool_spent = node.mempool.spent_outpoints()

    def spendable_utxos(self, address: bytes):
        """Confirmed native outputs of ``address`` not spent by a pending tx nor reserved, in a stable order."""
        blocked = self._mempool_spent | self._reserved | self._job_reserved
        utxos = [u for u in self.node.ledger.utxos_of(address) if u.key not in blocked]
        utxos.sort(key=lambda u: (-u.amount, u.key))
        return utxos

    def balance(self, address: bytes) -> int:
        """The spendable native balance of ``address``."""
        return sum(u.amount for u in self.spendable_utxos(address))

    def locked_note(self, address: bytes) -> str:
        """Why confirmed funds of ``address`` are not spendable now ('' if none are locked), for error messages."""
        spenders = self.node.mempool.spenders()
        locked: dict[bytes, int] = {}
        reserved = 0
        for u in self.node.ledger.utxos_of(address):
            if u.key in spenders:
                locked[spenders[u.key]] = locked.get(spenders[u.key], 0) + u.amount
            elif u.key in self._reserved or u.key in self._job_reserved:
                reserved += u.amount
        parts = [f"{amount} is locked by pending transaction {tid.hex()}" for tid, amount in locked.items()]
        if reserved:
            parts.append(f"{reserved} is reserved by executions or proof jobs still running")
        if not parts:
            return ""
        hint = "; `ispc mine` confirms pending transactions, and their change becomes spendable" if locked else ""
        return " (" + "; ".join(parts) + hint + ")"

    def confirmed_balance(self, address: bytes) -> int:
        """The confirmed native balance of ``address`` at the snapshot height (what every node can check)."""
        return self.node.ledger.balance_at(address, self.snapshot.height)

    def state_head(self, contract_id: bytes, key: bytes):
        """The newest version of a contract's state under ``key`` (pending first), or None."""
        state_id = txcodec.state_id_for(contract_id, key)
        pending = self.node.mempool.pending_state_head(state_id)
        return pending if pending is not None else self.node.ledger.state_head(state_id)
