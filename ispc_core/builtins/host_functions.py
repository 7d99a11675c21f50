"""Built-in, engine-neutral host functions.

Registered through the ``ispc_host_functions`` hook like any plugin's. None of
them touches files, network, the clock or randomness: everything they read
comes from the execution's deterministic environment and ledger snapshot, and
everything they do is recorded in the draft transaction and the trace.

Every one is checked by verifiers with
:func:`ispc_core.verification.journal.replay`: its ``impl`` runs again on the
verification context (the environment from the transaction's call record,
this node's ledger at the snapshot height, the chain's oracle keys) and must
give the journal's result; writes land in the verifier's draft, which must
equal the transaction's effects. ``ledger.balance`` therefore reads the
*confirmed* balance at the snapshot height (adjusted by this call's own
transfers), which every node can answer; ``tx.transfer`` still refuses to
spend more than the caller can spend now.
"""

from __future__ import annotations

from ispc_core.context import ExternalDeclaration, StateWrite
from ispc_core.errors import InsufficientFunds
from ispc_core.hookspecs import hookimpl
from ispc_core.specs import HostFunction, Param
from ispc_core.verification.journal import replay

ADDRESS_LEN = 20
MAX_TOPIC_LEN = 256


# --- environment ---------------------------------------------------------------
def _caller(call):
    return call.context.env.caller


def _contract(call):
    return call.context.env.contract


def _block_height(call):
    return call.context.env.block_height


def _block_time(call):
    return call.context.env.block_time


def _chain_id(call):
    return call.context.env.chain_id


def _input(call):
    return call.context.env.input_data


# --- value ---------------------------------------------------------------------
def _check_address(call, value: bytes, argument: str) -> bytes:
    if len(value) != ADDRESS_LEN:
        raise call.fail(f"an address is {ADDRESS_LEN} bytes, got {len(value)}", argument)
    return value


def spendable_balance(ctx, address: bytes, *, confirmed: bool = False) -> int:
    """Balance of ``address`` adjusted by this draft: spendable now, or ``confirmed`` at the snapshot height."""
    draft = ctx.draft
    view = ctx.ledger_view
    balance = view.confirmed_balance(address) if confirmed else view.balance(address)
    if address == draft.payer:
        balance -= draft.debit
    balance += sum(amount for to, amount in draft.credits if to == address)
    return balance


def _balance(call, address):
    _check_address(call, address, "address")
    return spendable_balance(call.context, address, confirmed=True)


def _transfer(call, to, amount):
    _check_address(call, to, "to")
    if amount <= 0:
        raise call.fail(f"amount must be positive, got {amount}", "amount")
    ctx = call.context
    available = spendable_balance(ctx, ctx.draft.payer)
    if amount > available:
        note = getattr(ctx.ledger_view, "locked_note", None)
        raise InsufficientFunds(
            f"tx.transfer: caller {ctx.draft.payer.hex()} has {available} spendable, needs {amount}"
            + (note(ctx.draft.payer) if callable(note) else ""),
        )
    ctx.draft.debit += amount
    ctx.draft.credits.append((to, amount))
    return 0


# --- state -----------------------------------------------------------------------
def _state_head(ctx, key: bytes):
    return ctx.ledger_view.state_head(ctx.env.resource_id, key)


def _state_get(call, key):
    ctx = call.context
    write = ctx.draft.state_writes.get(key)
    if write is not None:
        return write.value
    head = _state_head(ctx, key)
    return head.value if head is not None else b""


def _state_version(call, key):
    head = _state_head(call.context, key)
    return head.version if head is not None else 0


def _state_set(call, key, value):
    if not key:
        raise call.fail("state key must not be empty", "key")
    call.context.draft.state_writes[key] = StateWrite(key, value)
    return None


# --- events, results, logs --------------------------------------------------------
def _emit(call, topic, data):
    if not topic or len(topic) > MAX_TOPIC_LEN:
        raise call.fail(f"topic must be 1..{MAX_TOPIC_LEN} characters", "topic")
    call.context.draft.events.append((topic, data))
    return None


def _result_set(call, data):
    call.context.draft.return_data = data
    return None


def _log(call, message):
    call.context.draft.logs.append(message)
    return None


# --- controlled external interaction --------------------------------------------------
def _declare(call, kind, key, claim):
    if not kind:
        raise call.fail("kind must not be empty", "kind")
    decls = call.context.draft.external
    decls.append(ExternalDeclaration(kind=kind, key=key, claim=claim))
    return len(decls) - 1


def _provide_evidence(call, handle, evidence):
    ctx = call.context
    decls = ctx.draft.external
    if not 0 <= handle < len(decls):
        raise call.fail(f"no declared external state with handle {handle}", "handle")
    decl = decls[handle]
    verifier = ctx.evidence_verifier
    ok = bool(verifier.verify(decl.kind, decl.key, decl.claim, evidence, ctx.config))
    decl.verified = decl.verified or ok
    return 1 if ok else 0


def _query(call, key):
    for decl in reversed(call.context.draft.external):
        if decl.key == key and decl.verified:
            return decl.claim
    raise call.fail("no declared external state with verified evidence for this key", "key")


def _fn(name, params, returns, impl, doc, cost=0):
    return HostFunction(
        name=name,
        params=tuple(Param(n, t) for n, t in params),
        returns=returns,
        impl=impl,
        doc=doc,
        cost=cost,
        verify=replay,
    )


BUILTIN_HOST_FUNCTIONS = (
    _fn("env.caller", (), "bytes", _caller, "20-byte address of the caller"),
    _fn("env.contract", (), "bytes", _contract, "20-byte address of the running contract"),
    _fn("env.block_height", (), "i64", _block_height, "height of the ledger snapshot"),
    _fn("env.block_time", (), "i64", _block_time, "timestamp of the ledger snapshot's block (seconds)"),
    _fn("env.chain_id", (), "bytes", _chain_id, "the chain id"),
    _fn("env.input", (), "bytes", _input, "the call's input data"),
    _fn("ledger.balance", (("address", "bytes"),), "i64", _balance, "confirmed native balance of an address at the snapshot height, adjusted by this call's transfers"),
    _fn(
        "tx.transfer",
        (("to", "bytes"), ("amount", "i64")),
        "i64",
        _transfer,
        "pay `amount` from the caller to `to`; 0 on success, InsufficientFunds otherwise",
        cost=100,
    ),
    _fn("state.get", (("key", "bytes"),), "bytes", _state_get, "the contract's state value under key (empty if unset)"),
    _fn("state.version", (("key", "bytes"),), "i64", _state_version, "the committed version of a state key (0 if none)"),
    _fn("state.set", (("key", "bytes"), ("value", "bytes")), None, _state_set, "write a state value", cost=100),
    _fn("event.emit", (("topic", "str"), ("data", "bytes")), None, _emit, "emit an event into the transaction"),
    _fn("result.set", (("data", "bytes"),), None, _result_set, "set the call's return data"),
    _fn("log.write", (("message", "str"),), None, _log, "write a log line (traced, not part of the transaction)"),
    _fn(
        "external.declare",
        (("kind", "str"), ("key", "bytes"), ("claim", "bytes")),
        "i64",
        _declare,
        "declare reliance on an external state; returns a handle",
    ),
    _fn(
        "external.provide_evidence",
        (("handle", "i64"), ("evidence", "bytes")),
        "i64",
        _provide_evidence,
        "offer evidence for a declared state; 1 if the evidence verifier accepts it, else 0",
        cost=1000,
    ),
    _fn(
        "external.query",
        (("key", "bytes"),),
        "bytes",
        _query,
        "the claim of a declared external state whose evidence was accepted",
    ),
)


@hookimpl
def ispc_host_functions():
    """The built-in host functions (see ``BUILTIN_HOST_FUNCTIONS``)."""
    return list(BUILTIN_HOST_FUNCTIONS)
