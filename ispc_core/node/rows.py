"""Decoding rows the node stored: protobuf blobs read back from its databases.

A row that no longer parses (or whose transaction no longer hashes to the id
it is stored under) is damaged data, not a bad request: it is reported as
:class:`~ispc_core.errors.DatabaseCorrupt` naming the file and the row.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from ispc_core import errors
from ispc_core.node import txcodec
from ispc_core.proto import transaction_pb2 as pb

M = TypeVar("M", bound=Message)


class BadRow(Exception):
    """One stored row that cannot be used; ``why`` says what is wrong with it."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def parse_stored(cls: type[M], raw: object) -> M:
    """Parse stored bytes ``raw`` as a ``cls`` message; ``BadRow`` if they are not bytes or do not parse."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise BadRow(f"a {type(raw).__name__} is stored where {cls.__name__} bytes belong")
    try:
        return cls.FromString(bytes(raw))
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise BadRow(f"its {cls.__name__} bytes do not parse ({exc})") from None


def parse_stored_tx(tx_id: object, raw: object) -> tuple[bytes, pb.Transaction]:
    """A stored ``(id, transaction)``, checked: the id is 32 bytes and is the transaction's id; else ``BadRow``."""
    if not isinstance(tx_id, (bytes, bytearray, memoryview)) or len(tx_id) != 32:
        raise BadRow(f"its id is not 32 bytes ({tx_id!r:.40})")
    tx = parse_stored(pb.Transaction, raw)
    if txcodec.tx_id(tx) != bytes(tx_id):
        raise BadRow("its bytes do not hash to its id")
    return bytes(tx_id), tx


def corrupt_row(path: Path, row: str, why: str, remedy: str) -> errors.DatabaseCorrupt:
    """The error for a damaged ``row`` (for example ``"transaction ab12…"``) of database ``path``."""
    path = Path(path)
    return errors.DatabaseCorrupt(
        f"{path.name} in {path.parent}: {row} is damaged ({why}): {remedy}", path=str(path)
    )
