"""Helpers shared by the wasm engine tests (loaded by conftest as ``ispc_wasm_testsupport``).

The engine is tested directly: an :class:`ExecutionContext` is built by hand
with a :class:`HostDispatcher` over test host functions that mirror the core's
built-ins (same names, parameter types and results), backed by a small
in-memory ledger. End-to-end tests through the coordinator live in
``test_e2e.py``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import attrs


from ispc_core.context import CallRequest, DeterministicEnv, ExecutionContext, ExternalDeclaration, StateWrite
from ispc_core.errors import InsufficientFunds
from ispc_core.hostabi import HostDispatcher
from ispc_core.specs import EngineCall, HostFunction, Limits, Param

REPO = Path(__file__).resolve().parents[3]
CONTRACTS = REPO / "contracts"

CALLER = bytes.fromhex("11" * 20)
CONTRACT = bytes.fromhex("22" * 20)
RECIPIENT = bytes.fromhex("33" * 20)


def contract_bytes(name: str) -> bytes:
    """The committed build of ``contracts/<name>.wasm``."""
    return (CONTRACTS / f"{name}.wasm").read_bytes()


@attrs.define
class Head:
    value: bytes
    version: int


@attrs.define
class MemoryLedger:
    """A tiny ledger snapshot for tests: balances and versioned contract state."""

    balances: dict = attrs.field(factory=dict)
    state: dict = attrs.field(factory=dict)  # key -> Head

    def balance(self, address: bytes) -> int:
        return self.balances.get(address, 0)

    def commit(self, ctx: ExecutionContext) -> None:
        """Apply a finished execution's draft (what the coordinator would do)."""
        d = ctx.draft
        self.balances[d.payer] = self.balances.get(d.payer, 0) - d.debit
        for to, amount in d.credits:
            self.balances[to] = self.balances.get(to, 0) + amount
        for key, w in d.state_writes.items():
            old = self.state.get(key)
            self.state[key] = Head(w.value, (old.version if old else 0) + 1)


ORACLE_KEY_HEX = "7f" * 32  # test-only private key


def evidence_digest(kind: str, key: bytes, claim: bytes) -> bytes:
    """The digest oracle evidence signs (as the core's default evidence verifier)."""
    return hashlib.sha256(b"ispc.evidence\x00" + kind.encode() + b"\x00" + key + claim).digest()


def _verify_evidence(kind: str, key: bytes, claim: bytes, evidence: bytes) -> bool:
    import coincurve

    oracle = coincurve.PrivateKey(bytes.fromhex(ORACLE_KEY_HEX)).public_key
    if len(evidence) != 64:
        return False
    try:
        der = coincurve.ecdsa.cdata_to_der(coincurve.ecdsa.deserialize_compact(evidence))
        return oracle.verify(der, evidence_digest(kind, key, claim), hasher=None)
    except Exception:
        return False


def make_host_functions() -> list[HostFunction]:
    """Test host functions with the built-ins' names and types."""

    def fn(name, params, returns, impl, cost=0):
        return HostFunction(name, tuple(Param(n, t) for n, t in params), returns, impl, cost=cost)

    def balance(call, address):
        ctx = call.context
        b = ctx.ledger_view.balance(address)
        if address == ctx.draft.payer:
            b -= ctx.draft.debit
        return b + sum(a for to, a in ctx.draft.credits if to == address)

    def transfer(call, to, amount):
        if len(to) != 20:
            raise call.fail(f"an address is 20 bytes, got {len(to)}", "to")
        ctx = call.context
        if amount > balance(call, ctx.draft.payer):
            raise InsufficientFunds(f"tx.transfer: caller cannot pay {amount}")
        ctx.draft.debit += amount
        ctx.draft.credits.append((to, amount))
        return 0

    def state_get(call, key):
        ctx = call.context
        w = ctx.draft.state_writes.get(key)
        if w is not None:
            return w.value
        head = ctx.ledger_view.state.get(key)
        return head.value if head else b""

    def state_version(call, key):
        head = call.context.ledger_view.state.get(key)
        return head.version if head else 0

    def state_set(call, key, value):
        call.context.draft.state_writes[key] = StateWrite(key, value)

    def declare(call, kind, key, claim):
        decls = call.context.draft.external
        decls.append(ExternalDeclaration(kind=kind, key=key, claim=claim))
        return len(decls) - 1

    def provide(call, handle, evidence):
        decl = call.context.draft.external[handle]
        ok = _verify_evidence(decl.kind, decl.key, decl.claim, evidence)
        decl.verified = decl.verified or ok
        return int(ok)

    def query(call, key):
        for decl in reversed(call.context.draft.external):
            if decl.key == key and decl.verified:
                return decl.claim
        raise call.fail("no verified external state for this key", "key")

    env = lambda attr: (lambda call: getattr(call.context.env, attr))  # noqa: E731
    return [
        fn("env.caller", (), "bytes", env("caller")),
        fn("env.contract", (), "bytes", env("contract")),
        fn("env.block_height", (), "i64", env("block_height")),
        fn("env.block_time", (), "i64", env("block_time")),
        fn("env.chain_id", (), "bytes", env("chain_id")),
        fn("env.input", (), "bytes", env("input_data")),
        fn("ledger.balance", (("address", "bytes"),), "i64", balance),
        fn("tx.transfer", (("to", "bytes"), ("amount", "i64")), "i64", transfer, cost=100),
        fn("state.get", (("key", "bytes"),), "bytes", state_get),
        fn("state.version", (("key", "bytes"),), "i64", state_version),
        fn("state.set", (("key", "bytes"), ("value", "bytes")), None, state_set, cost=100),
        fn("event.emit", (("topic", "str"), ("data", "bytes")), None, lambda c, t, d: c.context.draft.events.append((t, d))),
        fn("result.set", (("data", "bytes"),), None, lambda c, d: setattr(c.context.draft, "return_data", d)),
        fn("log.write", (("message", "str"),), None, lambda c, m: c.context.draft.logs.append(m)),
        fn("external.declare", (("kind", "str"), ("key", "bytes"), ("claim", "bytes")), "i64", declare),
        fn("external.provide_evidence", (("handle", "i64"), ("evidence", "bytes")), "i64", provide, cost=1000),
        fn("external.query", (("key", "bytes"),), "bytes", query),
    ]


class Harness:
    """Deploys contracts into one engine and runs calls with fresh contexts."""

    def __init__(self, engine, functions, ledger):
        self.engine = engine
        self.functions = functions
        self.ledger = ledger
        self.deployed: dict[str, tuple[bytes, bytes, object]] = {}
        self.last_ctx: ExecutionContext | None = None

    def deploy(self, name_or_code) -> str:
        code = contract_bytes(name_or_code) if isinstance(name_or_code, str) else name_or_code
        info = self.engine.validate(code, self.functions)
        rid = hashlib.sha256(code).digest()
        key = name_or_code if isinstance(name_or_code, str) else rid.hex()
        self.deployed[key] = (rid, code, info)
        return key

    def context(self, function="f", *, limits=None, input_data=b"", rid=b"\0" * 32) -> ExecutionContext:
        env = DeterministicEnv(
            block_height=7, block_time=1_700_000_000, caller=CALLER, contract=CONTRACT,
            resource_id=rid, chain_id=b"ispc-test", input_data=input_data,
        )
        ctx = ExecutionContext(
            request=CallRequest(resource_id=rid, function=function, input_data=input_data),
            env=env, limits=limits or Limits(), ledger_view=self.ledger,
            execution_id="exec", trace_id="trace", correlation_id="corr",
        )
        ctx.host = HostDispatcher(ctx, self.functions)
        return ctx

    def call(self, name, function, *args, limits=None, input_data=b""):
        if name not in self.deployed:
            self.deploy(name)
        rid, code, info = self.deployed[name]
        ctx = self.context(function, limits=limits, input_data=input_data, rid=rid)
        self.last_ctx = ctx
        return self.engine.execute(EngineCall(rid, code, info, function, tuple(args), ctx))


