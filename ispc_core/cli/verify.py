"""``ispc verify TX_ID_OR_FILE``: check a transaction without running it."""

from __future__ import annotations

import json

import click

from ispc_core.cli.common import open_node
from ispc_core.cli.errors import fail, one_line
from ispc_core.cli.transactions import load_tx
from ispc_core.errors import RequestError, UnknownTransaction


@click.command("verify")
@click.argument("tx_ref", metavar="TX_ID_OR_FILE")
@click.option("--reexecute", is_flag=True, help="also re-run the program on a scratch copy and compare result hashes")
@click.option("--no-ledger", is_flag=True, help="skip the ledger rules (check signatures and proofs only)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def verify(ctx, tx_ref, reexecute, no_ledger, as_json) -> None:
    """Verify a transaction's signatures, journal, proof and ledger rules without running it.

    Says which circuit the proof is under and whether it proves the
    computation or only binds it (trusting the executing node).

    Exit 0 valid, 1 invalid, 2 malformed input.
    """
    from ispc_core.verify import verify_transaction

    with open_node(ctx) as m:
        try:
            tx = load_tx(m, tx_ref)
        except (RequestError, UnknownTransaction) as exc:
            fail(str(exc), 2)
        report = verify_transaction(m, tx, check_ledger=not no_ledger, reexecute=reexecute)
        if as_json:
            click.echo(json.dumps(report.to_json(), sort_keys=True))
        else:
            click.echo(f"{report.tx_id.hex()} {'VALID' if report.valid else 'INVALID'}")
            from ispc_core.verification import trust_note

            kind = "proves the computation" if report.proves_computation else ("binding-only" if report.circuit else "no proof")
            click.echo(f"  circuit {report.circuit or '(none)'}: {kind}")
            click.echo(f"  trust: {trust_note(report.circuit, report.proves_computation)}")
            for c in report.checks:
                click.echo(f"  {'ok ' if c.ok else 'BAD'} {c.name}: {one_line(c.detail)}")
            if not report.valid:
                click.echo(f"reason: {one_line(report.reason)}")
        ctx.exit(0 if report.valid else 1)


def register(main: click.Group) -> None:
    """Attach ``verify`` to the main command group."""
    main.add_command(verify)
