"""A node process for the orphan test: its proof workers must die when it is SIGKILLed.

    python pj_orphan.py HOME pool       # a node with a 2-worker pool, one proving (slowly), one idle
    python pj_orphan.py HOME watchdog   # a bare multiprocessing child guarded by the watchdog only

Prints one JSON line ``{"pid": ..., "workers": [...]}`` once the workers run, then sleeps until killed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]


def _children() -> list[int]:
    me = os.getpid()
    out = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                out.append(int(entry))
    return out


def _sleeper() -> None:
    from ispc_core.proofjobs.workerguard import install

    install(pdeathsig=False, interval=0.2)
    while True:
        time.sleep(1)


def main() -> None:
    home, mode = sys.argv[1], sys.argv[2]
    if mode == "watchdog":
        p = multiprocessing.get_context("fork").Process(target=_sleeper, daemon=False)
        p.start()
        time.sleep(0.5)  # the watchdog is installed
        workers = [p.pid]
    else:
        from ispc_core.context import CallRequest
        from pj_helpers import deploy_pay, open_async

        m = open_async(home, delay=60.0, executor="processes://2", genesis={"u0": 1000})
        rid = deploy_pay(m)
        job = m.call(CallRequest(rid, "pay", (m.address("bob"), 10), caller="u0")).proof_job_id
        deadline = time.monotonic() + 30
        while len(_children()) < 2 or m.proof_jobs.store.get(job).state != "running":
            if time.monotonic() > deadline:
                raise SystemExit("the pool did not start its workers")
            time.sleep(0.05)
        time.sleep(0.5)  # the workers have run their initializer
        workers = _children()
    print(json.dumps({"pid": os.getpid(), "workers": workers}), flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
