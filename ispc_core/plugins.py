"""Plugin discovery and the registry of everything plugins provide.

Entry points of the ``ispc`` group are listed with :mod:`importlib.metadata`,
selected by ``ISPC_LOAD_PLUGINS`` / ``ISPC_DISABLE_PLUGINS`` *before* anything
is imported, then loaded by name with stevedore (which reports each failure
through a callback). Every loaded module is registered into one pluggy
manager — the core's built-ins included, through the very same entry points.

A plugin that raises on import is reported (entry point, distribution, error)
and skipped; with ``ISPC_STRICT_PLUGINS=1`` that is fatal. Tests and embedders
may register plugin objects directly (``extra_plugins``), the way llm and
datasette test plugins.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from typing import Any, Callable, Iterable, Sequence

import attrs
import pluggy
import stevedore

from ispc_core import hookspecs
from ispc_core.errors import NotProvided, PluginConflict, PluginError
from ispc_core.specs import (
    CircuitSpec,
    CurveBackendSpec,
    EngineSpec,
    EvidenceVerifierSpec,
    HostFunction,
    ProofExecutorSpec,
    ProverSpec,
    ResourcePolicy,
    SubmitterSpec,
)
from ispc_core.proofjobs.model import ProofJob

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "ispc"

#: hook name -> (kind shown to users, expected item type, attribute holding the item's name)
HOOKS: dict[str, tuple[str, type, str]] = {
    "ispc_engines": ("engine", EngineSpec, "name"),
    "ispc_provers": ("prover", ProverSpec, "name"),
    "ispc_host_functions": ("host function", HostFunction, "name"),
    "ispc_resource_policies": ("resource policy", ResourcePolicy, "name"),
    "ispc_circuits": ("circuit", CircuitSpec, "circuit_id"),
    "ispc_curve_backends": ("curve backend", CurveBackendSpec, "name"),
    "ispc_proof_executors": ("proof executor", ProofExecutorSpec, "name"),
    "ispc_submitters": ("submitter", SubmitterSpec, "name"),
    "ispc_evidence_verifiers": ("evidence verifier", EvidenceVerifierSpec, "name"),
    # a notification hook: called with arguments, returns nothing (never collected)
    "ispc_proof_finished": ("proof listener", ProofJob, "job_id"),
}

#: hooks that notify plugins of events instead of returning lists of specs
NOTIFICATION_HOOKS: frozenset[str] = frozenset({"ispc_proof_finished"})

#: which distribution provides a well-known name, for "install X" hints
KNOWN_PROVIDERS: dict[tuple[str, str], str] = {
    ("engine", "wasm"): "ispc-wasm",
    ("engine", "onnx"): "ispc-onnx",
    ("prover", "groth16"): "ispc-groth16",
    ("prover", "plonk"): "ispc-plonk",
    ("proof executor", "dask"): "ispc-dask",
    ("circuit", "onnx_inference"): "ispc-zkml",
}


@attrs.define
class PluginInfo:
    """One plugin as ``ispc plugins list`` shows it."""

    name: str
    distribution: str
    version: str
    status: str  # "active" | "disabled" | "failed"
    hooks: list[str] = attrs.field(factory=list)
    kinds: list[str] = attrs.field(factory=list)
    provides: list[str] = attrs.field(factory=list)
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return attrs.asdict(self)


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    return [x.strip() for x in raw.split(",") if x.strip()]


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    """Log a plugin warning once per process (a program opens several managers: one line, not three)."""
    if message not in _WARNED:
        _WARNED.add(message)
        log.warning("%s", message)


def where(exc: BaseException) -> str:
    """`` at FILE:LINE`` of the innermost frame of ``exc`` (or its syntax error), '' when unknown.

    >>> where(ValueError("x"))
    ''
    """
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" at {exc.filename}:{exc.lineno}"
    import traceback

    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ is not None else []
    if not frames:
        return ""
    last = frames[-1]
    return f" at {last.filename}:{last.lineno}"


class PluginManager:
    """Loads plugins into one pluggy manager and answers "who provides what"."""

    def __init__(
        self,
        *,
        extra_plugins: Sequence[Any] = (),
        load_entry_points: bool = True,
        strict: bool | None = None,
        load: Iterable[str] | None = None,
        disable: Iterable[str] | None = None,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.strict = _truthy("ISPC_STRICT_PLUGINS") if strict is None else strict
        self.load_only = set(load) if load is not None else (set(_env_list("ISPC_LOAD_PLUGINS") or []) or None)
        self.disabled = set(disable) if disable is not None else set(_env_list("ISPC_DISABLE_PLUGINS") or [])
        self.infos: dict[str, PluginInfo] = {}
        if load_entry_points:
            self._load_entry_points()
        for i, obj in enumerate(extra_plugins):
            name = getattr(obj, "__name__", None) or f"{type(obj).__name__}-{i}"
            self.register(obj, name=name, distribution="(registered directly)", version="")
        self._cache: dict[str, list[tuple[str, Any]]] = {}

    # -- loading ------------------------------------------------------------------
    def _selected(self, name: str) -> bool:
        if name in self.disabled:
            return False
        return self.load_only is None or name in self.load_only

    def _load_entry_points(self) -> None:
        eps = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
        known = {ep.name for ep in eps}
        for source, names in (("disabled", self.disabled), ("selected to load", self.load_only or set())):
            for name in sorted(set(names) - known):
                message = (
                    f"plugin {name!r} is {source} (ISPC_DISABLE_PLUGINS / ISPC_LOAD_PLUGINS / [plugins]) but no "
                    f"installed plugin has that name; installed: {', '.join(sorted(known)) or 'none'}"
                )
                if self.strict:
                    raise PluginError(message)
                _warn_once(message)
        by_name = {}
        for ep in eps:
            dist = ep.dist.name if ep.dist is not None else "?"
            version = ep.dist.version if ep.dist is not None else ""
            by_name[ep.name] = (dist, version)
            if not self._selected(ep.name):
                self.infos[ep.name] = PluginInfo(ep.name, dist, version, "disabled")
        wanted = [ep.name for ep in eps if self._selected(ep.name)]
        if not wanted:
            return
        failures: list[tuple[str, Exception]] = []

        def on_failure(manager, entrypoint, exc):
            failures.append((entrypoint.name, exc))

        # stevedore keeps each namespace's entry-point list in a process-wide class
        # cache; without dropping it, plugins installed (or put on sys.path) after
        # the first PluginManager of this process would be listed above but never
        # loaded, and would vanish silently.
        stevedore.ExtensionManager.ENTRY_POINT_CACHE.pop(ENTRY_POINT_GROUP, None)
        missing: list[str] = []
        mgr = stevedore.NamedExtensionManager(
            namespace=ENTRY_POINT_GROUP,
            names=wanted,
            invoke_on_load=False,
            name_order=True,
            on_load_failure_callback=on_failure,
            on_missing_entrypoints_callback=lambda names: missing.extend(names),
        )
        for name, exc in failures:
            dist, version = by_name.get(name, ("?", ""))
            message = (
                f"plugin {name!r} (entry point in distribution {dist}) failed to load: {type(exc).__name__}: {exc}{where(exc)}"
            )
            if self.strict:
                raise PluginError(message) from exc
            _warn_once(message)
            self.infos[name] = PluginInfo(name, dist, version, "failed", error=f"{type(exc).__name__}: {exc}")
        for name in sorted(set(missing) - {n for n, _ in failures}):
            dist, version = by_name.get(name, ("?", ""))
            message = f"plugin {name!r} (entry point in distribution {dist}) was listed but could not be found to load"
            if self.strict:
                raise PluginError(message)
            _warn_once(message)
            self.infos[name] = PluginInfo(name, dist, version, "failed", error=message)
        for ext in mgr:
            dist, version = by_name.get(ext.name, ("?", ""))
            self.register(ext.plugin, name=ext.name, distribution=dist, version=version)

    def register(self, plugin: Any, *, name: str, distribution: str = "", version: str = "") -> None:
        """Register one plugin object (module or instance with ``@hookimpl`` functions)."""
        try:
            self.pm.register(plugin, name=name)
            try:
                self.pm.check_pending()  # an @hookimpl whose name is no hookspec (a typo) is an error
            except pluggy.PluginValidationError:
                self.pm.unregister(name=name)
                raise
        except (ValueError, pluggy.PluginValidationError) as exc:
            message = f"plugin {name!r} from {distribution or '?'} cannot be registered: {exc}"
            if self.strict:
                raise PluginError(message) from exc
            self.infos[name] = PluginInfo(name, distribution, version, "failed", error=str(exc))
            return
        hooks = sorted(
            h for h in HOOKS if any(impl.plugin_name == name for impl in getattr(self.pm.hook, h).get_hookimpls())
        )
        self.infos[name] = PluginInfo(
            name, distribution, version, "active", hooks=hooks, kinds=sorted({HOOKS[h][0] for h in hooks})
        )
        getattr(self, "_cache", {}).clear()

    # -- collecting -----------------------------------------------------------------
    def collect(self, hook: str) -> list[tuple[str, Any]]:
        """Every item returned by ``hook``, as (plugin name, item), type-checked.

        A plugin returning something of the wrong type is reported and its
        items skipped (fatal in strict mode).
        """
        if hook in self._cache:
            return self._cache[hook]
        if hook in NOTIFICATION_HOOKS:
            raise PluginError(f"{hook} is a notification hook; call it through pm.hook.{hook}(...)")
        kind, expected, _ = HOOKS[hook]
        out: list[tuple[str, Any]] = []
        for impl in getattr(self.pm.hook, hook).get_hookimpls():  # registration order
            try:
                items = impl.function() or []
                bad = [x for x in items if not isinstance(x, expected)]
                if bad:
                    raise TypeError(f"{hook} returned {type(bad[0]).__name__}, expected {expected.__name__}")
            except Exception as exc:
                message = f"plugin {impl.plugin_name!r} failed in {hook}: {type(exc).__name__}: {exc}{where(exc)}"
                if self.strict:
                    raise PluginError(message) from exc
                log.warning("%s", message)
                info = self.infos.get(impl.plugin_name)
                if info is not None:
                    info.status, info.error = "failed", message
                continue
            out.extend((impl.plugin_name, x) for x in items)
        self._cache[hook] = out
        return out

    def named(self, hook: str) -> dict[str, tuple[str, Any]]:
        """Items of ``hook`` by their name; two plugins with one name is a :class:`PluginConflict`."""
        kind, _, attr = HOOKS[hook]
        seen: dict[str, tuple[str, Any]] = {}
        for plugin, item in self.collect(hook):
            key = getattr(item, attr)
            if key in seen and seen[key][0] != plugin:
                raise PluginConflict(
                    f"two plugins provide the {kind} {key!r}: {seen[key][0]} and {plugin}; "
                    f"disable one with ISPC_DISABLE_PLUGINS"
                )
            if key in seen:
                raise PluginConflict(f"plugin {plugin} provides the {kind} {key!r} twice")
            seen[key] = (plugin, item)
        return seen

    def get(self, hook: str, name: str) -> Any:
        """The item of ``hook`` called ``name``, or :class:`NotProvided` listing the choices."""
        items = self.named(hook)
        if name in items:
            return items[name][1]
        raise NotProvided(self.missing_message(hook, name, sorted(items)))

    def missing_message(self, hook: str, name: str, available: list[str]) -> str:
        """The "no X named Y; choose one of ..." message, with an install hint when known."""
        kind = HOOKS[hook][0]
        choices = ", ".join(available) if available else "(none installed)"
        msg = f"no {kind} {name!r} is installed; choose one of: {choices}"
        dist = KNOWN_PROVIDERS.get((kind, name))
        if dist:
            failed = [i for i in self.infos.values() if i.distribution == dist and i.status != "active"]
            if failed:
                msg += f" — {dist} is installed but {failed[0].status}" + (
                    f": {failed[0].error}" if failed[0].error else ""
                )
            else:
                msg += f" — install {dist}"
        return msg

    def list_plugins(self) -> list[PluginInfo]:
        """Every plugin seen, with what each provides."""
        for hook in NOTIFICATION_HOOKS:
            for impl in getattr(self.pm.hook, hook).get_hookimpls():
                info = self.infos.get(impl.plugin_name)
                label = f"{HOOKS[hook][0]}:{hook}"
                if info is not None and label not in info.provides:
                    info.provides.append(label)
        for hook, (kind, _, attr) in HOOKS.items():
            if hook in NOTIFICATION_HOOKS:
                continue
            try:
                items = self.collect(hook)
            except PluginError:
                continue
            for plugin, item in items:
                info = self.infos.get(plugin)
                if info is not None:
                    label = f"{kind}:{getattr(item, attr)}"
                    if label not in info.provides:
                        info.provides.append(label)
        return sorted(self.infos.values(), key=lambda i: i.name)


def hook_names() -> list[str]:
    """Names of every hookspec (used by the documentation test)."""
    return sorted(n for n in dir(hookspecs) if n.startswith("ispc_") and callable(getattr(hookspecs, n)))


def first_by_priority(items: Iterable[CurveBackendSpec], curve: str) -> CurveBackendSpec | None:
    """The highest-priority curve backend for ``curve`` (ties: first registered)."""
    best: CurveBackendSpec | None = None
    for item in items:
        if item.curve == curve and (best is None or item.priority > best.priority):
            best = item
    return best


Factory = Callable[..., Any]
