"""Benchmark: raw onnxruntime vs the ``onnx`` engine vs the whole coordinator (proofs off).

Usage::

    python bench/onnx/run.py                 # print a table
    python bench/onnx/run.py --write         # also rewrite bench/onnx/RESULTS.md

For each example model (``plugins/ispc-onnx/examples``) it times, per call:

* ``raw``     — ``InferenceSession.run`` with the engine's deterministic session options;
* ``engine``  — a fresh ``ExecutionContext`` plus ``OnnxEngine.execute`` (input checks,
  watchdog, canonical encoding, the ``result.set`` host call into the trace);
* ``coordinator`` — ``Manager.call`` with ``proof.mode = "off"``: admission, context,
  engine, seal, signing and submission to the embedded mempool.

Timings are wall-clock (``time.perf_counter_ns``) after a warm-up; p50 and p99 in µs.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ispc_core.context import CallRequest, DeterministicEnv, ExecutionContext
from ispc_core.hostabi import HostDispatcher
from ispc_core.specs import EngineCall, HostFunction, Limits, Param

from ispc_onnx.engine import OnnxEngine
from ispc_onnx.inputs import load_inputs
from ispc_onnx.runtime import session_options

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchenv import cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "plugins" / "ispc-onnx" / "examples"
MODELS = [("mlp", "mlp_input.json"), ("cnn", "cnn_input.json"), ("mlp_int8", "mlp_int8_input.json")]


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    a = np.array(samples_ns, dtype=np.float64) / 1000.0
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def _time(fn, n: int, warmup: int = 50) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter_ns()
        fn()
        out.append(time.perf_counter_ns() - t)
    return _percentiles(out)


def _result_set(call, data):
    call.context.draft.return_data = data


RESULT_SET = HostFunction("result.set", (Param("data", "bytes"),), None, _result_set)


def bench_model(name: str, input_file: str, n: int, n_coord: int) -> dict[str, tuple[float, float]]:
    """Time one model through the three paths."""
    code = (EXAMPLES / f"{name}.onnx").read_bytes()
    engine = OnnxEngine()
    info = engine.validate(code, (RESULT_SET,))
    inputs = load_inputs(EXAMPLES / input_file, info)
    rows = {}

    session = ort.InferenceSession(code, sess_options=session_options(), providers=["CPUExecutionProvider"])
    rows["raw onnxruntime"] = _time(lambda: session.run(None, inputs), n)

    rid = b"bench-" + name.encode()
    env = DeterministicEnv(1, 1, b"\x01" * 20, b"\x02" * 20, rid, b"bench", b"")
    limits = Limits()

    def engine_call():
        ctx = ExecutionContext(
            request=CallRequest(resource_id=rid, function="run", named_inputs=inputs),
            env=env, limits=limits, ledger_view=None, execution_id="x", trace_id="t", correlation_id="c",
        )
        ctx.host = HostDispatcher(ctx, [RESULT_SET])
        return engine.execute(EngineCall(rid, code, info, "run", (), ctx))

    rows["engine (context + execute)"] = _time(engine_call, n)

    try:
        from ispc_core.coordinator import Manager
    except ImportError:
        return rows
    with tempfile.TemporaryDirectory() as home:
        with Manager.open(Path(home) / "node", overrides={"proof.mode": "off", "chain.accept_unproven": True}) as manager:
            crid = manager.deploy(EXAMPLES / f"{name}.onnx").resource_id
            nonce = iter(range(10**9))
            rows["coordinator (proofs off)"] = _time(
                lambda: manager.call(CallRequest(resource_id=crid, function="run", named_inputs=inputs, nonce=next(nonce))),
                n_coord,
                warmup=10,
            )
    return rows


def machine() -> str:
    """A one-line description of this machine."""
    cpu = cpu_model()
    import os

    return (
        f"{cpu}, {os.cpu_count()} logical CPUs; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; onnxruntime {ort.__version__}; numpy {np.__version__}"
    )


def main() -> None:
    """Run the benchmark and print (and optionally write) the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3000, help="timed calls per path (raw, engine)")
    parser.add_argument("--n-coordinator", type=int, default=300, help="timed calls through the coordinator")
    parser.add_argument("--write", action="store_true", help="rewrite bench/onnx/RESULTS.md")
    args = parser.parse_args()
    lines = [
        "| model | path | p50 µs | p99 µs |",
        "|---|---|---:|---:|",
    ]
    for name, input_file in MODELS:
        for path, (p50, p99) in bench_model(name, input_file, args.n, args.n_coordinator).items():
            lines.append(f"| {name} | {path} | {p50:.1f} | {p99:.1f} |")
            print(lines[-1], flush=True)
    if args.write:
        today = datetime.date.today().isoformat()
        text = "\n".join(
            [
                "# ONNX engine benchmark",
                "",
                f"- date: {today}",
                f"- machine: {machine()}",
                f"- command: `python bench/onnx/run.py -n {args.n} --n-coordinator {args.n_coordinator} --write`",
                "",
                "Per-call wall time after warm-up. `raw` is `InferenceSession.run` with the engine's",
                "session options (1 intra-op / 1 inter-op thread, sequential, basic optimizations).",
                "`engine` adds a fresh ExecutionContext, input checks, the deadline watchdog, the",
                "canonical tensor encoding and the `result.set` host call. `coordinator` is",
                "`Manager.call` with proofs off: admission, context, engine, seal, signing, mempool.",
                "",
                *lines,
                "",
            ]
        )
        (Path(__file__).resolve().parent / "RESULTS.md").write_text(text)


if __name__ == "__main__":
    main()
