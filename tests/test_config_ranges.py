"""Every integer setting has one range, checked the same way for ``ispc.toml``, the environment and overrides.

Before, text values (environment, ``--set``) skipped the checks: a negative fuel
was accepted, fuel >= 2^64 wrapped to nothing in the engine (every call "out
of fuel"), and a huge ``genesis_time`` / ``block_interval`` was accepted and
crashed ``mine`` with an OverflowError.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ispc_core.cli import main
from ispc_core.config import CONFIG_FILE, load_config
from ispc_core.config_ranges import INT64_MAX, MAX_BLOCK_INTERVAL, MAX_TIMESTAMP, int_range
from ispc_core.errors import ConfigError

BAD = [
    ("limits", "fuel", -1, "limits.fuel: must not be negative, got -1"),
    ("limits", "fuel", 1 << 64, f"limits.fuel: must be at most {INT64_MAX} (2^63 - 1), got {1 << 64}"),
    ("limits", "fuel", 1 << 63, "limits.fuel: must be at most"),
    ("limits", "max_host_calls", -5, "limits.max_host_calls: must not be negative, got -5"),
    ("limits", "memory_pages", 65_537, "limits.memory_pages: must be at most 65536"),
    ("limits", "wall_time_ms", 1 << 31, "limits.wall_time_ms: must be at most 2147483647"),
    ("node", "genesis_time", 10**30, f"node.genesis_time: must be at most {MAX_TIMESTAMP} (9999-12-31T23:59:59Z)"),
    ("node", "genesis_time", -1, "node.genesis_time: must not be negative, got -1"),
    ("node", "block_interval", 10**30, f"node.block_interval: must be at most {MAX_BLOCK_INTERVAL} (366 days)"),
    ("node", "block_interval", 0, "node.block_interval: must be positive, got 0"),
    ("node", "block_interval", -3, "node.block_interval: must not be negative, got -3"),
]


def error_from(source: str, tmp_path, section: str, key: str, value: int) -> str:
    home = tmp_path / source
    home.mkdir()
    environ: dict[str, str] = {}
    overrides = None
    if source == "toml":
        (home / CONFIG_FILE).write_text(f"[{section}]\n{key} = {value}\n")
    elif source == "environment":
        environ = {f"ISPC_{section.upper()}_{key.upper()}": str(value)}
    elif source == "overrides text":  # what --set passes
        overrides = {f"{section}.{key}": str(value)}
    else:
        overrides = {f"{section}.{key}": value}
    with pytest.raises(ConfigError) as err:
        load_config(home, overrides=overrides, environ=environ)
    return str(err.value)


@pytest.mark.parametrize("section, key, value, message", BAD, ids=[f"{s}.{k}={v}" for s, k, v, _ in BAD])
def test_one_validation_and_one_message_for_every_source(tmp_path, section, key, value, message):
    messages = {
        source: error_from(source, tmp_path, section, key, value)
        for source in ("toml", "environment", "overrides text", "overrides int")
    }
    assert len(set(messages.values())) == 1, messages
    assert next(iter(messages.values())).startswith(message)


def test_the_bounds_themselves_are_accepted(tmp_path):
    overrides = {
        "limits.fuel": str(INT64_MAX), "limits.memory_pages": "65536", "limits.wall_time_ms": str((1 << 31) - 1),
        "node.genesis_time": str(MAX_TIMESTAMP), "node.block_interval": str(MAX_BLOCK_INTERVAL),
        "genesis.alice": str(INT64_MAX),
    }
    cfg = load_config(tmp_path, overrides=overrides, environ={})
    assert cfg.limits.fuel == INT64_MAX and cfg.node.genesis_time == MAX_TIMESTAMP
    assert int_range("limits.fuel") == (0, INT64_MAX) and int_range("node.block_interval") == (1, MAX_BLOCK_INTERVAL)


def test_a_genesis_amount_out_of_range_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"genesis\.alice: must be at most"):
        load_config(tmp_path, overrides={"genesis.alice": str(1 << 63)}, environ={})
    with pytest.raises(ConfigError, match=r"genesis\.alice: must not be negative"):
        load_config(tmp_path, environ={}, overrides={"genesis": {"alice": "-1"}})


def test_set_on_the_command_line_is_one_error_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ISPC_HOME", str(tmp_path / "home"))
    for args, message in (
        (["--set", "limits.fuel=-1"], "limits.fuel: must not be negative, got -1"),
        (["--set", f"limits.fuel={1 << 64}"], "limits.fuel: must be at most"),
        (["--set", "node.genesis_time=99999999999999999999"], "node.genesis_time: must be at most"),
    ):
        res = CliRunner().invoke(main, [*args, "balance", "alice"])
        assert res.exit_code == 1 and res.stderr.splitlines() == [f"error: {res.stderr[7:].strip()}"]
        assert message in res.stderr and "Traceback" not in res.output
    monkeypatch.setenv("ISPC_NODE_BLOCK_INTERVAL", str(10**30))
    res = CliRunner().invoke(main, ["balance", "alice"])
    assert res.exit_code == 1 and "node.block_interval: must be at most" in res.stderr
