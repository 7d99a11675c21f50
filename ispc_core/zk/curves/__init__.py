"""Backend-neutral curves API for bn254 and bls12-381 (see :mod:`.base`, :mod:`.registry`).

Typical use::

    from ispc_core.zk.curves import get_backend
    be = get_backend("bn254")            # fast backend, reference as fallback
    P = be.g1.msm(be.g1.batch_from_affine(points), scalars)
    ok = be.pairing_check([(A, B), (be.g1.neg(C), D)])
"""

from .base import CurveBackend, Group
from .params import BLS12_381, BN254, CURVES, CurveSpec
from .registry import backends, get_backend, get_curve, register_backend

__all__ = [
    "CurveBackend",
    "Group",
    "CurveSpec",
    "BN254",
    "BLS12_381",
    "CURVES",
    "get_backend",
    "get_curve",
    "register_backend",
    "backends",
]
