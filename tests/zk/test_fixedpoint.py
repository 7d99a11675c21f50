"""Fixed-point gadgets: honest values satisfy them, every other quotient / sign / output has no witness.

The forger's witness is made the way a cheating prover would make it: pin one
wire to another value and let every other hint recompute from it.
"""

from __future__ import annotations

import pytest

from ispc_core.zk.errors import CircuitError, WitnessError
from ispc_core.zk.fixedpoint import (
    FixedPointOverflow,
    bits_for,
    clip,
    from_field,
    leaky_relu,
    relu,
    rescale,
    round_div,
    signed_range,
    to_field,
)
from ispc_core.zk.r1cs import CircuitBuilder

R = CircuitBuilder("bn254").r


def _wire(lc):
    (w,) = lc.terms
    return w


def forged(cb: CircuitBuilder, pins: dict[int, int]) -> list[int]:
    """Witness with ``pins`` (builder wire -> value) forced and every other hint recomputed."""
    values = [None] * len(cb._values)
    values[0] = 1
    for w in range(len(cb._values)):
        if cb._kind[w] in ("pub", "prv"):
            values[w] = cb._values[w]
    for w, v in pins.items():
        values[w] = v % cb.r
    cb._values = values
    return cb.witness_values()


def test_signed_field_mapping():
    for x in (0, 1, -1, 12345, -(2**100)):
        assert from_field(to_field(x, R), R) == x
    assert to_field(-1, R) == R - 1
    assert bits_for(0) == 1 and bits_for(1) == 2 and bits_for(127) == 8 and bits_for(128) == 9
    assert [round_div(v, 2) for v in (5, 6, -5, -6, -7)] == [1, 2, -1, -1, -2]


@pytest.mark.parametrize("x", [0, 1, -1, 2**20 + 3, -(2**20) - 3, 65535, -65536, 12345678])
def test_rescale_is_round_to_nearest_and_satisfied(x):
    cb = CircuitBuilder("bn254")
    xi = cb.public_input("x", to_field(x, R))
    q, nonneg = rescale(cb, xi, 8, 24, "rs")
    r1cs, wit = cb.build()
    r1cs.check(wit)
    assert len(r1cs.constraints) == 8 + 24 + 2
    assert from_field(cb.get(q), R) == round_div(x, 8)
    assert cb.get(nonneg) == int(round_div(x, 8) >= 0)


@pytest.mark.parametrize("x,delta", [(1000, 1), (1000, -1), (-77777, 1), (5, 3), (0, -1)])
def test_another_quotient_has_no_witness(x, delta):
    """The remainder is range-checked: q +- delta forces rem outside [0, 2^k)."""
    cb = CircuitBuilder("bn254")
    xi = cb.public_input("x", to_field(x, R))
    q, _ = rescale(cb, xi, 8, 24, "rs")
    r1cs = cb.compile()
    r1cs.check(cb.witness_values())
    bad = forged(cb, {_wire(q): to_field(round_div(x, 8) + delta, R)})
    assert not r1cs.is_satisfied(bad)


def _unsound_rescale(cb, x, k, b):
    """circomlib-ml's rescale: a quotient wire and a remainder wire, the remainder left unconstrained."""
    q = cb.witness("q", hint=lambda get: to_field(round_div(from_field(get(x), R), k), R))
    rem = cb.witness("rem", hint=lambda get: get(x + (1 << (k - 1)) - q * (1 << k)))
    cb.assert_equal(x + (1 << (k - 1)), q * (1 << k) + rem, "div")
    return q


def test_the_forger_test_catches_an_unconstrained_remainder():
    """The same forgery passes the circomlib-ml construction: the test above would catch that bug."""
    cb = CircuitBuilder("bn254")
    xi = cb.public_input("x", 1000)
    q = _unsound_rescale(cb, xi, 8, 24)
    r1cs = cb.compile()
    bad = forged(cb, {_wire(q): round_div(1000, 8) + 5})
    assert r1cs.is_satisfied(bad)  # a wrong quotient is "proven"


def test_a_value_out_of_range_has_no_witness_and_names_the_gadget():
    cb = CircuitBuilder("bn254")
    xi = cb.public_input("x", to_field(-(2**40), R))
    rescale(cb, xi, 8, 24, "layer1[3]")
    with pytest.raises(FixedPointOverflow, match=r"layer1\[3\]\.q: value -4294967296 is outside") as e:
        cb.build()
    assert isinstance(e.value, WitnessError) and e.value.limit == 2**23
    with pytest.raises(CircuitError):
        rescale(CircuitBuilder("bn254"), 1, 200, 60)


@pytest.mark.parametrize("x", [-300, -1, 0, 1, 299])
def test_signed_range_and_relu(x):
    cb = CircuitBuilder("bn254")
    xi = cb.public_input("x", to_field(x, R))
    y = relu(cb, xi, b=10, name="relu")
    r1cs, wit = cb.build()
    r1cs.check(wit)
    assert len(r1cs.constraints) == 10 + 2
    assert from_field(cb.get(y), R) == max(x, 0)
    # flipping the sign bit (everything else recomputed) has no witness
    sign = next(w for w, n in enumerate(cb._names) if n == "relu.sign.bit[9]")
    assert not r1cs.is_satisfied(forged(cb, {sign: 1 - cb._values[sign]}))


def test_signed_range_refuses_out_of_range():
    cb = CircuitBuilder("bn254")
    signed_range(cb, cb.public_input("x", 512), 10, "s")
    with pytest.raises(FixedPointOverflow):
        cb.build()
    cb = CircuitBuilder("bn254")
    signed_range(cb, cb.public_input("x", to_field(-512, R)), 10, "s")
    cb.build()[0].check(cb.witness_values())


@pytest.mark.parametrize("x", [-1000, -3, 0, 7, 1000])
def test_leaky_relu(x):
    cb = CircuitBuilder("bn254")
    xi = cb.public_input("x", to_field(x, R))
    alpha_q = round(0.1 * 256)
    y = leaky_relu(cb, xi, alpha_q, 8, b=12, bq=12, name="lk")
    r1cs, wit = cb.build()
    r1cs.check(wit)
    want = x if x >= 0 else round_div(alpha_q * x, 8)
    assert from_field(cb.get(y), R) == want


@pytest.mark.parametrize("x", [-50, -10, 0, 10, 20, 50])
def test_clip(x):
    cb = CircuitBuilder("bn254")
    xi = cb.public_input("x", to_field(x, R))
    y = clip(cb, xi, -10, 20, 8, "c")
    r1cs, wit = cb.build()
    r1cs.check(wit)
    assert from_field(cb.get(y), R) == min(max(x, -10), 20)
    assert len(r1cs.constraints) == 2 * (8 + 2)
    honest = list(cb._values)
    for name in ("c.lo.bit[7]", "c.hi.bit[7]"):
        w = next(i for i, n in enumerate(cb._names) if n == name)
        assert not r1cs.is_satisfied(forged(cb, {w: 1 - honest[w]}))
