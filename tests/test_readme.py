"""The README's walkthrough works in the order written: its shell lines, then its Python snippet.

The shell block of "Using it" runs line by line against a fresh node home (proofs on, Groth16),
with the placeholders filled from earlier output (RESOURCE_ID, BOB_ADDRESS_HEX, TX_ID, JOB_ID)
and `../other` a second home next to it. The two development-only lines that make an SRS or run
snarkjs-shaped commands on a circom file are tested elsewhere (tests/test_cli*.py) and skipped here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from pathlib import Path

from click.testing import CliRunner

from ispc_core.cli import main

REPO = Path(__file__).resolve().parents[1]
SKIP = ("ispc srs new", "ispc zk setup", ". .venv/bin/activate")


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def _walkthrough() -> tuple[list[str], str]:
    text = (REPO / "README.md").read_text("utf-8")
    section = text.split("## Using it", 1)[1]
    shell = _blocks(section, "sh")[0]
    lines = [ln.split("  #")[0].strip() for ln in shell.splitlines()]
    return [ln for ln in lines if ln and not ln.startswith(SKIP)], _blocks(section, "python")[0]


def test_the_readme_walkthrough_runs_in_order(tmp_path, monkeypatch):
    lines, snippet = _walkthrough()
    work = tmp_path / "work"
    work.mkdir()
    for name in ("contracts", "plugins"):
        (work / name).symlink_to(REPO / name)
    monkeypatch.chdir(work)
    monkeypatch.delenv("ISPC_HOME", raising=False)
    runner = CliRunner()
    seen: dict[str, str] = {}

    def run(argv: list[str]) -> str:
        res = runner.invoke(main, argv, catch_exceptions=False)
        assert res.exit_code == 0, f"`ispc {' '.join(argv)}` failed: {res.output}"
        return res.output

    for line in lines:
        for part in (p.strip() for p in line.split("&&")):
            argv = shlex.split(part)
            if argv[0] == "cp":  # share the key store with the second node (Groth16 keys are not derivable)
                shutil.copytree(work / ".ispc" / "zkkeys", work.parent / "other" / "zkkeys", dirs_exist_ok=True)
                continue
            assert argv[0] == "ispc", part
            argv = [seen.get(a, a) for a in argv[1:]]
            if argv[-2:] == ["tx", "submit"] or "submit" in argv:
                # the other node takes the deploy first, then the call (docs: "its deploy first")
                for tid in seen["PENDING"]:
                    run(["tx", "export", tid, "-o", str(tmp_path / f"{tid}.bin")])
                    run(["--home", "../other", "tx", "submit", str(tmp_path / f"{tid}.bin")])
                continue
            if argv[:2] == ["tx", "export"]:
                seen.setdefault("PENDING", [])
                continue
            out = run(argv)
            if argv[0] == "init" and "BOB_ADDRESS_HEX" not in seen:
                seen["BOB_ADDRESS_HEX"] = re.search(r"key bob: ([0-9a-f]{40})", out).group(1)
            if argv[0] == "deploy":
                seen["RESOURCE_ID"] = out.split()[0]
            if argv[0] == "mempool":
                pending = [ln.split()[0] for ln in out.splitlines() if ln.strip()]
                seen["PENDING_FIRST"] = pending
            if argv[0] == "call" and "TX_ID" not in seen and argv[1] == seen.get("RESOURCE_ID"):
                seen["TX_ID"] = re.search(r"tx ([0-9a-f]{64})", out).group(1)
                assert "binding-only" in out
            if argv[0] == "mine" and "PENDING" not in seen:
                seen["PENDING"] = seen["PENDING_FIRST"]  # what the other node will need: the deploy and the call
            if "async" in argv:
                seen["JOB_ID"] = re.search(r"proof pending: job ([0-9a-f]+)", out).group(1)
            if argv[0] == "verify":
                assert "VALID" in out and "binding-only" in out
            if argv[:2] == ["balance", "bob"] and "JOB_ID" not in seen:
                assert out.strip() == "250"
    assert {"RESOURCE_ID", "TX_ID", "JOB_ID", "BOB_ADDRESS_HEX"} <= set(seen)
    other = json.loads(run(["--home", "../other", "mempool", "list", "--json"]))
    assert [r["tx_id"] for r in other] == seen["PENDING"]  # the other node verified and admitted both
    # the Python snippet, in the same home, after the shell lines
    namespace: dict = {}
    exec(compile(snippet, "<README.md python>", "exec"), namespace)
    assert os.path.isdir(work / ".ispc")
