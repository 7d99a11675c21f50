"""How the node opens its SQLite databases (ledger, mempool, proof jobs).

One connection per database, shared by threads under the owner's lock;
autocommit mode (transactions are opened explicitly with ``BEGIN``); WAL so
readers never block the writer; ``synchronous=NORMAL``, durable across a
process crash (a power loss may drop the last commits, never corrupt).

This is the one place that opens them, and it checks before it opens: a file
that is missing (unless it is to be created), empty, truncated, unreadable or
not an SQLite database is refused by :func:`ispc_core.node.files.check_database_file`.
Every later SQLite failure that is about the file rather than the SQL — damaged
pages, a lock held by another process past :data:`BUSY_TIMEOUT_S`, a write to a
read-only file, an I/O error — is raised as one typed
:class:`~ispc_core.errors.NodeFileError` naming the file, from any statement
or fetch on the connection. Opening an existing database writes nothing.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

from ispc_core import errors
from ispc_core.node import files

#: seconds a statement waits for another process's lock before ``DatabaseLocked``
BUSY_TIMEOUT_S = 30.0

_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _PROTOCOL, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 15, 26
_PERM, _AUTH = 3, 23
_IOERR_SHORT_READ = 522


def _what(path: Path) -> str:
    return f"{path.name} in {path.parent}"


def translate(path: Path, exc: sqlite3.Error, *, timeout: float | None = None) -> errors.NodeFileError | None:
    """The typed error for SQLite failure ``exc`` on database ``path``, or ``None`` if it is not about the file."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF
    what, where, detail = _what(path), str(path), str(exc)
    if primary in (_CORRUPT, _NOTADB) or code == _IOERR_SHORT_READ:
        return errors.DatabaseCorrupt(f"{what} is damaged ({detail}): {files.remedy(path.name)}", path=where)
    if primary in (_BUSY, _LOCKED, _PROTOCOL):
        waited = BUSY_TIMEOUT_S if timeout is None else timeout
        return errors.DatabaseLocked(
            f"{what} is locked by another process (waited {waited:g} s for it): wait for that process to finish,"
            " or stop it",
            path=where,
        )
    if primary == _READONLY and not os.access(path.parent, os.W_OK) and not Path(f"{path}-shm").exists():
        return errors.DatabaseReadOnly(
            f"{what} cannot be opened: its directory is read-only and SQLite needs to create {path.name}-shm"
            f" next to it, even to read: give the node's user write access to {path.parent}",
            path=where,
        )
    if primary == _READONLY:
        return errors.DatabaseReadOnly(
            f"{what} is read-only (no write permission on it or its directory) and this needs to write to it:"
            f" give the node's user write access (chmod u+w {path} {path.parent})",
            path=where,
        )
    if primary in (_CANTOPEN, _PERM, _AUTH):
        return errors.DatabasePermissionDenied(
            f"{what} cannot be opened ({detail}): the node's user needs read and write access to it and its directory",
            path=where,
        )
    if primary == _FULL:
        return errors.DatabaseIOError(f"{what} cannot be written: the disk is full", path=where)
    if primary == _IOERR:
        return errors.DatabaseIOError(f"{what}: {detail}: check the disk and the file", path=where)
    return None


def _raise_typed(conn: "NodeConnection", exc: sqlite3.Error) -> None:
    typed = translate(conn.path, exc, timeout=conn.busy_timeout)
    if typed is not None:
        raise typed from exc


class _Cursor(sqlite3.Cursor):
    """A cursor whose statements and fetches raise typed errors about the file (see :func:`translate`)."""

    def execute(self, sql, parameters=()):
        """Run one statement."""
        try:
            return super().execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            _raise_typed(self.connection, exc)
            raise

    def executemany(self, sql, seq_of_parameters):
        """Run one statement for each parameter set."""
        try:
            return super().executemany(sql, seq_of_parameters)
        except sqlite3.DatabaseError as exc:
            _raise_typed(self.connection, exc)
            raise

    def executescript(self, script):
        """Run a script of statements."""
        try:
            return super().executescript(script)
        except sqlite3.DatabaseError as exc:
            _raise_typed(self.connection, exc)
            raise

    def fetchone(self):
        """The next row, or ``None``."""
        try:
            return super().fetchone()
        except sqlite3.DatabaseError as exc:
            _raise_typed(self.connection, exc)
            raise

    def fetchmany(self, size=None):
        """Up to ``size`` more rows."""
        try:
            return super().fetchmany(self.arraysize if size is None else size)
        except sqlite3.DatabaseError as exc:
            _raise_typed(self.connection, exc)
            raise

    def fetchall(self):
        """Every remaining row."""
        try:
            return super().fetchall()
        except sqlite3.DatabaseError as exc:
            _raise_typed(self.connection, exc)
            raise

    def __next__(self):
        try:
            return super().__next__()
        except sqlite3.DatabaseError as exc:
            _raise_typed(self.connection, exc)
            raise


class NodeConnection(sqlite3.Connection):
    """A connection to one node database: ``path`` is the file, ``created`` whether this open created it."""

    path: Path
    created: bool
    busy_timeout: float

    def cursor(self, factory=_Cursor):
        """A cursor that raises typed errors."""
        return super().cursor(factory)

    def execute(self, sql, parameters=()):
        """Run one statement on a new cursor."""
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters):
        """Run one statement for each parameter set on a new cursor."""
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, script):
        """Run a script of statements on a new cursor."""
        return self.cursor().executescript(script)


def open_database(path: Path, *, synchronous: str = "NORMAL", create: bool = False) -> NodeConnection:
    """A connection to ``path`` configured as every node database is.

    The file is checked first (:func:`ispc_core.node.files.check_database_file`);
    a missing file is created only with ``create=True``, else it is
    ``DatabaseMissing``. Opening an existing WAL database writes nothing, so a
    node can be read while another process holds the write lock, or from a
    read-only file.
    """
    path = Path(path)
    new = create and not files.database_present(path)
    if not new:
        files.check_database_file(path)
    timeout = BUSY_TIMEOUT_S
    uri = path.absolute().as_uri() + ("?mode=rwc" if new else "?mode=rw")
    try:
        conn = sqlite3.connect(
            uri, uri=True, factory=NodeConnection, check_same_thread=False, isolation_level=None, timeout=timeout
        )
    except sqlite3.DatabaseError as exc:
        typed = translate(path, exc, timeout=timeout)
        if typed is None:
            raise
        raise typed from exc
    conn.path, conn.created, conn.busy_timeout = path, new, timeout
    try:
        if new:
            conn.execute("PRAGMA journal_mode=WAL")  # an existing database is switched once its schema is checked
        conn.execute(f"PRAGMA synchronous={synchronous}")
    except BaseException:
        conn.close()
        raise
    return conn


_CREATE = re.compile(r"CREATE\s+(TABLE|INDEX)\s+IF\s+NOT\s+EXISTS\s+(\w+)", re.IGNORECASE)


def ensure_schema(conn: NodeConnection, schema: str) -> None:
    """Create the tables and indexes of ``schema`` (``CREATE ... IF NOT EXISTS`` statements) where missing.

    When they are all there (every open of an up-to-date database) nothing is
    written. A database this open did not create and that has *none* of the
    schema's tables is some other SQLite database: ``DatabaseCorrupt``. A node
    database that is not in WAL mode yet is switched to it.
    """
    wanted = {(kind.lower(), name) for kind, name in _CREATE.findall(schema)}
    have = set(conn.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index')").fetchall())
    if not wanted <= have:
        tables = {name for kind, name in wanted if kind == "table"}
        if not conn.created and not tables & {name for kind, name in have if kind == "table"}:
            role = files.ROLES.get(conn.path.name, "an ispc node database")
            raise errors.DatabaseCorrupt(
                f"{_what(conn.path)} is an SQLite database but not {role} (it has none of its tables):"
                f" {files.remedy(conn.path.name)}",
                path=str(conn.path),
            )
        conn.executescript(schema)  # a new database, or one from before a table was added
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # once, for a database made before WAL was the rule
        except (errors.DatabaseReadOnly, errors.DatabaseLocked):
            pass  # it still works in its own journal mode
