"""The ``onnx`` engine: ONNX models as ispc resources, run on onnxruntime's CPU provider.

A model exports one function, ``run``. A call maps named (or positional)
tensors onto the model's inputs, checks each one against the model's declared
element type and shape, runs one inference under the call's wall-clock
deadline, records the canonically encoded outputs in the trace through the
``result.set`` host function, and returns the encoded inputs and outputs as
``output_data`` so that they enter the execution result hash.

Configuration keys (``[plugin.onnx]`` in ``ispc.toml``, or ``onnx.<key>`` in a
mapping; read from the call's context configuration, then the node's):

``onnx.allow_nonfinite`` (bool, default ``False``)
    accept NaN and ±inf in floating-point inputs.
``onnx.cache_sessions`` (int, default 16) and ``onnx.cache_bytes`` (int, default 256 MiB)
    bounds of the session cache (each worker holds at most these).
``onnx.workers`` (int, default 2)
    how many inference worker processes the engine may run at once.

Guarded inference (why no model can kill the node)
--------------------------------------------------
Every onnxruntime session is built and run in a worker process
(:mod:`ispc_onnx.guard`, :mod:`ispc_onnx.worker`), never in the node's
process. A worker that dies — onnxruntime 1.32's integer ``Div`` of INT_MIN by
−1 (int32 and int64) raises ``SIGFPE``, also when constant folding evaluates
it while the session is built at deploy — becomes :class:`ModelCrashed` for a
call and :class:`DeployError` at deploy, naming the signal; the next request
gets a fresh worker. We chose the process boundary over refusing operators at
deploy because the faults cannot be enumerated: the divisor can be computed
inside the graph (``Sub(x, x) - 1``), constant folding runs kernels before any
input exists, the CPU provider also registers the ``com.microsoft`` contrib
kernels, and a deny list would have to refuse integer ``Div``, which exported
PyTorch models use in their shape arithmetic. A worker also lets the engine
kill an inference that ignores onnxruntime's terminate flag past its deadline.
The cost is one socket round trip per call (measured in ``bench/onnx``).
Integer division by zero, ``Mod`` by zero, and the other runtime faults we
tried (``Range`` with delta 0, negative ``Tile``/``Expand``/``TopK``,
out-of-range ``Gather``/``Scatter``) are already refused by onnxruntime with a
status and stay :class:`ExecutionError`; ``Pow``, ``ReduceProd``, ``Mul``,
``Abs``/``Neg`` of the minimum and ``Mod`` of INT_MIN by −1 wrap without a
fault.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from typing import Any, Mapping, Sequence

import numpy as np
import onnxruntime as ort

from ispc_core.errors import (
    ConcurrencyLimitExceeded,
    DeadlineExceeded,
    DeployError,
    ExecutionError,
    InvalidArguments,
    ModelCrashed,
    OversizedInput,
    RequestError,
    UnknownFunction,
)
from ispc_core.specs import EngineCall, EngineResult, FunctionSignature, HostFunction, Limits, ResourceInfo

from ispc_onnx import tensorcodec, wire
from ispc_onnx.model import ModelSignature, TensorSpec
from ispc_onnx.guard import WorkerDied, WorkerPool, WorkerTimeout
from ispc_onnx.runtime import SessionCache

KIND = "onnx"
FUNCTION = "run"
#: Host function through which the encoded outputs enter the trace.
RESULT_HOST_FUNCTION = "result.set"
#: How long building a session may take at deploy or preload (no call deadline applies there).
LOAD_TIMEOUT_S = 120.0


def config_value(config: Any, section: str, key: str, default: Any) -> Any:
    """Read ``section.key`` from whatever configuration object is at hand.

    Accepts ``None``, the core's ``Config`` (``[plugin.<section>]`` tables), a mapping (nested ``{"onnx": {"allow_nonfinite": ...}}`` or
    flat ``{"onnx.allow_nonfinite": ...}``), or an object with ``get`` or with
    attributes; anything unreadable gives ``default``.
    """
    if config is None:
        return default
    settings = getattr(config, "plugin_settings", None)  # ispc_core.config.Config: [plugin.onnx]
    if callable(settings):
        try:
            value = settings(section).get(key)
        except Exception:
            value = None
        if value is not None:
            return value
    dotted = f"{section}.{key}"
    getter = getattr(config, "get", None)
    if callable(getter):
        for attempt in (lambda: getter(dotted), lambda: (getter(section) or {}).get(key)):
            try:
                value = attempt()
            except Exception:
                continue
            if value is not None:
                return value
    sub = getattr(config, section, None)
    if sub is not None:
        value = sub.get(key) if isinstance(sub, Mapping) else getattr(sub, key, None)
        if value is not None:
            return value
    return default


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _expected(spec: TensorSpec) -> str:
    return spec.describe()


def coerce_input(spec: TensorSpec, value: Any) -> np.ndarray:
    """Turn one caller value into an array of ``spec``'s dtype, or :class:`InvalidArguments`.

    numpy arrays must already have the model's dtype (no silent casts). Nested
    lists and scalars are converted when every element fits the dtype exactly:
    integers into integer or float inputs, floats only into float inputs,
    booleans only into bool inputs.
    """
    want = np.dtype(spec.dtype)
    if isinstance(value, np.ndarray):
        if value.dtype != want:
            raise InvalidArguments(
                f"input {spec.name!r}: expected element type {spec.dtype} ({_expected(spec)}), got a {value.dtype} array"
            )
        return value
    if isinstance(value, Mapping) and "dtype" in value:
        from ispc_onnx.inputs import load_inputs  # the typed JSON form {"dtype", "shape", "data"}

        value = load_inputs({spec.name: dict(value)}, {"inputs": json.dumps([spec.to_json()])})[spec.name]
        return coerce_input(spec, value)
    if isinstance(value, (bytes, bytearray, str, Mapping)):
        raise InvalidArguments(
            f"input {spec.name!r}: expected a {_expected(spec)} tensor (nested lists or a numpy array), "
            f"got {type(value).__name__}"
        )
    try:
        raw = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise InvalidArguments(f"input {spec.name!r}: not a rectangular tensor ({exc})") from None
    if raw.dtype == object or raw.dtype.kind not in "biuf":
        raise InvalidArguments(
            f"input {spec.name!r}: expected a rectangular {_expected(spec)} tensor of numbers, "
            f"got elements of type {raw.dtype} (ragged lists or non-numbers)"
        )
    kind = raw.dtype.kind
    if want.kind == "b":
        if kind != "b":
            raise InvalidArguments(f"input {spec.name!r}: expected bool values ({_expected(spec)}), got {raw.dtype}")
        return raw.astype(want)
    if want.kind in "iu":
        if kind not in "iu":
            raise InvalidArguments(
                f"input {spec.name!r}: expected integers of type {spec.dtype} ({_expected(spec)}), got {raw.dtype} values"
            )
        info = np.iinfo(want)
        if raw.size and (raw.min() < info.min or raw.max() > info.max):
            raise InvalidArguments(
                f"input {spec.name!r}: values must lie in [{info.min}, {info.max}] for {spec.dtype}, "
                f"got [{raw.min()}, {raw.max()}]"
            )
        return raw.astype(want)
    # float targets accept ints and floats (not bools)
    if kind == "b":
        raise InvalidArguments(f"input {spec.name!r}: expected {spec.dtype} numbers ({_expected(spec)}), got bool values")
    with np.errstate(over="ignore", invalid="ignore"):
        return raw.astype(want)


def check_shape(spec: TensorSpec, array: np.ndarray, bound: dict[str, tuple[int, str]]) -> None:
    """Check ``array``'s shape against ``spec``; symbolic dims must agree across inputs (``bound``)."""
    if array.ndim != len(spec.shape):
        raise InvalidArguments(
            f"input {spec.name!r}: expected rank {len(spec.shape)} ({_expected(spec)}), "
            f"got rank {array.ndim} with shape {list(array.shape)}"
        )
    for axis, (want, got) in enumerate(zip(spec.shape, array.shape)):
        if isinstance(want, int):
            if want != got:
                raise InvalidArguments(
                    f"input {spec.name!r}: dimension {axis} must be {want} ({_expected(spec)}), "
                    f"got shape {list(array.shape)}"
                )
        elif isinstance(want, str):
            seen = bound.setdefault(want, (got, spec.name))
            if seen[0] != got:
                raise InvalidArguments(
                    f"input {spec.name!r}: dimension {axis} ({want!r}) is {got}, but input {seen[1]!r} "
                    f"already fixed {want!r} = {seen[0]}"
                )


def check_finite(spec: TensorSpec, array: np.ndarray) -> None:
    """:class:`InvalidArguments` naming the first NaN/inf element of a float input."""
    if array.dtype.kind != "f":
        return
    finite = np.isfinite(array)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise InvalidArguments(
            f"input {spec.name!r}: element {list(index)} is {array[index]!r}; NaN and infinity are not "
            f"accepted (set onnx.allow_nonfinite to allow them)"
        )


@functools.lru_cache(maxsize=256)
def _signature_from(opset: str, inputs: str, outputs: str, operators: str) -> ModelSignature:
    return ModelSignature.from_metadata({"opset": opset, "inputs": inputs, "outputs": outputs, "operators": operators})


def _signature(metadata: Mapping[str, str]) -> ModelSignature:
    """The signature stored at deploy, parsed once per distinct metadata."""
    try:
        return _signature_from(metadata["opset"], metadata["inputs"], metadata["outputs"], metadata.get("operators", "[]"))
    except (KeyError, ValueError, TypeError) as exc:
        raise DeployError(f"the resource's ONNX metadata is missing or unreadable ({exc}); deploy it again") from None


def reference_report(family: str, reference, proven) -> dict[str, str]:
    """What a call under a result-defining circuit reports beside its result (never signed):
    the circuit, onnxruntime's float outputs and the largest absolute deviation from them.

    >>> reference_report("onnx_inference.v1", [("y", np.array([0.5]))], [("y", np.array([0.5]))])["max_deviation"]
    '0.0'
    """
    worst = 0.0
    for (_, ref), (_, got) in zip(reference, proven):
        if ref.size and ref.dtype.kind in "fiu":
            with np.errstate(invalid="ignore", over="ignore"):
                diff = np.abs(np.asarray(ref, dtype=np.float64) - np.asarray(got, dtype=np.float64))
            worst = max(worst, float(np.nanmax(diff)) if np.isfinite(diff).any() else float("inf"))
    return {
        "proven_by": family,
        "onnxruntime_outputs": json.dumps({n: np.asarray(a, dtype=np.float64).tolist() for n, a in reference}),
        "max_deviation": repr(worst),
    }


class OnnxEngine:
    """Runs ONNX models; one instance per node (it owns the session cache).

    ``max_model_bytes`` bounds models at deploy; ``cache_sessions`` and
    ``cache_bytes`` bound the session cache; ``workers`` bounds the inference
    worker processes (see the module docstring).
    """

    def __init__(
        self,
        *,
        max_model_bytes: int = Limits().max_model_bytes,
        cache_sessions: int = 16,
        cache_bytes: int = 256 << 20,
        workers: int = 2,
        config: Any = None,
    ) -> None:
        self.max_model_bytes = max_model_bytes
        self.config = config
        self.pool = WorkerPool(workers)
        self.cache = SessionCache(cache_sessions, cache_bytes, on_evict=self.pool.drop)
        self._lock = threading.Lock()
        self._running = 0

    @classmethod
    def from_services(cls, services: Any) -> "OnnxEngine":
        """Build the engine from the node's :class:`EngineServices` (configuration read defensively)."""
        config = getattr(services, "config", None)
        limits = getattr(config, "limits", None)
        max_model = getattr(limits, "max_model_bytes", None) or config_value(
            config, "limits", "max_model_bytes", Limits().max_model_bytes
        )
        return cls(
            max_model_bytes=int(max_model),
            cache_sessions=int(config_value(config, "onnx", "cache_sessions", 16)),
            cache_bytes=int(config_value(config, "onnx", "cache_bytes", 256 << 20)),
            workers=int(config_value(config, "onnx", "workers", 2)),
            config=config,
        )

    # ------------------------------------------------------------------ deploy
    def validate(self, code: bytes, host_functions: Sequence[HostFunction] = ()) -> ResourceInfo:
        """Check a model at deploy and describe it; :class:`DeployError` if unusable.

        The model must parse, pass ``onnx.checker`` (full check), use only
        tensor inputs/outputs of supported element types, and load in an
        onnxruntime CPU session in a worker process (an unsupported operator
        is named in the error; a model that crashes onnxruntime while its
        session is built is refused naming the signal). The session built
        here is kept under ``sha256(code)`` — the node's resource id — so the
        first call finds it warm.
        """
        code = bytes(code)
        return self._describe(self._load(hashlib.sha256(code).digest(), code))

    @staticmethod
    def _describe(signature: ModelSignature) -> ResourceInfo:
        metadata = signature.to_metadata()
        metadata["engine"] = f"onnxruntime {ort.__version__}"
        export = FunctionSignature(
            name=FUNCTION,
            params=tuple(f"{t.name}:{t.describe()}" for t in signature.inputs),
            results=tuple(f"{t.name}:{t.describe()}" for t in signature.outputs),
        )
        return ResourceInfo(kind=KIND, exports=(export,), metadata=metadata)

    def preload(self, resource_id: bytes, code: bytes) -> None:
        """Build and cache the session for a deployed resource ahead of its first call.

        A cold call builds its session inside the call's wall-clock budget;
        preloading moves that cost out of it (e.g. right after deploy).
        """
        self._load(bytes(resource_id), bytes(code))

    def _load(self, key: bytes, code: bytes) -> ModelSignature:
        """Check the model and build its session in a worker, keeping it warm under ``key``.

        Parsing, ``onnx.checker`` with shape inference, and the session build
        all run in the worker: native code fed an untrusted model never runs
        in the node's process.
        """
        if len(code) > self.max_model_bytes:
            raise DeployError(f"model of {len(code)} bytes exceeds max_model_bytes = {self.max_model_bytes}")
        keep = self.cache.put(key, len(code), True)
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        try:
            header, payload = self._request(key, code, keep, {"op": "load", "inspect": True}, deadline, send_code=True)
        except WorkerDied as exc:
            self.cache.discard(key)
            raise DeployError(f"onnxruntime crashed while loading the model: {exc}") from None
        except WorkerTimeout:
            self.cache.discard(key)
            raise DeployError(f"onnxruntime did not finish loading the model within {LOAD_TIMEOUT_S:.0f} s") from None
        if not header["ok"]:
            self.cache.discard(key)
            raise DeployError(header["message"])
        try:
            metadata = json.loads(payload.decode("utf-8"))
            if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
                raise ValueError("not a mapping of strings")
            return ModelSignature.from_metadata(metadata)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self.cache.discard(key)
            raise DeployError(f"the inference worker described the model unreadably ({exc})") from None

    def close(self) -> None:
        """End the inference workers."""
        self.pool.close()

    # ----------------------------------------------------------------- execute
    @property
    def running(self) -> int:
        """Inferences running right now."""
        return self._running

    def _enter(self, limits: Limits) -> None:
        with self._lock:
            if self._running >= limits.max_concurrent:
                raise ConcurrencyLimitExceeded(
                    f"{self._running} ONNX inferences already running; max_concurrent = {limits.max_concurrent}",
                    used=self._running + 1,
                    allowed=limits.max_concurrent,
                )
            self._running += 1

    def _leave(self) -> None:
        with self._lock:
            self._running -= 1

    def _gather(self, call: EngineCall, signature: ModelSignature) -> dict[str, Any]:
        named = getattr(call.context.request, "named_inputs", None)
        args = call.args
        if named is None and len(args) == 1 and isinstance(args[0], Mapping):
            named = args[0]
        expected = [s.name for s in signature.inputs]
        if named is not None:
            if args and args[0] is not named:
                raise InvalidArguments("pass inputs either by name (named_inputs) or by position (args), not both")
            missing = [n for n in expected if n not in named]
            extra = sorted(str(n) for n in named if n not in expected)
            if missing or extra:
                parts = []
                if missing:
                    parts.append(
                        "missing input(s) "
                        + ", ".join(f"{n!r} ({s.describe()})" for s in signature.inputs for n in missing if s.name == n)
                    )
                if extra:
                    parts.append(f"unknown input(s) {', '.join(repr(n) for n in extra)}")
                raise InvalidArguments(f"{'; '.join(parts)}; the model takes {', '.join(expected) or 'no inputs'}")
            return dict(named)
        if len(args) != len(expected):
            raise InvalidArguments(
                f"the model takes {len(expected)} input(s) ({', '.join(s.name + ':' + s.describe() for s in signature.inputs)}), "
                f"got {len(args)} positional argument(s)"
            )
        return dict(zip(expected, args))

    def prepare_inputs(self, call: EngineCall, signature: ModelSignature) -> list[tuple[str, np.ndarray]]:
        """Check the call's inputs against the model; return them in model order as arrays."""
        limits: Limits = call.context.limits
        setting = config_value(getattr(call.context, "config", None), "onnx", "allow_nonfinite", None)
        if setting is None:
            setting = config_value(self.config, "onnx", "allow_nonfinite", False)
        allow_nonfinite = _as_bool(setting)
        raw = self._gather(call, signature)
        bound: dict[str, tuple[int, str]] = {}
        prepared: list[tuple[str, np.ndarray]] = []
        total = 0
        for spec in signature.inputs:
            array = coerce_input(spec, raw[spec.name])
            if array.nbytes > limits.max_input_bytes or total + array.nbytes > limits.max_input_bytes:
                raise OversizedInput(
                    f"input {spec.name!r} of {array.nbytes} bytes brings the inputs to {total + array.nbytes} bytes; "
                    f"max_input_bytes = {limits.max_input_bytes}"
                )
            total += array.nbytes
            check_shape(spec, array, bound)
            if not allow_nonfinite:
                check_finite(spec, array)
            prepared.append((spec.name, np.ascontiguousarray(array)))
        return prepared

    def execute(self, call: EngineCall) -> EngineResult:
        """Run one inference of ``call`` under its context's limits (see the module docstring)."""
        if call.function != FUNCTION:
            raise UnknownFunction(f"ONNX models export one function, {FUNCTION!r}; got {call.function!r}")
        ctx = call.context
        limits: Limits = ctx.limits
        if len(call.code) > limits.max_model_bytes:
            raise OversizedInput(
                f"model of {len(call.code)} bytes exceeds max_model_bytes = {limits.max_model_bytes}"
            )
        signature = _signature(call.info.metadata)
        inputs = self.prepare_inputs(call, signature)

        self._enter(limits)
        try:
            named_outputs, encoded_outputs = self._run(bytes(call.resource_id), bytes(call.code), inputs, signature, ctx)
        finally:
            self._leave()

        circuit = getattr(call, "circuit", None)
        proven = None
        if circuit is not None and getattr(circuit, "evaluate", None) is not None:
            # the circuit defines the result (onnx_inference.v1: fixed point); onnxruntime's is reported beside it
            proven = self._proven_outputs(call, circuit, inputs, named_outputs)
            reference, named_outputs = named_outputs, proven
            encoded_outputs = tensorcodec.encode_tensors(list(named_outputs))
        output_data = tensorcodec.IO_MAGIC + tensorcodec.encode_tensors(inputs) + encoded_outputs
        host = getattr(ctx, "host", None)
        if host is not None:
            host.call(RESULT_HOST_FUNCTION, encoded_outputs)
        metadata = {
            "model_id": bytes(call.resource_id).hex(),
            "opset": str(signature.opset),
            "input_shapes": json.dumps({n: list(a.shape) for n, a in inputs}),
            "output_shapes": json.dumps({n: list(a.shape) for n, a in named_outputs}),
        }
        if proven is not None:
            metadata.update(reference_report(circuit.family, reference, proven))
        usage = {
            "input_bytes": sum(a.nbytes for _, a in inputs),
            "output_bytes": sum(a.nbytes for _, a in named_outputs),
        }
        return EngineResult(values=named_outputs, output_data=output_data, usage=usage, metadata=metadata)

    def _proven_outputs(self, call: EngineCall, circuit: Any, inputs, reference) -> tuple[tuple[str, np.ndarray], ...]:
        """The outputs ``circuit`` defines for this call (``CircuitSpec.evaluate`` on the node's proof curve)."""
        curve = str(config_value(self.config, "proof", "curve", "bn254"))
        proven = tuple((str(n), np.asarray(a)) for n, a in circuit.evaluate(bytes(call.code), dict(inputs), curve))
        names = [n for n, _ in reference]
        if [n for n, _ in proven] != names:
            raise ExecutionError(f"circuit {circuit.family} gives outputs {[n for n, _ in proven]}; the model's are {names}")
        for (n, a), (_, ref) in zip(proven, reference):
            if a.shape != ref.shape:
                raise ExecutionError(f"circuit {circuit.family}: output {n!r} has shape {list(a.shape)}; onnxruntime's is {list(ref.shape)}")
        return proven

    def _request(
        self, key: bytes, code: bytes, keep: bool, message: dict[str, Any], deadline: float, *, send_code: bool = False
    ) -> tuple[dict[str, Any], bytes]:
        """Send ``message`` about model ``key`` to a worker, with the model bytes if it lacks them (or ``send_code``)."""
        worker = self.pool.acquire(key, deadline)
        try:
            has = key in worker.loaded
            header, payload = worker.request(
                {**message, "key": key, "code": code if send_code or not has else None, "keep": keep}, deadline
            )
            if keep and not has and not (not header["ok"] and header["error"] in ("load", "internal")):
                worker.loaded.add(key)
            return header, payload
        finally:
            self.pool.release(worker)

    def _run(
        self, key: bytes, code: bytes, inputs: list[tuple[str, np.ndarray]], signature: ModelSignature, ctx: Any
    ) -> tuple[tuple[tuple[str, np.ndarray], ...], bytes]:
        """Run one inference in a worker: the named outputs and their canonical encoding."""
        meter = ctx.meter
        allowed = getattr(meter.limits, "wall_time_ms", 0)
        deadline = meter.deadline
        if time.monotonic() >= deadline:
            meter.check_deadline()
            raise DeadlineExceeded(f"wall-clock limit of {allowed} ms spent before the inference started",
                                   used=allowed, allowed=allowed)
        names = [s.name for s in signature.outputs]
        keep = self.cache.touch(key, len(code))
        message = {"op": "run", "operators": list(signature.operators), "outputs": names,
                   "inputs": [wire.pack_array(name, array) for name, array in inputs], "deadline": deadline}

        def exceeded(what: str) -> DeadlineExceeded:
            used = int((time.monotonic() - meter.started) * 1000)
            return DeadlineExceeded(f"wall-clock limit of {allowed} ms exceeded: {what} ({used} ms used)",
                                    used=used, allowed=allowed)

        try:
            header, payload = self._request(key, code, keep, message, deadline)
        except WorkerDied as exc:
            raise ModelCrashed(f"the model crashed its inference worker: {exc}; the node is unaffected",
                               signal_name=exc.signal_name) from None
        except WorkerTimeout as exc:
            raise exceeded(str(exc)) from None
        if not header["ok"]:
            kind = header["error"]
            if kind == "deadline":
                raise exceeded("the inference was terminated")
            if kind == "load":
                raise DeployError(header["message"])
            if kind == "run":
                raise ExecutionError(f"the model failed while running: {header['message']}")
            raise ExecutionError(f"the inference worker failed: {header['message']}")
        try:
            decoded = tensorcodec.decode_tensors(payload)
        except (RequestError, ValueError, UnicodeDecodeError) as exc:
            raise ModelCrashed(f"the inference worker returned unreadable outputs ({exc})") from None
        if [n for n, _ in decoded] != names:
            raise ModelCrashed("the inference worker returned outputs other than the model's")
        meter.check_deadline()
        # The worker's payload is the canonical encoding of what it computed: it is the trace
        # record as it stands (trusting its bytes is no weaker than trusting its values).
        return tuple((name, array.copy()) for name, array in decoded), payload  # decoded arrays are read-only
