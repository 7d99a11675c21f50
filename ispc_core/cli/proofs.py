"""Asynchronous proof jobs: ``ispc proofs list | show ID | wait ID``."""

from __future__ import annotations

import datetime
import json
import time

import click

from ispc_core.cli.common import open_node
from ispc_core.cli.errors import echo_error, one_line
from ispc_core.errors import IspcError


def _ts(t: float | None) -> str:
    return "-" if t is None else datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _job_line(job) -> str:
    tx = job.tx_id.hex()[:16] + "…" if job.tx_id else "-"
    took = ""
    if job.finished_at and job.created_at:
        took = f" {job.finished_at - job.created_at:.2f}s"
    line = f"{job.job_id}  {job.state:7} attempts {job.attempts}/{job.max_attempts}  {job.scheme}/{job.curve}  tx {tx}{took}"
    if job.cause:
        line += f"\n    cause: {one_line(job.cause)}"
    return line


def _job_text(job) -> str:
    d = job.to_json()
    rows = [f"{k:22} {'-' if v in (None, '', []) else v}" for k, v in d.items()]
    for k in ("created_at", "started_at", "finished_at", "next_attempt_at"):
        rows = [r if not r.startswith(k + " ") else f"{k:22} {_ts(getattr(job, k))}" for r in rows]
    return "\n".join(rows)


@click.group()
def proofs() -> None:
    """Inspect and wait for asynchronous proof jobs."""


@proofs.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice(["queued", "running", "done", "failed"]), help="only jobs in this state (repeatable)")
@click.option("--limit", type=int, default=None, help="only the newest N jobs")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def proofs_list(ctx, states, limit, as_json) -> None:
    """List proof jobs, oldest first."""
    from ispc_core.proofjobs.store import ProofJobStore

    with open_node(ctx) as m:
        if not ProofJobStore.exists(m.config.home):
            jobs = []
        else:
            store = ProofJobStore(m.config.home)
            try:
                jobs = store.list(states or None, limit)
            finally:
                store.close()
        if as_json:
            click.echo(json.dumps([j.to_json() for j in jobs], sort_keys=True))
        else:
            click.echo("\n".join(_job_line(j) for j in jobs) or "(no proof jobs)")


@proofs.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def proofs_show(ctx, job_id, as_json) -> None:
    """Show one proof job (an unambiguous id prefix is enough)."""
    from ispc_core.proofjobs.errors import UnknownJob
    from ispc_core.proofjobs.store import ProofJobStore

    with open_node(ctx) as m:
        if not ProofJobStore.exists(m.config.home):
            raise UnknownJob(f"no proof job {job_id!r}: this node home has no proof jobs")
        store = ProofJobStore(m.config.home)
        try:
            job = store.get(job_id)
        finally:
            store.close()
        click.echo(json.dumps(job.to_json(), sort_keys=True) if as_json else _job_text(job))


@proofs.command("wait")
@click.argument("job_id")
@click.option("--timeout", type=float, default=None, help="give up after this many seconds (exit 1)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def proofs_wait(ctx, job_id, timeout, as_json) -> None:
    """Run the node's proof jobs until JOB_ID is done or failed, showing progress.

    Exit 0 when the job is done, 1 when it failed or the timeout passed.
    """
    from ispc_core.proofjobs.errors import UnknownJob
    from ispc_core.proofjobs.store import ProofJobStore

    with open_node(ctx) as m:
        if not ProofJobStore.exists(m.config.home):
            raise UnknownJob(f"no proof job {job_id!r}: this node home has no proof jobs")
        runner = m.proof_jobs
        job = runner.store.get(job_id)
        t0 = time.monotonic()

        def progress(j):
            if not as_json:
                extra = f" — {one_line(j.cause)}" if j.cause and j.state != "done" else ""
                click.echo(f"[{time.monotonic() - t0:6.2f}s] {j.job_id[:12]} {j.state} (attempt {j.attempts}/{j.max_attempts}){extra}", err=True)

        try:
            job = runner.wait(job.job_id, timeout=timeout, on_progress=progress)
        except TimeoutError as exc:
            raise IspcError(str(exc)) from None
        if as_json:
            click.echo(json.dumps(job.to_json(), sort_keys=True))
        elif job.state == "done":
            click.echo(f"done: tx {job.tx_id.hex()} submitted (proof {job.prove_ms} ms, {job.attempts} attempt(s))")
        if job.state != "done":
            if not as_json:
                echo_error(f"proof job {job.job_id} failed: {job.cause}")
            ctx.exit(1)


def register(main: click.Group) -> None:
    """Attach the ``proofs`` group to the main command group."""
    main.add_command(proofs)
