"""Shared fixtures: small circuits and development SRS files (power <= 8), made once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ispc_core.zk.formats.ptau import generate_insecure_ptau, read_ptau
from ispc_core.zk.r1cs import CircuitBuilder

CURVES = ("bn254", "bls12-381")
SNARKJS = Path(__file__).resolve().parents[3] / "tools" / "node" / "node_modules" / "snarkjs" / "cli.js"


def sample_circuit(curve: str, x0: int = 3, y0: int = 5, steps: int = 12):
    """A circuit with public output and input, a private input, multiplication chains, wide sums (additions)."""
    b = CircuitBuilder(curve)
    x = b.public_input("x", x0)
    t = x
    for i in range(1, steps):
        t = b.mul(t, t, label=f"square {i}") + i
    y = b.private_input("y", y0)
    z = b.mul(t + y + x + 7, y + 2 * t, "z", label="wide")
    o = b.public_output("o", hint=lambda get: get(z) + get(x) + 1)
    b.assert_equal(o, z + x + 1, label="output")
    b.constrain(3, y, 3 * y)  # constant A: the sum-gate path
    return b.build()


@pytest.fixture(scope="session")
def ptau_files(tmp_path_factory):
    """{curve: path} of power-7 development ptau files with the Lagrange sections."""
    d = tmp_path_factory.mktemp("ptau")
    out = {}
    for c in CURVES:
        p = d / f"{c}.ptau"
        p.write_bytes(generate_insecure_ptau(c, 7))
        out[c] = p
    return out


@pytest.fixture(scope="session")
def srs(ptau_files):
    """{curve: PowersOfTau}."""
    return {c: read_ptau(p) for c, p in ptau_files.items()}


@pytest.fixture(scope="session")
def keys(srs):
    """{curve: (r1cs, witness, ProvingKey)} of :func:`sample_circuit`."""
    from ispc_plonk.circuit import from_r1cs
    from ispc_plonk.keys import derive_keys

    out = {}
    for c in CURVES:
        r1cs, wit = sample_circuit(c)
        out[c] = (r1cs, wit, derive_keys(from_r1cs(r1cs), srs[c]))
    return out


@pytest.fixture(scope="session")
def node_bin():
    """The node binary and snarkjs' CLI (installed by ``make test``; their absence is a failure)."""
    node = shutil.which("node")
    if not node or not SNARKJS.exists():
        pytest.fail("node and tools/node are needed for snarkjs interop: run `make test` (it runs npm ci --prefix tools/node)")
    return [node, str(SNARKJS)]
