"""Transactions on the command line: ``ispc tx show ID``, ``ispc tx export ID -o FILE``, ``ispc tx submit FILE``.

Also :func:`load_tx` (a transaction by id or from a file, used by ``ispc verify``)
and :func:`tx_to_json` (a transaction as a JSON-ready dict with bytes in hex).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import click

from ispc_core.cli.common import emit, open_node
from ispc_core.errors import RequestError, UnknownTransaction


def tx_to_json(tx) -> dict[str, Any]:
    """A transaction as JSON-ready dict (bytes in hex)."""
    from google.protobuf import json_format

    data = json_format.MessageToDict(tx, preserving_proto_field_name=True)

    # protobuf renders bytes as base64; re-render them as hex for humans and scripts
    def hexify(value: Any) -> Any:
        return base64.b64decode(value).hex()

    def walk(msg, node):
        for fd in msg.DESCRIPTOR.fields:
            name = fd.name
            if name not in node:
                continue
            if fd.type == fd.TYPE_BYTES:
                if fd.is_repeated:
                    node[name] = [hexify(v) for v in node[name]]
                else:
                    node[name] = hexify(node[name])
            elif fd.type == fd.TYPE_MESSAGE and not (fd.message_type.GetOptions().map_entry):
                sub = getattr(msg, name)
                if fd.is_repeated:
                    for m, n in zip(sub, node[name]):
                        walk(m, n)
                else:
                    walk(sub, node[name])
        return node

    return walk(tx, data)


def load_tx(m, ref: str):
    """A transaction by id (ledger, then mempool) or from a file of serialized bytes (binary or hex)."""
    from ispc_core.node import txcodec

    path = Path(ref)
    if path.is_file():
        data = path.read_bytes()
        stripped = data.strip()
        try:
            if stripped and all(c in b"0123456789abcdefABCDEF" for c in stripped):
                data = bytes.fromhex(stripped.decode())
        except ValueError:
            pass
        tx = txcodec.decode(data)
        if not tx.ByteSize():
            raise RequestError(f"{ref}: the file holds no transaction")
        return tx
    try:
        raw = bytes.fromhex(ref)
    except ValueError:
        raise RequestError(f"{ref!r} is neither a file nor a hex transaction id") from None
    if len(raw) != 32:
        raise RequestError(f"{ref!r} is neither a file nor a 32-byte hex transaction id")
    found = m.node.ledger.get_tx(raw)
    if found is not None:
        return found[0]
    tx = m.node.mempool.get(raw)
    if tx is None:
        raise UnknownTransaction(f"no transaction {ref} in the ledger or the mempool")
    return tx


@click.group()
def tx() -> None:
    """Inspect transactions."""


@tx.command("show")
@click.argument("tx_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def tx_show(ctx, tx_id: str, as_json: bool) -> None:
    """Show a transaction from the ledger or the mempool."""
    try:
        raw = bytes.fromhex(tx_id)
    except ValueError:
        raise RequestError(f"transaction id {tx_id!r} is not hex") from None
    with open_node(ctx) as m:
        found = m.node.ledger.get_tx(raw)
        if found is not None:
            txn, height = found
            where = {"status": "confirmed", "height": height}
        else:
            txn = m.node.mempool.get(raw)
            if txn is None:
                raise UnknownTransaction(f"no transaction {tx_id} in the ledger or the mempool")
            where = {"status": "pending"}
        data = {"tx_id": tx_id, **where, "transaction": tx_to_json(txn)}
        emit(data, as_json, json.dumps(data, indent=2, sort_keys=True))


@tx.command("export")
@click.argument("tx_id")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), required=True, help="file to write the serialized transaction to")
@click.option("--hex", "as_hex", is_flag=True, help="write hex text instead of binary protobuf")
@click.pass_context
def tx_export(ctx, tx_id, output, as_hex) -> None:
    """Write a transaction (ledger or mempool) to a file, for `ispc verify FILE` elsewhere."""
    from ispc_core.node import txcodec

    with open_node(ctx) as m:
        if Path(tx_id).is_file():
            raise RequestError("tx export takes a transaction id, not a file")
        txn = load_tx(m, tx_id)
        data = txcodec.encode(txn)
        Path(output).write_bytes(data.hex().encode() + b"\n" if as_hex else data)
        click.echo(f"wrote {len(data)} bytes of transaction {txcodec.tx_id(txn).hex()}")


@tx.command("submit")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def tx_submit(ctx, path, as_json) -> None:
    """Hand this node a transaction made on another node (a file from `ispc tx export`).

    It is verified exactly as the mempool verifies, then admitted; a refusal
    names the failed check and exits 1, and nothing is written.
    """
    from ispc_core.errors import TransactionRejected
    from ispc_core.node import txcodec

    if not Path(path).is_file():
        raise RequestError(f"no such file: {path}")
    with open_node(ctx) as m:
        txn = load_tx(m, path)
        try:
            tx_id = m.submit_transaction(txn)
        except TransactionRejected as exc:
            data = {"tx_id": txcodec.tx_id(txn).hex(), "accepted": False, "check": exc.reason, "reason": str(exc)}
            emit(data, as_json, f"refused {data['tx_id']}: {exc}")
            ctx.exit(1)
        data = {"tx_id": tx_id.hex(), "accepted": True}
        emit(data, as_json, f"accepted {tx_id.hex()} into the mempool (`ispc mine` confirms it)")


def register(main: click.Group) -> None:
    """Attach the ``tx`` group to the main command group."""
    main.add_command(tx)
