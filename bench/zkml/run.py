"""Benchmark: ispc zkML (Groth16 and PLONK on bn254) against ezkl 23.0.5, side by side in one run.

Usage (from the repository root, with the project's venv; ezkl in its own venv, see README.md)::

    python bench/zkml/run.py                     # every model, both sides; prints the tables
    python bench/zkml/run.py --write             # also rewrite bench/zkml/results.md and results.json
    python bench/zkml/run.py --models mlp,cnn --skip-ezkl

Models (``plugins/ispc-onnx/examples``): the 16→8 MLP, the small CNN, the 784-56-10 MLP and
LeNet-5 (``generate_zkml.py``), each on its example input.

Ours, through :mod:`ispc_zkml.api` (what ``ispc zkml`` runs): compile, setup (Groth16: development
setup; PLONK: keys from an insecure development SRS made in the run), prove (rebuilding the
circuit's hints, the witness, the proof — timed apart), verify (a fresh process: the whole
``api.verify`` from files, then the check again with the key already prepared, as a node that
keeps its keys does). Inputs are public; ``input_check="verifier"`` is the node's mode (the
verifier recomputes the public inputs, so the circuit leaves their range check to it) and
``"circuit"`` the self-contained one; both are measured with Groth16.

ezkl, through its Python API in its own venv (``ezkl_worker.py``): input private, output public,
params fixed; three configurations: ``default`` (``gen_settings`` alone), ``resources``
(``calibrate_settings(target="resources")``), ``tuned`` (range checks decomposed over a 2^7-row
table, calibrated, then the smallest ``logrows`` that ``mock`` accepts). The KZG SRS is generated locally
(``gen_srs``; no download) and timed apart.

Every step runs in a fresh process; ``peak MB`` is that process's peak resident memory
(``getrusage``). The error is the largest absolute difference between the proven outputs and
onnxruntime's float32 outputs on the same input.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXAMPLES = ROOT / "plugins" / "ispc-onnx" / "examples"
EZKL_PY = HERE / ".venv" / "bin" / "python"
sys.path.insert(0, str(HERE.parent))
from benchenv import cpu_model  # noqa: E402

#: name -> (model file, input file, symbolic dimensions for ezkl)
MODELS = {
    "mlp": ("mlp.onnx", "mlp_input.json", [["batch", 1]]),
    "cnn": ("cnn.onnx", "cnn_input.json", []),
    "mnist_mlp": ("mnist_mlp.onnx", "mnist_mlp_input.json", []),
    "lenet5": ("lenet5.onnx", "lenet5_input.json", []),
}
EZKL_CONFIGS = ("default", "resources", "tuned")
#: the goal of issue 12: our prove time at most half of ezkl's best configuration (at equal or smaller
#: error), and verification within 10 ms
GOAL_PROVE_RATIO, GOAL_VERIFY_MS = 0.5, 10.0


# ---------------------------------------------------------------------------------------------
# our side: one step per process (``python run.py _ours STEP ARGS``)
# ---------------------------------------------------------------------------------------------
def _ours_step(step: str, a: dict) -> dict:
    from ispc_zkml import api

    out: dict = {}
    t = time.perf_counter()
    if step == "compile":
        res = api.compile(a["model"], a["dir"], input_check=a["input_check"])
        s = res.settings
        out = {"constraints": s["constraints"], "public_inputs": s["public_inputs"], "scale": s["scale"], "error_bound": s["error_bound_max"]}
        out["seconds"] = time.perf_counter() - t
        if a.get("plonk"):
            from ispc_core.zk.formats import read_r1cs
            from ispc_plonk.circuit import from_r1cs

            c = from_r1cs(read_r1cs((Path(a["dir"]) / "model.r1cs").read_bytes()))
            out["plonk_gates"], out["plonk_domain"] = c.n_gates, c.domain_size
    elif step == "ptau":
        from ispc_core.zk.formats.ptau import generate_insecure_ptau

        Path(a["path"]).write_bytes(generate_insecure_ptau("bn254", a["power"], lagrange=False))
    elif step == "setup":
        api.setup(a["dir"], scheme=a["scheme"], ptau=a.get("ptau"))
    elif step == "prove":
        res = api.prove(a["dir"], a["input"], a["out"], scheme=a["scheme"])
        out = {**{f"{k}_seconds": v for k, v in res.timings.items()}, "proof_bytes": len(res.document["proof"]) // 2}
        out["outputs"] = {k: v.reshape(-1).tolist() for k, v in res.outputs.items()}
    elif step == "verify":
        v = api.verify(a["dir"], a["proof"])
        out["cold_seconds"] = time.perf_counter() - t
        assert v.valid, v.reason
        out["again_seconds"] = _verify_prepared(a["dir"], a["proof"])
    else:
        raise SystemExit(f"unknown step {step!r}")
    out.setdefault("seconds", time.perf_counter() - t)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def _verify_prepared(d: str, proof_path: str) -> float:
    """The pairing check alone with the verifying key already loaded and prepared (a node keeps its keys)."""
    from ispc_core.plugins import PluginManager
    from ispc_core.specs import ProofArtifact, ProverServices

    doc = json.loads(Path(proof_path).read_text())
    spec = PluginManager().get("ispc_provers", doc["scheme"])
    prover = spec.factory(ProverServices(home=Path(d), config=None, keystore_dir=Path(d) / "keys"))
    art = ProofArtifact(
        proof=bytes.fromhex(doc["proof"]), public_inputs=tuple(int(v) for v in doc["public_inputs"]), proving_scheme=doc["scheme"],
        curve=doc["curve"], verification_key_hash=bytes.fromhex(doc["verification_key_hash"]), circuit_id=doc["circuit_id"],
        circuit_version=doc["circuit_version"], constraint_count=doc["constraint_count"], generation_time_ms=0,
    )  # fmt: skip
    assert prover.verify(art)  # loads and prepares the key
    best = math.inf
    for _ in range(5):
        t = time.perf_counter()
        assert prover.verify(art)
        best = min(best, time.perf_counter() - t)
    return best


# ---------------------------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------------------------
class Runner:
    def __init__(self, work: Path, timeout: float, max_mb: float, log):
        self.work, self.timeout, self.max_mb, self.log = work, timeout, max_mb, log

    @staticmethod
    def _rss_mb(pid: int) -> float:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        except (OSError, ValueError):
            pass
        return 0.0

    def _run(self, argv: list[str], what: str) -> dict:
        """One step in a fresh process, stopped past ``timeout`` seconds or ``max_mb`` of resident memory
        (the machine is shared: a step that would exhaust it is recorded as too large, not run to the end)."""
        t = time.perf_counter()
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            p = subprocess.Popen(argv, stdout=out, stderr=err, text=True, cwd=ROOT)
            why = None
            while p.poll() is None:
                if time.perf_counter() - t > self.timeout:
                    why = f"timed out after {self.timeout:.0f} s"
                elif self._rss_mb(p.pid) > self.max_mb:
                    why = f"stopped at {self.max_mb:.0f} MB of memory"
                if why:
                    p.kill()
                    p.wait()
                    break
                time.sleep(0.2)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        if why:
            self.log(f"  {what}: {why}")
            return {"error": why}
        if p.returncode != 0:
            tail = (stderr or stdout).strip().splitlines()[-1:] or [f"exit {p.returncode}"]
            self.log(f"  {what}: failed ({tail[0][:200]})")
            return {"error": tail[0][:200]}
        res = json.loads(stdout.strip().splitlines()[-1])
        self.log(f"  {what}: {res.get('seconds', 0):.2f} s, {res.get('peak_mb', 0):.0f} MB (wall {time.perf_counter() - t:.1f} s)")
        return res

    def ours(self, step: str, **a) -> dict:
        return self._run([sys.executable, str(Path(__file__)), "_ours", step, json.dumps(a)], f"ours {step}")

    def ezkl(self, step: str, wd: Path, **a) -> dict:
        return self._run([str(EZKL_PY), str(HERE / "ezkl_worker.py"), step, str(wd), json.dumps(a)], f"ezkl {step}")


def _inputs(name: str) -> tuple[str, list]:
    """(input name, flat values) of a model's example input."""
    doc = json.loads((EXAMPLES / MODELS[name][1]).read_text())["inputs"]
    (k, v), = doc.items()
    return k, (v["data"] if isinstance(v, dict) else v)


def _reference(name: str) -> list[float]:
    """onnxruntime's float32 outputs (flattened) on the example input."""
    import numpy as np

    from ispc_zkml.testing import ort_run

    doc = json.loads((EXAMPLES / MODELS[name][1]).read_text())["inputs"]
    feeds = {k: np.array(v["data"], dtype=np.float32).reshape(v["shape"]) for k, v in doc.items()}
    out = ort_run((EXAMPLES / MODELS[name][0]).read_bytes(), feeds)
    return [float(x) for a in out.values() for x in a.reshape(-1)]


def _err(got: list[float], ref: list[float]) -> float:
    return max(abs(a - b) for a, b in zip(got, ref))


def run_ours(r: Runner, name: str, ref: list[float], plonk: bool, ptau: dict, input_checks) -> list[dict]:
    model, inp = str(EXAMPLES / MODELS[name][0]), str(EXAMPLES / MODELS[name][1])
    rows = []
    for ic in input_checks:
        d = r.work / f"ours-{name}-{ic}"
        r.log(f"ours {name} input_check={ic}")
        comp = r.ours("compile", model=model, dir=str(d), input_check=ic, plonk=plonk and ic == "verifier")
        if "error" in comp:
            rows.append({"side": "ours", "model": name, "scheme": "groth16", "input_check": ic, "error": comp["error"]})
            continue
        schemes = ["groth16"] + (["plonk"] if plonk and ic == "verifier" else [])
        for scheme in schemes:
            row = {"side": "ours", "model": name, "scheme": scheme, "input_check": ic, "constraints": comp["constraints"],
                   "public_inputs": comp["public_inputs"], "scale": comp["scale"], "error_bound": comp["error_bound"],
                   "compile_s": comp["seconds"], "compile_mb": comp["peak_mb"]}  # fmt: skip
            if scheme == "plonk":
                row["plonk_gates"], row["plonk_domain"] = comp["plonk_gates"], comp["plonk_domain"]
                path = ptau.get("path")
                if path is None or comp["plonk_domain"] > ptau["domain"]:
                    row["error"] = "no SRS large enough in this run"
                    rows.append(row)
                    continue
            st = r.ours("setup", dir=str(d), scheme=scheme, ptau=ptau.get("path") if scheme == "plonk" else None)
            if "error" in st:
                rows.append({**row, "error": "setup: " + st["error"]})
                continue
            row["setup_s"], row["setup_mb"] = st["seconds"], st["peak_mb"]
            proof = r.work / f"ours-{name}-{ic}-{scheme}.json"
            pr = r.ours("prove", dir=str(d), input=inp, out=str(proof), scheme=scheme)
            if "error" in pr:
                rows.append({**row, "error": "prove: " + pr["error"]})
                continue
            row.update(rebuild_s=pr["compile_seconds"], witness_s=pr["witness_seconds"], keys_s=pr["keys_seconds"], prove_s=pr["prove_seconds"],
                       prove_total_s=pr["seconds"], prove_mb=pr["peak_mb"], proof_bytes=pr["proof_bytes"])  # fmt: skip
            row["max_abs_error"] = _err([x for o in pr["outputs"].values() for x in o], ref)
            ve = r.ours("verify", dir=str(d), proof=str(proof))
            if "error" in ve:
                rows.append({**row, "error": "verify: " + ve["error"]})
                continue
            row.update(verify_cold_s=ve["cold_seconds"], verify_s=ve["again_seconds"], verify_mb=ve["peak_mb"])
            rows.append(row)
    return rows


def ezkl_model(name: str, work: Path) -> str:
    """The model for ezkl: the same graph with the default ``strides`` and ``dilations`` of Conv and the
    pools written out (ezkl 23.0.5 refuses a Conv without them: "a node is missing required params: stride")."""
    import onnx
    from onnx import helper

    proto = onnx.load(str(EXAMPLES / MODELS[name][0]))
    changed = False
    for node in proto.graph.node:
        if node.op_type not in ("Conv", "MaxPool", "AveragePool"):
            continue
        have = {a.name for a in node.attribute}
        kernel = next((list(a.ints) for a in node.attribute if a.name == "kernel_shape"), None)
        if kernel is None:  # Conv: from the weight's shape
            w = next(t for t in proto.graph.initializer if t.name == node.input[1])
            kernel = list(w.dims[2:])
        for attr in ("strides", "dilations") if node.op_type != "AveragePool" else ("strides",):
            if attr not in have:
                node.attribute.append(helper.make_attribute(attr, [1] * len(kernel)))
                changed = True
    if not changed:
        return str(EXAMPLES / MODELS[name][0])
    path = work / f"ezkl-{name}.onnx"
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return str(path)


def run_ezkl(r: Runner, name: str, ref: list[float], configs, srs_cache: dict) -> list[dict]:
    model = ezkl_model(name, r.work)
    key, flat = _inputs(name)
    rows = []
    for config in configs:
        wd = r.work / f"ezkl-{name}-{config}"
        wd.mkdir(parents=True, exist_ok=True)
        inp = wd / "input.json"
        inp.write_text(json.dumps({"input_data": [flat]}))
        r.log(f"ezkl {name} {config}")
        row = {"side": "ezkl", "model": name, "config": config}
        st = r.ezkl("settings", wd, model=model, input=str(inp), config=config, variables=MODELS[name][2])
        if "error" in st:
            rows.append({**row, "error": "settings: " + st["error"]})
            continue
        row.update(logrows=st["logrows"], input_scale=st["input_scale"], param_scale=st["param_scale"], num_rows=st["num_rows"],
                   settings_s=st["seconds"], decomp=f"{st['decomp_base']}^{st['decomp_legs']}")  # fmt: skip
        lr = st["logrows"]
        srs = srs_cache.get(lr)
        if srs is None:
            path = r.work / f"kzg{lr}.srs"
            g = r.ezkl("srs", wd, logrows=lr, path=str(path))
            if "error" in g:
                rows.append({**row, "error": "srs: " + g["error"]})
                continue
            srs = srs_cache[lr] = {"path": str(path), "seconds": g["seconds"]}
        row["srs_s"] = srs["seconds"]
        steps = (("compile", {"model": model}), ("witness", {"input": str(inp), "srs": srs["path"]}), ("setup", {"srs": srs["path"]}),
                 ("prove", {"srs": srs["path"]}), ("verify", {"srs": srs["path"]}))  # fmt: skip
        for step, a in steps:
            out = r.ezkl(step, wd, **a)
            if "error" in out:
                row["error"] = f"{step}: {out['error']}"
                break
            row[f"{step}_s"], row[f"{step}_mb"] = out["seconds"], out["peak_mb"]
            if step == "witness":
                row["max_abs_error"] = _err([x for o in out["outputs"] for x in o], ref)
            if step == "prove":
                row["proof_bytes"] = out["proof_bytes"]
            if step == "verify":
                row["verify_cold_s"], row["verify_s"] = out["cold_seconds"], out["again_seconds"]
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------
def _f(v, fmt="{:.2f}") -> str:
    return "—" if v is None else fmt.format(v)


def _ms(v) -> str:
    return "—" if v is None else f"{v * 1000:.1f}"


def tables(meta: dict, rows: list[dict]) -> str:
    out = ["| model | scheme | input check | constraints (PLONK gates) | compile s | setup s | rebuild + witness s | **prove s** | verify ms (key prepared) | verify ms (cold, from files) | proof bytes | peak MB (prove) | max abs error | error bound |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for x in (r for r in rows if r["side"] == "ours"):
        if "prove_s" not in x:
            out.append(f"| {x['model']} | {x['scheme']} | {x['input_check']} | {x.get('constraints', '—')} | " + " | ".join(["—"] * 10) + f" |  ({x.get('error', '')})")
            continue
        cons = f"{x['constraints']:,}" + (f" ({x['plonk_gates']:,})" if x["scheme"] == "plonk" else "")
        out.append(
            f"| {x['model']} | {x['scheme']} | {x['input_check']} | {cons} | {_f(x['compile_s'])} | {_f(x['setup_s'])} | "
            f"{_f(x['rebuild_s'])} + {_f(x['witness_s'], '{:.3f}')} | **{_f(x['prove_s'])}** | {_ms(x.get('verify_s'))} | {_ms(x.get('verify_cold_s'))} | "
            f"{x['proof_bytes']} | {_f(x['prove_mb'], '{:.0f}')} | {x['max_abs_error']:.2e} | {x['error_bound']:.2e} |"
        )
    out += ["", "| model | ezkl config | logrows (rows used) | scales in/param | settings s | compile s | SRS s | setup s | witness s | **prove s** | verify ms (again) | verify ms (cold) | proof bytes | peak MB (prove) | max abs error |",
            "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for x in (r for r in rows if r["side"] == "ezkl"):
        if "prove_s" not in x or "verify_s" not in x:
            out.append(f"| {x['model']} | {x['config']} | {x.get('logrows', '—')} | " + " | ".join(["—"] * 12) + f" |  ({x.get('error', '')})")
            continue
        out.append(
            f"| {x['model']} | {x['config']} | {x['logrows']} ({x['num_rows']:,}) | {x['input_scale']}/{x['param_scale']} | {_f(x['settings_s'])} | "
            f"{_f(x['compile_s'])} | {_f(x['srs_s'])} | {_f(x['setup_s'])} | {_f(x['witness_s'], '{:.3f}')} | **{_f(x['prove_s'])}** | "
            f"{_ms(x['verify_s'])} | {_ms(x['verify_cold_s'])} | {x['proof_bytes']} | {_f(x['prove_mb'], '{:.0f}')} | {x['max_abs_error']:.2e} |"
        )
    out += ["", goal_table(rows)]
    return "\n".join(out)


def goal_table(rows: list[dict]) -> str:
    """Per model: our Groth16 prove (node mode) against ezkl's fastest configuration whose error is not smaller than ours."""
    out = [f"| model | ours: Groth16, input check by the verifier — prove s / max abs error | ezkl's fastest config with error ≥ ours — prove s / error | ratio (goal ≤ {GOAL_PROVE_RATIO}) | ezkl's fastest config overall | our verify ms (goal ≤ {GOAL_VERIFY_MS:.0f}) | goal met |",
           "|---|---|---|---:|---|---:|---|"]  # fmt: skip
    for name in MODELS:
        ours = next((r for r in rows if r["side"] == "ours" and r["model"] == name and r["scheme"] == "groth16" and r["input_check"] == "verifier" and "verify_s" in r), None)
        ez = [r for r in rows if r["side"] == "ezkl" and r["model"] == name and "verify_s" in r]
        if ours is None or not ez:
            if any(r["model"] == name for r in rows):
                out.append(f"| {name} | {'—' if ours is None else _f(ours['prove_s'])} | — | — | — | — | not measured |")
            continue
        fair = [r for r in ez if r["max_abs_error"] >= ours["max_abs_error"]]
        best = min(fair, key=lambda r: r["prove_s"]) if fair else None
        fastest = min(ez, key=lambda r: r["prove_s"])
        ratio = ours["prove_s"] / best["prove_s"] if best else None
        met = ratio is not None and ratio <= GOAL_PROVE_RATIO and ours["verify_s"] * 1000 <= GOAL_VERIFY_MS
        out.append(
            f"| {name} | {ours['prove_s']:.2f} / {ours['max_abs_error']:.1e} | "
            + (f"{best['config']}: {best['prove_s']:.2f} / {best['max_abs_error']:.1e}" if best else "none (every ezkl config is more accurate)")
            + f" | {_f(ratio)} | {fastest['config']}: {fastest['prove_s']:.2f} / {fastest['max_abs_error']:.1e} | {ours['verify_s'] * 1000:.1f} | {'yes' if met else 'no'} |"
        )
    return "\n".join(out)


def _ezkl_version() -> str:
    try:
        return subprocess.run([str(EZKL_PY), "-c", "import ezkl; print(ezkl.__version__)"], capture_output=True, text=True, timeout=60).stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "_ours":
        print(json.dumps(_ours_step(sys.argv[2], json.loads(sys.argv[3]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--plonk-models", default="mlp,cnn,mnist_mlp", help="models proven with PLONK too (LeNet-5's domain is too large here)")
    ap.add_argument("--input-checks", default="verifier,circuit")
    ap.add_argument("--ezkl-configs", default=",".join(EZKL_CONFIGS))
    ap.add_argument("--skip-ezkl", action="store_true")
    ap.add_argument("--skip-ours", action="store_true")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per step")
    ap.add_argument("--max-mb", type=float, default=10000.0, help="resident memory a step may use before it is stopped")
    ap.add_argument("--write", action="store_true", help="rewrite results.md and results.json")
    args = ap.parse_args()
    models = [m for m in args.models.split(",") if m]
    plonk_models = set(args.plonk_models.split(",")) & set(models)
    t0 = time.time()
    load0 = os.getloadavg()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="zkml-bench-") as tmp:
        r = Runner(Path(tmp), args.timeout, args.max_mb, lambda s: print(s, file=sys.stderr, flush=True))
        refs = {m: _reference(m) for m in models}
        ptau: dict = {}
        srs_cache: dict = {}
        for name in models:
            if not args.skip_ours:
                if name in plonk_models and not ptau:
                    # one development SRS for every PLONK circuit of the run: the largest domain needed
                    doms = []
                    for m in sorted(plonk_models):
                        c = r.ours("compile", model=str(EXAMPLES / MODELS[m][0]), dir=str(r.work / f"probe-{m}"), input_check="verifier", plonk=True)
                        doms.append(c.get("plonk_domain", 0))
                    power = max(doms).bit_length() - 1
                    g = r.ours("ptau", power=power, path=str(r.work / "dev.ptau"))
                    ptau = {"path": str(r.work / "dev.ptau"), "domain": 1 << power, "power": power, "seconds": g.get("seconds")}
                rows += run_ours(r, name, refs[name], name in plonk_models, ptau, args.input_checks.split(","))
            if not args.skip_ezkl:
                rows += run_ezkl(r, name, refs[name], args.ezkl_configs.split(","), srs_cache)
    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{cpu_model()}, {os.cpu_count()} logical CPUs; {platform.system()} {platform.release()}; Python {platform.python_version()}",
        "ezkl": _ezkl_version(),
        "load_average_start": [round(x, 2) for x in load0],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "minutes": round((time.time() - t0) / 60, 1),
        "max_mb": args.max_mb,
        "timeout_s": args.timeout,
        "command": "python bench/zkml/run.py " + " ".join(sys.argv[1:]),
        "ptau_power": ptau.get("power"),
        "ptau_seconds": ptau.get("seconds"),
    }
    text = tables(meta, rows)
    print(text)
    if args.write:
        (HERE / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
        write_results_md(meta, text)


def write_results_md(meta: dict, text: str) -> None:
    """results.md: the run's machine, date and tables; the reading below the marker is kept."""
    path = HERE / "results.md"
    marker = "<!-- reading: kept by run.py -->"
    reading = path.read_text().split(marker, 1)[1] if path.exists() and marker in path.read_text() else "\n"
    head = [
        "# zkML benchmark: ispc (Groth16, PLONK) vs ezkl",
        "",
        f"- date: {meta['date']}",
        f"- machine: {meta['machine']}",
        f"- ezkl {meta['ezkl']} (Halo2, KZG on bn254); ours: Groth16 and PLONK on bn254",
        f"- load average at start / end: {meta['load_average_start']} / {meta['load_average_end']} (a shared 2-core machine); the run took {meta['minutes']} min",
        f"- command: `{meta['command']}`; each step limited to {meta['timeout_s']:.0f} s and {meta['max_mb']:.0f} MB of resident memory",
        f"- PLONK SRS: an insecure development SRS of 2^{meta['ptau_power']} made in the run ({_f(meta['ptau_seconds'])} s)" if meta.get("ptau_power") else "- PLONK: not run",
        "",
        "How to read the columns: see README.md. `prove s` is the proof alone (from a witness) on both sides;",
        "ours rebuilds the circuit's hints and computes the witness first (`rebuild + witness`), ezkl computes",
        "its witness from the compiled circuit (`witness s`).",
        "",
    ]
    path.write_text("\n".join(head) + text + "\n\n" + marker + reading)


if __name__ == "__main__":
    main()
