"""Commands about the node itself: ``ispc init``, ``ispc plugins list``, ``ispc demo``."""

from __future__ import annotations

import json

import click

from ispc_core.cli.common import open_node


def _toml_with_chain(spec_path: str) -> str:
    """The default ``ispc.toml`` with the sections of a chain spec (``ispc chain spec``) laid over it."""
    import tomllib

    import tomli_w

    from ispc_core.config import default_toml
    from ispc_core.errors import ConfigError

    try:
        spec = tomllib.loads(open(spec_path, encoding="utf-8").read())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{spec_path}: not valid TOML: {exc}") from None
    doc = tomllib.loads(default_toml())
    for section, values in spec.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{spec_path}: [{section}] must be a table")
        if section == "genesis":
            doc["genesis"] = dict(values)  # by address: the other node's key names mean nothing here
        else:
            doc.setdefault(section, {}).update(values)
    return "# ispc node configuration (see docs/configuration.md); chain from " + spec_path + "\n" + tomli_w.dumps(doc)


@click.command()
@click.option("--force", is_flag=True, help="start a new chain even over an existing one (moved aside) and rewrite ispc.toml")
@click.option("--chain", "chain_spec", type=click.Path(dir_okay=False, exists=True), help="join the chain described by this file (from `ispc chain spec`) instead of starting a new one")
@click.pass_context
def init(ctx: click.Context, force: bool, chain_spec: str | None) -> None:
    """Create the node home: ispc.toml, keys, genesis ledger (the only command that creates a chain)."""
    from ispc_core.config import CONFIG_FILE, default_toml, resolve_home
    from ispc_core.node.files import prepare_init

    home = resolve_home(ctx.obj.get("home"))
    moved = prepare_init(home, force=force)  # an existing chain is refused without --force
    if moved is not None:
        click.echo(f"moved the old databases to {moved}")
    home.mkdir(parents=True, exist_ok=True)
    path = home / CONFIG_FILE
    if chain_spec:
        text = _toml_with_chain(chain_spec)
        if path.exists() and not force and path.read_text("utf-8") != text:
            from ispc_core.errors import ConfigError

            raise ConfigError(f"{CONFIG_FILE} already exists in the node home; pass --force to replace it with the chain spec")
        path.write_text(text, "utf-8")
    elif path.exists() and not force:
        click.echo(f"{CONFIG_FILE} already exists in the node home; keeping it")
    else:
        path.write_text(default_toml(), "utf-8")
    with open_node(ctx, create=True, repair=True) as m:
        snap = m.node.ledger.snapshot()
        click.echo(f"node home ready: chain {m.config.node.chain_id}, height {snap.height}")
        for key in m.node.keys.list():
            click.echo(f"  key {key.name}: {key.address.hex()} balance {m.node.ledger.balance(key.address)}")


@click.group()
def plugins() -> None:
    """Inspect plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def plugins_list(ctx, as_json: bool) -> None:
    """Every plugin: name, version, kind, hooks, status."""
    from ispc_core.config import load_config
    from ispc_core.plugins import PluginManager

    cfg = load_config(ctx.obj.get("home"), ctx.obj.get("overrides"))
    pm = PluginManager(
        strict=cfg.plugins.strict or None, load=cfg.plugins.load or None, disable=cfg.plugins.disable or None
    )
    infos = pm.list_plugins()
    if as_json:
        click.echo(json.dumps([i.to_json() for i in infos], sort_keys=True))
        return
    for i in infos:
        status = i.status + (f" ({i.error})" if i.error else "")
        click.echo(f"{i.name:24} {i.distribution} {i.version:8} {','.join(i.kinds) or '-':28} {status}")
        if i.provides:
            click.echo(f"{'':24} provides {', '.join(i.provides)}")


@click.command()
@click.pass_context
def demo(ctx) -> None:
    """Run the main job end to end on an embedded node (a fresh home under ./.ispc-demo by default)."""
    from ispc_core.demo import run_demo

    run_demo(ctx.obj.get("home"), ctx.obj.get("overrides", {}))


def register(main: click.Group) -> None:
    """Attach ``init``, ``plugins`` and ``demo`` to the main command group."""
    main.add_command(init)
    main.add_command(plugins)
    main.add_command(demo)
