"""Node configuration: ``ispc.toml`` in the node home, overridable by environment and flags.

Precedence, lowest first: built-in defaults → ``$ISPC_HOME/ispc.toml`` →
environment variables ``ISPC_<SECTION>_<KEY>`` (for example ``ISPC_PROOF_MODE=off``)
→ explicit overrides (CLI flags, ``Manager.open(overrides=...)``, written as
``{"proof.mode": "off"}`` or nested dicts).

Unknown sections or keys and values of the wrong type raise :class:`ConfigError`
naming the key (``proof.mdoe``). Free-form settings for plugins live under
``[plugin.<name>]`` and are returned by :meth:`Config.plugin_settings`.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Mapping

import attrs

from ispc_core.config_ranges import check_int
from ispc_core.errors import ConfigError
from ispc_core.specs import Limits

CONFIG_FILE = "ispc.toml"
PROOF_MODES = ("sync", "async", "off")


@attrs.frozen
class NodeSection:
    """``[node]``: chain identity and deterministic block clock."""

    chain_id: str = "ispc-dev"
    genesis_time: int = 1_700_000_000
    block_interval: int = 10
    verify_proofs: bool = True


@attrs.frozen
class ProofSection:
    """``[proof]``: when and how proofs are made."""

    mode: str = "sync"
    scheme: str = "groth16"
    curve: str = "bn254"
    executor: str = "processes"
    circuit: str = "contract_execution"


@attrs.frozen
class EnginesSection:
    """``[engines]``: which installed engines may run (empty: every installed one)."""

    enabled: tuple[str, ...] = ()


@attrs.frozen
class PluginsSection:
    """``[plugins]``: which entry points to load."""

    load: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    strict: bool = False


@attrs.frozen
class EvidenceSection:
    """``[evidence]``: how external-state evidence is checked."""

    verifier: str = "oracle-signature"
    oracle_keys: tuple[str, ...] = ()


@attrs.frozen
class ChainSection:
    """``[chain]``: the rules every node of the chain shares (written into the genesis transaction).

    ``circuits`` pins, per resource kind, the circuit families whose proofs
    give a program authority: entries ``"<kind>=<family>"`` such as
    ``"wasm=contract_execution.v1"``. ``accept_unproven`` (development chains
    only) accepts executions without a proof, on the journal check and the
    signatures alone. ``trusted_executors`` (33-byte compressed public keys,
    hex): when set, an execution whose proof is binding-only (or absent) must
    be attested by one of these nodes.
    """

    circuits: tuple[str, ...] = ("wasm=contract_execution.v1", "onnx=onnx_inference.v1")
    accept_unproven: bool = False
    trusted_executors: tuple[str, ...] = ()

    def pinned(self) -> dict[str, tuple[str, ...]]:
        """``{kind: (family, ...)}`` from :attr:`circuits`."""
        out: dict[str, list[str]] = {}
        for entry in self.circuits:
            kind, _, family = entry.partition("=")
            out.setdefault(kind.strip(), []).append(family.strip())
        return {k: tuple(v) for k, v in out.items()}


@attrs.frozen
class SubmitSection:
    """``[submit]``: where finished transactions go."""

    submitter: str = "mempool"


@attrs.frozen
class Config:
    """The whole validated configuration of one node."""

    home: Path
    node: NodeSection = NodeSection()
    proof: ProofSection = ProofSection()
    engines: EnginesSection = EnginesSection()
    limits: Limits = Limits()
    plugins: PluginsSection = PluginsSection()
    evidence: EvidenceSection = EvidenceSection()
    submit: SubmitSection = SubmitSection()
    chain: ChainSection = ChainSection()
    #: genesis allocation: key name or 40-hex address -> native amount
    genesis: Mapping[str, int] = attrs.field(factory=lambda: {"node": 1_000_000, "alice": 1_000_000, "bob": 0})
    plugin: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)

    def plugin_settings(self, name: str) -> Mapping[str, Any]:
        """Free-form ``[plugin.<name>]`` settings (empty if absent)."""
        return self.plugin.get(name, {})

    @property
    def proofs_required(self) -> bool:
        """True unless ``proof.mode = "off"``."""
        return self.proof.mode != "off"


SECTIONS: dict[str, type] = {
    "node": NodeSection,
    "proof": ProofSection,
    "engines": EnginesSection,
    "limits": Limits,
    "plugins": PluginsSection,
    "evidence": EvidenceSection,
    "submit": SubmitSection,
    "chain": ChainSection,
}


def _coerce(key: str, value: Any, typ: Any, *, from_text: bool) -> Any:
    """Check (or, for environment text, parse) one value against its declared type."""
    type_name = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    if "tuple" in str(type_name):
        if from_text and isinstance(value, str):
            return tuple(x.strip() for x in value.split(",") if x.strip())
        if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
            raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
        return tuple(value)
    if type_name == "bool":
        if from_text and isinstance(value, str):
            low = value.strip().lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off"}:
                return False
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {type(value).__name__} {value!r}")
        return value
    if type_name == "int":
        if from_text and isinstance(value, str):
            try:
                value = int(value, 10)
            except ValueError:
                raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {type(value).__name__} {value!r}")
        return check_int(key, value)  # the same range check for every source
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {type(value).__name__} {value!r}")
    return value


def _apply_section(name: str, current: Any, values: Mapping[str, Any], *, from_text: bool) -> Any:
    cls = SECTIONS[name]
    fields = {f.name: f for f in attrs.fields(cls)}
    changes = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"unknown configuration key {name}.{key}; known keys: {', '.join(sorted(fields))}")
        changes[key] = _coerce(f"{name}.{key}", value, fields[key].type, from_text=from_text)
    return attrs.evolve(current, **changes)


def _merge(cfg: Config, data: Mapping[str, Any], *, from_text: bool, origin: str) -> Config:
    changes: dict[str, Any] = {}
    for section, values in data.items():
        if section == "genesis":
            if not isinstance(values, Mapping):
                raise ConfigError(f"genesis: expected a table of name = amount ({origin})")
            alloc = {}
            for who, amount in values.items():
                alloc[who] = _coerce(f"genesis.{who}", amount, "int", from_text=from_text)
            changes["genesis"] = alloc
        elif section == "plugin":
            if not isinstance(values, Mapping) or not all(isinstance(v, Mapping) for v in values.values()):
                raise ConfigError(f"plugin: expected tables [plugin.<name>] ({origin})")
            merged = dict(cfg.plugin)
            for pname, settings in values.items():
                merged[pname] = {**merged.get(pname, {}), **settings}
            changes["plugin"] = merged
        elif section in SECTIONS:
            if not isinstance(values, Mapping):
                raise ConfigError(f"{section}: expected a table ({origin})")
            changes[section] = _apply_section(section, changes.get(section, getattr(cfg, section)), values, from_text=from_text)
        else:
            known = ", ".join(sorted([*SECTIONS, "genesis", "plugin"]))
            raise ConfigError(f"unknown configuration section {section!r} ({origin}); known sections: {known}")
    return attrs.evolve(cfg, **changes)


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{"proof.mode": "off"}`` into ``{"proof": {"mode": "off"}}`` (nested dicts pass through)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if isinstance(value, Mapping) and "." not in key:
            out.setdefault(key, {}).update(value)
            continue
        parts = key.split(".")
        if len(parts) < 2:
            raise ConfigError(f"override {key!r} must be written section.key")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for section, cls in SECTIONS.items():
        for f in attrs.fields(cls):
            var = f"ISPC_{section.upper()}_{f.name.upper()}"
            if var in environ:
                out.setdefault(section, {})[f.name] = environ[var]
    return out


def _validate(cfg: Config) -> Config:
    if cfg.proof.mode not in PROOF_MODES:
        raise ConfigError(f"proof.mode: expected one of {', '.join(PROOF_MODES)}, got {cfg.proof.mode!r}")
    if cfg.node.block_interval <= 0:
        raise ConfigError("node.block_interval: must be positive")
    for i, entry in enumerate(cfg.chain.circuits):
        kind, eq, family = entry.partition("=")
        if not eq or not kind.strip() or not family.strip():
            raise ConfigError(f"chain.circuits[{i}]: expected \"<kind>=<circuit family>\" (e.g. \"wasm=contract_execution.v1\"), got {entry!r}")
    for i, key in enumerate(cfg.chain.trusted_executors):
        try:
            raw = bytes.fromhex(key)
        except ValueError:
            raw = b""
        if len(raw) != 33:
            raise ConfigError(f"chain.trusted_executors[{i}]: expected a 33-byte compressed public key in hex")
    for i, key in enumerate(cfg.evidence.oracle_keys):
        try:
            raw = bytes.fromhex(key)
        except ValueError:
            raw = b""
        if len(raw) != 33:
            raise ConfigError(f"evidence.oracle_keys[{i}]: expected a 33-byte compressed public key in hex")
    return cfg


#: deeper than any configuration needs; tomllib recurses per level, and a process that imported py_ecc
#: (which raises the recursion limit to 100000) would overflow the C stack on a hostile file
MAX_TOML_DEPTH = 64
_TOML_STRINGS = re.compile(r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'', re.S)


def _check_toml_depth(text: str, name: str) -> None:
    """ConfigError if arrays / inline tables nest deeper than :data:`MAX_TOML_DEPTH` (checked before parsing)."""
    if text.count("[") + text.count("{") <= MAX_TOML_DEPTH:
        return
    depth = 0
    for ch in _TOML_STRINGS.sub('""', text):
        if ch in "[{":
            depth += 1
            if depth > MAX_TOML_DEPTH:
                raise ConfigError(f"{name}: not valid TOML: arrays or tables nested more than {MAX_TOML_DEPTH} levels deep")
        elif ch in "]}":
            depth = max(0, depth - 1)


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    """The node home: the argument, else ``$ISPC_HOME``, else ``./.ispc``."""
    return Path(home or os.environ.get("ISPC_HOME") or ".ispc").resolve()


def load_config(
    home: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load and validate the configuration of the node at ``home``.

    >>> cfg = load_config("/nonexistent-ispc-home", overrides={"proof.mode": "off"}, environ={})
    >>> cfg.proof.mode, cfg.limits.max_host_calls
    ('off', 10000)
    """
    home_path = resolve_home(home)
    cfg = Config(home=home_path)
    path = home_path / CONFIG_FILE
    if path.exists():
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path.name}: not valid UTF-8 (byte {exc.object[exc.start:exc.start + 1]!r} at offset {exc.start})") from None
        except OSError as exc:
            raise ConfigError(f"{path.name}: cannot be read: {exc.strerror or exc}") from None
        _check_toml_depth(text, path.name)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None
        except RecursionError:
            raise ConfigError(f"{path.name}: not valid TOML: nested too deeply") from None
        cfg = _merge(cfg, data, from_text=False, origin=CONFIG_FILE)
    env = os.environ if environ is None else environ
    cfg = _merge(cfg, _env_overrides(env), from_text=True, origin="environment")
    if overrides:
        cfg = _merge(cfg, _nest(overrides), from_text=True, origin="overrides")
    return _validate(cfg)


def default_toml() -> str:
    """The ``ispc.toml`` that ``ispc init`` writes: every section with its defaults."""
    import tomli_w

    cfg = Config(home=Path("."))
    doc: dict[str, Any] = {}
    for section in SECTIONS:
        doc[section] = {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.asdict(getattr(cfg, section)).items()}
    doc["genesis"] = dict(cfg.genesis)
    return "# ispc node configuration (see docs/configuration.md)\n" + tomli_w.dumps(doc)
