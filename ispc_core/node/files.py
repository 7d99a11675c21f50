"""The files of a node home, checked before anything opens them.

A node home holds up to three SQLite databases::

    ledger.sqlite     the chain (required once the home has a chain)
    mempool.sqlite    pending transactions (required once the home has a chain)
    proofjobs.sqlite  asynchronous proof jobs (only homes that ran in async mode)

A home is *new* when none of them exists (an ``-wal`` file counts as the
database being there); only then may a chain be created, and only on request
(``ispc init``; ``Manager.open`` on a new home). In a home that is not new,
every required database must be there and every present database must look
like an SQLite database: a missing, empty (0-byte), truncated or non-SQLite
file is refused with one :class:`~ispc_core.errors.NodeFileError` line naming
the file and what to do, never silently replaced by a new chain.

Nothing here opens SQLite: these are checks of the file itself (existence,
permissions, the 100-byte SQLite header, the size the header promises). Pages
damaged inside a well-formed file are found when SQLite reads them (see
:mod:`ispc_core.node.sqlite`).
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path

from ispc_core import errors

LEDGER = "ledger.sqlite"
MEMPOOL = "mempool.sqlite"
PROOFJOBS = "proofjobs.sqlite"

#: databases every home with a chain has, and those it may have
REQUIRED = (LEDGER, MEMPOOL)
OPTIONAL = (PROOFJOBS,)

#: what each database is, for messages
ROLES = {LEDGER: "an ispc ledger", MEMPOOL: "an ispc mempool", PROOFJOBS: "an ispc proof-job store"}

_MAGIC = b"SQLite format 3\x00"
_HEADER = 100
_SIDECARS = ("-wal", "-shm", "-journal")


def remedy(name: str, *, missing: bool = False) -> str:
    """What a user can do about the database called ``name`` being damaged (or ``missing``)."""
    if name == LEDGER:
        return "restore it from a backup, or run `ispc init --force` to start a new chain (the old files are moved aside)"
    if name == MEMPOOL:
        if missing:
            return "restore it from a backup, or run `ispc init` to create an empty one (the chain is kept)"
        return (
            "restore it from a backup, or move it aside and run `ispc init` to create an empty one"
            " (the chain is kept; the pending transactions in it are lost)"
        )
    return "restore it from a backup, or move it aside (the unfinished proof jobs in it are lost; a new one is made when needed)"


def database_present(path: Path) -> bool:
    """Whether the database at ``path`` is there (its file, or at least its write-ahead log)."""
    return path.exists() or Path(f"{path}-wal").exists()


def databases_present(home: Path) -> list[str]:
    """Names of the node databases present in ``home`` (see :func:`database_present`)."""
    home = Path(home)
    return [name for name in (*REQUIRED, *OPTIONAL) if database_present(home / name)]


def is_new_home(home: Path) -> bool:
    """True when ``home`` (which may not exist) has none of the node databases."""
    return not databases_present(home)


def _wal_has_frames(path: Path) -> bool:
    try:
        return os.path.getsize(f"{path}-wal") > 32  # a WAL header alone holds no pages
    except OSError:
        return False


def check_database_file(path: Path) -> None:
    """Refuse a database file that SQLite must not be given: raise a typed ``NodeFileError``.

    ``DatabaseMissing`` if it is not there, ``DatabasePermissionDenied`` if it
    cannot be read, ``DatabaseCorrupt`` if it is not a regular file, is empty,
    is shorter than its header says or is not an SQLite database at all.
    """
    path = Path(path)
    what = f"{path.name} in {path.parent}"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise errors.DatabaseMissing(f"{what} is missing: {remedy(path.name, missing=True)}", path=str(path)) from None
    except PermissionError:
        raise errors.DatabasePermissionDenied(
            f"{what} cannot be reached (permission denied on its directory): fix the permissions of {path.parent}",
            path=str(path),
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise errors.DatabaseCorrupt(f"{what} is not a regular file: {remedy(path.name)}", path=str(path))
    try:
        with open(path, "rb") as fh:
            header = fh.read(_HEADER)
    except PermissionError:
        raise errors.DatabasePermissionDenied(
            f"{what} cannot be read (permission denied): give the node's user read and write access"
            f" (chmod u+rw {path})",
            path=str(path),
        ) from None
    except OSError as exc:
        raise errors.DatabaseIOError(f"{what} cannot be read ({exc.strerror or exc}): check the disk", path=str(path)) from None
    size = st.st_size
    if size == 0:
        raise errors.DatabaseCorrupt(f"{what} is empty (0 bytes), not a database: {remedy(path.name)}", path=str(path))
    if size < _HEADER:
        kind = "truncated" if _MAGIC.startswith(header[: len(_MAGIC)]) else "not an SQLite database"
        raise errors.DatabaseCorrupt(f"{what} is {kind} ({size} bytes): {remedy(path.name)}", path=str(path))
    if header[: len(_MAGIC)] != _MAGIC:
        raise errors.DatabaseCorrupt(
            f"{what} is not an SQLite database (its header is damaged or it is another kind of file): {remedy(path.name)}",
            path=str(path),
        )
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        raise errors.DatabaseCorrupt(
            f"{what} has a damaged header (page size {page_size}): {remedy(path.name)}", path=str(path)
        )
    if size % page_size:
        raise errors.DatabaseCorrupt(
            f"{what} is truncated ({size} bytes is not a whole number of {page_size}-byte pages): {remedy(path.name)}",
            path=str(path),
        )
    pages = int.from_bytes(header[28:32], "big")
    header_size_valid = pages and header[24:28] == header[92:96]
    # a checkpoint interrupted by a crash may leave the file short of its header's size; the WAL then still has the pages
    if header_size_valid and size < pages * page_size and not _wal_has_frames(path):
        raise errors.DatabaseCorrupt(
            f"{what} is truncated ({size} bytes, its header says {pages * page_size}): {remedy(path.name)}",
            path=str(path),
        )


def check_home(home: Path, *, create: bool, repair: bool = False) -> frozenset[str]:
    """Check the databases of node home ``home``; return the names of those to create.

    A new home (no database present) gets a new chain (ledger and mempool)
    only with ``create=True``, else ``NoChain`` tells the user to run ``ispc
    init``. In a home that is not new, every present database must pass
    :func:`check_database_file` and the ledger must be there
    (``DatabaseMissing``); a missing mempool is created only with ``repair``
    (``ispc init`` next to a healthy ledger), else it is ``DatabaseMissing`` too.
    """
    home = Path(home)
    present = databases_present(home)
    if not present:
        if create:
            return frozenset(REQUIRED)
        raise errors.NoChain(
            f"no chain in {home} ({LEDGER} is missing): run `ispc init` to create one", path=str(home / LEDGER)
        )
    if LEDGER not in present:
        raise errors.DatabaseMissing(
            f"{LEDGER} is missing from node home {home}, which has {', '.join(present)}: {remedy(LEDGER, missing=True)}",
            path=str(home / LEDGER),
        )
    for name in present:
        check_database_file(home / name)
    missing = frozenset(REQUIRED) - set(present)
    if missing and not repair:
        name = sorted(missing)[0]
        raise errors.DatabaseMissing(
            f"{name} is missing from node home {home}: {remedy(name, missing=True)}", path=str(home / name)
        )
    return missing


def move_aside(home: Path) -> Path | None:
    """Move every node database of ``home`` (with its ``-wal``/``-shm`` files) into a new
    ``replaced-<UTC time>/`` directory of the home; return it (``None`` if there was nothing).

    Used by ``ispc init --force``: the old chain is kept, out of the way, never deleted.
    """
    home = Path(home)
    names = [
        name + suffix
        for name in (*REQUIRED, *OPTIONAL)
        for suffix in ("", *_SIDECARS)
        if os.path.lexists(home / (name + suffix))
    ]
    if not names:
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = home / f"replaced-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = home / f"replaced-{stamp}-{n}"
    try:
        target.mkdir()
        for name in names:
            os.replace(home / name, target / name)
    except OSError as exc:
        raise errors.DatabasePermissionDenied(
            f"cannot move the old databases of {home} aside ({exc.strerror or exc}): fix the permissions of {home}",
            path=str(home),
        ) from None
    return target


def prepare_init(home: Path, *, force: bool) -> Path | None:
    """Make ``home`` ready for ``ispc init``; return where its old databases went, if anywhere.

    A new home needs nothing. A home with a complete chain is refused with
    ``ChainExists``, a damaged one with the damaged database's own error,
    unless ``force``: then its databases are moved aside (:func:`move_aside`)
    and a new chain starts. A healthy ledger whose mempool is missing passes:
    ``ispc init`` then creates an empty mempool and keeps the chain.
    """
    home = Path(home)
    if is_new_home(home):
        return None
    if force:
        return move_aside(home)
    if check_home(home, create=False, repair=True):
        return None
    raise errors.ChainExists(
        f"{home} already has a chain ({', '.join(databases_present(home))}):"
        " `ispc init --force` moves it aside and starts a new one",
        path=str(home / LEDGER),
    )


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory, flushed to disk, and an
    atomic rename: a reader sees the old file or the whole new one, never a part (parents are created).

    >>> write_atomic(Path(tmp) / "a" / "b.bin", b"whole")   # doctest: +SKIP
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
