"""Crash safety: a node process killed with SIGKILL mid-proof loses nothing and submits nothing twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
N = 3


def _states(home):
    with sqlite3.connect(home / "proofjobs.sqlite") as c:
        return dict(c.execute("SELECT id, state FROM jobs").fetchall())


def test_sigkill_mid_proof_then_restart_finishes_every_job_once(tmp_path):
    home = tmp_path / "node"
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "pj_node.py"), str(home), str(N), "2.0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        jobs = json.loads(line)["jobs"]
        deadline = time.monotonic() + 20
        while "running" not in _states(home).values():  # a proof is under way in a worker process
            assert time.monotonic() < deadline, "no job started"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the node and its proof workers, mid-proof
        proc.wait(timeout=10)
    states = _states(home)
    assert set(states) == set(jobs) and "done" not in states.values()
    with sqlite3.connect(home / "mempool.sqlite") as c:
        assert c.execute("SELECT COUNT(*) FROM pending").fetchone()[0] == 0  # nothing half-submitted

    # restart: a fresh process resumes queued and interrupted jobs (a short delay now)
    out = subprocess.run(
        [sys.executable, str(HERE / "pj_node.py"), str(home), str(N), "0.05", "resume"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0 and "resumed" in out.stdout, out.stderr
    with sqlite3.connect(home / "proofjobs.sqlite") as c:
        rows = c.execute("SELECT state, tx_id, attempts, cause FROM jobs").fetchall()
    assert [r[0] for r in rows] == ["done"] * N, (rows, out.stderr[-4000:])
    tx_ids = [bytes(r[1]) for r in rows]
    with sqlite3.connect(home / "mempool.sqlite") as c:
        pending = [bytes(r[0]) for r in c.execute("SELECT tx_id FROM pending")]
    assert sorted(pending) == sorted(tx_ids) and len(set(pending)) == N  # each exactly once
    with sqlite3.connect(home / "proofjobs.sqlite") as c:
        assert c.execute("SELECT COUNT(*) FROM reservations").fetchone()[0] == 0
