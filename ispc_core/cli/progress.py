"""Progress of long steps (key setup, SRS generation) on stderr.

On a terminal a progress bar; otherwise (a log, CI, a pipe) one line per
stage, so a long step never looks hung. Both report through
:func:`stage_progress`'s callback ``progress(stage, done, total)`` — the
signature the provers' ``setup`` / ``setup_files`` call.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Callable, Iterator

import click

Progress = Callable[[str, int, int], None]


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def say(label: str, message: str) -> None:
    """One progress line on stderr: ``LABEL: MESSAGE``."""
    click.echo(f"{label}: {message}", err=True)


@contextlib.contextmanager
def stage_progress(label: str, total: int) -> Iterator[Progress]:
    """A ``progress(stage, done, total)`` callback for a step of ``total`` units.

    On a TTY it drives a click progress bar; elsewhere it prints
    ``LABEL: STAGE (DONE/TOTAL, T s)`` once per new stage.
    """
    t0 = time.perf_counter()
    if _stderr_is_tty():
        with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
            state = {"done": 0}

            def progress(stage: str, done: int, total_: int) -> None:
                bar.update(max(0, done - state["done"]))
                state["done"] = max(state["done"], done)

            yield progress
            bar.update(max(0, total - state["done"]))
        return
    seen: set[str] = set()

    def progress(stage: str, done: int, total_: int) -> None:
        if stage in seen:
            return
        seen.add(stage)
        say(label, f"{stage} ({done}/{total_ or total}, {time.perf_counter() - t0:.1f} s)")

    yield progress
