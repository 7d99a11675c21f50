"""Memory consistency by sorting: every read returns the last value written at its address, or the initial one.

Public inputs: none (the accesses are wires of the step circuit). Witness: the
accesses routed into (address, time) order through :mod:`.network`, and per
adjacent pair an equality flag and a range-check decomposition.

The accesses, in execution order, are tuples ``(addr, ts, w, v)``: ``ts`` is the
access's position (a constant of the circuit, so distinct and increasing), ``w``
is 1 for a write and 0 for a read (a constant: an instruction's accesses are
loads or stores by its kind), ``v`` the value read or written. The caller
guarantees ``0 <= addr < 2^addr_bits``. An initial value (a data segment
byte, a global's initialiser) is a write at the start, before any step.

Constraints, on the sorted tuples ``(a_i, t_i, w_i, v_i)`` and each pair ``i, i+1``:

1. ``same_i = [a_{i+1} = a_i]`` (IsZero: two constraints);
2. ``d_i = same_i ? t_{i+1} − t_i − 1 : a_{i+1} − a_i − 1`` is in ``[0, 2^B)``,
   ``B = max(addr_bits, ts_bits)``: sorted by address, then by time (one
   product and ``B + 1`` for the range check);
3. ``r_i = (1 − w_{i+1})·same_i`` and ``r_i·(v_{i+1} − v_i) = 0``: a read returns
   the value of the previous access to its address (two);
4. ``((1 − w_{i+1}) − r_i)·v_{i+1} = 0`` and ``(1 − w_0)·v_0 = 0``: the first
   access to an address with no initial write reads zero (one).

So a read returns the last write before it at its address (or zero), and no
witness exists for a read of any other value: the network fixes the multiset
of tuples, and 1–4 fix their order and the values read. Cost per access: the
network's ``4·log2 N`` products plus a boolean per switch, and ``B + 7``.

Example::

    check_memory(cb, [(addr, 7, 0, value), ...], addr_bits=17, ts_bits=12)
"""

from __future__ import annotations

from typing import Sequence

from ispc_core.zk.gadgets import is_equal, range_check
from ispc_core.zk.r1cs import LC, CircuitBuilder

from .network import permute

__all__ = ["check_memory", "padded_size"]


def padded_size(n: int) -> int:
    """The network size for ``n`` accesses: the next power of two (at least 2)."""
    size = 2
    while size < n:
        size *= 2
    return size


def check_memory(
    cb: CircuitBuilder,
    accesses: Sequence[tuple],
    *,
    addr_bits: int,
    ts_bits: int,
    name: str = "mem",
) -> list[list[LC]]:
    """Constrain ``accesses`` ``(addr, ts, w, v)`` to be a consistent memory history (see the module docstring).

    Pads to a power of two with writes of 0 at address ``2^addr_bits − 1``
    (reserved: the caller never uses it). Returns the sorted tuples.
    """
    n = len(accesses)
    size = padded_size(n)
    if size >= 1 << ts_bits:
        raise ValueError(f"{name}: {size} accesses do not fit {ts_bits}-bit times")
    pad_addr = (1 << addr_bits) - 1
    rows = [[cb._lc(a), cb._lc(t), cb._lc(w), cb._lc(v)] for a, t, w, v in accesses]
    for p in range(n, size):
        rows.append([cb.const(pad_addr), cb.const(p), cb.const(1), cb.const(0)])

    def order(get):
        keys = [(get(r[0]), get(r[1])) for r in rows]
        return sorted(range(size), key=lambda i: keys[i])

    s = permute(cb, rows, order, name=f"{name}.net")
    bits = max(addr_bits, ts_bits)
    a0, _, w0, v0 = s[0]
    cb.constrain(1 - w0, v0, 0, f"{name}: the first access reads zero unless it writes")
    for i in range(size - 1):
        a, t, _, v = s[i]
        a1, t1, w1, v1 = s[i + 1]
        same = is_equal(cb, a1, a, f"{name}.same{i}")
        addr_gap = a1 - a - 1
        d = addr_gap + cb.mul(same, (t1 - t - 1) - addr_gap, f"{name}.d{i}", f"{name}: pair {i} order")
        range_check(cb, d, bits, f"{name}.order{i}")
        rd = cb.mul(1 - w1, same, f"{name}.r{i}", f"{name}: pair {i} read flag")
        cb.constrain(rd, v1 - v, 0, f"{name}: access {i + 1} in order reads the value before it")
        cb.constrain((1 - w1) - rd, v1, 0, f"{name}: access {i + 1} in order is a first read of zero")
    return s
