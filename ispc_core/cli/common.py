"""Helpers every command module shares: open the node, print text or JSON."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import click


def hexstr(b: bytes | None) -> str | None:
    """``b`` as lowercase hex, ``None`` stays ``None``."""
    return None if b is None else b.hex()


def open_node(ctx: click.Context, *, create: bool = False, repair: bool = False, **extra):
    """The :class:`~ispc_core.coordinator.Manager` of the node home given by the global options.

    ``extra`` are configuration overrides on top of ``--set`` and friends. A home
    without a chain is refused unless ``create`` (only ``ispc init`` passes it,
    with ``repair``; see :meth:`Manager.open`).
    """
    from ispc_core.coordinator import Manager

    obj = ctx.find_root().ensure_object(dict)
    overrides = dict(obj.get("overrides", {}))
    overrides.update(extra)
    return Manager.open(obj.get("home"), overrides=overrides, create=create, repair=repair)


def emit(data: Any, as_json: bool, text: str) -> None:
    """Print ``data`` as one line of sorted JSON when ``as_json``, else ``text``."""
    if as_json:
        click.echo(json.dumps(data, sort_keys=True))
    else:
        click.echo(text)


def check_writable_dir(directory: Path) -> None:
    """Create ``directory`` if needed and check a file can be written in it, before a long step.

    Raises :class:`OSError` naming ``directory`` (the CLI prints it as one error line).
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".ispc-probe-", dir=directory)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write here ({exc.strerror or type(exc).__name__})", str(directory)) from None
    os.close(fd)
    os.unlink(tmp)
