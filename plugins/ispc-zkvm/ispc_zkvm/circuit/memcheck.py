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
    written_first: bool = False,
) -> list[list[LC]]:
    """Constrain ``accesses`` ``(addr, ts, w, v)`` to be a consistent memory history (see the module docstring).

    ``v`` is one value or a list of values (a tuple stored at each address: a program ROM's descriptor).
    ``written_first``: every address's first access must be a write (a ROM whose entries are all
    initial writes: a read of a pc with no entry has no witness) instead of reading zero.
    Pads to a power of two with writes of 0 at address ``2^addr_bits − 1`` (reserved: the caller never
    uses it). Returns the sorted tuples ``[addr, ts, w, *values]``.
    """
    n = len(accesses)
    size = padded_size(n)
    if size >= 1 << ts_bits:
        raise ValueError(f"{name}: {size} accesses do not fit {ts_bits}-bit times")
    pad_addr = (1 << addr_bits) - 1
    rows = []
    for a, t, w, v in accesses:
        vals = v if isinstance(v, (list, tuple)) else [v]
        rows.append([cb._lc(a), cb._lc(t), cb._lc(w), *map(cb._lc, vals)])
    width = len(rows[0]) - 3
    for p in range(n, size):
        rows.append([cb.const(pad_addr), cb.const(p), cb.const(1)] + [cb.const(0)] * width)

    def order(get):
        keys = [(get(r[0]), get(r[1])) for r in rows]
        return sorted(range(size), key=lambda i: keys[i])

    s = permute(cb, rows, order, name=f"{name}.net")
    bits = max(addr_bits, ts_bits)
    w0 = s[0][2]
    if written_first:
        cb.assert_equal(w0, 1, f"{name}: the first access in order is a write")
    else:
        for e in range(width):
            cb.constrain(1 - w0, s[0][3 + e], 0, f"{name}: the first access reads zero unless it writes")
    for i in range(size - 1):
        a, t = s[i][0], s[i][1]
        a1, t1, w1 = s[i + 1][0], s[i + 1][1], s[i + 1][2]
        same = is_equal(cb, a1, a, f"{name}.same{i}")
        addr_gap = a1 - a - 1
        d = addr_gap + cb.mul(same, (t1 - t - 1) - addr_gap, f"{name}.d{i}", f"{name}: pair {i} order")
        range_check(cb, d, bits, f"{name}.order{i}")
        if written_first:
            # a read follows an access to its own address, and carries its values
            cb.constrain(1 - w1, 1 - same, 0, f"{name}: read {i + 1} in order has an entry before it")
            for e in range(width):
                cb.constrain(1 - w1, s[i + 1][3 + e] - s[i][3 + e], 0, f"{name}: read {i + 1} in order, field {e}, is the entry's")
            continue
        rd = cb.mul(1 - w1, same, f"{name}.r{i}", f"{name}: pair {i} read flag")
        for e in range(width):
            v, v1 = s[i][3 + e], s[i + 1][3 + e]
            cb.constrain(rd, v1 - v, 0, f"{name}: access {i + 1} in order reads the value before it")
            cb.constrain((1 - w1) - rd, v1, 0, f"{name}: access {i + 1} in order is a first read of zero")
    return s
