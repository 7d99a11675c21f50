"""CLI commands for asynchronous proofs and verification.

``ispc proofs list | show ID | wait ID``, ``ispc verify TX_ID_OR_FILE`` and
``ispc tx export ID -o FILE``. They are attached to the main group by
:func:`register` (called once at the end of :mod:`ispc_core.cli`).
"""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path

import click

from ispc_core.errors import IspcError, RequestError, UnknownTransaction


def _open(ctx):
    from ispc_core.cli import _open as open_node

    return open_node(ctx)


def _ts(t: float | None) -> str:
    return "-" if t is None else datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _job_line(job) -> str:
    tx = job.tx_id.hex()[:16] + "…" if job.tx_id else "-"
    took = ""
    if job.finished_at and job.created_at:
        took = f" {job.finished_at - job.created_at:.2f}s"
    line = f"{job.job_id}  {job.state:7} attempts {job.attempts}/{job.max_attempts}  {job.scheme}/{job.curve}  tx {tx}{took}"
    if job.cause:
        line += f"\n    cause: {job.cause}"
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

    with _open(ctx) as m:
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

    with _open(ctx) as m:
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

    with _open(ctx) as m:
        if not ProofJobStore.exists(m.config.home):
            raise UnknownJob(f"no proof job {job_id!r}: this node home has no proof jobs")
        runner = m.proof_jobs
        job = runner.store.get(job_id)
        t0 = time.monotonic()

        def progress(j):
            if not as_json:
                extra = f" — {j.cause}" if j.cause and j.state != "done" else ""
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
                click.echo(f"error: proof job {job.job_id} failed: {job.cause}", err=True)
            ctx.exit(1)


def _load_tx(m, ref: str):
    """A transaction by id (ledger, then mempool) or from a file of serialized bytes (binary or hex)."""
    from ispc_core.node import txcodec

    path = Path(ref)
    if path.is_file():
        data = path.read_bytes()
        stripped = data.strip()
        try:
            if stripped and all(c in b"0123456789abcdefABCDEF" for c in stripped):
                data = bytes.fromhex(stripped.decode())
        except ValueError:
            pass
        tx = txcodec.decode(data)
        if not tx.ByteSize():
            raise RequestError(f"{ref}: the file holds no transaction")
        return tx
    try:
        raw = bytes.fromhex(ref)
    except ValueError:
        raise RequestError(f"{ref!r} is neither a file nor a hex transaction id") from None
    if len(raw) != 32:
        raise RequestError(f"{ref!r} is neither a file nor a 32-byte hex transaction id")
    found = m.node.ledger.get_tx(raw)
    if found is not None:
        return found[0]
    tx = m.node.mempool.get(raw)
    if tx is None:
        raise UnknownTransaction(f"no transaction {ref} in the ledger or the mempool")
    return tx


@click.command("verify")
@click.argument("tx_ref", metavar="TX_ID_OR_FILE")
@click.option("--reexecute", is_flag=True, help="also re-run the program on a scratch copy and compare result hashes")
@click.option("--no-ledger", is_flag=True, help="skip the ledger rules (check signatures and proofs only)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def verify(ctx, tx_ref, reexecute, no_ledger, as_json) -> None:
    """Verify a transaction's signatures, ledger rules and proofs without running it.

    Exit 0 valid, 1 invalid, 2 malformed input.
    """
    from ispc_core.verify import verify_transaction

    with _open(ctx) as m:
        try:
            tx = _load_tx(m, tx_ref)
        except (RequestError, UnknownTransaction) as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        report = verify_transaction(m, tx, check_ledger=not no_ledger, reexecute=reexecute)
        if as_json:
            click.echo(json.dumps(report.to_json(), sort_keys=True))
        else:
            click.echo(f"{report.tx_id.hex()} {'VALID' if report.valid else 'INVALID'}")
            for c in report.checks:
                click.echo(f"  {'ok ' if c.ok else 'BAD'} {c.name}: {c.detail}")
            if not report.valid:
                click.echo(f"reason: {report.reason}")
        ctx.exit(0 if report.valid else 1)


@click.command("export")
@click.argument("tx_id")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), required=True, help="file to write the serialized transaction to")
@click.option("--hex", "as_hex", is_flag=True, help="write hex text instead of binary protobuf")
@click.pass_context
def tx_export(ctx, tx_id, output, as_hex) -> None:
    """Write a transaction (ledger or mempool) to a file, for `ispc verify FILE` elsewhere."""
    from ispc_core.node import txcodec

    with _open(ctx) as m:
        if Path(tx_id).is_file():
            raise RequestError("tx export takes a transaction id, not a file")
        tx = _load_tx(m, tx_id)
        data = txcodec.encode(tx)
        Path(output).write_bytes(data.hex().encode() + b"\n" if as_hex else data)
        click.echo(f"wrote {len(data)} bytes of transaction {txcodec.tx_id(tx).hex()}")


def register(main: click.Group) -> None:
    """Attach ``proofs``, ``verify`` and ``tx export`` to the main command group."""
    main.add_command(proofs)
    main.add_command(verify)
    tx_group = main.commands.get("tx")
    if isinstance(tx_group, click.Group):
        tx_group.add_command(tx_export)
