"""Native (C) Poseidon permutation and sponge; a thin wrapper over the ``_poseidon`` extension.

``AVAILABLE`` is False when the extension could not be built or imported (no C
compiler at install time); :mod:`ispc_core.zk.poseidon` then keeps its pure-Python
permutation. ``IMPORT_ERROR`` holds the reason.

The C code runs the optimized Poseidon schedule (sparse partial rounds,
:mod:`._opt`) in Montgomery arithmetic on 52-bit limbs; the constants are computed from
:func:`ispc_core.zk.poseidon.poseidon_params` (which that module hands over with
:func:`use_params`, so this package never imports it back) once per ``(curve, t)`` and kept in
a capsule. Results equal :func:`ispc_core.zk.poseidon.poseidon_permutation_reference`
(inputs are reduced mod r, as the Python version does).
"""

from __future__ import annotations

from typing import Sequence

try:
    from . import _poseidon  # type: ignore[attr-defined]
except ImportError as exc:  # pragma: no cover - depends on the build
    _poseidon = None
    IMPORT_ERROR: ImportError | None = exc
else:
    IMPORT_ERROR = None

AVAILABLE = _poseidon is not None

__all__ = ["AVAILABLE", "IMPORT_ERROR", "context", "permutation", "sponge", "use_params"]

_CONTEXTS: dict = {}
_PARAMS = None  # the parameter source, set by ispc_core.zk.poseidon through use_params()


def use_params(source) -> None:
    """Set where round constants come from: ``source(curve, t) -> PoseidonParams`` (called by ``ispc_core.zk.poseidon``)."""
    global _PARAMS
    _PARAMS = source


def _make_context(curve: str, t: int):
    from ._opt import optimized_constants

    if _PARAMS is None:
        raise ImportError("native Poseidon: no parameter source (import ispc_core.zk.poseidon first)")
    prm = _PARAMS(curve, t)  # validates curve and t (UnknownCurve / CircuitError)
    k = optimized_constants(prm)
    return _poseidon.make_context(
        prm.field.modulus,
        t,
        prm.full_rounds // 2,
        prm.partial_rounds,
        k["first"],
        k["last"],
        [x for row in k["M"] for x in row],
        [x for row in k["P"] for x in row],
        k["u"],
        k["k"],
        [x for row in k["S"] for x in row],
    )


def context(curve: str, t: int):
    """The cached native context (capsule) of ``(curve, t)``."""
    if _poseidon is None:
        raise ImportError(f"native Poseidon unavailable: {IMPORT_ERROR}")
    ctx = _CONTEXTS.get((curve, t))
    if ctx is None:
        ctx = _CONTEXTS[(curve, t)] = _make_context(curve, t)
    return ctx


def permutation(curve: str, state: Sequence[int]) -> list[int]:
    """Poseidon permutation of ``state`` (width ``len(state)``), as :func:`poseidon_permutation`."""
    ctx = _CONTEXTS.get((curve, len(state)))
    if ctx is None:
        ctx = context(curve, len(state))
    return _poseidon.permute(ctx, state)


def sponge(xs: Sequence[int], curve: str = "bn254") -> int:
    """:func:`ispc_core.zk.poseidon.poseidon_sponge` in one native call (width 5, rate 4)."""
    ctx = _CONTEXTS.get((curve, 5))
    if ctx is None:
        ctx = context(curve, 5)
    return _poseidon.sponge(ctx, xs)
