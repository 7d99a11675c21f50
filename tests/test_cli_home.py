"""``ispc init`` is the only command that creates a chain; a damaged home is one error line, never a new chain."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from ispc_core.cli import main


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ISPC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ISPC_PROOF_MODE", "off")
    for var in ("ISPC_STRICT_PLUGINS", "ISPC_LOAD_PLUGINS", "ISPC_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "home"


def run(*args):
    return CliRunner().invoke(main, list(args))


def ok(*args) -> str:
    res = run(*args)
    assert res.exit_code == 0, (res.output, res.exception)
    return res.stdout


def one_error(res, *fragments) -> str:
    assert res.exit_code == 1, (res.output, res.exception)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_only_init_creates_a_chain(home):
    one_error(run("balance", "alice"), f"no chain in {home}", "run `ispc init`")
    assert not home.exists()  # nothing was created, not even the directory
    assert "height 0" in ok("init")
    assert "1000000" in ok("balance", "alice")


def test_init_refuses_an_existing_chain_without_force(home):
    ok("init")
    (home / "ispc.toml").write_text("[limits]\nfuel = 5\n")
    ledger = (home / "ledger.sqlite").read_bytes()
    one_error(run("init"), f"{home} already has a chain", "ispc init --force")
    assert (home / "ispc.toml").read_text() == "[limits]\nfuel = 5\n"
    assert (home / "ledger.sqlite").read_bytes() == ledger
    out = ok("init", "--force")
    assert "moved the old databases to " in out and "height 0" in out
    (moved,) = home.glob("replaced-*")
    assert (moved / "ledger.sqlite").read_bytes() == ledger


@pytest.mark.parametrize("name", ["ledger.sqlite", "mempool.sqlite"])
def test_a_zero_byte_database_is_one_error_line_for_every_command(home, name):
    ok("init")
    (home / name).write_bytes(b"")
    for args in (("balance", "alice"), ("mempool", "list"), ("mine",), ("init",)):
        one_error(run(*args), f"{name} in {home} is empty (0 bytes)")
    assert (home / name).stat().st_size == 0
    assert "height 0" in ok("init", "--force")


def test_init_recreates_a_missing_mempool_and_keeps_the_chain(home):
    ok("init")
    (home / "mempool.sqlite").unlink()
    one_error(run("balance", "alice"), "mempool.sqlite is missing", "`ispc init` to create an empty one")
    assert "height 0" in ok("init")
    assert "1000000" in ok("balance", "alice")


def test_a_damaged_mempool_row_is_reported_not_fatal(home):
    ok("init")
    conn = sqlite3.connect(home / "mempool.sqlite")
    conn.execute("INSERT INTO pending(tx_id, raw) VALUES (?, x'ffff')", (b"\x07" * 32,))
    conn.commit()
    conn.close()
    # a real process, so the warning reaches stderr as it does for a user
    res = subprocess.run([sys.executable, "-m", "ispc_core.cli", "balance", "alice"], capture_output=True, text=True,
                         env=os.environ, timeout=120)
    assert res.returncode == 0 and "1000000" in res.stdout, (res.stdout, res.stderr)
    (line,) = [line for line in res.stderr.splitlines() if "07" * 32 in line]
    assert f"mempool.sqlite in {home}" in line and "quarantine" in line
    res = run("balance", "alice")  # reported once: the row is no longer pending
    assert res.exit_code == 0 and res.stderr == ""
    one_error(run("init"), "already has a chain")  # init is refused for the chain, not for the row
