"""Fixtures of the forger's suite: an attacker node A and a victim node B on the same chain.

Built once per session (``_template``): A is an honest-looking executor node
(its own keys ``node``, ``alice``, ``mallory``; Groth16 on bn254; the chain
trusts one oracle key). B joins A's chain with ``A.chain_overrides()``
(written to B's ``ispc.toml``, so the CLI opens B on the same chain) and
shares A's Groth16 key store, the way two honest nodes share keys. B also
holds the key of a toy circuit that is *not* pinned. Both nodes mine the
same blocks:

* block 1: the deploys of token.wasm, counter.wasm, oracle_payment.wasm
  (made on A, handed to B), and a plain payment of 5000 from alice to an
  output locked to the counter contract;
* block 2: a proven ``counter.increment(1)`` (state ``count`` version 1)
  and a proven ``token.transfer(5)`` from alice to bob, made on A and
  accepted by B.

Each test gets fresh copies of both homes (``net``); every forgery goes to B
through ``B.submit_transaction`` (or ``ispc tx submit``) and
:meth:`Net.reject` checks the refusal names the failed check and that
nothing of B changed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import attrs
import pytest

from ispc_core.builtins.evidence import evidence_digest
from ispc_core.context import CallRequest
from ispc_core.coordinator import Manager
from ispc_core.errors import TransactionRejected
from ispc_core.node import txcodec
from ispc_core.node.keys import NodeKey
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.seal import contract_address
from ispc_core.zk.r1cs import CircuitBuilder

from adversarial import forger

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
GENESIS = {"node": 1_000_000, "alice": 1_000_000, "bob": 0, "mallory": 1_000}
LOCKED_AMOUNT = 5_000
PRICE_KEY = b"ETH/USD"
TOY_CIRCUIT = "toy.v1/8"


def toy_circuit(public: tuple[int, ...] | None = None, secret: int | None = None, curve: str = "bn254") -> CircuitBuilder:
    """A circuit with eight free public inputs (any values satisfy it) and one private square."""
    cb = CircuitBuilder(curve)
    pubs = [cb.public_input(f"p{i}", None if public is None else public[i]) for i in range(8)]
    for i, p in enumerate(pubs):
        cb.constrain(p, 1, p, f"p{i} is free")
    w = cb.private_input("w", secret)
    cb.mul(w, w, "w2", "w squared")
    return cb


def _toml(overrides: dict) -> str:
    """The ``ispc.toml`` for a node on another node's chain (``Manager.chain_overrides()``)."""
    sections: dict[str, dict] = {}
    for key, value in overrides.items():
        if key == "genesis":
            sections["genesis"] = value
            continue
        section, _, name = key.partition(".")
        sections.setdefault(section, {})[name] = value
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        for name, value in values.items():
            lines.append(f"{json.dumps(name) if section == 'genesis' else name} = {json.dumps(value)}")
        lines.append("")
    return "\n".join(lines)


def oracle_evidence(oracle: NodeKey, price: int) -> bytes:
    """The oracle's signature over the claim ``price`` of ``ETH/USD``."""
    return oracle.sign(evidence_digest("price", PRICE_KEY, price.to_bytes(8, "little", signed=True)))


@attrs.define
class Template:
    root: Path
    a_overrides: dict
    oracle_secret: bytes
    token: bytes
    counter: bytes
    oracle_payment: bytes
    locked_outpoint: bytes  # serialized OutPoint of the contract-locked output
    mined: dict  # name -> serialized transaction of block 2


@pytest.fixture(scope="session")
def _template(tmp_path_factory) -> Template:
    root = tmp_path_factory.mktemp("adversarial")
    oracle = NodeKey.generate("oracle")
    a_overrides = {"genesis": dict(GENESIS), "evidence.oracle_keys": [oracle.public_key.hex()]}
    A = Manager.open(root / "A", overrides=a_overrides)
    try:
        (root / "B").mkdir()
        (root / "B" / "ispc.toml").write_text(_toml(A.chain_overrides()))
        B = Manager.open(root / "B")
        try:
            assert A.node.ledger.block(0) == B.node.ledger.block(0), "B is not on A's chain"
            # block 1: deploys (made on A, handed to B) and a payment to a contract-locked output
            rids = {}
            for name in ("token", "counter", "oracle_payment"):
                rids[name] = A.deploy(CONTRACTS / f"{name}.wasm").resource_id
            alice = A.core.caller_key("alice")
            (utxo,) = A.node.ledger.utxos_of(alice.address)
            lock = forger.plain(
                A.core.chain_id,
                inputs=[utxo.outpoint],
                outputs=[
                    forger.contract_locked(rids["counter"], LOCKED_AMOUNT),
                    txcodec.native_output(alice.address, utxo.amount - LOCKED_AMOUNT),
                ],
            )
            forger.sign(lock, caller_key=None, executor_key=None, input_key=alice)
            A.submit_transaction(lock)
            for _, tx in A.node.mempool.list():
                B.submit_transaction(tx)
            assert A.mine() == B.mine()
            # block 2: proven executions made on A (the key store is shared before B verifies them)
            inc = A.call(CallRequest(rids["counter"], "increment", (1,), caller="alice"))
            shutil.copytree(root / "A" / "zkkeys", root / "B" / "zkkeys", dirs_exist_ok=True)
            pay = A.call(CallRequest(rids["token"], "transfer", (5,), caller="alice", input_data=A.address("bob")))
            for tx in (inc.transaction, pay.transaction):
                B.submit_transaction(tx)
            assert A.mine() == B.mine()
            # the toy circuit's key, in B's key store (and A's: the forger proves with it)
            B.core.prover("groth16").setup(TOY_CIRCUIT, toy_circuit().compile(), "bn254")
            shutil.copytree(root / "B" / "zkkeys", root / "A" / "zkkeys", dirs_exist_ok=True)
            locked = pb.OutPoint(tx_id=txcodec.tx_id(lock), index=0)
            return Template(
                root=root,
                a_overrides=a_overrides,
                oracle_secret=oracle.secret_hex(),
                token=rids["token"],
                counter=rids["counter"],
                oracle_payment=rids["oracle_payment"],
                locked_outpoint=locked.SerializeToString(),
                mined={"increment": txcodec.encode(inc.transaction), "transfer": txcodec.encode(pay.transaction)},
            )
        finally:
            B.close()
    finally:
        A.close()


@attrs.define
class Net:
    """The attacker A and the victim B, fresh copies for one test."""

    A: Manager
    B: Manager
    tpl: Template
    home_a: Path
    home_b: Path

    # -- who is who -------------------------------------------------------------------------
    @property
    def chain_id(self) -> bytes:
        return self.A.core.chain_id

    @property
    def alice(self) -> NodeKey:
        return self.A.core.caller_key("alice")

    @property
    def mallory(self) -> NodeKey:
        return self.A.core.caller_key("mallory")

    @property
    def executor(self) -> NodeKey:
        return self.A.node.node_key

    @property
    def bob(self) -> bytes:
        return self.A.address("bob")

    @property
    def oracle(self) -> NodeKey:
        return NodeKey("oracle", bytes.fromhex(self.tpl.oracle_secret))

    @property
    def height(self) -> int:
        return self.B.node.ledger.snapshot().height

    @property
    def count_state(self) -> bytes:
        return txcodec.state_id_for(self.tpl.counter, b"count")

    def mined(self, name: str) -> pb.Transaction:
        return txcodec.decode(self.tpl.mined[name])

    @property
    def locked_outpoint(self) -> pb.OutPoint:
        return pb.OutPoint.FromString(self.tpl.locked_outpoint)

    def utxos(self, key: NodeKey):
        return self.B.node.ledger.utxos_of(key.address)

    # -- what the victim holds --------------------------------------------------------------
    def state(self) -> dict:
        """Everything of B a forgery could change: mempool, ledger tip, balances, state heads, locked outputs."""
        node = self.B.node
        led = node.ledger
        snap = led.snapshot()
        addresses = {
            "alice": self.alice.address, "bob": self.bob, "mallory": self.mallory.address, "node": self.executor.address,
            **{name: contract_address(getattr(self.tpl, name)) for name in ("token", "counter", "oracle_payment")},
        }
        heads = {}
        for sid in (self.count_state,):
            heads[sid] = (led.state_head(sid), node.mempool.pending_state_head(sid))
        return {
            "mempool": [tid for tid, _ in node.mempool.list()],
            "pending_spends": node.mempool.spent_outpoints(),
            "pending_resources": node.mempool.pending_resources(),
            "height": snap.height,
            "tip": snap.tip_hash,
            "balances": {n: led.balance(a) for n, a in addresses.items()},
            "utxos": {n: sorted(u.key for u in led.utxos_of(a, native_only=False)) for n, a in addresses.items()},
            "heads": heads,
            "locked": sorted(u.key for u in led.contract_utxos(self.tpl.counter)),
        }

    def reject(self, tx, reason: str | tuple[str, ...], *words: str) -> TransactionRejected:
        """Submit ``tx`` to B: refused with ``reason`` (the failed check; one of a tuple), ``words`` in the
        message, nothing of B changed and nothing waiting to be mined."""
        reasons = (reason,) if isinstance(reason, str) else reason
        before = self.state()
        with pytest.raises(TransactionRejected) as info:
            self.B.submit_transaction(tx)
        exc = info.value
        assert exc.reason in reasons, f"refused for {exc.reason!r}, expected {reason!r}: {exc}"
        assert f"({exc.reason})" in str(exc), str(exc)
        for word in words:
            assert word in str(exc), f"{word!r} not in {exc}"
        assert self.state() == before, "a refused transaction changed the victim"
        if not before["mempool"]:
            assert self.B.mine() is None  # and nothing is waiting to be mined
            assert self.state() == before
        return exc

    def accept(self, tx) -> bytes:
        """Submit ``tx`` to B and check it is pending there."""
        tx_id = self.B.submit_transaction(tx)
        assert self.B.node.mempool.get(tx_id) is not None
        return tx_id

    # -- the attacker's starting points --------------------------------------------------------
    def call(self, resource: str, function: str, *args, caller: str = "alice", input_data: bytes = b""):
        """An honest call on A (proven with the shared key); its transaction is in A's mempool, not B's."""
        rid = getattr(self.tpl, resource)
        return self.A.call(CallRequest(rid, function, tuple(args), caller=caller, input_data=input_data))

    def execution(self, resource: str, function: str, *, caller: NodeKey | None = None, nonce: int = 7, **kw):
        """A hand-made execution transaction of ``resource`` at B's tip (no effects yet)."""
        height = kw.pop("snapshot_height", self.height)
        block = self.B.node.ledger.block(height)
        return forger.execution(
            chain_id=self.chain_id,
            resource_id=getattr(self.tpl, resource) if isinstance(resource, str) else resource,
            function=function,
            caller=(caller or self.mallory).address,
            nonce=nonce,
            snapshot_height=height,
            snapshot_block_hash=kw.pop("snapshot_block_hash", block.hash if block is not None else bytes(32)),
            **kw,
        )

    def forge(self, tx, *, caller: NodeKey | None = None, input_key=None, proof: bool = True, **kw):
        """Commit, prove with A's real key and sign (caller, executor = A's node key)."""
        return forger.forge(self.A, tx, caller_key=caller or self.mallory, executor_key=self.executor,
                            input_key=input_key, proof=proof, **kw)


def _open_pair(tpl: Template, dest: Path) -> tuple[Manager, Manager, Path, Path]:
    home_a, home_b = dest / "A", dest / "B"
    shutil.copytree(tpl.root / "A", home_a)
    shutil.copytree(tpl.root / "B", home_b)
    A = Manager.open(home_a, overrides=tpl.a_overrides, create=False)
    B = Manager.open(home_b, create=False)
    return A, B, home_a, home_b


@pytest.fixture(scope="session")
def plonk_srs(tmp_path_factory) -> Path:
    """A development SRS just big enough for contract_execution.v1/64 on bn254 (made once)."""
    from ispc_core.zk.circuits import contract_execution as ce
    from ispc_core.zk.formats.ptau import generate_insecure_ptau, required_power

    pytest.importorskip("ispc_plonk")
    from ispc_plonk.circuit import from_r1cs

    domain = from_r1cs(ce.compiled(64, "bn254")).domain_size
    path = tmp_path_factory.mktemp("plonk") / "srs.ptau"
    path.write_bytes(generate_insecure_ptau("bn254", required_power(domain), lagrange=False))
    return path


@pytest.fixture(scope="session")
def plonk_keystore(plonk_srs, tmp_path_factory) -> Path:
    """A key store with the SRS and the PLONK keys of contract_execution.v1/64 derived from it (ahead of time)."""
    from ispc_core.zk.circuits import contract_execution as ce
    from ispc_plonk.scheme import PlonkProver

    store = tmp_path_factory.mktemp("plonk-keys")
    shutil.copy(plonk_srs, store / "srs.ptau")
    PlonkProver(store).keys(ce.circuit_id(64), ce.compiled(64, "bn254"), "bn254")
    return store


@pytest.fixture
def net(_template, tmp_path):
    A, B, home_a, home_b = _open_pair(_template, tmp_path)
    try:
        yield Net(A, B, _template, home_a, home_b)
    finally:
        A.close()
        B.close()
