"""Proof workers die with the node: SIGKILL the node process and its pool workers are gone within seconds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ispc_core.proofjobs import workerguard

HERE = Path(__file__).parent

try:
    import psutil
except ImportError:  # pragma: no cover - psutil is in the dev environment
    psutil = None


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for init to reap it counts as dead)."""
    if psutil is not None:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _run_and_kill_parent(tmp_path, mode: str, within: float) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "pj_orphan.py"), str(tmp_path / "node"), mode],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    workers: list[int] = []
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        info = json.loads(line)
        workers = info["workers"]
        assert workers and all(_alive(w) for w in workers)
        os.kill(proc.pid, signal.SIGKILL)  # only the node: its workers must follow by themselves
        proc.wait(timeout=10)
        deadline = time.monotonic() + within
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [w for w in workers if _alive(w)]
        assert not left, f"proof workers {left} outlived the SIGKILLed node"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for w in workers:  # never leave strays behind, even when the test fails
            try:
                os.kill(w, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs fork and /proc or psutil")
def test_pool_workers_die_with_a_sigkilled_node(tmp_path):
    _run_and_kill_parent(tmp_path, "pool", within=5.0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs fork and /proc or psutil")
def test_watchdog_alone_ends_an_orphaned_worker(tmp_path):
    # the portable fallback, without PR_SET_PDEATHSIG
    _run_and_kill_parent(tmp_path, "watchdog", within=3.0)


def test_guard_pool_only_touches_unstarted_process_pools():
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as tp:
        assert workerguard.guard_pool(tp) is False
    pool = concurrent.futures.ProcessPoolExecutor(1)
    try:
        assert workerguard.guard_pool(pool) is True
        assert workerguard.guard_pool(pool) is True  # idempotent: not wrapped twice
        assert pool._initializer.func is workerguard._initializer
        assert pool.submit(os.getpid).result(timeout=30) != os.getpid()
    finally:
        pool.shutdown()
