"""A Beneš permutation network in R1CS: the witness routes tuples to any order, and can do nothing else.

Why a network and not a permutation argument: a grand-product argument needs a
random challenge fixed after the accesses, which Groth16 gets only by
hashing every routed element in the circuit (Poseidon: ~75 constraints per
field element absorbed). A switch costs one boolean plus one product per
routed element, so a tuple pays about ``log2 N`` constraints per element: far
less for the sizes a transaction's execution reaches (N ≤ 2^16). libsnark's
TinyRAM uses an arbitrary-size Waksman network for the same job; this is its
power-of-two parent (Beneš, 1964), padded to a power of two (``N/2·(2k−1)``
switches for ``N = 2^k``, against ``N·k − N + 1`` for AS-Waksman).

Public inputs: none. Witness: one boolean per switch. Constraints, per
switch with inputs ``x, y`` and setting ``s``: ``s·(s − 1) = 0`` and, per
routed element, ``t = s·(y − x)``; the outputs are ``x + t`` and ``y − t``
(linear, free). So the outputs are always a permutation of the inputs, as
tuples (every element of a tuple moves with the same switches), whatever the
witness: no witness exists whose outputs are not a permutation of the inputs.

Routing (:func:`route`) is Waksman's looping algorithm: for the permutation
``out[j] = in[perm[j]]``, each input switch sends one of its pair to the upper
subnetwork and the other to the lower, each output switch takes one from
each, and the two-colouring of the pairs follows the cycles.

Example::

    outs = permute(cb, [[k0, v0], [k1, v1], ...], order_hint)   # order_hint(get) -> perm
"""

from __future__ import annotations

from typing import Callable, Sequence

from ispc_core.zk.r1cs import LC, CircuitBuilder

__all__ = ["switch_count", "route", "apply_route", "permute"]


def switch_count(n: int) -> int:
    """Switches of the network on ``n`` inputs (a power of two >= 2): ``n/2 · (2·log2 n − 1)``."""
    k = n.bit_length() - 1
    if n < 2 or n != 1 << k:
        raise ValueError(f"a Beneš network has a power-of-two size >= 2, not {n}")
    return (n // 2) * (2 * k - 1)


def route(perm: Sequence[int]) -> list[int]:
    """Switch settings (0 straight, 1 crossed), in :func:`permute`'s order, realising ``out[j] = in[perm[j]]``."""
    n = len(perm)
    switch_count(n)
    if sorted(perm) != list(range(n)):
        raise ValueError("route: not a permutation")
    out: list[int] = []
    _route(list(perm), out)
    return out


def _route(perm: list[int], out: list[int]) -> None:
    n = len(perm)
    if n == 2:
        out.append(1 if perm[0] == 1 else 0)
        return
    half = n // 2
    inv = [0] * n
    for j, i in enumerate(perm):
        inv[i] = j
    side = [-1] * n  # per input: 0 upper subnetwork, 1 lower
    for start in range(0, n, 2):  # output switches, each takes one value from each subnetwork
        if side[perm[start]] >= 0:
            continue
        j = start
        while True:
            i = perm[j]  # output j is fed from the upper subnetwork
            if side[i] >= 0:
                break
            side[i] = 0
            side[i ^ 1] = 1  # its partner input goes lower
            j = inv[i ^ 1] ^ 1  # the partner of the output that partner feeds must come from above
    in_settings = [side[2 * s] for s in range(half)]  # 1: the even input goes lower (crossed)
    up, lo = [0] * half, [0] * half
    out_settings = []
    for s in range(half):
        a, b = perm[2 * s], perm[2 * s + 1]
        if side[a] == 0:  # output 2s from above, 2s+1 from below: straight
            out_settings.append(0)
            up[s], lo[s] = a // 2, b // 2
        else:
            out_settings.append(1)
            up[s], lo[s] = b // 2, a // 2
    out.extend(in_settings)
    _route(up, out)
    _route(lo, out)
    out.extend(out_settings)


def apply_route(values: Sequence, settings: Sequence[int]) -> list:
    """Run the network on plain values (the reference the circuit is tested against)."""
    it = iter(settings)
    res = _apply(list(values), it)
    if next(it, None) is not None:
        raise ValueError("apply_route: more settings than switches")
    return res


def _swap(x, y, s):
    return (y, x) if s else (x, y)


def _apply(vals: list, it) -> list:
    n = len(vals)
    if n == 2:
        return list(_swap(vals[0], vals[1], next(it)))
    half = n // 2
    up, lo = [None] * half, [None] * half
    for s in range(half):
        up[s], lo[s] = _swap(vals[2 * s], vals[2 * s + 1], next(it))
    up = _apply(up, it)
    lo = _apply(lo, it)
    res = [None] * n
    for s in range(half):
        res[2 * s], res[2 * s + 1] = _swap(up[s], lo[s], next(it))
    return res


def permute(
    cb: CircuitBuilder,
    tuples: Sequence[Sequence[LC]],
    order: Callable[[Callable], Sequence[int]],
    *,
    name: str = "perm",
) -> list[list[LC]]:
    """Route ``tuples`` (a power-of-two count of equal-length tuples) to the order ``order(get)`` chooses.

    ``order`` is the witness hint: given ``get`` it returns ``perm`` with
    ``out[j] = tuples[perm[j]]``. The constraints hold for any switch setting
    (see the module docstring); only the outputs' order is the prover's.
    """
    n = len(tuples)
    switch_count(n)
    width = len(tuples[0])
    cache: dict = {}

    def settings(get):
        # one routing per witness: the builder's value list is new for each witness (kept referenced,
        # so its id is never reused while cached)
        if cache.get("values") is not cb._values:
            cache["values"], cache["s"] = cb._values, route(list(order(get)))
        return cache["s"]

    counter = [0]

    def switch(x: Sequence[LC], y: Sequence[LC]) -> tuple[list[LC], list[LC]]:
        idx = counter[0]
        counter[0] += 1
        s = cb.witness(f"{name}.s{idx}", hint=lambda get, idx=idx: settings(get)[idx])
        cb.constrain(s, s - 1, 0, f"{name}.s{idx} boolean")
        ox, oy = [], []
        for e in range(width):
            t = cb.mul(s, y[e] - x[e], f"{name}.t{idx}.{e}", f"{name}: switch {idx}")
            ox.append(x[e] + t)
            oy.append(y[e] - t)
        return ox, oy

    def net(vals: list) -> list:
        m = len(vals)
        if m == 2:
            return list(switch(vals[0], vals[1]))
        half = m // 2
        up, lo = [None] * half, [None] * half
        for s in range(half):
            up[s], lo[s] = switch(vals[2 * s], vals[2 * s + 1])
        up = net(up)
        lo = net(lo)
        res = [None] * m
        for s in range(half):
            res[2 * s], res[2 * s + 1] = switch(up[s], lo[s])
        return res

    return net([list(map(cb._lc, t)) for t in tuples])
