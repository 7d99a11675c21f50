"""Typed objects that plugins return from hooks, and the protocols they implement.

Every hook in :mod:`ispc_core.hookspecs` returns a list of one of these attrs
classes. The plugin manager validates the type of each item, so a plugin that
returns the wrong thing is reported with its name instead of failing later.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import attrs

# ---------------------------------------------------------------------------
# Value types crossing between programs and host functions.
# ---------------------------------------------------------------------------

#: Abstract value types of host-function parameters and results. Engines map
#: them onto their own representation (wasm: ``i64`` is an i64, ``bytes`` and
#: ``str`` are (ptr, len) pairs in guest memory).
VALUE_TYPES = ("i64", "bytes", "str")


@attrs.frozen
class Param:
    """One parameter of a host function: its name and abstract value type."""

    name: str
    type: str = attrs.field(validator=attrs.validators.in_(VALUE_TYPES))


# ---------------------------------------------------------------------------
# Engines
# ---------------------------------------------------------------------------


@attrs.frozen
class FunctionSignature:
    """Parameters and results of an exported program function (engine types)."""

    name: str
    params: tuple[str, ...] = ()
    results: tuple[str, ...] = ()


@attrs.frozen
class ResourceInfo:
    """What an engine learned about a resource when it validated it at deploy."""

    kind: str
    exports: tuple[FunctionSignature, ...] = ()
    metadata: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class EngineCall:
    """One call of a program function, as handed to an engine.

    ``context`` is the :class:`ispc_core.context.ExecutionContext`; the engine
    charges its quota meter and calls host functions through ``context.host``.
    """

    resource_id: bytes
    code: bytes
    info: ResourceInfo
    function: str
    args: tuple[Any, ...]
    context: Any
    #: the circuit this call will be proven with, when it defines the call's result
    #: (:attr:`CircuitSpec.evaluate`); None otherwise
    circuit: Any = None


@attrs.frozen
class EngineResult:
    """What the program returned, and what it used."""

    values: tuple[Any, ...] = ()
    #: canonical output bytes that enter the execution result hash in addition
    #: to the return data set through host functions (e.g. encoded tensors)
    output_data: bytes = b""
    usage: dict[str, int] = attrs.field(factory=dict)
    metadata: dict[str, str] = attrs.field(factory=dict)


@runtime_checkable
class Engine(Protocol):
    """An execution engine for one kind of resource."""

    def validate(self, code: bytes, host_functions: Sequence["HostFunction"]) -> ResourceInfo:
        """Check a resource at deploy time; raise :class:`DeployError` if unusable."""

    def execute(self, call: EngineCall) -> EngineResult:
        """Run ``call.function`` under ``call.context``'s limits and return its result."""


@attrs.frozen
class EngineSpec:
    """An engine offered by a plugin.

    ``factory(services)`` builds the engine once per node; ``services`` is an
    :class:`EngineServices` with the node home and configuration.
    """

    name: str
    kinds: tuple[str, ...]
    factory: Callable[["EngineServices"], Engine]
    description: str = ""
    #: file-name suffixes that identify this kind at deploy (".wasm", ".onnx")
    suffixes: tuple[str, ...] = ()


@attrs.frozen
class EngineServices:
    """What the node gives an engine when building it."""

    home: Any  # pathlib.Path of the node home
    config: Any  # ispc_core.config.Config
    cache_dir: Any  # pathlib.Path the engine may use for its caches


# ---------------------------------------------------------------------------
# Host functions
# ---------------------------------------------------------------------------


@attrs.frozen
class HostFunction:
    """A function programs may call, with typed parameters and result.

    ``impl(ctx, *args)`` receives the :class:`ispc_core.hostabi.HostCall`
    (the execution context and helpers) followed by decoded arguments, and
    returns a value of type ``returns`` (``None`` when ``returns`` is ``None``).
    Every call is charged to the quota meter and recorded in the trace by the
    core; an implementation must not touch files, network, clock or randomness.

    ``verify(check, *args, result)`` is how a *verifier* checks this
    function's journal entry without the program (docs/plugins.md): ``check``
    is a :class:`ispc_core.verification.journal.EntryCheck` whose ``context``
    looks like an execution context rebuilt from the transaction (its ``env``
    from the call record, its ledger view the verifier's own ledger at the
    snapshot height, its draft collecting the effects the journal explains).
    It raises ``check.fail(...)`` when the entry disagrees. A read compares
    ``result`` with what the verifier's ledger says; a write records its
    effect in the draft, which must then equal the transaction's effects.
    :func:`ispc_core.verification.journal.replay` — run ``impl`` on that
    context and compare its result — is right for any ``impl`` that only
    reads the context. A function with ``verify=None`` is refused when a
    program calls it: no verifier could accept the transaction.

    Example::

        HostFunction(name="math.double", params=(Param("x", "i64"),), returns="i64",
                     impl=lambda call, x: 2 * x, verify=replay)
    """

    name: str
    params: tuple[Param, ...]
    returns: str | None
    impl: Callable[..., Any]
    doc: str = ""
    #: extra fuel charged per call, on top of the fixed host-call cost
    cost: int = 0
    #: the verifier's check of one journal entry (see above); None: unusable by transactions
    verify: Callable[..., Any] | None = None

    @property
    def import_name(self) -> str:
        """The name engines expose it under: dots become underscores (``tx.transfer`` → ``tx_transfer``)."""
        return self.name.replace(".", "_")


# ---------------------------------------------------------------------------
# Resource policies
# ---------------------------------------------------------------------------


@attrs.frozen
class Limits:
    """Limits of one execution. ``0`` means "no limit" only where documented."""

    fuel: int = 50_000_000
    memory_pages: int = 256  # 64 KiB pages: 16 MiB
    wall_time_ms: int = 2_000
    max_host_calls: int = 10_000
    max_trace_bytes: int = 1 << 20
    max_concurrent: int = 4
    max_input_bytes: int = 1 << 20
    max_model_bytes: int = 64 << 20
    max_call_depth: int = 0  # reserved for engines that support it
    #: deploy: largest code section a wasm module may have (compile time grows with it)
    max_code_bytes: int = 4 << 20
    #: deploy: most functions a wasm module may define
    max_functions: int = 10_000

    def tighten(self, other: "Limits") -> "Limits":
        """The element-wise minimum of two limit sets (the stricter wins)."""
        return Limits(**{f.name: min(getattr(self, f.name), getattr(other, f.name)) for f in attrs.fields(Limits)})


@attrs.frozen
class AdmissionRequest:
    """What a policy sees when deciding whether to admit an execution."""

    resource_id: bytes
    kind: str
    function: str
    caller: bytes
    input_bytes: int
    running: int  # executions currently running on this node


@attrs.frozen
class ResourcePolicy:
    """Admission and limits for executions.

    ``limits(request, configured)`` returns the limits to apply (it may only
    tighten the configured ones: the coordinator takes the minimum over every
    policy). ``admit(request)`` raises :class:`AdmissionDenied` to refuse.
    """

    name: str
    limits: Callable[[AdmissionRequest, Limits], Limits]
    admit: Callable[[AdmissionRequest], None] = lambda request: None
    description: str = ""


# ---------------------------------------------------------------------------
# Circuits and provers
# ---------------------------------------------------------------------------


@attrs.frozen
class CircuitSpec:
    """A statement that can be proven about a sealed execution.

    ``applies_to`` lists resource kinds; ``instance(sealed, curve)`` returns
    the circuit instance (constraint system, public inputs, witness) for one
    sealed execution.

    For verifiers: ``public_inputs(tx, curve, proof_circuit_id)`` recomputes
    every public input from a transaction alone (exact equality is required,
    no matching); ``compile(proof_circuit_id, curve)`` returns the constraint
    system of one member of the family (``contract_execution.v1/64``) so a
    verifier can check a key was made for it; ``proves_computation`` says
    whether the statement covers the program's computation (``True``) or only
    binds the journal and effects, trusting the executing node (``False``).
    ``family`` (``contract_execution.v1``) is what a chain pins.

    A circuit derived from the program itself (``onnx_inference.v1`` compiles
    the deployed model) sets ``uses_code``: then ``instance``,
    ``public_inputs`` and ``compile`` are also given ``code=`` — the deployed
    bytes of the transaction's resource, which the node (and every verifier)
    reads from its **own** ledger, never from the transaction. A circuit that
    *defines* the program's result in its own semantics (fixed point, say)
    sets ``evaluate(code, inputs, curve)``: the engine of a kind that pins it
    calls it with the call's checked inputs and the node's proof curve, and
    returns what it gives as the call's result, so the transaction carries
    exactly what the proof states.

    Example (a circuit plugin's hook)::

        @hookimpl
        def ispc_circuits():
            return [CircuitSpec(
                circuit_id="my_circuit", version="v1", applies_to=("wasm",),
                instance=my_instance, public_inputs=my_public_inputs, compile=my_compile,
                proves_computation=True,
            )]
    """

    circuit_id: str
    version: str
    applies_to: tuple[str, ...]
    instance: Callable[..., Any]
    description: str = ""
    proves_computation: bool = False
    public_inputs: Callable[..., Any] | None = None
    compile: Callable[..., Any] | None = None
    #: ``instance``, ``public_inputs`` and ``compile`` take ``code=`` (the deployed resource bytes)
    uses_code: bool = False
    #: ``evaluate(code, inputs, curve) -> result`` the engine returns as the call's result (see above)
    evaluate: Callable[..., Any] | None = None
    #: ``members(code, curve) -> [(circuit id, R1CS)]``: the members a node compiles for a deployed
    #: resource ahead of any call (deploy refuses a program without one; keys are made for them)
    members: Callable[..., Any] | None = None

    @property
    def family(self) -> str:
        """``<circuit_id>.<version>``: the name a chain's configuration pins."""
        return f"{self.circuit_id}.{self.version}"

    def member(self, proof_circuit_id: str) -> bool:
        """Whether a proof's ``circuit_id`` (``contract_execution.v1/64``) belongs to this family."""
        return proof_circuit_id == self.family or proof_circuit_id.startswith(self.family + "/")


@attrs.frozen
class ProofArtifact:
    """A finished proof, ready to become a ``ZKStateProof``."""

    proof: bytes
    public_inputs: tuple[int, ...]
    proving_scheme: str
    curve: str
    verification_key_hash: bytes
    circuit_id: str
    circuit_version: str
    constraint_count: int
    generation_time_ms: int


@runtime_checkable
class Prover(Protocol):
    """A proving scheme over named curves."""

    def prove(self, instance: Any, curve: str) -> ProofArtifact:
        """Prove one circuit instance (setting up keys through the key store if needed)."""

    def verify(self, artifact: ProofArtifact) -> bool:
        """Verify a proof against the verifying key the local key store holds under its hash."""


@attrs.frozen
class ProverSpec:
    """A prover offered by a plugin; ``factory(services)`` builds it once per node."""

    name: str
    curves: tuple[str, ...]
    factory: Callable[["ProverServices"], Prover]
    description: str = ""


@attrs.frozen
class ProverServices:
    """What the node gives a prover: its home, configuration and key-store directory."""

    home: Any
    config: Any
    keystore_dir: Any


@attrs.frozen
class CurveBackendSpec:
    """Fast group/field arithmetic for a curve; higher ``priority`` is preferred."""

    name: str
    curve: str
    factory: Callable[[], Any]
    priority: int = 0
    description: str = ""


# ---------------------------------------------------------------------------
# Proof executors, submitters, evidence verifiers
# ---------------------------------------------------------------------------


@attrs.frozen
class ProofExecutorSpec:
    """Where proof jobs run. ``factory(address, config)`` returns a
    :class:`concurrent.futures.Executor`-compatible object."""

    name: str
    factory: Callable[[str, Any], Any]
    description: str = ""


@runtime_checkable
class Submitter(Protocol):
    """Where finished (signed, proven) transactions go."""

    def submit(self, tx: Any) -> bytes:
        """Hand over one transaction; return its id. Raise :class:`TransactionRejected` to refuse."""


@attrs.frozen
class SubmitterSpec:
    """A submitter offered by a plugin; ``factory(node)`` builds it for one node."""

    name: str
    factory: Callable[[Any], Submitter]
    description: str = ""


@attrs.frozen
class EvidenceVerifierSpec:
    """Checks evidence offered for a declared external state.

    ``verify(kind, key, claim, evidence, config)`` returns ``True`` when the
    evidence supports the claim (e.g. a signature over it by a configured oracle key).
    """

    name: str
    verify: Callable[[str, bytes, bytes, bytes, Any], bool]
    description: str = ""
