"""Poseidon commitments to committed inputs and committed weights (``input_visibility`` / ``weights``).

Every committed value ``v`` is range-checked in the circuit to a signed width
``b`` (``-2^(b-1) <= v < 2^(b-1)``: an input to its declared range, which the
circuit checks anyway; a weight to its tensor's largest magnitude). So
``v + 2^(b-1)`` is a ``b``-bit unsigned integer, and consecutive values are
packed little-endian into field elements of at most ``bits(r) − 2`` bits —
``p_j = Σ_i (v_i + 2^(b_i-1)) · 2^(o_i)`` — which is linear (no constraint) and,
given the range checks, injective. The commitment with the salt ``t`` is

    ``C = PoseidonSponge([t, p_0, p_1, …])``

(:func:`ispc_core.zk.poseidon.poseidon_sponge` of the circuit's curve: width 5,
rate 4). In the circuit the values and the salt are private wires, ``C`` is a
public input, and :func:`ispc_core.zk.poseidon.poseidon_sponge_gadget` proves
``C`` is the sponge of their packing (about 440 constraints per 4 packed
elements, i.e. per ~56 values of 18 bits). Binding rests on Poseidon's
collision resistance and the range checks: a witness with any other value
(or salt) has another ``C``. Hiding rests on the salt: with ``t = 0`` the
commitment is a plain hash, which hides only what cannot be guessed (a
model's weights, but not a yes/no input); give a random salt (below the
field modulus) to hide the rest.
"""

from __future__ import annotations

from typing import Sequence

from ispc_core.zk.poseidon import poseidon_sponge, poseidon_sponge_gadget
from ispc_core.zk.r1cs import LC, CircuitBuilder

from .errors import InputError

__all__ = ["pack", "commit", "commit_gadget", "check_salt"]


def check_salt(salt: int, r: int, what: str) -> int:
    """The salt as a field element; :class:`InputError` for anything but an int in ``[0, r)``."""
    if not isinstance(salt, int) or isinstance(salt, bool) or not 0 <= salt < r:
        raise InputError(f"the {what} salt must be an integer in [0, field modulus), got {salt!r}", name=what)
    return salt


def _layout(widths: Sequence[int], room: int) -> list[list[tuple[int, int]]]:
    """``[(index, bit offset), …]`` per packed element, greedily filled up to ``room`` bits."""
    out: list[list[tuple[int, int]]] = []
    used = room
    for i, b in enumerate(widths):
        if used + b > room:
            out.append([])
            used = 0
        out[-1].append((i, used))
        used += b
    return out


def pack(values: Sequence, widths: Sequence[int], room: int) -> list:
    """The packed elements of ``values`` (ints, or linear combinations) with signed widths ``widths``.

    >>> pack([-1, 1, 0], [2, 2, 2], 4)   # (−1+2) + (1+2)·2^2, then 0+2
    [13, 2]
    """
    out = []
    for chunk in _layout(widths, room):
        acc = 0
        for i, off in chunk:
            acc = acc + (values[i] + (1 << (widths[i] - 1))) * (1 << off)
        out.append(acc)
    return out


def commit(values: Sequence[int], widths: Sequence[int], salt: int, curve: str, r: int, room: int) -> int:
    """``PoseidonSponge([salt, *pack(values)])`` natively (values as signed integers)."""
    return poseidon_sponge([salt % r] + [p % r for p in pack([int(v) for v in values], widths, room)], curve)


def commit_gadget(cb: CircuitBuilder, salt: LC, wires: Sequence[LC], widths: Sequence[int], public: LC, name: str) -> None:
    """Constrain ``public = PoseidonSponge([salt, *pack(wires)])`` (the wires already range-checked to ``widths``)."""
    packed = [cb._lc(p) for p in pack(list(wires), widths, cb.field.bits - 2)]
    c = poseidon_sponge_gadget(cb, [salt, *packed], name=name)
    cb.assert_equal(c, public, f"{name} = public commitment")
