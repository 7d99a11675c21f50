"""How the node opens its SQLite databases (ledger, mempool, proof jobs).

One connection per database, shared by threads under the owner's lock;
autocommit mode (transactions are opened explicitly with ``BEGIN``); WAL so
readers never block the writer; ``synchronous=NORMAL``, durable across a
process crash (a power loss may drop the last commits, never corrupt).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_database(path: Path, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """A connection to ``path`` configured as every node database is."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn
