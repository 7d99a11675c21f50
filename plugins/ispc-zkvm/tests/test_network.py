"""The Beneš network and the memory checker: they accept every honest history and no forged one."""

from __future__ import annotations

import itertools
import random

import pytest

from ispc_core.zk.errors import ConstraintUnsatisfied
from ispc_core.zk.r1cs import CircuitBuilder
from ispc_zkvm.circuit.memcheck import check_memory
from ispc_zkvm.circuit.network import apply_route, permute, route, switch_count


@pytest.mark.parametrize("n", [2, 4, 8, 32, 256])
def test_routing_realises_every_permutation(n):
    rng = random.Random(n)
    perms = [list(p) for p in itertools.permutations(range(n))] if n <= 4 else []
    for _ in range(40):
        p = list(range(n))
        rng.shuffle(p)
        perms.append(p)
    for p in perms:
        s = route(p)
        assert len(s) == switch_count(n) and set(s) <= {0, 1}
        assert apply_route(list(range(n)), s) == p


def test_sizes_that_are_not_powers_of_two_are_refused():
    for n in (0, 1, 3, 6, 12):
        with pytest.raises(ValueError):
            switch_count(n)
    with pytest.raises(ValueError, match="not a permutation"):
        route([0, 0, 1, 2])


def _network(values, order):
    cb = CircuitBuilder("bn254")
    ins = [[cb.private_input(f"x{i}", v), cb.private_input(f"y{i}", 10 * v + 1)] for i, v in enumerate(values)]
    outs = permute(cb, ins, order)
    return cb, outs


def test_the_gadget_sorts_tuples_together():
    values = [5, 3, 9, 1, 7, 2, 8, 6]
    cb, outs = _network(values, lambda get: sorted(range(8), key=lambda i: values[i]))
    r1cs, w = cb.build()
    r1cs.check(w)
    assert [cb.get(o[0]) for o in outs] == sorted(values)
    assert [cb.get(o[1]) for o in outs] == [10 * v + 1 for v in sorted(values)]
    assert len(r1cs.constraints) == switch_count(8) * 3  # a boolean and one product per element


def test_no_switch_setting_duplicates_or_changes_a_value():
    """Every boolean setting of the 6 switches of a 4-input network outputs a permutation: a forged
    output (a duplicated value, a changed one) is reachable by none; a non-boolean setting fails."""
    values = [11, 22, 33, 44]
    reachable = {tuple(apply_route(values, s)) for s in itertools.product((0, 1), repeat=switch_count(4))}
    assert reachable == set(itertools.permutations(values))
    cb, outs = _network(values, lambda get: [1, 0, 3, 2])
    r1cs, w = cb.build()
    r1cs.check(w)
    switch_wire = next(i for i, n in enumerate(r1cs.wire_names) if n == "perm.s0")
    for forged in (2, cb.r - 1):
        bad = list(w)
        bad[switch_wire] = forged  # a "half-crossed" switch would blend two values
        with pytest.raises(ConstraintUnsatisfied, match="perm.s0 boolean"):
            r1cs.check(bad)


def _history(rows, order=None):
    cb = CircuitBuilder("bn254")
    acc = [(cb.private_input(f"a{i}", a), t, w, cb.private_input(f"v{i}", v)) for i, (a, t, w, v) in enumerate(rows)]
    if order is None:
        s = check_memory(cb, acc, addr_bits=8, ts_bits=8)
    else:
        from ispc_zkvm.circuit import memcheck

        real = memcheck.permute
        memcheck.permute = lambda cb_, rows_, _order, name: real(cb_, rows_, lambda get: order, name=name)
        try:
            s = check_memory(cb, acc, addr_bits=8, ts_bits=8)
        finally:
            memcheck.permute = real
    return cb, s


HONEST = [(3, 0, 1, 5), (3, 1, 0, 5), (7, 2, 0, 0), (3, 3, 1, 9), (3, 4, 0, 9), (7, 5, 1, 4), (7, 6, 0, 4)]


def test_an_honest_history_is_accepted_and_sorted():
    cb, s = _history(HONEST)
    r1cs, w = cb.build()
    r1cs.check(w)
    got = [(cb.get(a), cb.get(t)) for a, t, _, _ in s]
    assert got == sorted(got) and got[-1][0] == 255  # padded with the reserved address


@pytest.mark.parametrize("rows, broken", [
    ([(3, 0, 1, 5), (3, 1, 0, 6)], "reads the value before it"),              # a read of a value never written
    ([(3, 0, 1, 5), (3, 1, 1, 9), (3, 2, 0, 5)], "reads the value before it"),  # a stale read
    ([(7, 0, 0, 4)], "zero"),                                          # a first read of nonzero
    ([(3, 0, 1, 5), (4, 1, 0, 5)], "zero"),                            # a value read at the wrong address
])
def test_a_forged_read_has_no_witness_in_any_order(rows, broken):
    """The honest routing fails the named constraint, and so does every other order of the (padded) tuples."""
    from ispc_zkvm.circuit.memcheck import padded_size

    cb, _ = _history(rows)
    r1cs, w = cb.build()
    with pytest.raises(ConstraintUnsatisfied, match=broken):
        r1cs.check(w)
    for perm in itertools.permutations(range(padded_size(len(rows)))):
        cb, _ = _history(rows, order=list(perm))
        r1cs, w = cb.build()
        assert not r1cs.is_satisfied(w), perm
