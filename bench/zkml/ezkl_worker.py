"""One ezkl step in a fresh process (run with the ezkl venv's Python; imports nothing from this project).

    .venv/bin/python ezkl_worker.py STEP WORKDIR [ARGS as JSON]

Prints one JSON line: the step's wall time (``seconds``), the process's peak resident memory
(``peak_mb``, from ``getrusage``) and what the step reports. ``run.py`` drives it.

Steps (the files live in WORKDIR):

* ``settings``  {"model", "input", "config", "variables"} — ``gen_settings`` with input private,
  output public, params fixed; ``config`` "default" stops there, "resources" runs
  ``calibrate_settings(target="resources")``, "tuned" calibrates with range checks
  decomposed over a 2^7-row table (base 128, 4 legs) and then takes the smallest ``logrows``
  that ``mock`` accepts;
* ``srs``       {"logrows", "path"} — ``gen_srs`` (a local, insecure SRS: no download);
* ``compile``   {"model"} — ``compile_circuit``;
* ``witness``   {"input", "srs"} — ``gen_witness``; returns the rescaled outputs;
* ``setup``, ``prove``, ``verify`` {"srs"} — keys, proof (size of the proof bytes), verification
  (timed twice in the same process: cold, then again).
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from pathlib import Path

import ezkl


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _settings(wd: Path, a: dict) -> dict:
    ra = ezkl.PyRunArgs()
    ra.input_visibility, ra.output_visibility, ra.param_visibility = "private", "public", "fixed"
    if a.get("variables"):
        ra.variables = [tuple(v) for v in a["variables"]]
    if a["config"] == "tuned":  # range checks from a 2^7-row table (4 legs: the same 2^28 span), calibrated with it
        ra.decomp_base, ra.decomp_legs = 128, 4
    s_path = str(wd / "settings.json")
    assert ezkl.gen_settings(a["model"], s_path, py_run_args=ra)
    if a["config"] in ("resources", "tuned"):
        assert ezkl.calibrate_settings(a["input"], a["model"], s_path, "resources")
    if a["config"] == "tuned":
        _tune(wd, a, s_path)
    s = json.loads(Path(s_path).read_text())
    r = s["run_args"]
    return {"logrows": r["logrows"], "input_scale": r["input_scale"], "param_scale": r["param_scale"], "num_rows": s.get("num_rows"),
            "decomp_base": r["decomp_base"], "decomp_legs": r["decomp_legs"], "lookup_range": r["lookup_range"]}  # fmt: skip


def _tune(wd: Path, a: dict, s_path: str) -> None:
    """Hand tuning, after calibration with a 2^7-row range-check table: the smallest logrows whose mock proof passes."""
    s = json.loads(Path(s_path).read_text())
    r = s["run_args"]
    start = max(6, math.ceil(math.log2(max(2, s.get("num_rows") or 2))))
    for lr in range(start, r["logrows"] + 1):
        r["logrows"] = lr
        Path(s_path).write_text(json.dumps(s))
        compiled = str(wd / "tune.ezkl")
        try:
            ezkl.compile_circuit(a["model"], compiled, s_path)
            ezkl.gen_witness(a["input"], compiled, str(wd / "tune_witness.json"))
            if ezkl.mock(str(wd / "tune_witness.json"), compiled):
                return
        except BaseException as exc:  # noqa: BLE001 - ezkl panics (PanicException) when the rows do not fit
            if isinstance(exc, KeyboardInterrupt):
                raise
            continue
    raise SystemExit(f"no logrows up to {r['logrows']} passes mock")


def main() -> None:
    step, wd = sys.argv[1], Path(sys.argv[2])
    a = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    compiled, s_path = str(wd / "network.ezkl"), str(wd / "settings.json")
    pk, vk, proof, wit = str(wd / "pk.key"), str(wd / "vk.key"), str(wd / "proof.json"), str(wd / "witness.json")
    out: dict = {}
    t = time.perf_counter()
    if step == "settings":
        out = _settings(wd, a)
    elif step == "srs":
        ezkl.gen_srs(a["path"], a["logrows"])
    elif step == "compile":
        assert ezkl.compile_circuit(a["model"], compiled, s_path)
    elif step == "witness":
        ezkl.gen_witness(a["input"], compiled, wit, srs_path=a.get("srs"))
        w = json.loads(Path(wit).read_text())
        out["outputs"] = [[float(v) for v in o] for o in w["pretty_elements"]["rescaled_outputs"]]
    elif step == "setup":
        assert ezkl.setup(compiled, vk, pk, srs_path=a["srs"])
    elif step == "prove":
        ezkl.prove(wit, compiled, pk, proof, srs_path=a["srs"])
        out["proof_bytes"] = len(json.loads(Path(proof).read_text())["hex_proof"].removeprefix("0x")) // 2
    elif step == "verify":
        assert ezkl.verify(proof, s_path, vk, srs_path=a["srs"])
        out["cold_seconds"] = time.perf_counter() - t
        t2 = time.perf_counter()
        assert ezkl.verify(proof, s_path, vk, srs_path=a["srs"])
        out["again_seconds"] = time.perf_counter() - t2
    else:
        raise SystemExit(f"unknown step {step!r}")
    out["seconds"] = time.perf_counter() - t
    out["peak_mb"] = _peak_mb()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
