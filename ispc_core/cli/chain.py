"""The ledger and the mempool: ``ispc mempool list``, ``ispc balance ADDRESS``, ``ispc mine``, ``ispc chain spec``."""

from __future__ import annotations

import click

from ispc_core.cli.common import emit, hexstr, open_node


@click.group()
def mempool() -> None:
    """Inspect the mempool."""


@mempool.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def mempool_list(ctx, as_json: bool) -> None:
    """List pending transactions in arrival order."""
    with open_node(ctx) as m:
        items = m.node.mempool.list()
        rows = [
            {"tx_id": hexstr(tid), "inputs": len(t.inputs), "outputs": len(t.outputs), "function": t.execution.function}
            for tid, t in items
        ]
        text = "\n".join(f"{r['tx_id']}  {r['function'] or '-'}  in={r['inputs']} out={r['outputs']}" for r in rows) or "(empty)"
        emit(rows, as_json, text)


@click.command()
@click.argument("address")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def balance(ctx, address: str, as_json: bool) -> None:
    """Confirmed native balance of ADDRESS (40 hex characters or a key name)."""
    with open_node(ctx) as m:
        addr = m.address(address)
        amount = m.node.ledger.balance(addr)
        emit({"address": hexstr(addr), "balance": amount}, as_json, str(amount))


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def mine(ctx, as_json: bool) -> None:
    """Move every pending transaction into a new block."""
    with open_node(ctx) as m:
        block = m.mine()
        if block is None:
            emit({"block": None}, as_json, "mempool empty; no block made")
            return
        data = {"height": block.height, "hash": hexstr(block.hash), "time": block.time, "tx_count": block.tx_count}
        emit(data, as_json, f"block {block.height} {data['hash']} with {block.tx_count} transactions")


@click.group()
def chain() -> None:
    """The chain this node is on."""


def chain_spec_toml(overrides: dict) -> str:
    """The TOML another node's ``ispc init --chain FILE`` reads: ``chain_overrides()`` as sections."""
    import tomli_w

    doc: dict = {}
    for key, value in overrides.items():
        if key == "genesis":
            doc["genesis"] = dict(value)
            continue
        section, _, name = key.partition(".")
        doc.setdefault(section, {})[name] = value
    return "# the chain's identity and rules: `ispc init --chain THIS_FILE` puts another node on it\n" + tomli_w.dumps(doc)


@chain.command("spec")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), help="file to write (default: print it)")
@click.pass_context
def chain_spec(ctx, output) -> None:
    """Print (or write) what another node needs to join this chain: chain id, block clock, genesis by
    address, rules. On the other node: `ispc init --chain FILE` (and share the key store for Groth16)."""
    from pathlib import Path

    with open_node(ctx) as m:
        text = chain_spec_toml(m.chain_overrides())
    if output:
        Path(output).write_text(text, "utf-8")
        click.echo(f"wrote the chain spec to {output}")
    else:
        click.echo(text, nl=False)


def register(main: click.Group) -> None:
    """Attach ``mempool``, ``balance``, ``mine`` and ``chain`` to the main command group."""
    main.add_command(chain)
    main.add_command(mempool)
    main.add_command(balance)
    main.add_command(mine)
