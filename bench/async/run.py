"""Async proving throughput: token transfers per second and call → proof-attached latency.

For each executor (a local process pool of 1 and 2 workers, a 2-worker Dask
LocalCluster) a fresh node in ``proof.mode = "async"`` deploys
``contracts/token.wasm`` and N distinct callers each make one ``transfer``
(distinct callers: a pending transaction's change is not spendable before it
is mined). We report transactions per second (N / time from the first call
until the last proof is attached and its transaction submitted) and p50/p90
latency from call to proof attached, from the job rows.

Prover: the real Groth16 prover if ``ispc plugins list`` shows one (not yet:
then a benchmark prover registered here — a keyed hash that burns a fixed
amount of CPU per proof, ``--prove-ms``, so worker scaling is visible).

    python bench/async/run.py [--calls 24] [--prove-ms 150] [--out bench/async/RESULTS.md]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import attrs

from ispc_core import hookimpl
from ispc_core.context import CallRequest
from ispc_core.coordinator import Manager
from ispc_core.specs import CircuitSpec, ProofArtifact, ProverSpec

ROOT = Path(__file__).resolve().parents[2]


@attrs.frozen
class BenchInstance:
    public_inputs: tuple[int, ...]


def _instance(sealed, curve):
    return BenchInstance((int.from_bytes(sealed.execution_result_hash, "big") >> 8,))


class BurnProver:
    """HMAC over the public inputs, after burning ``ms`` of CPU (stands in for a real prover's cost)."""

    def __init__(self, keystore_dir, ms):
        path = Path(keystore_dir) / "benchproof.key"
        if not path.exists():
            path.write_bytes(os.urandom(32))
        self.key, self.ms = path.read_bytes(), ms
        self.vk_hash = hashlib.sha256(b"vk" + self.key).digest()

    def prove(self, instance, curve):
        end = time.process_time() + self.ms / 1000
        h = b"x"
        while time.process_time() < end:
            for _ in range(2000):
                h = hashlib.sha256(h).digest()
        mac = hmac.new(self.key, b"".join(i.to_bytes(32, "big") for i in instance.public_inputs), hashlib.sha256).digest()
        return ProofArtifact(mac, instance.public_inputs, "benchproof", curve, self.vk_hash, "bench", "v1", 1, self.ms)

    def verify(self, artifact):
        mac = hmac.new(self.key, b"".join(i.to_bytes(32, "big") for i in artifact.public_inputs), hashlib.sha256).digest()
        return artifact.verification_key_hash == self.vk_hash and hmac.compare_digest(mac, artifact.proof)


class BenchProverPlugin:
    def __init__(self, ms):
        self.ms = ms

    @hookimpl
    def ispc_provers(self):
        return [ProverSpec(name="benchproof", curves=("bn254",), factory=lambda s: BurnProver(s.keystore_dir, self.ms))]

    @hookimpl
    def ispc_circuits(self):
        return [CircuitSpec(circuit_id="bench", version="v1", applies_to=("wasm",), instance=_instance)]


def run(executor: str, calls: int, prove_ms: int, scheme: str | None) -> dict:
    home = Path(tempfile.mkdtemp(prefix="ispc-bench-async-"))
    genesis = {"bob": 0, **{f"u{i}": 1000 for i in range(calls)}}
    overrides = {"proof.mode": "async", "proof.executor": executor, "genesis": genesis}
    plugins = []
    if scheme:
        overrides.update({"proof.scheme": scheme, "proof.circuit": "contract_execution"})
    else:
        overrides.update({"proof.scheme": "benchproof", "proof.circuit": "bench"})
        plugins = [BenchProverPlugin(prove_ms)]
    with Manager.open(home, overrides=overrides, plugins=plugins) as m:
        rid = m.deploy(ROOT / "contracts" / "token.wasm").resource_id
        bob = m.address("bob")
        # warm up the executor (pool start, cluster connect, prover build) outside the timing
        m.proof_jobs.wait(m.call(CallRequest(rid, "transfer", (1,), caller="u0", input_data=bob)).proof_job_id, timeout=600)
        t0 = time.time()
        call_s = []
        jobs = []
        for i in range(1, calls):
            c0 = time.perf_counter()
            jobs.append(m.call(CallRequest(rid, "transfer", (1,), caller=f"u{i}", input_data=bob)).proof_job_id)
            call_s.append(time.perf_counter() - c0)
        done = [m.proof_jobs.wait(j, timeout=600) for j in jobs]
        assert all(j.state == "done" for j in done), [j.cause for j in done if j.state != "done"]
        end = max(j.finished_at for j in done)
        lat = sorted(j.finished_at - j.created_at for j in done)
    return {
        "executor": executor,
        "tx": len(done),
        "tps": len(done) / (end - t0),
        "p50_ms": 1000 * lat[len(lat) // 2],
        "p90_ms": 1000 * lat[int(0.9 * (len(lat) - 1))],
        "call_ms": 1000 * statistics.median(call_s),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=24)
    ap.add_argument("--prove-ms", type=int, default=150)
    ap.add_argument("--out", default=str(Path(__file__).with_name("RESULTS.md")))
    args = ap.parse_args()
    from ispc_core.plugins import PluginManager

    scheme = "groth16" if "groth16" in PluginManager().named("ispc_provers") else None
    rows = [run("processes://1", args.calls, args.prove_ms, scheme), run("processes://2", args.calls, args.prove_ms, scheme)]
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        rows.append(run(f"dask://{cluster.scheduler_address.replace('tcp://', '')}", args.calls, args.prove_ms, scheme))
    prover = "groth16 (ispc-groth16)" if scheme else f"benchmark prover registered by this script (keyed hash + {args.prove_ms} ms CPU per proof); ispc-groth16 had not landed"
    lines = [
        "# Async proving benchmark (token transfers)",
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- prover: {prover}",
        f"- workload: {args.calls - 1} `transfer` calls of `contracts/token.wasm` (engine wasm), one per caller, after one warm-up job",
        "- tps: transactions / (first call → last proof attached and submitted); latency: call → proof attached (job rows)",
        "",
        "| executor | tx | tps | p50 latency ms | p90 latency ms | call returns in (median ms) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ex = r["executor"] if not r["executor"].startswith("dask://") else "dask LocalCluster (2 worker processes)"
        lines.append(f"| {ex} | {r['tx']} | {r['tps']:.2f} | {r['p50_ms']:.0f} | {r['p90_ms']:.0f} | {r['call_ms']:.2f} |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
