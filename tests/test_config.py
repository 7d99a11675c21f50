"""Node configuration: defaults, ispc.toml, environment, overrides, validation (ispc_core.config)."""

from __future__ import annotations

import tomllib

import attrs
import pytest

from ispc_core.config import CONFIG_FILE, SECTIONS, Config, default_toml, load_config, resolve_home
from ispc_core.errors import ConfigError
from ispc_core.specs import Limits

ORACLE_KEY = "02" + "11" * 32  # 33 bytes in hex


def write(home, text: str):
    home.mkdir(parents=True, exist_ok=True)
    (home / CONFIG_FILE).write_text(text, "utf-8")


def test_defaults(tmp_path):
    cfg = load_config(tmp_path, environ={})
    assert cfg.home == tmp_path.resolve()
    assert (cfg.node.chain_id, cfg.node.genesis_time, cfg.node.block_interval) == ("ispc-dev", 1_700_000_000, 10)
    assert cfg.proof.mode == "sync" and cfg.proofs_required
    assert (cfg.proof.scheme, cfg.proof.curve, cfg.proof.executor, cfg.proof.circuit) == (
        "groth16", "bn254", "processes", "contract_execution"
    )
    assert cfg.engines.enabled == ()
    assert cfg.limits == Limits()
    assert cfg.limits.max_host_calls == 10_000 and cfg.limits.fuel == 50_000_000
    assert (cfg.plugins.load, cfg.plugins.disable, cfg.plugins.strict) == ((), (), False)
    assert (cfg.evidence.verifier, cfg.evidence.oracle_keys) == ("oracle-signature", ())
    assert cfg.submit.submitter == "mempool"
    assert dict(cfg.genesis) == {"node": 1_000_000, "alice": 1_000_000, "bob": 0}
    assert cfg.plugin_settings("anything") == {}


def test_missing_home_is_not_created(tmp_path):
    home = tmp_path / "nowhere"
    load_config(home, environ={})
    assert not home.exists()


def test_home_from_argument_then_ISPC_HOME_then_dot_ispc(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ISPC_HOME", raising=False)
    assert resolve_home() == (tmp_path / ".ispc").resolve()
    monkeypatch.setenv("ISPC_HOME", str(tmp_path / "envhome"))
    assert resolve_home() == (tmp_path / "envhome").resolve()
    assert resolve_home(tmp_path / "arg") == (tmp_path / "arg").resolve()


def test_file_overrides_defaults(tmp_path):
    write(
        tmp_path,
        f"""
[node]
chain_id = "testnet-7"
block_interval = 5

[proof]
mode = "async"
scheme = "plonk"
curve = "bls12-381"

[engines]
enabled = ["wasm"]

[limits]
fuel = 1000
max_host_calls = 7

[plugins]
disable = ["onnx"]
strict = true

[evidence]
oracle_keys = ["{ORACLE_KEY}"]

[submit]
submitter = "rpc"

[genesis]
carol = 42

[plugin.wasm]
cache = false
""",
    )
    cfg = load_config(tmp_path, environ={})
    assert cfg.node.chain_id == "testnet-7" and cfg.node.block_interval == 5
    assert cfg.node.genesis_time == 1_700_000_000  # untouched keys keep their defaults
    assert (cfg.proof.mode, cfg.proof.scheme, cfg.proof.curve) == ("async", "plonk", "bls12-381")
    assert cfg.engines.enabled == ("wasm",)
    assert cfg.limits.fuel == 1000 and cfg.limits.max_host_calls == 7
    assert cfg.limits.memory_pages == Limits().memory_pages
    assert cfg.plugins.disable == ("onnx",) and cfg.plugins.strict is True
    assert cfg.evidence.oracle_keys == (ORACLE_KEY,)
    assert cfg.submit.submitter == "rpc"
    assert dict(cfg.genesis) == {"carol": 42}  # the file's allocation replaces the default one
    assert cfg.plugin_settings("wasm") == {"cache": False}


@pytest.mark.parametrize(
    "var, value, attr, expected",
    [
        ("ISPC_PROOF_MODE", "off", ("proof", "mode"), "off"),
        ("ISPC_PROOF_SCHEME", "plonk", ("proof", "scheme"), "plonk"),
        ("ISPC_LIMITS_FUEL", "1234", ("limits", "fuel"), 1234),
        ("ISPC_NODE_CHAIN_ID", "envchain", ("node", "chain_id"), "envchain"),
        ("ISPC_PLUGINS_STRICT", "yes", ("plugins", "strict"), True),
        ("ISPC_PLUGINS_STRICT", "0", ("plugins", "strict"), False),
        ("ISPC_ENGINES_ENABLED", "wasm, onnx", ("engines", "enabled"), ("wasm", "onnx")),
        ("ISPC_SUBMIT_SUBMITTER", "rpc", ("submit", "submitter"), "rpc"),
    ],
)
def test_environment_variables(tmp_path, var, value, attr, expected):
    cfg = load_config(tmp_path, environ={var: value})
    assert getattr(getattr(cfg, attr[0]), attr[1]) == expected


def test_environment_defaults_to_os_environ(tmp_path, monkeypatch):
    monkeypatch.setenv("ISPC_PROOF_MODE", "off")
    assert load_config(tmp_path).proof.mode == "off"
    assert not load_config(tmp_path).proofs_required


def test_precedence_overrides_beat_environment_beat_file(tmp_path):
    write(tmp_path, '[proof]\nmode = "async"\nscheme = "plonk"\ncurve = "bls12-381"\n')
    env = {"ISPC_PROOF_MODE": "off", "ISPC_PROOF_SCHEME": "groth16"}
    assert load_config(tmp_path, environ={}).proof.mode == "async"
    cfg = load_config(tmp_path, environ=env)
    assert (cfg.proof.mode, cfg.proof.scheme, cfg.proof.curve) == ("off", "groth16", "bls12-381")
    cfg = load_config(tmp_path, overrides={"proof.mode": "sync"}, environ=env)
    assert (cfg.proof.mode, cfg.proof.scheme, cfg.proof.curve) == ("sync", "groth16", "bls12-381")
    # nested dicts work like dotted keys; text values are parsed like environment values
    cfg = load_config(tmp_path, overrides={"limits": {"fuel": "99"}, "proof.mode": "off"}, environ=env)
    assert cfg.limits.fuel == 99 and cfg.proof.mode == "off"


@pytest.mark.parametrize(
    "toml, key",
    [
        ('[prooof]\nmode = "off"\n', "prooof"),
        ('[proof]\nmdoe = "off"\n', "proof.mdoe"),
        ('[limits]\nfuel = "lots"\n', "limits.fuel"),
        ("[limits]\nfuel = -1\n", "limits.fuel"),
        ("[limits]\nfuel = true\n", "limits.fuel"),
        ("[plugins]\nstrict = 1\n", "plugins.strict"),
        ('[plugins]\ndisable = "onnx"\n', "plugins.disable"),
        ("[proof]\nscheme = 3\n", "proof.scheme"),
        ('[proof]\nmode = "eventually"\n', "proof.mode"),
        ("[node]\nblock_interval = 0\n", "node.block_interval"),
        ('[evidence]\noracle_keys = ["abcd"]\n', "evidence.oracle_keys[0]"),
        ('[genesis]\nalice = "rich"\n', "genesis.alice"),
        ('proof = "off"\n', "proof"),
    ],
)
def test_invalid_file_raises_config_error_naming_the_key(tmp_path, toml, key):
    write(tmp_path, toml)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, environ={})
    assert key in str(err.value)


def test_unknown_key_lists_the_known_keys(tmp_path):
    write(tmp_path, '[proof]\nmdoe = "off"\n')
    with pytest.raises(ConfigError, match=r"unknown configuration key proof\.mdoe; known keys: circuit, curve"):
        load_config(tmp_path, environ={})


def test_unknown_section_lists_the_known_sections(tmp_path):
    write(tmp_path, "[prooof]\n")
    with pytest.raises(ConfigError, match=r"unknown configuration section 'prooof'.*known sections: .*proof"):
        load_config(tmp_path, environ={})


def test_malformed_toml(tmp_path):
    write(tmp_path, "[proof\nmode = off\n")
    with pytest.raises(ConfigError, match=r"ispc\.toml: not valid TOML"):
        load_config(tmp_path, environ={})


@pytest.mark.parametrize(
    "environ, key",
    [
        ({"ISPC_PROOF_MODE": "later"}, "proof.mode"),
        ({"ISPC_LIMITS_FUEL": "1e9"}, "limits.fuel"),
        ({"ISPC_PLUGINS_STRICT": "maybe"}, "plugins.strict"),
    ],
)
def test_invalid_environment_values(tmp_path, environ, key):
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, environ=environ)
    assert key in str(err.value)


def test_unrelated_environment_variables_are_ignored(tmp_path):
    cfg = load_config(tmp_path, environ={"ISPC_PROOF_MDOE": "off", "ISPC_HOME": "x", "PATH": "/bin"})
    assert cfg.proof.mode == "sync"


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"proof.mdoe": "off"}, "proof.mdoe"),
        ({"nosuch.key": 1}, "nosuch"),
        ({"mode": "off"}, "mode"),
        ({"limits.fuel": "many"}, "limits.fuel"),
    ],
)
def test_invalid_overrides(tmp_path, overrides, key):
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, overrides=overrides, environ={})
    assert key in str(err.value)


def test_default_toml_round_trips(tmp_path):
    text = default_toml()
    doc = tomllib.loads(text)
    assert set(SECTIONS) <= set(doc) and "genesis" in doc
    for section, cls in SECTIONS.items():
        assert set(doc[section]) == {f.name for f in attrs.fields(cls)}, section
    write(tmp_path, text)
    from_file = load_config(tmp_path, environ={})
    defaults = load_config(tmp_path / "empty", environ={})
    assert attrs.evolve(from_file, home=defaults.home) == defaults
    assert from_file == Config(home=tmp_path.resolve())


def test_default_toml_with_a_changed_value_is_read_back(tmp_path):
    write(tmp_path, default_toml().replace('mode = "sync"', 'mode = "off"'))
    assert load_config(tmp_path, environ={}).proof.mode == "off"


def test_chain_rules_section(tmp_path):
    cfg = load_config(tmp_path, environ={})
    assert cfg.chain.circuits == ("wasm=contract_execution.v1", "onnx=onnx_inference.v1")
    assert cfg.chain.pinned() == {"wasm": ("contract_execution.v1",), "onnx": ("onnx_inference.v1",)}
    assert cfg.chain.accept_unproven is False and cfg.chain.trusted_executors == ()
    assert "chain" in tomllib.loads(default_toml())
    write(
        tmp_path,
        f"""
[chain]
circuits = ["test = test_circuit.v1", "wasm=contract_execution.v1", "wasm=wasm_execution.v1"]
accept_unproven = true
trusted_executors = ["{ORACLE_KEY}"]
""",
    )
    cfg = load_config(tmp_path, environ={})
    assert cfg.chain.pinned() == {"test": ("test_circuit.v1",), "wasm": ("contract_execution.v1", "wasm_execution.v1")}
    assert cfg.chain.accept_unproven is True and cfg.chain.trusted_executors == (ORACLE_KEY,)
    env = load_config(tmp_path, environ={"ISPC_CHAIN_ACCEPT_UNPROVEN": "false"})
    assert env.chain.accept_unproven is False
    assert load_config(tmp_path, {"chain.accept_unproven": False}, environ={}).chain.accept_unproven is False


@pytest.mark.parametrize(
    "override, fragment",
    [
        ({"chain.circuits": ["wasm"]}, "chain.circuits[0]"),
        ({"chain.circuits": ["=contract_execution.v1"]}, "chain.circuits[0]"),
        ({"chain.circuits": ["wasm=contract_execution.v1", "onnx="]}, "chain.circuits[1]"),
        ({"chain.trusted_executors": ["02" + "11" * 31]}, "chain.trusted_executors[0]"),
        ({"chain.trusted_executors": ["zz" * 33]}, "chain.trusted_executors[0]"),
        ({"chain.accept_unproven": "yes please"}, "chain.accept_unproven"),
    ],
)
def test_bad_chain_rules_are_config_errors(tmp_path, override, fragment):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, override, environ={})
    assert fragment in str(info.value)
