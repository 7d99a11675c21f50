"""The core's curve backends, registered through the ``ispc_curve_backends`` hook like any plugin's.

The hook returns :class:`~ispc_core.specs.CurveBackendSpec` items; :func:`install`
wires them into the ZK layer's registry (:func:`ispc_core.zk.curves.register_backend`):
for each curve the highest-priority spec whose factory succeeds is registered
last, so ``get_backend(curve)`` (``prefer="fast"``) returns it. Provers call
:func:`install_once` when they are built, so a plugin's faster backend replaces
the built-in one without any code naming it.

Built-ins (priority 10): ``zkdtypes`` for bn254 (zk-dtypes MSM, garaga pairing)
and ``arkworks`` for bls12-381 (py-arkworks-bls12381). The py_ecc reference
backend is always present in the registry and is not offered through the hook.
"""

from __future__ import annotations

import logging
import threading

from ispc_core.hookspecs import hookimpl
from ispc_core.specs import CurveBackendSpec

log = logging.getLogger("ispc.curves")

BUILTIN_PRIORITY = 10


def _zkdtypes():
    from ispc_core.zk.curves.zkdtypes_bn254 import ZkDtypesBN254Backend

    return ZkDtypesBN254Backend()


def _arkworks():
    from ispc_core.zk.curves.arkworks_bls import ArkworksBLS12381Backend

    return ArkworksBLS12381Backend()


@hookimpl
def ispc_curve_backends():
    """The fast backends of ``ispc_core.zk.curves`` (the reference backend is always present)."""
    return [
        CurveBackendSpec(name="zkdtypes", curve="bn254", factory=_zkdtypes, priority=BUILTIN_PRIORITY,
                         description="zk-dtypes numpy Pippenger MSM, garaga multi-pairing"),
        CurveBackendSpec(name="arkworks", curve="bls12-381", factory=_arkworks, priority=BUILTIN_PRIORITY,
                         description="py-arkworks-bls12381: native MSM, pairing, subgroup checks"),
    ]


def install(plugins) -> dict[str, str]:
    """Register, per curve, the highest-priority backend offered through the hook; returns ``{curve: name}``.

    ``plugins`` is an :class:`ispc_core.plugins.PluginManager`. A backend whose
    factory fails is logged and the next one by priority is tried.
    """
    from ispc_core.zk.curves import register_backend

    specs = [item for _, item in plugins.collect("ispc_curve_backends")]
    chosen: dict[str, str] = {}
    for curve in sorted({s.curve for s in specs}):
        ranked = sorted((s for s in specs if s.curve == curve), key=lambda s: -s.priority)
        for spec in ranked:
            try:
                backend = spec.factory()
                register_backend(backend)
            except Exception as exc:  # noqa: BLE001 - a broken optional backend must not stop the node
                log.warning("curve backend %s for %s is unavailable: %r", spec.name, curve, exc)
                continue
            chosen[curve] = spec.name
            break
    return chosen


_installed: dict[str, str] | None = None
_lock = threading.Lock()


def install_once(plugins=None) -> dict[str, str]:
    """:func:`install` once per process (later calls return the first result).

    ``plugins`` is the node's :class:`~ispc_core.plugins.PluginManager` (the
    coordinator passes its own, so plugin selection applies); without it a
    manager is built from the environment.
    """
    global _installed
    with _lock:
        if _installed is None:
            try:
                if plugins is None:
                    from ispc_core.plugins import PluginManager

                    plugins = PluginManager()
                _installed = install(plugins)
            except Exception as exc:  # noqa: BLE001
                log.warning("curve backends from plugins could not be installed: %r", exc)
                _installed = {}
        return _installed
