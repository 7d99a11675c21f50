"""The one place where a failure becomes the CLI's ``error: ...`` line.

:func:`describe` maps an exception to ``(message, exit code)`` for every class
a user can cause from the command line — ispc's typed errors
(:class:`~ispc_core.errors.IspcError`, :class:`~ispc_core.zk.errors.ZKError`),
click's usage errors, and the standard exceptions bad input raises anywhere
below (files that cannot be read or written, text that is not UTF-8, input
nested too deeply, numbers out of range). Anything else is a bug and keeps its
traceback.

:func:`one_line` escapes control characters (newlines included) so a message
carrying guest-controlled text — an abort message, an event topic — prints
as exactly one line and cannot forge further ``error:`` lines.
"""

from __future__ import annotations

import re
from typing import NoReturn

import click

from ispc_core.errors import IspcError

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def one_line(text: str) -> str:
    """``text`` with control characters, line separators and lone surrogates escaped (``\\n``, ``\\x1b``, ``\\udcff``)."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), str(text))


def _shown_bytes(text: str) -> str:
    """A string decoded from non-UTF-8 bytes (lone surrogates) shown as the bytes it came from."""
    return repr(text.encode("utf-8", "surrogateescape"))


def _unicode_message(exc: UnicodeError) -> str:
    if isinstance(exc, UnicodeEncodeError) and isinstance(exc.object, str) and "surrogates" in exc.reason:
        return f"not valid UTF-8: {_shown_bytes(exc.object)} (arguments, names and text must be UTF-8)"
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid UTF-8: byte {exc.object[exc.start:exc.start + 1]!r} at offset {exc.start}"
    return f"not valid text: {exc}"


def _os_message(exc: OSError) -> str:
    what = exc.strerror or type(exc).__name__
    if exc.filename is not None:
        target = exc.filename if not isinstance(exc.filename, bytes) else exc.filename.decode("utf-8", "replace")
        where = f"{target}" + (f" -> {exc.filename2}" if exc.filename2 is not None else "")
        return f"{where}: {what}"
    return f"{what}" if exc.strerror else str(exc) or what


def describe(exc: BaseException) -> tuple[str, int] | None:
    """``(message, exit code)`` for a failure the user caused, ``None`` for anything else (a bug).

    Exit code 1 for errors, 2 for command-line usage errors (as click uses).
    """
    from ispc_core.zk.errors import ZKError

    if isinstance(exc, (IspcError, ZKError)):
        return str(exc), 1
    if isinstance(exc, click.UsageError):
        hint = ""
        if exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        return exc.format_message() + hint, exc.exit_code
    if isinstance(exc, click.ClickException):
        return exc.format_message(), exc.exit_code
    if isinstance(exc, UnicodeError):
        return _unicode_message(exc), 1
    if isinstance(exc, RecursionError):
        return "input nested too deeply (RecursionError)", 1
    if isinstance(exc, BrokenPipeError):
        return None
    if isinstance(exc, OSError):
        return _os_message(exc), 1
    if isinstance(exc, OverflowError):
        return f"number out of range: {exc}", 1
    return None


def echo_error(message: str) -> None:
    """Print ``error: MESSAGE`` as one line on stderr."""
    click.echo(f"error: {one_line(message)}", err=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: MESSAGE`` and end the command with exit ``code``."""
    echo_error(message)
    raise click.exceptions.Exit(code)
