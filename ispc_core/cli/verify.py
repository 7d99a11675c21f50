"""``ispc verify TX_ID_OR_FILE...``: check transactions without running them (several: proofs batch-verified)."""

from __future__ import annotations

import json

import click

from ispc_core.cli.common import open_node
from ispc_core.cli.errors import fail, one_line
from ispc_core.cli.transactions import load_tx
from ispc_core.errors import RequestError, UnknownTransaction


@click.command("verify")
@click.argument("tx_refs", metavar="TX_ID_OR_FILE...", nargs=-1, required=True)
@click.option("--reexecute", is_flag=True, help="also re-run the program on a scratch copy and compare result hashes")
@click.option("--no-ledger", is_flag=True, help="skip the ledger rules (check signatures and proofs only)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def verify(ctx, tx_refs, reexecute, no_ledger, as_json) -> None:
    """Verify transactions' signatures, journal, proof and ledger rules without running them.

    Says which circuit the proof is under and whether it proves the
    computation or only binds it (trusting the executing node). Several
    transactions are verified together, their proofs in one batch per key
    (one line each; with --json a list of reports).

    Exit 0 valid (every one), 1 invalid (any), 2 malformed input.
    """
    from ispc_core.verify import verify_transaction, verify_transactions

    with open_node(ctx) as m:
        txs = []
        for ref in tx_refs:
            try:
                txs.append(load_tx(m, ref))
            except (RequestError, UnknownTransaction) as exc:
                fail(str(exc), 2)
        if len(txs) == 1:
            reports = [verify_transaction(m, txs[0], check_ledger=not no_ledger, reexecute=reexecute)]
        elif reexecute:  # audits: one by one (re-execution is per transaction anyway)
            reports = [verify_transaction(m, tx, check_ledger=not no_ledger, reexecute=True) for tx in txs]
        else:
            reports = verify_transactions(m, txs, check_ledger=not no_ledger)
        if len(reports) == 1:
            _print_one(reports[0], as_json)
        elif as_json:
            click.echo(json.dumps([r.to_json() for r in reports], sort_keys=True))
        else:
            for r in reports:
                kind = meaning(r)
                line = f"{r.tx_id.hex()} {'VALID' if r.valid else 'INVALID'} circuit {r.circuit or '(none)'}: {kind}"
                click.echo(line if r.valid else f"{line}; reason: {one_line(r.reason)}")
        ctx.exit(0 if all(r.valid for r in reports) else 1)


def meaning(report) -> str:
    """What a report's proof shows, in a few words: ``computation proven: onnx_inference.v1``,
    ``binding-only`` or ``no proof``."""
    if report.proves_computation:
        return f"computation proven: {report.circuit.split('/')[0]}"
    return "binding-only" if report.circuit else "no proof"


def _print_one(report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json(), sort_keys=True))
        return
    click.echo(f"{report.tx_id.hex()} {'VALID' if report.valid else 'INVALID'}")
    from ispc_core.verification import trust_note

    click.echo(f"  circuit {report.circuit or '(none)'}: {meaning(report)}")
    click.echo(f"  trust: {trust_note(report.circuit, report.proves_computation)}")
    for c in report.checks:
        click.echo(f"  {'ok ' if c.ok else 'BAD'} {c.name}: {one_line(c.detail)}")
    if not report.valid:
        click.echo(f"reason: {one_line(report.reason)}")


def register(main: click.Group) -> None:
    """Attach ``verify`` to the main command group."""
    main.add_command(verify)
