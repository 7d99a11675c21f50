"""PLONK benchmark: ispc-plonk against snarkjs 0.7.6, side by side in one run.

Circuit: the chain ``t[0] = x``, ``t[i] = t[i-1]^2 + i``, public output
``out = t[last]``, with the step count chosen so the PLONK circuit has exactly
``N - 3`` gates for a domain of ``N = 2^k`` (k = 10, 12, 14). Both curves.

snarkjs runs inside ONE Node process (``snarkjs_driver.mjs`` loads snarkjs
once and answers jobs over stdin/stdout), so its start-up is not counted.
Jobs run one after the other (never concurrently): snarkjs may use both
cores, ispc-plonk uses one. Each prove / verify is repeated and the median
reported; proofs are cross-checked (ours verified by snarkjs, snarkjs' by us).

Development ptau files (insecure, generated here) and circuit files are cached
outside the repository, in ``$ISPC_BENCH_CACHE`` or ``~/.cache/ispc-bench``.

    python bench/plonk/run.py [--powers 10 12 14] [--curves bn254 bls12-381] [--repeat 3] [--out bench/plonk/RESULTS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchenv import cpu_model  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def cache_dir() -> Path:
    """Where ptau and circuit files are kept between runs (outside the repository)."""
    d = Path(os.environ.get("ISPC_BENCH_CACHE", Path.home() / ".cache" / "ispc-bench"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def chain_circuit(curve: str, domain: int):
    """The chain circuit with exactly ``domain - 3`` PLONK gates; returns (r1cs, witness)."""
    from ispc_core.zk.r1cs import CircuitBuilder

    steps = domain - 6  # 2 public-input gates + steps + 1 output gate = domain - 3
    b = CircuitBuilder(curve)
    x = b.public_input("x", 3)
    out = b.public_output("out", hint=lambda get: get(t))
    t = x
    for i in range(1, steps + 1):
        t = b.mul(t, t) + i
    b.assert_equal(out, t)
    return b.build()


def ptau_file(curve: str, power: int) -> Path:
    """A cached insecure development ptau (with the Lagrange sections snarkjs needs)."""
    from ispc_core.zk.formats.ptau import generate_insecure_ptau

    p = cache_dir() / f"dev_{curve}_{power}.ptau"
    if not p.exists():
        t = time.perf_counter()
        tmp = p.with_suffix(".tmp")
        tmp.write_bytes(generate_insecure_ptau(curve, power))
        tmp.rename(p)
        print(f"  generated {p.name} in {time.perf_counter() - t:.1f} s", flush=True)
    return p


class Snarkjs:
    """The Node driver process (snarkjs loaded once)."""

    def __init__(self):
        self.proc = subprocess.Popen(
            ["node", str(HERE / "snarkjs_driver.mjs")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __call__(self, **job):
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        res = json.loads(self.proc.stdout.readline())
        if res.get("error"):
            raise RuntimeError(res["error"])
        return res

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout=30)


def bench_one(sj: Snarkjs, curve: str, power: int, repeat: int) -> dict:
    """Ours and snarkjs on one (curve, power); returns the measurements."""
    from ispc_core.zk.formats import write_r1cs, write_wtns
    from ispc_core.zk.formats.plonk_json import plonk_proof_from_json, plonk_proof_to_json, plonk_vk_to_json
    from ispc_core.zk.formats.ptau import read_ptau
    from ispc_plonk.circuit import from_r1cs
    from ispc_plonk.keys import derive_keys
    from ispc_plonk.prover import prove
    from ispc_plonk.verifier import PreparedKey, verify

    domain = 1 << power
    d = cache_dir() / f"chain_{curve}_{power}"
    d.mkdir(exist_ok=True)
    r1cs, wit = chain_circuit(curve, domain)
    (d / "c.r1cs").write_bytes(write_r1cs(r1cs))
    (d / "c.wtns").write_bytes(write_wtns(r1cs.field, wit))
    ptau = ptau_file(curve, power)
    srs = read_ptau(ptau)
    circuit = from_r1cs(r1cs)
    assert circuit.n_gates == domain - 3 and circuit.domain_size == domain, (circuit.n_gates, circuit.domain_size)

    t = time.perf_counter()
    pk = derive_keys(circuit, srs)
    pk.coset()
    ours_setup = time.perf_counter() - t
    prove(pk, wit)  # warm-up (caches, allocator)
    ours_prove = []
    for _ in range(repeat):
        t = time.perf_counter()
        proof, pub = prove(pk, wit)
        ours_prove.append(time.perf_counter() - t)
    prepared = PreparedKey(pk.vk)
    ours_verify = []
    for _ in range(max(repeat, 5)):
        t = time.perf_counter()
        ok = verify(prepared, proof, pub)
        ours_verify.append(time.perf_counter() - t)
    assert ok

    s = sj(op="setup", r1cs=str(d / "c.r1cs"), ptau=str(ptau), zkey=str(d / "sj.zkey"))
    same_vk = s["vk"] == plonk_vk_to_json(pk.vk)
    sp = sj(op="prove", zkey=str(d / "sj.zkey"), wtns=str(d / "c.wtns"), repeat=repeat)
    sv = sj(op="verify", vk=s["vk"], public=sp["public"], proof=sp["proof"], repeat=max(repeat, 5))
    cross_sj = sj(op="verify", vk=s["vk"], public=[str(v) for v in pub], proof=plonk_proof_to_json(proof))["ok"]
    cross_ours = verify(prepared, plonk_proof_from_json(sp["proof"]), [int(v) for v in sp["public"]])
    return {
        "curve": curve,
        "power": power,
        "gates": circuit.n_gates,
        "ours_setup": ours_setup,
        "sj_setup": s["seconds"],
        "ours_prove": statistics.median(ours_prove),
        "sj_prove": statistics.median(sp["seconds"]),
        "ours_verify": statistics.median(ours_verify),
        "sj_verify": statistics.median(sv["seconds"]),
        "same_vk": same_vk,
        "cross": bool(cross_sj and cross_ours and sv["ok"]),
    }


def machine() -> str:
    """A one-line description of this machine."""
    cpu = cpu_model()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, Node {node}"


def report(rows: list[dict], out: Path | None) -> str:
    """The RESULTS.md text."""
    lines = [
        "# PLONK benchmark: ispc-plonk vs snarkjs 0.7.6",
        "",
        f"Machine: {machine()}. Date: {dt.date.today().isoformat()}.",
        "",
        "Chain circuit `t[i] = t[i-1]^2 + i` with N - 3 gates (domain N). snarkjs runs in one Node",
        "process loaded once (`snarkjs_driver.mjs`); jobs run one after another. Medians of the repeats.",
        "ispc-plonk runs on one core (numpy + zk-dtypes for bn254, arkworks for bls12-381); snarkjs may use both.",
        "Setup = circuit keys from the SRS (ours: R1CS → gates, selector/permutation commitments and the",
        "4n-coset tables; snarkjs: `plonk setup` writing the zkey). `same vk` = snarkjs exports the very same",
        "verification key; `cross` = each side verifies the other's proof.",
        "",
        "| curve | N | setup ours / snarkjs (s) | prove ours (s) | prove snarkjs (s) | prove ours/snarkjs | verify ours (ms) | verify snarkjs (ms) | same vk | cross |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['curve']} | 2^{r['power']} | {r['ours_setup']:.2f} / {r['sj_setup']:.2f} | {r['ours_prove']:.2f} | "
            f"{r['sj_prove']:.2f} | {r['ours_prove'] / r['sj_prove']:.2f} | {r['ours_verify'] * 1e3:.1f} | "
            f"{r['sj_verify'] * 1e3:.1f} | {'yes' if r['same_vk'] else 'NO'} | {'yes' if r['cross'] else 'NO'} |"
        )
    text = "\n".join(lines) + "\n"
    if out:
        out.write_text(text)
    return text


def main(argv=None) -> int:
    """Run the benchmark and write RESULTS.md."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--powers", type=int, nargs="+", default=[10, 12, 14])
    ap.add_argument("--curves", nargs="+", default=["bn254", "bls12-381"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw rows as JSON")
    a = ap.parse_args(argv)
    sj = Snarkjs()
    rows = []
    try:
        for power in a.powers:
            for curve in a.curves:
                print(f"{curve} 2^{power} ...", flush=True)
                row = bench_one(sj, curve, power, a.repeat)
                print("  " + json.dumps(row), flush=True)
                rows.append(row)
                if a.json:
                    a.json.write_text(json.dumps(rows, indent=1))
    finally:
        sj.close()
    print(report(rows, a.out))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
