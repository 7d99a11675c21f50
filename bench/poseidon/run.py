"""Poseidon speed: reference, unrolled pure Python, native C -- µs per permutation and per sponge.

Usage: python bench/poseidon/run.py [--curve bn254] [--quick]
Prints a Markdown table (the numbers in RESULTS.md come from this script).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
from pathlib import Path
import time
import timeit

from ispc_core.zk import _native
from ispc_core.zk.fields import get_field
from ispc_core.zk.poseidon import SPONGE_RATE, _chunks, _compiled_permutation, poseidon_permutation_reference

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchenv import cpu_model  # noqa: E402


def best_us(fn, budget: float) -> float:
    """Best of 5 repeats of a loop sized to ~budget/5 seconds, in µs per call."""
    fn()
    n, dt = 1, 0.0
    while dt < 0.02:
        dt = timeit.timeit(fn, number=n)
        n *= 2
    n = max(1, int(n / 2 * (budget / 5) / max(dt, 1e-9)))
    return min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e6


def python_sponge(xs, curve, perm):
    p = get_field(curve).modulus
    state = [len(xs) % p] + [0] * SPONGE_RATE
    for chunk in _chunks(xs):
        state = [state[0]] + [(state[1 + i] + chunk[i]) % p for i in range(SPONGE_RATE)]
        state = perm(curve, state)
    return state[0]


def machine() -> str:
    cpu = cpu_model()
    try:
        cc = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        cc = "?"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {cc}; "
        f"load average {load:.2f} at start; {time.strftime('%Y-%m-%d')}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--curve", default="bn254")
    ap.add_argument("--quick", action="store_true", help="shorter timing loops")
    args = ap.parse_args()
    if not _native.AVAILABLE:
        sys.exit(f"native Poseidon not built: {_native.IMPORT_ERROR}")
    curve = args.curve
    budget = 0.3 if args.quick else 1.5
    p = get_field(curve).modulus
    rng = random.Random(1)
    print(f"# Poseidon ({curve})\n\n{machine()}\n")
    print("| operation | reference | unrolled Python | native | native vs unrolled |")
    print("|---|---|---|---|---|")
    py = lambda c, s: _compiled_permutation(c, len(s))(s)  # noqa: E731
    for t in (3, 5, 17):
        s = [rng.randrange(p) for _ in range(t)]
        ref = best_us(lambda: poseidon_permutation_reference(curve, s), budget)
        unr = best_us(lambda: py(curve, s), budget)
        nat = best_us(lambda: _native.permutation(curve, s), budget)
        print(f"| permutation t={t} | {ref:.0f} µs | {unr:.0f} µs | {nat:.1f} µs | {unr / nat:.0f}x |")
    xs = [rng.randrange(p) for _ in range(8)]
    ref = best_us(lambda: python_sponge(xs, curve, poseidon_permutation_reference), budget)
    unr = best_us(lambda: python_sponge(xs, curve, py), budget)
    loop = best_us(lambda: python_sponge(xs, curve, _native.permutation), budget)
    nat = best_us(lambda: _native.sponge(xs, curve), budget)
    print(f"| sponge, 8 elements (2 permutations) | {ref:.0f} µs | {unr:.0f} µs | {nat:.1f} µs | {unr / nat:.0f}x |")
    print(f"\nSponge of 8 as `poseidon_sponge` runs it today (Python loop over the native permutation): {loop:.1f} µs.")


if __name__ == "__main__":
    main()
