"""Groth16 benchmark: ispc-groth16 vs snarkjs 0.7.6 on the multiplication chain, both curves.

For N = 2^10, 2^12, 2^14 the chain ``t[i] = t[i-1]^2 + i`` has N - 3 constraints
and 2 public signals, so the Groth16 domain is exactly N. Per (curve, N):

1. ``chain.circom`` is compiled with circom2 (``--r1cs --wasm``) and the witness
   computed with ``snarkjs wtns calculate`` — once, cached outside the repository
   (``~/.cache/ispc-bench/groth16`` or ``$ISPC_BENCH_CACHE``);
2. one key for that ``.r1cs`` (``ispc_groth16.files.setup_files``, cached): a
   snarkjs-compatible ``.zkey`` that **both** provers use, so no powers-of-tau
   preparation is needed;
3. snarkjs proves and verifies in ONE Node process (``driver.mjs``: snarkjs loaded
   once, one warm-up, then ``--reps`` timed calls);
4. ours proves with the same ``.zkey`` and ``.wtns`` (key converted once, one
   warm-up, then timed calls) and verifies (proof decoded from its canonical bytes
   each time); each side's proof is checked by the other;
5. the same chain written with ``CircuitBuilder`` is compiled and must have the
   same constraint count.

Writes ``results.json`` and ``RESULTS.md`` beside this file.
Usage: ``python bench/groth16/run.py [--powers 10,12,14] [--curves bn254,bls12-381] [--reps 3]``
"""

from __future__ import annotations

import argparse
import datetime
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
ROOT = HERE.parents[1]
NODE = ROOT / "tools" / "node" / "node_modules" / ".bin"
CACHE = Path(os.environ.get("ISPC_BENCH_CACHE", Path.home() / ".cache" / "ispc-bench" / "groth16"))
PRIME = {"bn254": "bn128", "bls12-381": "bls12381"}


def sh(*args, cwd=None) -> str:
    res = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(f"{' '.join(map(str, args))} failed:\n{res.stdout}\n{res.stderr}")
    return res.stdout


def prepare(curve: str, k: int) -> Path:
    """Compile the circom chain, compute its witness, make the key (all cached)."""
    from ispc_groth16.files import setup_files

    n = 1 << k
    d = CACHE / curve / f"2^{k}"
    d.mkdir(parents=True, exist_ok=True)
    if not (d / "main.r1cs").exists():
        (d / "chain.circom").write_text((HERE / "chain.circom").read_text())  # circom2 (WASI) sees only its cwd
        (d / "main.circom").write_text(f'pragma circom 2.0.0;\ninclude "chain.circom";\ncomponent main {{public [x]}} = Chain({n - 2});\n')
        sh(NODE / "circom2", "main.circom", "--r1cs", "--wasm", "--prime", PRIME[curve], "-o", ".", cwd=d)
    if not (d / "witness.wtns").exists():
        (d / "input.json").write_text(json.dumps({"x": "3"}))
        sh(NODE / "snarkjs", "wtns", "calculate", d / "main_js" / "main.wasm", d / "input.json", d / "witness.wtns")
    if not (d / "circuit.zkey").exists():
        t0 = time.perf_counter()
        info = setup_files(d / "main.r1cs", d)
        info["setup_s"] = time.perf_counter() - t0
        (d / "setup.json").write_text(json.dumps(info, indent=1))
    return d


def builder_chain(curve: str, n: int):
    """The same chain with CircuitBuilder: x public input, out public output, N - 3 constraints."""
    from ispc_core.zk.r1cs import CircuitBuilder

    cb = CircuitBuilder(curve)
    r = cb.r
    holder = {}
    out = cb.public_output("out", hint=lambda get: (get(holder["t"]) ** 2 + n - 3) % r)
    x = cb.public_input("x", 3)
    t = x
    for i in range(1, n - 3):
        t = cb.mul(t, t) + i
    holder["t"] = t
    cb.constrain(t, t, out - (n - 3), "out")
    return cb.compile()


def ours(d: Path, reps: int, snark: dict) -> dict:
    from ispc_core.zk.formats import read_wtns
    from ispc_core.zk.formats.zkey import read_zkey
    from ispc_groth16.data_structures import Proof, ProvingKey, VerifyingKey
    from ispc_groth16.prover import create_proof, prepare_proving_key
    from ispc_groth16.verifier import prepare_verifying_key, verify_proof

    t0 = time.perf_counter()
    pk = ProvingKey.from_zkey(read_zkey((d / "circuit.zkey").read_bytes()))
    ppk = prepare_proving_key(pk)
    load_s = time.perf_counter() - t0
    _, witness = read_wtns((d / "witness.wtns").read_bytes())
    public = witness[1 : 1 + pk.n_public]
    create_proof(ppk, witness)  # warm-up
    prove = []
    for _ in range(reps):
        t0 = time.perf_counter()
        proof = create_proof(ppk, witness)
        prove.append(time.perf_counter() - t0)
    vk = VerifyingKey.from_json(json.loads((d / "verification_key.json").read_text()))
    pvk = prepare_verifying_key(vk)
    raw = proof.to_bytes()
    verify, ok = [], True
    for _ in range(reps + 2):
        t0 = time.perf_counter()
        ok = ok and verify_proof(pvk, Proof.from_bytes(vk.curve, raw), public)
        verify.append(time.perf_counter() - t0)
    snark_ok_here = verify_proof(pvk, Proof.from_json(snark["proof"]), [int(x) for x in snark["publicSignals"]])
    (d / "ours_proof.json").write_text(json.dumps(proof.to_json()))
    (d / "public.json").write_text(json.dumps([str(x) for x in public]))
    ours_ok_snarkjs = "OK" in sh(NODE / "snarkjs", "groth16", "verify", d / "verification_key.json", d / "public.json", d / "ours_proof.json")
    return {"load_s": load_s, "prove": prove, "verify": verify, "ok": ok, "snarkjs_proof_verifies_here": snark_ok_here, "our_proof_verifies_in_snarkjs": ours_ok_snarkjs}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--powers", default="10,12,14")
    ap.add_argument("--curves", default="bn254,bls12-381")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "plugins" / "ispc-groth16"))
    from ispc_core.zk.formats import read_r1cs

    rows = []
    for curve in args.curves.split(","):
        for k in map(int, args.powers.split(",")):
            n = 1 << k
            d = prepare(curve, k)
            r1cs = read_r1cs((d / "main.r1cs").read_bytes())
            t0 = time.perf_counter()
            built = builder_chain(curve, n)
            build_s = time.perf_counter() - t0
            assert len(built.constraints) == len(r1cs.constraints) == n - 3, (len(built.constraints), len(r1cs.constraints))
            snark = json.loads(sh("node", HERE / "driver.mjs", d / "circuit.zkey", d / "witness.wtns", d / "verification_key.json", args.reps).strip().splitlines()[-1])
            mine = ours(d, args.reps, snark)
            row = {
                "curve": curve,
                "N": n,
                "constraints": len(r1cs.constraints),
                "builder_constraints": len(built.constraints),
                "builder_compile_s": build_s,
                "setup_s": json.loads((d / "setup.json").read_text()).get("setup_s"),
                "snarkjs_prove_s": statistics.median(snark["prove"]),
                "snarkjs_verify_ms": 1000 * statistics.median(snark["verify"]),
                "ours_prove_s": statistics.median(mine["prove"]),
                "ours_verify_ms": 1000 * statistics.median(mine["verify"]),
                "ours_key_load_s": mine["load_s"],
                "ratio_prove": statistics.median(mine["prove"]) / statistics.median(snark["prove"]),
                "interop": {"snarkjs_ok": snark["ok"], **{k: v for k, v in mine.items() if k in ("ok", "snarkjs_proof_verifies_here", "our_proof_verifies_in_snarkjs")}},
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    write(rows, args.reps)


def write(rows, reps) -> None:
    import numpy

    (HERE / "results.json").write_text(json.dumps(rows, indent=1))
    cpu = cpu_model()
    lines = [
        "# Groth16: ispc-groth16 vs snarkjs 0.7.6",
        "",
        f"Measured {datetime.date.today().isoformat()} on {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, Node {sh('node', '--version').strip()}. `python bench/groth16/run.py` (median of {reps} timed runs after one warm-up).",
        "",
        "Circuit: the multiplication chain `t[i] = t[i-1]^2 + i`, N − 3 constraints, 2 public signals, domain N; "
        "compiled from `chain.circom` with circom2; the `CircuitBuilder` version has the same constraint count. "
        "Both provers use the **same** `.zkey` (made by `ispc_groth16.files.setup_files`) and the same `.wtns`. "
        "snarkjs runs in one Node process (`driver.mjs`), its time includes reading the `.zkey` each call (that is its API); "
        "ours starts from a key converted once (`load` column, paid once per node) and the witness as ints. "
        "Verify: ours decodes the proof from its canonical bytes each time; snarkjs parses the JSON.",
        "",
        "| curve | N | snarkjs prove (s) | ours prove (s) | ours/snarkjs | snarkjs verify (ms) | ours verify (ms) | ours key load (s) | setup (s) | interop |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        inter = "ok" if all(r["interop"].values()) else json.dumps(r["interop"])
        lines.append(
            f"| {r['curve']} | 2^{r['N'].bit_length() - 1} | {r['snarkjs_prove_s']:.3f} | {r['ours_prove_s']:.3f} | **{r['ratio_prove']:.2f}** | "
            f"{r['snarkjs_verify_ms']:.1f} | {r['ours_verify_ms']:.1f} | {r['ours_key_load_s']:.2f} | {r['setup_s'] or 0:.1f} | {inter} |"
        )
    lines += ["", "interop: each side's proof verifies on the other side (snarkjs `groth16 verify` CLI on ours, our verifier on snarkjs')."]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
