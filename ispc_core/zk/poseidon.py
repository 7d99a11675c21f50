"""Poseidon over bn254 (circomlib-compatible) and bls12-381: parameters, native hash, sponge, R1CS gadget.

Parameters are generated here, not copied: the Grain LFSR procedure of the
Poseidon reference script (``generate_parameters_grain.sage``: field=1 (prime),
S-box x^5, ``n`` = bit length of r, ``t``, ``R_F = 8``, ``R_P``) gives first
``(R_F + R_P) * t`` round constants (rejection-sampled below r) and then the
Cauchy MDS matrix ``M[i][j] = 1 / (x_i + y_j)`` from ``2t`` further samples.
For bn254 this reproduces circomlib's ``poseidon_constants`` exactly (checked
against circomlibjs in the tests). ``R_P`` is the security-formula minimum of
the reference ``calc_round_numbers.py`` (M = 128, with its 7.5% margin) rounded
up to a multiple of ``t`` — circomlib's convention, which yields
``[56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68]`` for
``t = 2..17``; the same formula gives the same list for bls12-381 (n = 255).

The permutation (circomlib ``poseidon_reference``): per round add constants,
S-box on all cells (full rounds: the first and last 4) or on cell 0 (partial),
then ``state = M · state``. ``poseidon(inputs)`` = permutation of
``[0, *inputs]`` (``t = len + 1``), output cell 0.

Sponge (:func:`poseidon_sponge`, for any number of elements): width ``t = 5``
(rate 4); ``state = [len(xs), 0, 0, 0, 0]``; for each chunk of 4 (the last one
zero-padded; an empty list is one all-zero chunk) ``state[1 + i] += chunk[i]``
then permute; output ``state[0]``. For ``len(xs) <= 4`` this equals circomlib
``poseidon(xs + zeros, initState=len(xs))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import ceil, comb, floor, inf, log
from typing import Sequence

from . import _native
from .errors import CircuitError
from .fields import PrimeField, get_field
from .r1cs import LC, CircuitBuilder, Operand

__all__ = [
    "PoseidonParams",
    "poseidon_params",
    "poseidon",
    "poseidon_permutation",
    "poseidon_sponge",
    "poseidon_gadget",
    "poseidon_permutation_gadget",
    "poseidon_sponge_gadget",
    "partial_rounds",
    "SPONGE_RATE",
]

FULL_ROUNDS = 8
ALPHA = 5
SECURITY_BITS = 128
MAX_T = 17
SPONGE_RATE = 4


@dataclass(frozen=True)
class PoseidonParams:
    """Constants of one Poseidon instance: ``C`` flat round constants, ``M`` MDS rows."""

    field: PrimeField
    t: int
    full_rounds: int
    partial_rounds: int
    C: tuple[int, ...]
    M: tuple[tuple[int, ...], ...]


# ------------------------------------------------------------- round numbers
def _secure(logp: float, n: int, t: int, rf: int, rp: int) -> bool:
    """The inequalities of ``calc_round_numbers.py`` (statistical, interpolation, Gröbner, 2023/537)."""
    a, m = ALPHA, SECURITY_BITS
    rf1 = 6 if m <= floor(logp - (a - 1) / 2.0) * (t + 1) else 10
    rf2 = 1 + ceil(log(2, a) * min(m, n)) + ceil(log(t, a)) - rp
    rf3 = log(2, a) * min(m, logp) - rp
    rf4 = t - 1 + log(2, a) * min(m / float(t + 1), logp / 2.0) - rp
    rf5 = (t - 2 + m / float(2 * log(a, 2)) - rp) / float(t - 1)
    if rf < max(ceil(rf1), ceil(rf2), ceil(rf3), ceil(rf4), ceil(rf5)):
        return False
    r_t = floor(t / 3.0)
    over = (rf - 1) * t + rp + r_t + r_t * (rf / 2.0) + rp + a
    under = r_t * (rf / 2.0) + rp + a
    return ceil(2 * log(comb(int(over), int(under)), 2)) >= m


@lru_cache(maxsize=None)
def _min_partial_rounds(modulus: int, t: int) -> int:
    n = modulus.bit_length()
    logp = log(modulus, 2)
    best, best_cost, best_rf = 0, inf, 0
    for rp0 in range(1, 500):
        rp_t = rp0
        for rf_t in range(4, 100, 2):
            if _secure(logp, n, t, rf_t, rp_t):
                rf_m, rp_t = rf_t + 2, int(ceil(rp_t * 1.075))  # security margin (as the script)
                cost = rf_m * t + rp_t
                if cost < best_cost or (cost == best_cost and rf_m < best_rf):
                    best, best_cost, best_rf = rp_t, cost, rf_m
        if best and rp0 > best:  # further R_P can only cost more
            break
    return best


def partial_rounds(f: PrimeField, t: int) -> int:
    """Partial rounds for width ``t`` (security minimum rounded up to a multiple of t)."""
    rp = _min_partial_rounds(f.modulus, t)
    return -(-rp // t) * t


# ------------------------------------------------------------- Grain LFSR
class _Grain:
    """The 80-bit Grain LFSR of the Poseidon reference script, with its self-shrinking output."""

    def __init__(self, n: int, t: int, rf: int, rp: int):
        bits = "01" + "0000" + f"{n:012b}" + f"{t:012b}" + f"{rf:010b}" + f"{rp:010b}" + "1" * 30
        self.s = [int(b) for b in bits]
        for _ in range(160):
            self._step()

    def _step(self) -> int:
        s = self.s
        b = s[62] ^ s[51] ^ s[38] ^ s[23] ^ s[13] ^ s[0]
        s.pop(0)
        s.append(b)
        return b

    def bit(self) -> int:
        while True:
            if self._step():
                return self._step()
            self._step()

    def bits(self, k: int) -> int:
        v = 0
        for _ in range(k):
            v = (v << 1) | self.bit()
        return v


@lru_cache(maxsize=None)
def poseidon_params(curve: str, t: int) -> PoseidonParams:
    """Parameters for ``curve`` ("bn254" | "bls12-381") and width ``t`` in ``2..17``."""
    f = get_field(curve)
    if not 2 <= t <= MAX_T:
        raise CircuitError(f"poseidon: width t must be in 2..{MAX_T}, got {t}")
    p = f.modulus
    n = p.bit_length()
    rp = partial_rounds(f, t)
    g = _Grain(n, t, FULL_ROUNDS, rp)
    C = []
    for _ in range((FULL_ROUNDS + rp) * t):
        v = g.bits(n)
        while v >= p:
            v = g.bits(n)
        C.append(v)
    while True:
        xy = [g.bits(n) % p for _ in range(2 * t)]
        if len(set(xy)) == 2 * t and all((x + y) % p for x in xy[:t] for y in xy[t:]):
            break
    xs, ys = xy[:t], xy[t:]
    M = tuple(tuple(pow(xs[i] + ys[j], -1, p) for j in range(t)) for i in range(t))
    return PoseidonParams(f, t, FULL_ROUNDS, rp, tuple(C), M)


_native.use_params(poseidon_params)  # the C extension's constants come from here

# ------------------------------------------------------------- native


def poseidon_permutation_reference(curve: str, state: Sequence[int]) -> list[int]:
    """The Poseidon permutation, written as the paper reads (the reference for :func:`poseidon_permutation`)."""
    prm = poseidon_params(curve, len(state))
    p = prm.field.modulus
    t = prm.t
    C, M = prm.C, prm.M
    half = prm.full_rounds // 2
    n_rounds = prm.full_rounds + prm.partial_rounds
    s = [x % p for x in state]
    for rnd in range(n_rounds):
        base = rnd * t
        s = [(s[i] + C[base + i]) % p for i in range(t)]
        if rnd < half or rnd >= n_rounds - half:
            s = [pow(x, 5, p) for x in s]
        else:
            s[0] = pow(s[0], 5, p)
        s = [sum(m * x for m, x in zip(row, s)) % p for row in M]
    return s


@lru_cache(maxsize=None)
def _compiled_permutation(curve: str, t: int):
    """An unrolled permutation for one (curve, t): straight-line code, one reduction per cell.

    Generated because the interpreter's loop and generator overhead, not the
    big-integer arithmetic, dominates the reference version (about 8x slower).
    """
    prm = poseidon_params(curve, t)
    half = prm.full_rounds // 2
    n_rounds = prm.full_rounds + prm.partial_rounds
    names = [f"s{i}" for i in range(t)]
    lines = [f"def perm(state, p={prm.field.modulus}, C=C, M=M):", f"    {', '.join(names)}, = [x % p for x in state]"]
    for rnd in range(n_rounds):
        full = rnd < half or rnd >= n_rounds - half
        for i in range(t):
            c = f"C[{rnd * t + i}]"
            if full or i == 0:
                lines.append(f"    s{i} = pow(s{i} + {c}, 5, p)")
            else:
                lines.append(f"    s{i} = s{i} + {c}")
        rows = []
        for i in range(t):
            terms = " + ".join(f"M[{i}][{j}] * s{j}" for j in range(t))
            rows.append(f"({terms}) % p")
        lines.append(f"    {', '.join(names)} = {', '.join(rows)}")
    lines.append(f"    return [{', '.join(names)}]")
    scope: dict = {"C": tuple(prm.C), "M": tuple(tuple(r) for r in prm.M)}
    exec("\n".join(lines), scope)  # noqa: S102 - code generated from constants above, no input
    return scope["perm"]


def poseidon_permutation(curve: str, state: Sequence[int]) -> list[int]:
    """The Poseidon permutation of ``state`` (width ``t = len(state)``); equals the reference.

    Runs the C extension (:mod:`ispc_core.zk._native`) when it was built, else
    the unrolled pure-Python version.
    """
    if _native.AVAILABLE:
        return _native.permutation(curve, state)
    return _compiled_permutation(curve, len(state))(state)


def poseidon(inputs: Sequence[int], curve: str = "bn254", init_state: int = 0) -> int:
    """circomlib ``Poseidon(inputs)`` (1..16 inputs); ``init_state`` as circomlibjs' ``initState``."""
    if not 1 <= len(inputs) <= MAX_T - 1:
        raise CircuitError(f"poseidon: 1..{MAX_T - 1} inputs, got {len(inputs)}")
    return poseidon_permutation(curve, [init_state, *inputs])[0]


def _chunks(xs: Sequence[int]) -> list[list]:
    n = max(1, -(-len(xs) // SPONGE_RATE))
    out = []
    for k in range(n):
        c = list(xs[k * SPONGE_RATE : (k + 1) * SPONGE_RATE])
        out.append(c + [0] * (SPONGE_RATE - len(c)))
    return out


def poseidon_sponge(xs: Sequence[int], curve: str = "bn254") -> int:
    """Hash any number of field elements (construction in the module docstring)."""
    if _native.AVAILABLE:  # one native call for the whole sponge
        return _native.sponge(xs, curve)
    p = get_field(curve).modulus
    state = [len(xs) % p] + [0] * SPONGE_RATE
    for chunk in _chunks(xs):
        state = [state[0]] + [(state[1 + i] + chunk[i]) % p for i in range(SPONGE_RATE)]
        state = poseidon_permutation(curve, state)
    return state[0]


# ------------------------------------------------------------- gadget
#: a state cell whose linear combination grows past this many wires becomes a wire of its own
MAX_LC_TERMS = 10


def _wires(x: LC) -> int:
    return len(x.terms) - (0 in x.terms)


def _materialize(cb: CircuitBuilder, x: LC, name: str) -> LC:
    """A fresh wire equal to ``x`` (one linear constraint), so later uses of it stay one term long."""
    w = cb.witness(name, hint=lambda get, x=x: get(x))
    cb.assert_equal(w, x, name)
    return w


def _pow5(cb: CircuitBuilder, x: LC, name: str) -> LC:
    if _wires(x) > 1:  # x is used three times below: make it one wire first
        x = _materialize(cb, x, f"{name}.in")
    x2 = cb.mul(x, x, f"{name}.x2")
    x4 = cb.mul(x2, x2, f"{name}.x4")
    return cb.mul(x4, x, f"{name}.x5")


def poseidon_permutation_gadget(cb: CircuitBuilder, state: Sequence[Operand], curve: str | None = None, name: str = "poseidon") -> list[LC]:
    """In-circuit permutation: 3 constraints per S-box; linear layers are free (folded into LCs)."""
    curve = curve or cb.field.name
    if get_field(curve) != cb.field:
        raise CircuitError(f"poseidon gadget for {curve} in a {cb.field.name} circuit")
    prm = poseidon_params(curve, len(state))
    t, C, M = prm.t, prm.C, prm.M
    half = prm.full_rounds // 2
    n_rounds = prm.full_rounds + prm.partial_rounds
    s = [cb._lc(x) for x in state]
    for rnd in range(n_rounds):
        s = [s[i] + C[rnd * t + i] for i in range(t)]
        full = rnd < half or rnd >= n_rounds - half
        s = [_pow5(cb, x, f"{name}.r{rnd}.s{i}") if (full or i == 0) else x for i, x in enumerate(s)]
        s = [sum((x * m for m, x in zip(row, s)), cb.const(0)) for row in M]
        s = [_materialize(cb, x, f"{name}.r{rnd}.m{i}") if _wires(x) > MAX_LC_TERMS else x for i, x in enumerate(s)]
    # Materialize outputs as wires so later LCs stay small.
    out = []
    for i, x in enumerate(s):
        w = cb.witness(f"{name}.out{i}", hint=lambda get, x=x: get(x))
        cb.assert_equal(w, x, f"{name}.out{i}")
        out.append(w)
    return out


def poseidon_gadget(cb: CircuitBuilder, inputs: Sequence[Operand], name: str = "poseidon", init_state: Operand = 0) -> LC:
    """In-circuit circomlib ``Poseidon(inputs)``; returns the output wire."""
    if not 1 <= len(inputs) <= MAX_T - 1:
        raise CircuitError(f"poseidon: 1..{MAX_T - 1} inputs, got {len(inputs)}")
    return poseidon_permutation_gadget(cb, [init_state, *inputs], name=name)[0]


def poseidon_sponge_gadget(cb: CircuitBuilder, xs: Sequence[Operand], name: str = "sponge") -> LC:
    """In-circuit :func:`poseidon_sponge` (the number of elements is fixed by the circuit)."""
    state: list = [cb.const(len(xs))] + [cb.const(0)] * SPONGE_RATE
    for k, chunk in enumerate(_chunks(list(xs))):
        state = [state[0]] + [cb._lc(state[1 + i]) + cb._lc(chunk[i]) for i in range(SPONGE_RATE)]
        state = poseidon_permutation_gadget(cb, state, name=f"{name}.p{k}")
    return state[0]
