"""The root ``ispc`` command group: global options and the one place errors become a line.

Every command opens the node at ``--home`` (default ``$ISPC_HOME`` or
``./.ispc``). Errors print one line to stderr (``error: ...``) and exit 1;
``--json`` output is stable and machine-readable. See docs/cli.md.
"""

from __future__ import annotations

from typing import Any

import click

from ispc_core.errors import IspcError


class IspcGroup(click.Group):
    """A click group that turns typed errors into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; an :class:`IspcError` becomes ``error: ...`` on stderr and exit 1."""
        try:
            return super().invoke(ctx)
        except IspcError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=IspcGroup)
@click.option("--home", type=click.Path(file_okay=False), help="node home (default: $ISPC_HOME or ./.ispc)")
@click.option("--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE", help="override a configuration value")
@click.option("--proof-mode", type=click.Choice(["sync", "async", "off"]), help="override proof.mode")
@click.option("--scheme", help="override proof.scheme (groth16, plonk)")
@click.option("--curve", help="override proof.curve (bn254, bls12-381)")
@click.pass_context
def main(ctx: click.Context, home, sets, proof_mode, scheme, curve) -> None:
    """ispc: run a program once, build a transaction while it runs, attach a proof."""
    overrides: dict[str, Any] = {}
    for item in sets:
        if "=" not in item:
            raise click.UsageError(f"--set expects SECTION.KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        overrides[k.strip()] = v.strip()
    if proof_mode:
        overrides["proof.mode"] = proof_mode
    if scheme:
        overrides["proof.scheme"] = scheme
    if curve:
        overrides["proof.curve"] = curve
    ctx.obj = {"home": home, "overrides": overrides}
