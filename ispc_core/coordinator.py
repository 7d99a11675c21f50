"""The coordinator: request → admission → context → engine → seal → proof → transaction → submit.

:class:`Manager` is the public API (logging, timing, error wrapping, the node's
lifetime). :class:`CoordinatorCore` runs the stages of one execution; each
stage is a plain method that can be tested alone. The caller's deadline and
cancellation are checked at the I/O stage boundaries (admission, submission);
the compute stages (engine, proof) run under their own budget — the context's
limits — so caller cancellation never tears a running program or proof in half.

Cleanup runs on every path: the concurrency slot, the reserved outpoints and the
context are released in ``finally`` blocks, and nothing reaches the mempool
unless it is signed and (when proofs are on) proven.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Sequence

import attrs

from ispc_core.config import Config, load_config
from ispc_core.context import CallRequest, CancelToken, DeterministicEnv, ExecutionContext, check_cancel
from ispc_core.errors import (
    ConcurrencyLimitExceeded,
    DeployError,
    IspcError,
    LedgerError,
    NotProvided,
    OversizedInput,
    PluginFailure,
    RequestError,
    UnknownFunction,
)
from ispc_core.hostabi import HostDispatcher
from ispc_core.ledger_view import LedgerView
from ispc_core.node import txcodec
from ispc_core.node.files import check_home
from ispc_core.node.keys import parse_address
from ispc_core.node.node import Node
from ispc_core.plugins import PluginManager
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.seal import SealedExecution, call_request_hash, contract_address, seal
from ispc_core.specs import AdmissionRequest, EngineCall, EngineServices, ProofArtifact, ProverServices

log = logging.getLogger("ispc.coordinator")

STAGES = ("admit", "context", "engine", "seal", "prove", "finish", "submit")


@attrs.frozen
class CallResult:
    """What one call produced.

    In async proof mode ``tx_id`` is ``None`` (the id covers the proof, which
    is not made yet), ``transaction`` is the unsigned transaction without its
    proof, and ``proof_job_id`` names the job that will finish it.
    """

    tx_id: bytes | None
    transaction: pb.Transaction
    values: tuple[Any, ...]
    return_data: bytes
    events: tuple[tuple[str, bytes], ...]
    usage: dict[str, int]
    execution_result_hash: bytes
    trace_commitment: bytes
    proof: ProofArtifact | None
    timings_us: dict[str, int]
    trace_id: str
    correlation_id: str
    proof_job_id: str | None = None
    #: what the engine reported beside the result (ONNX under ``onnx_inference.v1``: onnxruntime's
    #: float outputs and their largest deviation from the proven fixed-point outputs); never signed
    metadata: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def of(cls, sealed, tx_id, tx, artifact, timings, trace_id, correlation_id, proof_job_id=None) -> "CallResult":
        """The result of a call from its sealed execution and what became of it."""
        return cls(
            tx_id=tx_id,
            transaction=tx,
            values=sealed.values,
            return_data=sealed.return_data,
            events=sealed.events,
            usage=sealed.usage,
            execution_result_hash=sealed.execution_result_hash,
            trace_commitment=sealed.trace_commitment,
            proof=artifact,
            timings_us=timings,
            trace_id=trace_id,
            correlation_id=correlation_id,
            proof_job_id=proof_job_id,
            metadata=dict(sealed.metadata),
        )


@attrs.frozen
class DeployResult:
    """A deployed resource: its id (sha256 of the bytes), kind and exports."""

    resource_id: bytes
    kind: str
    exports: tuple[str, ...]
    created: bool


def plugin_call(plugin: str, stage: str, fn, *args, **kwargs):
    """Call plugin code; a non-ispc exception becomes :class:`~ispc_core.errors.PluginFailure` naming the
    plugin, the stage and where it was raised (``ISPC_TRACEBACK=1`` lets the original through)."""
    try:
        return fn(*args, **kwargs)
    except IspcError:
        raise
    except Exception as exc:
        import os

        if os.environ.get("ISPC_TRACEBACK", "").strip() not in ("", "0"):
            raise
        from ispc_core.plugins import where

        raise PluginFailure(
            f"plugin {plugin!r} failed in {stage}: {type(exc).__name__}: {exc}{where(exc)} "
            "(a bug in the plugin; ISPC_TRACEBACK=1 shows the traceback)",
            plugin=plugin,
            stage=stage,
        ) from exc


def detect_kind(code: bytes, filename: str | None, engines: dict[str, Any]) -> str:
    """Guess a resource's kind from its magic bytes or file suffix."""
    if code[:4] == b"\x00asm":
        return "wasm"
    if filename:
        for spec in engines.values():
            if any(filename.endswith(sfx) for sfx in spec.suffixes):
                return spec.kinds[0]
    if filename and filename.endswith(".onnx"):
        return "onnx"
    raise DeployError("cannot tell the resource kind from its bytes or name; pass kind= (e.g. 'wasm', 'onnx')")


def check_request(request: Any) -> None:
    """Raise :class:`RequestError` naming the field unless ``request`` is a well-typed :class:`CallRequest`."""
    if not isinstance(request, CallRequest):
        raise RequestError(f"a CallRequest is expected, got {type(request).__name__}")
    rid = request.resource_id
    if not isinstance(rid, (bytes, bytearray)) or len(rid) != 32:
        shown = f"the string {rid[:20]!r}…; use bytes.fromhex(...)" if isinstance(rid, str) else type(rid).__name__
        raise RequestError(f"CallRequest.resource_id must be 32 bytes, got {shown}")
    if not isinstance(request.function, str) or not request.function:
        raise RequestError("the function name must be a non-empty string")
    if not isinstance(request.args, (tuple, list)):
        raise RequestError(f"CallRequest.args must be a tuple, got {type(request.args).__name__}")
    if not isinstance(request.input_data, (bytes, bytearray)):
        raise RequestError(f"CallRequest.input_data must be bytes, got {type(request.input_data).__name__}")
    if request.nonce is not None and (isinstance(request.nonce, bool) or not isinstance(request.nonce, int) or not 0 <= request.nonce < 1 << 64):
        raise RequestError(f"CallRequest.nonce must be an integer in 0..2^64-1, got {request.nonce!r}")
    named = request.named_inputs
    if named is not None and (not hasattr(named, "items") or not all(isinstance(k, str) for k in named)):
        raise RequestError("CallRequest.named_inputs must be a mapping of input names (str) to tensors")


class CoordinatorCore:
    """Runs the stages of one execution with plugins chosen from the registry."""

    def __init__(self, config: Config, node: Node, plugins: PluginManager) -> None:
        self.config = config
        self.node = node
        self.plugins = plugins
        self.chain_id = config.node.chain_id.encode()
        self._engines: dict[str, Any] = {}
        self._engine_names: dict[str, str] = {}
        self._provers: dict[str, Any] = {}
        self._infos: dict[bytes, Any] = {}
        self._lock = threading.Lock()
        self._running = 0
        self._reserved: set[str] = set()
        self.active_contexts: set[str] = set()
        self._host_functions = [f for _, f in self.plugins.named("ispc_host_functions").values()]
        self._policies = [p for _, p in self.plugins.named("ispc_resource_policies").values()]
        evidence = self.plugins.named("ispc_evidence_verifiers")
        name = config.evidence.verifier
        self._evidence = evidence[name][1] if name in evidence else None
        self._keys: dict[str, Any] = {}
        self._resources: dict[bytes, Any] = {}
        self._chain_params: pb.ChainParams | None = None
        #: None: :meth:`result_circuit` decides; True / False force whether a circuit defines results
        self.defines_results: bool | None = None
        #: the proof-job runner (async mode; see ispc_core.proofjobs), set by Manager
        self.proof_jobs = None

    # -- plugin lookups ------------------------------------------------------------------
    def engine_for(self, kind: str):
        """The engine instance for a resource kind (built once)."""
        if kind in self._engines:
            return self._engines[kind]
        specs = {n: s for n, (_, s) in self.plugins.named("ispc_engines").items()}
        enabled = self.config.engines.enabled
        candidates = [s for s in specs.values() if kind in s.kinds and (not enabled or s.name in enabled)]
        if not candidates:
            available = sorted(specs) if not enabled else sorted(set(specs) & set(enabled))
            raise NotProvided(self.plugins.missing_message("ispc_engines", kind, available))
        spec = candidates[0]
        cache = self.config.home / "cache" / spec.name
        cache.mkdir(parents=True, exist_ok=True)
        engine = plugin_call(spec.name, "engine factory", spec.factory, EngineServices(home=self.config.home, config=self.config, cache_dir=cache))
        self._engine_names[kind] = spec.name
        self._engines[kind] = engine
        return engine

    def prover(self, name: str):
        """The prover instance called ``name`` (built once)."""
        if name not in self._provers:
            from ispc_core.builtins.curves import install_once

            install_once(self.plugins)  # curve backends offered by this node's plugins, before any prover uses them
            spec = self.plugins.get("ispc_provers", name)
            if self.config.proof.curve not in spec.curves:
                raise NotProvided(
                    f"prover {name!r} does not support curve {self.config.proof.curve!r}; "
                    f"choose one of: {', '.join(spec.curves)}"
                )
            keystore = self.config.home / "zkkeys"
            keystore.mkdir(parents=True, exist_ok=True)
            self._provers[name] = plugin_call(
                name, "prover factory", spec.factory,
                ProverServices(home=self.config.home, config=self.config, keystore_dir=keystore),
            )
        return self._provers[name]

    @property
    def host_functions(self):
        """Every registered host function."""
        return self._host_functions

    def circuit_for(self, kind: str) -> tuple[str, Any]:
        """The circuit a call on a resource of ``kind`` is proven with: ``(registered name, spec)``.

        ``proof.circuit`` when the chain pins its family for ``kind``; otherwise the first family the
        chain pins for ``kind`` that a local plugin provides (``onnx_inference.v1`` for ``onnx``); otherwise
        ``proof.circuit`` (whose proofs this chain's verifiers will then refuse, saying why).
        """
        pinned = self.pinned(kind)
        specs = {n: s for n, (_, s) in self.plugins.named("ispc_circuits").items()}
        configured = specs.get(self.config.proof.circuit)
        if configured is not None and configured.family in pinned:
            return self.config.proof.circuit, configured
        for family in pinned:
            for name, spec in specs.items():
                if spec.family == family:
                    return name, spec
        return self.config.proof.circuit, self.plugins.get("ispc_circuits", self.config.proof.circuit)

    def result_circuit(self, kind: str):
        """The circuit that defines a call's result on this node (``CircuitSpec.evaluate``), or None.

        The circuit chosen for ``kind`` defines the result unless this node makes no proofs on a
        development chain (``proof.mode = "off"`` with ``chain.accept_unproven``): nothing it runs is
        proven, so the engine's own result stands. :attr:`defines_results` forces the choice (an audit
        re-runs a call with the semantics its transaction was made with).
        """
        _, circuit = self.circuit_for(kind)
        if circuit.evaluate is None:
            return None
        defines = self.defines_results
        if defines is None:
            defines = not (self.config.proof.mode == "off" and self.accepts_unproven())
        return circuit if defines else None

    def accepts_unproven(self) -> bool:
        """Whether this chain accepts executions without a proof (its genesis; the configuration before one)."""
        self.pinned("")  # reads the genesis once
        if self._chain_params is not None:
            return bool(self._chain_params.accept_unproven)
        return bool(self.config.chain.accept_unproven)

    def pinned(self, kind: str) -> tuple[str, ...]:
        """The circuit families this chain's genesis pins for ``kind`` (the configuration's before genesis)."""
        params = self._chain_params
        if params is None:
            try:
                params = self._chain_params = self.node.ledger.chain_params()  # genesis never changes
            except LedgerError:  # no genesis yet: the configured pins are what it will hold
                return self.config.chain.pinned().get(kind, ())
        return next((tuple(p.circuits) for p in params.circuits if p.kind == kind), ())

    # -- deploy ---------------------------------------------------------------------------
    def deploy(
        self, code: bytes, *, kind: str | None = None, filename: str | None = None, deployer: str = "node"
    ) -> DeployResult:
        """Validate a resource with its engine, store it, and put it on chain with a deploy transaction
        signed by ``deployer`` (a key name), unless the chain already has it; its sha256 is its id.

        Only a deployed resource has authority on the chain: a call naming anything else is refused.
        """
        if not code:
            raise DeployError("the resource is empty")
        if len(code) > self.config.limits.max_model_bytes:
            raise DeployError(f"the resource is {len(code)} bytes; the limit is {self.config.limits.max_model_bytes}")
        specs = {n: s for n, (_, s) in self.plugins.named("ispc_engines").items()}
        kind = kind or detect_kind(code, filename, specs)
        engine = self.engine_for(kind)
        info = plugin_call(self._engine_names.get(kind, kind), "engine.validate", engine.validate, code, self._host_functions)
        import json

        meta = {"exports": json.dumps([attrs.asdict(e) for e in info.exports]), **info.metadata}
        rid = txcodec_sha(code)
        on_chain = self.node.ledger.resource_kind(rid) or self.node.mempool.pending_resources().get(rid)
        if on_chain is not None and on_chain != kind:
            raise DeployError(f"resource {rid.hex()[:16]}… is deployed on this chain as {on_chain!r}, not {kind!r}")
        self.prepare_circuits(code, kind)
        if on_chain is None:
            key = self.node.node_key if deployer == "node" else self.caller_key(deployer)
            tx = deploy_transaction(self.chain_id, code, kind, key)
            self.node.submit(tx)
        self.node.store.put(code, kind, meta)
        self._infos[rid] = info
        return DeployResult(rid, kind, tuple(e.name for e in info.exports), on_chain is None)

    def resource_code(self, resource_id: bytes) -> bytes:
        """The deployed bytes of a resource (this node's store, else its ledger); :class:`UnknownResource` if neither has it."""
        stored = self._resources.get(bytes(resource_id))
        if stored is not None:
            return stored.data
        return self.resource(bytes(resource_id))[0].data

    def prepare_circuits(self, code: bytes, kind: str) -> list[str]:
        """At deploy, for a circuit derived from the program (``CircuitSpec.members``): compile it —
        :class:`DeployError` if the program has none (an unsupported operator, say), before anything is
        written — and, when this node proves, make its keys (Groth16 setup, PLONK keys from the SRS).
        Returns the circuit ids prepared; nothing is compiled when the circuit does not define this
        node's results (:meth:`result_circuit`: proofs off on a development chain)."""
        _, circuit = self.circuit_for(kind)
        if circuit.members is None or (circuit.evaluate is not None and self.result_circuit(kind) is None):
            return []
        try:
            members = plugin_call(circuit.circuit_id, "circuit.members", circuit.members, code, self.config.proof.curve)
        except IspcError as exc:
            raise DeployError(f"{circuit.family}, which this chain pins for {kind!r}, has no circuit for this resource: {exc}") from None
        if self.config.proof.mode == "off":
            return [cid for cid, _ in members]
        prover = self.prover(self.config.proof.scheme)
        setup = getattr(prover, "setup", None)
        derive = getattr(prover, "keys", None)
        for cid, r1cs in members:
            if callable(setup):
                plugin_call(self.config.proof.scheme, "prover.setup", setup, cid, r1cs, self.config.proof.curve)
            elif callable(derive):
                plugin_call(self.config.proof.scheme, "prover.keys", derive, cid, r1cs, self.config.proof.curve)
        return [cid for cid, _ in members]

    def caller_key(self, name: str):
        """The caller's key by name (keys never change once created, so they are cached)."""
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = self.node.keys.get(name)
        return key

    def resource(self, resource_id: bytes):
        """The stored resource, its engine and its validated info (content-addressed, so cached)."""
        if not isinstance(resource_id, (bytes, bytearray)) or len(resource_id) != 32:
            raise RequestError("a resource id is 32 bytes (64 hex characters)")
        stored = self._resources.get(resource_id)
        if stored is None:
            if not self.node.store.has(resource_id):
                on_chain = self.node.ledger.resource_code(resource_id) or self.node.mempool.pending_resource_code(resource_id)
                if on_chain is not None:  # deployed by another node: its bytes came with the chain (or its pending deploy)
                    self.node.store.put(on_chain[1], on_chain[0], {})
            stored = self.node.store.get(resource_id)
            if len(self._resources) > 256:
                self._resources.clear()
            self._resources[resource_id] = stored
        engine = self.engine_for(stored.kind)
        info = self._infos.get(resource_id)
        if info is None:
            info = plugin_call(self._engine_names.get(stored.kind, stored.kind), "engine.validate", engine.validate, stored.data, self._host_functions)
            self._infos[resource_id] = info
        return stored, engine, info

    # -- stages ---------------------------------------------------------------------------
    def admit(self, request: CallRequest, kind: str, caller: bytes):
        """Stage 1: policies decide the limits; a concurrency slot is taken (released in cleanup)."""
        size = request_input_bytes(request)
        adm = AdmissionRequest(request.resource_id, kind, request.function, caller, size, self._running)
        limits = self.config.limits
        for policy in self._policies:
            plugin_call(policy.name, "policy.admit", policy.admit, adm)
            limits = limits.tighten(plugin_call(policy.name, "policy.limits", policy.limits, adm, limits))
        if size > limits.max_input_bytes:
            raise OversizedInput(f"input of {size} bytes exceeds max_input_bytes={limits.max_input_bytes}")
        with self._lock:
            if self._running >= limits.max_concurrent:
                raise ConcurrencyLimitExceeded(
                    f"{self._running} executions running; max_concurrent={limits.max_concurrent}",
                    used=self._running + 1,
                    allowed=limits.max_concurrent,
                )
            self._running += 1
        return limits

    def release(self) -> None:
        """Give back the concurrency slot taken by :meth:`admit`."""
        with self._lock:
            self._running -= 1

    def open_context(self, request: CallRequest, limits, caller: bytes, *, trace_id: str, correlation_id: str):
        """Stage 2: a context with its deterministic environment, ledger view, meter, draft, trace."""
        if self.proof_jobs is not None:
            view = LedgerView(self.node, self._reserved, self.proof_jobs.reserved_outpoints())
        else:
            view = LedgerView(self.node, self._reserved)
        env = DeterministicEnv(
            block_height=view.snapshot.height,
            block_time=view.snapshot.block_time,
            caller=caller,
            contract=contract_address(request.resource_id),
            resource_id=request.resource_id,
            chain_id=self.chain_id,
            input_data=request.input_data,
        )
        ctx = ExecutionContext(
            request=request,
            env=env,
            limits=limits,
            ledger_view=view,
            execution_id=uuid.uuid4().hex,
            trace_id=trace_id,
            correlation_id=correlation_id,
            config=self.config,
            evidence_verifier=self._evidence,
        )
        ctx.host = HostDispatcher(ctx, self._host_functions, require_verifiable=True)
        self.active_contexts.add(ctx.execution_id)
        return ctx

    def close_context(self, ctx) -> None:
        """Cleanup: close the context and forget it."""
        ctx.close()
        self.active_contexts.discard(ctx.execution_id)

    def run_engine(self, ctx, stored, engine, info):
        """Stage 3: run the program (compute stage; bounded by the context's limits only)."""
        names = {e.name for e in info.exports}
        if names and ctx.request.function not in names:
            raise UnknownFunction(
                f"resource {stored.resource_id.hex()[:16]}… exports no function {ctx.request.function!r}; "
                f"exports: {', '.join(sorted(names))}"
            )
        call = EngineCall(
            stored.resource_id, stored.data, info, ctx.request.function, tuple(ctx.request.args), ctx,
            circuit=self.result_circuit(stored.kind),
        )
        return plugin_call(self._engine_names.get(stored.kind, stored.kind), "engine.execute", engine.execute, call)

    def seal(self, ctx, result, kind: str, nonce: int, req_hash: bytes) -> SealedExecution:
        """Stage 4: build the unsigned transaction and the execution result hash; reserve its inputs."""
        with self._lock:
            sealed = seal(
                ctx, result, kind=kind, chain_id=self.chain_id, nonce=nonce, req_hash=req_hash, curve=self.config.proof.curve
            )
            self._reserved.update(sealed.spent)
        return sealed

    def unreserve(self, sealed: SealedExecution | None) -> None:
        """Cleanup: release the outpoints a sealed transaction had reserved."""
        if sealed is not None:
            with self._lock:
                self._reserved.difference_update(sealed.spent)

    def prove(self, sealed: SealedExecution) -> ProofArtifact | None:
        """Stage 5: prove the sealed execution with the configured circuit and prover (compute stage)."""
        if self.config.proof.mode == "off":
            return None
        if self.config.proof.mode == "async":
            raise NotProvided("proof.mode = 'async' needs the asynchronous proof job store, which is not installed yet")
        prover = self.prover(self.config.proof.scheme)
        _, circuit = self.circuit_for(sealed.kind)
        extra = {"code": self.resource_code(sealed.resource_id)} if circuit.uses_code else {}
        instance = plugin_call(circuit.circuit_id, "circuit.instance", circuit.instance, sealed, self.config.proof.curve, **extra)
        return plugin_call(self.config.proof.scheme, "prover.prove", prover.prove, instance, self.config.proof.curve)

    def finish(self, sealed: SealedExecution, artifact: ProofArtifact | None, caller_key) -> pb.Transaction:
        """Stage 6: attach the proof to every state output; sign the inputs and the whole transaction
        with the caller's key; attest it with this node's key (the id covers the proof)."""
        tx = pb.Transaction()
        tx.CopyFrom(sealed.transaction)
        if artifact is not None:
            zk = to_zk_state_proof(artifact)
            for out in tx.outputs:
                if out.HasField("state"):
                    out.state.zk_proof.CopyFrom(zk)
        return txcodec.sign_execution(tx, caller_key, self.node.node_key)

    def submit(self, tx: pb.Transaction) -> bytes:
        """Stage 7: hand the finished transaction to the configured submitter."""
        spec = self.plugins.get("ispc_submitters", self.config.submit.submitter)
        return spec.factory(self.node).submit(tx)

    # -- the whole call ----------------------------------------------------------------------
    def call(
        self,
        request: CallRequest,
        *,
        deadline: float | None = None,
        cancel: CancelToken | None = None,
        trace_id: str | None = None,
        correlation_id: str | None = None,
    ) -> CallResult:
        """Run one call through every stage; on any failure nothing is written."""
        timings: dict[str, int] = {}
        trace_id = trace_id or uuid.uuid4().hex
        correlation_id = correlation_id or trace_id
        t = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal t
            now = time.perf_counter()
            timings[stage] = int((now - t) * 1_000_000)
            t = now

        check_request(request)
        check_cancel(cancel, deadline, "admit")
        caller_key = self.caller_key(request.caller)
        stored, engine, info = self.resource(request.resource_id)
        limits = self.admit(request, stored.kind, caller_key.address)
        ctx = sealed = None
        try:
            lap("admit")
            ctx = self.open_context(request, limits, caller_key.address, trace_id=trace_id, correlation_id=correlation_id)
            nonce = request.nonce if request.nonce is not None else self._default_nonce(ctx)
            req_hash = call_request_hash(
                request, chain_id=self.chain_id, caller=caller_key.address, nonce=nonce,
                snapshot_height=ctx.env.block_height, snapshot_block_hash=ctx.ledger_view.snapshot.tip_hash,
            )
            lap("context")
            result = self.run_engine(ctx, stored, engine, info)
            lap("engine")
            sealed = self.seal(ctx, result, stored.kind, nonce, req_hash)
            lap("seal")
            if self.config.proof.mode == "async" and self.proof_jobs is not None:
                check_cancel(cancel, deadline, "submit")
                job_id = self.proof_jobs.enqueue(sealed, request, request.caller)
                lap("enqueue")
                return CallResult.of(sealed, None, sealed.transaction, None, timings, trace_id, correlation_id, job_id)
            artifact = self.prove(sealed)
            lap("prove")
            tx = self.finish(sealed, artifact, caller_key)
            lap("finish")
            check_cancel(cancel, deadline, "submit")
            tx_id = self.submit(tx)
            lap("submit")
            return CallResult.of(sealed, tx_id, tx, artifact, timings, trace_id, correlation_id)
        finally:
            self.unreserve(sealed)
            if ctx is not None:
                self.close_context(ctx)
            self.release()

    def _default_nonce(self, ctx) -> int:
        # deterministic for a given ledger and mempool: height in the high bits, pending count low
        pending = self.proof_jobs.pending_count() if self.proof_jobs is not None else 0
        return (ctx.env.block_height << 32) | (len(self.node.mempool) + pending)


def _value_bytes(value: Any) -> int:
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    nbytes = getattr(value, "nbytes", None)  # numpy arrays and tensors
    if isinstance(nbytes, int):
        return nbytes
    if isinstance(value, (list, tuple)):
        return sum(_value_bytes(v) for v in value) or 8 * len(value)
    return 8


def request_input_bytes(request: CallRequest) -> int:
    """What a request carries, in bytes: input data, byte/string arguments, named tensors (for admission)."""
    size = len(request.input_data)
    size += sum(len(a) for a in request.args if isinstance(a, (bytes, bytearray, str)))
    for value in (request.named_inputs or {}).values():
        size += _value_bytes(value)
    return size


def txcodec_sha(code: bytes) -> bytes:
    """sha256 of resource bytes (its id)."""
    import hashlib

    return hashlib.sha256(code).digest()


def deploy_transaction(chain_id: bytes, code: bytes, kind: str, deployer_key) -> pb.Transaction:
    """The signed transaction that puts a resource on chain (its bytes travel in it)."""
    import hashlib

    rid = hashlib.sha256(code).digest()
    tx = pb.Transaction(version=1, chain_id=chain_id, caller=deployer_key.address)
    tx.outputs.append(
        pb.TxOutput(owner=deployer_key.address, resource=pb.ResourceOutput(resource_id=rid, kind=kind, size=len(code), code=code))
    )
    txcodec.sign_caller(tx, deployer_key)
    return tx


def chain_params(config: Config) -> pb.ChainParams:
    """The chain's rules from ``[chain]`` and ``evidence.oracle_keys`` (written into the genesis transaction)."""
    params = pb.ChainParams(accept_unproven=config.chain.accept_unproven)
    for kind, families in sorted(config.chain.pinned().items()):
        params.circuits.append(pb.PinnedCircuits(kind=kind, circuits=list(families)))
    params.oracle_keys.extend(bytes.fromhex(k) for k in config.evidence.oracle_keys)
    params.trusted_executors.extend(bytes.fromhex(k) for k in config.chain.trusted_executors)
    return params


def to_zk_state_proof(artifact: ProofArtifact) -> pb.ZKStateProof:
    """The protobuf form of a proof artifact (public inputs as 32-byte big-endian)."""
    return pb.ZKStateProof(
        proof=artifact.proof,
        public_inputs=[int(x).to_bytes(32, "big") for x in artifact.public_inputs],
        proving_scheme=artifact.proving_scheme,
        curve=artifact.curve,
        verification_key_hash=artifact.verification_key_hash,
        circuit_id=artifact.circuit_id,
        circuit_version=artifact.circuit_version,
        constraint_count=artifact.constraint_count,
        # generation_time_ms stays 0: a timing is not a fact about the proof (CallResult.timings_us reports it)
    )


def resolve_genesis(config: Config, keys) -> dict[bytes, int]:
    """Genesis allocation with key names resolved to addresses (keys created as needed)."""
    out: dict[bytes, int] = {}
    for who, amount in config.genesis.items():
        if len(who) == 40 and all(c in "0123456789abcdefABCDEF" for c in who):
            addr = parse_address(who)
        else:
            addr = keys.get_or_create(who).address
        if amount:  # a zero allocation only creates the key
            out[addr] = out.get(addr, 0) + amount
    return out


@attrs.frozen
class Admission:
    """What :meth:`Manager.submit_transactions` did with one transaction: admitted (``error is None``)
    or refused (``error``: the ``TransactionRejected`` naming the failed check, or a ``RequestError``
    for bytes that do not decode — then ``tx_id`` is empty)."""

    tx_id: bytes
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True if the transaction was admitted to the mempool."""
        return self.error is None


class Manager:
    """The public API of an ispc node: deploy, call, inspect, mine.

    >>> import tempfile
    >>> with Manager.open(tempfile.mkdtemp(), overrides={"proof.mode": "off"}) as m:
    ...     m.balance("alice") > 0
    True
    """

    def __init__(self, config: Config, node: Node, plugins: PluginManager) -> None:
        self.config = config
        self.node = node
        self.plugins = plugins
        self.core = CoordinatorCore(config, node, plugins)
        self.metrics: dict[str, list[int]] = {}
        self._open_args: dict[str, Any] = {}
        #: the node's :class:`~ispc_core.verification.Verifier` (set by :meth:`open`)
        self.verifier = None

    @classmethod
    def open(
        cls,
        home: str | Path | None = None,
        overrides: dict[str, Any] | None = None,
        plugins: Sequence[Any] = (),
        *,
        load_entry_points: bool = True,
        create: bool = True,
        repair: bool = False,
    ) -> "Manager":
        """Open the node at ``home`` with plugins from entry points plus ``plugins``.

        ``create``: a new home (one without databases) gets a new chain; with
        ``create=False`` (every CLI command but ``ispc init``) it is ``NoChain``.
        A home whose databases are missing, empty or damaged is refused with
        one ``NodeFileError`` naming the file, before anything is written to it.
        ``repair`` is for ``ispc init`` (see :class:`ispc_core.node.node.Node`).
        """
        config = load_config(home, overrides)
        check_home(config.home, create=create, repair=repair)  # before any key or directory is made
        config.home.mkdir(parents=True, exist_ok=True)
        pm = PluginManager(
            extra_plugins=plugins,
            load_entry_points=load_entry_points,
            strict=config.plugins.strict or None,
            load=config.plugins.load or None,
            disable=config.plugins.disable or None,
        )
        from ispc_core.node.keys import KeyStore

        genesis = resolve_genesis(config, KeyStore(config.home / "keys"))
        node = Node(
            config.home,
            chain_id=config.node.chain_id.encode(),
            genesis=genesis,
            genesis_time=config.node.genesis_time,
            block_interval=config.node.block_interval,
            chain_params=chain_params(config),
            create=create,
            repair=repair,
        )
        manager = cls(config, node, pm)
        from ispc_core.verification import Verifier

        manager.verifier = Verifier(manager)
        node.verifier = manager.verifier.admit  # every transaction is verified before the mempool's write lock
        manager._open_args = {"plugins": tuple(plugins), "overrides": dict(overrides or {}), "load_entry_points": load_entry_points}
        from ispc_core.proofjobs.store import ProofJobStore

        if config.proof.mode == "async" or ProofJobStore.exists(config.home):
            manager._start_proof_jobs(only_if_pending=config.proof.mode != "async")
        return manager

    def _start_proof_jobs(self, *, only_if_pending: bool = False):
        """Start the proof-job runner (async mode, or unfinished jobs left from an async run)."""
        if self.core.proof_jobs is None:
            from ispc_core.proofjobs.runner import ProofJobRunner

            if only_if_pending:
                from ispc_core.proofjobs.store import ProofJobStore

                probe = ProofJobStore(self.config.home)
                try:
                    if not probe.unfinished():
                        return None
                finally:
                    probe.close()
            args = self._open_args
            self.core.proof_jobs = ProofJobRunner(
                self.core,
                plugin_objects=args.get("plugins", ()),
                overrides=args.get("overrides"),
                load_entry_points=args.get("load_entry_points", True),
            ).start()
        return self.core.proof_jobs

    @property
    def proof_jobs(self):
        """The proof-job runner, started on first use (``None`` never: it creates the store)."""
        return self._start_proof_jobs()

    def __enter__(self) -> "Manager":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the proof-job runner (unfinished jobs resume on the next open) and close the node's databases."""
        if self.core.proof_jobs is not None:
            self.core.proof_jobs.stop()
            self.core.proof_jobs = None
        self.node.close()

    # -- operations -------------------------------------------------------------------------
    def deploy(self, source: bytes | str | Path, *, kind: str | None = None, deployer: str = "node") -> DeployResult:
        """Deploy a resource from bytes or a file path (on chain, signed by key ``deployer``); returns its id and kind."""
        filename = None
        if isinstance(source, (str, Path)):
            path = Path(source)
            if not path.is_file():
                raise RequestError(f"no such file: {path}")
            filename, source = path.name, path.read_bytes()
        return self.core.deploy(bytes(source), kind=kind, filename=filename, deployer=deployer)

    def prepare_circuits(self, resource_id: bytes) -> list[str]:
        """Compile the circuits derived from a deployed resource and make their keys with this node's
        prover (Groth16: a development setup; PLONK: keys derived from the node's SRS) — what a verifying
        node runs ahead of time for ``onnx_inference.v1``, since verification never makes a key.
        Returns the circuit ids; ``[]`` for a kind whose circuit is not derived from the program."""
        stored, _, _ = self.core.resource(bytes(resource_id))
        return self.core.prepare_circuits(stored.data, stored.kind)

    def call(self, request: CallRequest, **kwargs) -> CallResult:
        """Run one call end to end (see :meth:`CoordinatorCore.call`); errors are typed :class:`IspcError`."""
        try:
            result = self.core.call(request, **kwargs)
        except IspcError as exc:
            rid = getattr(request, "resource_id", b"")
            log.info("call %s.%s failed: %s", rid.hex()[:12] if isinstance(rid, bytes) else "?", getattr(request, "function", "?"), exc)
            raise
        for stage, us in result.timings_us.items():
            self.metrics.setdefault(stage, []).append(us)
        return result

    def chain_overrides(self) -> dict[str, Any]:
        """The configuration another node needs to be on *this* chain: the same chain id, block clock,
        genesis allocations (by address, since key names are local) and chain rules.

        >>> import tempfile
        >>> with Manager.open(tempfile.mkdtemp(), overrides={"proof.mode": "off"}) as m:
        ...     sorted(m.chain_overrides())[:3]
        ['chain.accept_unproven', 'chain.circuits', 'chain.trusted_executors']
        """
        genesis = {addr.hex(): amount for addr, amount in resolve_genesis(self.config, self.node.keys).items()}
        return {
            "node.chain_id": self.config.node.chain_id,
            "node.genesis_time": self.config.node.genesis_time,
            "node.block_interval": self.config.node.block_interval,
            "chain.circuits": list(self.config.chain.circuits),
            "chain.accept_unproven": self.config.chain.accept_unproven,
            "chain.trusted_executors": list(self.config.chain.trusted_executors),
            "evidence.oracle_keys": list(self.config.evidence.oracle_keys),
            "genesis": genesis,
        }

    def submit_transactions(self, txs: Sequence[pb.Transaction | bytes]) -> list["Admission"]:
        """Hand this node many transactions (e.g. a block's worth) at once: their proofs are verified
        first with one batch per (scheme, key) (Groth16: one multi-pairing of k + 3 pairs per key,
        bisected down to any bad proof), then each is admitted **in order** exactly as
        :meth:`submit_transaction` admits it (every other check runs per transaction against the
        mempool as it is at its turn, so a call may follow the deploy it names in the same list).

        Returns one :class:`Admission` per transaction, in order: ``tx_id`` and ``error`` (None if
        admitted, else the ``TransactionRejected`` / ``RequestError`` that refused it). A refusal never
        stops the others.
        """
        from ispc_core.verification import Verifier

        decoded: list[pb.Transaction | Exception] = []
        for tx in txs:
            try:
                decoded.append(self._as_transaction(tx))
            except IspcError as exc:
                decoded.append(exc)
        verifier = self.verifier if self.verifier is not None else Verifier(self)
        verified = verifier.batch_verified([t for t in decoded if isinstance(t, pb.Transaction)])
        out: list[Admission] = []
        for tx in decoded:
            if isinstance(tx, Exception):
                out.append(Admission(b"", tx))
                continue
            try:
                out.append(Admission(self._submit(tx, verified)))
            except IspcError as exc:
                out.append(Admission(txcodec.tx_id(tx), exc))
        return out

    @staticmethod
    def _as_transaction(tx) -> pb.Transaction:
        if isinstance(tx, (bytes, bytearray, memoryview)):
            tx = txcodec.decode(bytes(tx))
        if not isinstance(tx, pb.Transaction):
            raise RequestError(f"a Transaction or its bytes is expected, got {type(tx).__name__}")
        return tx

    def _submit(self, tx: pb.Transaction, verified=None) -> bytes:
        tx_id = self.node.submit(tx, verified=verified)
        for out in tx.outputs:
            if out.WhichOneof("content") == "resource" and not self.node.store.has(out.resource.resource_id):
                self.node.store.put(bytes(out.resource.code), out.resource.kind, {})
        return tx_id

    def submit_transaction(self, tx: pb.Transaction | bytes) -> bytes:
        """Hand this node a transaction made elsewhere (or its serialized bytes): verified exactly as the
        mempool verifies (signatures, journal, pinned proof, ledger rules), then admitted; returns its id.

        ``TransactionRejected`` names the failed check (``exc.reason``) and nothing is written.

        A deploy transaction brings the resource's bytes, which this node stores, so it can
        run and check calls of that resource too.
        """
        return self._submit(self._as_transaction(tx))

    def address(self, who: str) -> bytes:
        """An address from a key name or 40 hex characters."""
        if len(who) == 40:
            try:
                return parse_address(who)
            except IspcError:
                pass
        return self.node.keys.get(who).address

    def balance(self, who: str) -> int:
        """Confirmed native balance of a key name or address."""
        return self.node.ledger.balance(self.address(who))

    def mine(self):
        """Move the mempool into a new block."""
        return self.node.mine()
