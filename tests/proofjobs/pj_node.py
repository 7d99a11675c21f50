"""A node process for the crash test: N async calls with a slow prover, then it waits to be killed.

    python pj_node.py HOME N DELAY [resume]

It prints one JSON line with the job ids, then runs the proof jobs forever
(or, with ``resume``, until every job has ended, and prints "resumed").
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]

from ispc_core.context import CallRequest  # noqa: E402
from pj_helpers import deploy_pay, open_async  # noqa: E402

home, n, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
genesis = {f"u{i}": 1000 for i in range(n)}
m = open_async(home, delay=delay, executor="processes", genesis=genesis)
if len(sys.argv) > 4 and sys.argv[4] == "resume":
    m.proof_jobs.wait_all(timeout=60)
    print("resumed", flush=True)
    m.close()
    sys.exit(0)
rid = deploy_pay(m)
bob = m.address("bob")
jobs = [m.call(CallRequest(rid, "pay", (bob, 10 + i), caller=f"u{i}")).proof_job_id for i in range(n)]
print(json.dumps({"jobs": jobs}), flush=True)
while True:
    time.sleep(1)
