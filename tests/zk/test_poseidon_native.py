"""Native (C) Poseidon: equals the reference permutation and the Python sponge; input checks."""

import json
import random
import shutil
import sysconfig
from pathlib import Path

import pytest

from ispc_core.zk import _native
from ispc_core.zk._native._opt import optimized_constants, permutation_optimized
from ispc_core.zk.errors import CircuitError, UnknownCurve
from ispc_core.zk.fields import get_field
from ispc_core.zk.poseidon import (
    _compiled_permutation,
    poseidon,
    poseidon_params,
    poseidon_permutation,
    poseidon_permutation_reference,
    poseidon_sponge,
)

CURVES = ["bn254", "bls12-381"]
VECTORS = json.loads((Path(__file__).parent / "data" / "poseidon_bn254_vectors.json").read_text())


def _compiler_present() -> bool:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) is not None


def test_extension_built_when_a_compiler_is_present():
    # setup.py marks the extension optional (an install without a compiler falls
    # back to Python); with a compiler a failed build is a bug, not a fallback.
    if not _native.AVAILABLE and _compiler_present():
        pytest.fail(f"C compiler present but the native Poseidon did not import: {_native.IMPORT_ERROR}")


needs_native = pytest.mark.skipif(not _native.AVAILABLE, reason=f"native Poseidon not built: {_native.IMPORT_ERROR}")


@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize("t", range(2, 18))
def test_optimized_schedule_equals_reference(curve, t):
    # the pure-Python twin of what the C code runs (sparse partial rounds)
    prm = poseidon_params(curve, t)
    consts = optimized_constants(prm)
    rng = random.Random(1000 * t + len(curve))
    for _ in range(2):
        s = [rng.randrange(prm.field.modulus) for _ in range(t)]
        assert permutation_optimized(prm, consts, s) == poseidon_permutation_reference(curve, s)


@needs_native
@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize("t", range(2, 18))
def test_native_equals_reference_random(curve, t):
    p = get_field(curve).modulus
    rng = random.Random(t * 7919 + len(curve))
    for _ in range(8):
        s = [rng.randrange(p) for _ in range(t)]
        assert _native.permutation(curve, s) == poseidon_permutation_reference(curve, s)


@needs_native
@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize("t", [2, 3, 5, 9, 17])
def test_native_edge_values(curve, t):
    p = get_field(curve).modulus
    edge = [0, 1, p - 1, p, p + 1, 2 * p - 1, 2**255, 2**256 - 1, 2**256, 2**300 + 17, -1, -p, -(2**300), True]
    for s in ([0] * t, [p - 1] * t, [(p - 1) // 2] * t):
        assert _native.permutation(curve, s) == poseidon_permutation_reference(curve, s)
    rng = random.Random(t)
    for _ in range(6):
        s = [rng.choice(edge) for _ in range(t)]
        want = poseidon_permutation_reference(curve, s)
        assert _native.permutation(curve, s) == want
        assert _compiled_permutation(curve, t)(s) == want  # the Python fallback agrees on unreduced input


@needs_native
def test_poseidon_permutation_dispatches_to_native():
    s = [1, 2, 3, 4, 5]
    assert poseidon_permutation("bn254", s) == _native.permutation("bn254", s)
    assert isinstance(poseidon_permutation("bn254", s), list)
    assert all(type(x) is int for x in poseidon_permutation("bn254", s))


@needs_native
@pytest.mark.parametrize("curve", CURVES)
def test_native_sponge_equals_python_sponge(curve):
    p = get_field(curve).modulus
    rng = random.Random(len(curve))
    for n in range(21):
        xs = [rng.randrange(p) for _ in range(n)]
        assert _native.sponge(xs, curve) == poseidon_sponge(xs, curve), n
    xs = [p, -1, 2**300, 0, p - 1, 5]  # unreduced inputs are reduced as in Python
    assert _native.sponge(xs, curve) == poseidon_sponge(xs, curve)
    xs = [rng.randrange(p) for _ in range(200)]  # long input (the GIL is released)
    assert _native.sponge(xs, curve) == poseidon_sponge(xs, curve)
    assert _native.sponge(tuple(xs[:9]), curve) == poseidon_sponge(xs[:9], curve)


@needs_native
@pytest.mark.parametrize("vec", VECTORS["hashes"], ids=lambda v: f"n{len(v['inputs'])}")
def test_circomlibjs_vectors_native(vec):
    inputs = [int(x) for x in vec["inputs"]]
    assert _native.permutation("bn254", [0, *inputs])[0] == int(vec["out"])
    assert poseidon(inputs) == int(vec["out"])


@needs_native
@pytest.mark.parametrize("vec", VECTORS["withInit"], ids=lambda v: v["init"])
def test_circomlibjs_init_state_vectors_native(vec):
    xs = [int(x) for x in vec["inputs"]][: int(vec["init"])]
    assert _native.sponge(xs) == int(vec["out"])


@needs_native
def test_bad_inputs():
    with pytest.raises(TypeError):
        _native.permutation("bn254", [1, 2.0, 3])
    with pytest.raises(TypeError):
        _native.permutation("bn254", [1, "2", 3])
    with pytest.raises(TypeError):
        _native.permutation("bn254", [None, 2])
    with pytest.raises(TypeError):
        _native.permutation("bn254", 5)  # not a sequence
    with pytest.raises(TypeError):
        _native.sponge([1, 2, 3.5])
    with pytest.raises(TypeError):
        _native.sponge(None)
    with pytest.raises(CircuitError):  # width outside 2..17, as the Python version
        _native.permutation("bn254", [1])
    with pytest.raises(CircuitError):
        _native.permutation("bn254", list(range(18)))
    with pytest.raises(UnknownCurve):
        _native.permutation("secp256k1", [1, 2])
    from ispc_core.zk._native import _poseidon

    ctx = _native.context("bn254", 3)
    with pytest.raises(ValueError, match="3"):
        _poseidon.permute(ctx, [1, 2])  # wrong length for the context
    with pytest.raises(TypeError):
        _poseidon.permute(object(), [1, 2, 3])  # not a context
    with pytest.raises(TypeError):
        _poseidon.permute(ctx)
    with pytest.raises(ValueError):
        _poseidon.make_context(2**256 + 1, 3, 4, 57, [], [], [], [], [], [], [])  # modulus too large
    with pytest.raises(ValueError):
        _poseidon.make_context(get_field("bn254").modulus, 3, 4, 57, [1], [], [], [], [], [], [])  # table length


@needs_native
def test_python_fallback_matches_native_errors():
    # the pure-Python path raises TypeError for the same inputs
    with pytest.raises(TypeError):
        _compiled_permutation("bn254", 3)([1, "2", 3])
