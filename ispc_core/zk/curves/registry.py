"""Registry of curve backends: ``register_backend`` / ``get_backend``.

The core's plugin hook ``ispc_curve_backends`` feeds :func:`register_backend`;
the built-in backends (reference for both curves, arkworks for bls12-381,
zk-dtypes for bn254) are registered lazily on first use. A built-in fast
backend whose library fails to import is skipped (the reference backend then
serves ``prefer="fast"`` too).
"""

from __future__ import annotations

from ..errors import BackendUnavailable, UnknownCurve
from .base import CurveBackend
from .params import CURVES

_backends: dict[str, list[CurveBackend]] = {name: [] for name in CURVES}
_builtins_loaded = False
_builtin_errors: dict[str, str] = {}


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    from .reference import reference_backends

    for b in reference_backends():
        register_backend(b)
    try:
        from .arkworks_bls import ArkworksBLS12381Backend

        register_backend(ArkworksBLS12381Backend())
    except Exception as e:  # pragma: no cover - environment dependent
        _builtin_errors["arkworks"] = repr(e)
    try:
        from .zkdtypes_bn254 import ZkDtypesBN254Backend

        register_backend(ZkDtypesBN254Backend())
    except Exception as e:  # pragma: no cover - environment dependent
        _builtin_errors["zkdtypes"] = repr(e)


def register_backend(backend: CurveBackend) -> None:
    """Add ``backend`` for ``backend.curve.name``; a later registration of the same kind wins."""
    if not isinstance(backend, CurveBackend):
        raise TypeError(f"register_backend expects a CurveBackend, got {type(backend).__name__}")
    name = backend.curve.name
    if name not in _backends:
        raise UnknownCurve(name, CURVES)
    lst = _backends[name]
    lst[:] = [b for b in lst if b.name != backend.name]
    lst.append(backend)


def backends(curve_name: str) -> list[CurveBackend]:
    """All registered backends of a curve (reference first)."""
    _load_builtins()
    if curve_name not in _backends:
        raise UnknownCurve(curve_name, CURVES)
    return sorted(_backends[curve_name], key=lambda b: b.kind != "reference")


def get_backend(curve_name: str, prefer: str = "fast") -> CurveBackend:
    """The backend for ``curve_name`` ("bn254" | "bls12-381").

    ``prefer="fast"`` returns the most recently registered fast backend, or the
    reference one if none is available; ``prefer="reference"`` the py_ecc one.
    """
    if prefer not in ("fast", "reference"):
        raise ValueError(f"prefer must be 'fast' or 'reference', got {prefer!r}")
    bs = backends(curve_name)
    wanted = [b for b in bs if b.kind == prefer]
    if wanted:
        return wanted[-1]
    fallback = [b for b in bs if b.kind == "reference"]
    if fallback:
        return fallback[-1]
    raise BackendUnavailable(f"no backend registered for curve {curve_name!r}")


def get_curve(curve_name: str):
    """The :class:`~ispc_core.zk.curves.params.CurveSpec` of a curve name."""
    try:
        return CURVES[curve_name]
    except KeyError:
        raise UnknownCurve(curve_name, CURVES) from None
