"""The root ``ispc`` command group: global options and the one place errors become a line.

Every command opens the node at ``--home`` (default ``$ISPC_HOME`` or
``./.ispc``). Errors print one line to stderr (``error: ...``) and exit 1 (2 for usage errors);
``--json`` output is stable and machine-readable. See docs/cli.md.
"""

from __future__ import annotations

from typing import Any

import click

from ispc_core.cli.errors import describe, echo_error


def _report(exc: BaseException) -> int | None:
    """Print the error line for ``exc`` and return its exit code, or ``None`` to let it propagate."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        return None  # ``ispc`` or ``ispc tx`` alone: click prints the help
    described = describe(exc)
    if described is None:
        return None
    message, code = described
    echo_error(message)
    return code


class IspcGroup(click.Group):
    """The root group: every failure below it becomes one ``error: ...`` line (see :mod:`ispc_core.cli.errors`)."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        """Parse the global options; a usage error is one line (exit 2)."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except Exception as exc:
            code = _report(exc)
            if code is None:
                raise
            raise click.exceptions.Exit(code) from None

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a failure the user caused is one line on stderr and exit 1 (2 for usage errors)."""
        try:
            return super().invoke(ctx)
        except Exception as exc:
            code = _report(exc)
            if code is None:
                raise
            ctx.exit(code)


@click.group(cls=IspcGroup)
@click.option("--home", type=click.Path(file_okay=False), help="node home (default: $ISPC_HOME or ./.ispc)")
@click.option("--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE", help="override a configuration value")
@click.option("--proof-mode", type=click.Choice(["sync", "async", "off"]), help="override proof.mode")
@click.option("--scheme", help="override proof.scheme (groth16, plonk)")
@click.option("--curve", help="override proof.curve (bn254, bls12-381)")
@click.option("--traceback", "show_traceback", is_flag=True, help="let a plugin's own exception through with its traceback (sets ISPC_TRACEBACK=1)")
@click.pass_context
def main(ctx: click.Context, home, sets, proof_mode, scheme, curve, show_traceback) -> None:
    """ispc: run a program once, build a transaction while it runs, attach a proof."""
    if show_traceback:
        import os

        os.environ["ISPC_TRACEBACK"] = "1"
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
