"""Documentation stays complete: hooks, CLI commands and configuration keys are all documented."""

from __future__ import annotations

import re
import types
from pathlib import Path

import attrs
import click
import pytest

from ispc_core import hookspecs
from ispc_core.cli import main
from ispc_core.config import SECTIONS
from ispc_core.plugins import HOOKS, PluginManager, hook_names

DOCS = Path(__file__).resolve().parents[1] / "docs"


def read(name: str) -> str:
    return (DOCS / name).read_text("utf-8")


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def documents(text: str, name: str) -> bool:
    """``name`` appears as a heading or in backticks."""
    heading = re.search(rf"^#+ .*\b{re.escape(name)}\b", text, re.M)
    return bool(heading) or f"`{name}`" in text


# --- hooks ---------------------------------------------------------------------------


def test_there_are_hooks():
    assert len(hook_names()) == len(HOOKS) >= 9


@pytest.mark.parametrize("hook", hook_names())
def test_hookspec_docstring_has_an_example(hook):
    doc = getattr(hookspecs, hook).__doc__ or ""
    assert re.search(r"^\s*Example(::|:)?\s*$", doc, re.M), f"{hook}: the docstring needs an Example section"
    assert "@hookimpl" in doc and f"def {hook}(" in doc, f"{hook}: the example must implement the hook"


@pytest.mark.parametrize("hook", hook_names())
def test_hookspec_docstring_example_registers(hook):
    doc = getattr(hookspecs, hook).__doc__
    example = doc.split("Example::", 1)[1]
    lines = [line for line in example.splitlines() if line.strip()]
    indent = min(len(line) - len(line.lstrip()) for line in lines)
    source = "\n".join(line[indent:] if line.strip() else "" for line in example.splitlines())
    module = types.ModuleType(f"example_{hook}")
    exec(compile(source, f"<{hook} docstring>", "exec"), module.__dict__)
    pm = PluginManager(load_entry_points=False, extra_plugins=[module], strict=True)
    info = {i.name: i for i in pm.list_plugins()}[module.__name__]
    assert info.hooks == [hook]


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_is_documented_in_plugins_md(hook):
    text = read("plugins.md")
    assert documents(text, hook), f"docs/plugins.md does not document {hook}"
    spec_type = HOOKS[hook][1].__name__
    section = text.split(f"### `{hook}`", 1)[1].split("\n### ", 1)[0]
    assert f"`{spec_type}`" in section, f"the {hook} section must name its type {spec_type}"
    for field in attrs.fields(HOOKS[hook][1]):
        assert f"`{field.name}`" in section, f"the {hook} section must describe {spec_type}.{field.name}"
    assert "```python" in section and "@hookimpl" in section and f"def {hook}(" in section


def test_plugins_md_covers_packaging_selection_and_testing():
    text = read("plugins.md")
    for needed in (
        '[project.entry-points."ispc"]',
        "ISPC_DISABLE_PLUGINS",
        "ISPC_LOAD_PLUGINS",
        "ISPC_STRICT_PLUGINS",
        "ispc plugins list",
        "plugins=[",
        "PluginConflict",
        "NotProvided",
    ):
        assert needed in text, needed


def test_plugins_md_examples_are_complete_plugins():
    blocks = [b for b in python_blocks(read("plugins.md")) if "@hookimpl" in b]
    assert len(blocks) >= len(hook_names())
    provided: set[str] = set()
    for i, source in enumerate(blocks):
        module = types.ModuleType(f"doc_example_{i}")
        exec(compile(source, f"<docs/plugins.md example {i}>", "exec"), module.__dict__)
        pm = PluginManager(load_entry_points=False, extra_plugins=[module], strict=True)
        info = pm.list_plugins()[0]  # strict: wrong types or unknown hooks raise
        assert info.status == "active" and info.provides, f"example {i} provides nothing"
        provided.update(info.hooks)
    assert provided == set(hook_names()), "every hook has a complete example"


def test_plugins_md_engine_example_runs(tmp_path):
    from ispc_core.context import CallRequest
    from ispc_core.coordinator import Manager

    source = next(b for b in python_blocks(read("plugins.md")) if "def ispc_engines(" in b)
    module = types.ModuleType("doc_echo")
    exec(compile(source, "<docs/plugins.md engine example>", "exec"), module.__dict__)
    with Manager.open(tmp_path / "home", overrides={"proof.mode": "off", "chain.accept_unproven": True}, plugins=[module]) as m:
        rid = m.deploy(b"ping", kind="echo").resource_id
        result = m.call(CallRequest(resource_id=rid, function="ping", args=(7,), caller="alice"))
        assert result.values == (7,)


def test_all_python_blocks_compile():
    for name in ("plugins.md", "cli.md", "configuration.md"):
        for i, source in enumerate(python_blocks(read(name))):
            compile(source, f"<docs/{name} block {i}>", "exec")


# --- CLI ------------------------------------------------------------------------------


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in sorted(group.commands.items()):
        path = (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, path)
        else:
            yield path, cmd


COMMANDS = list(_commands(main))


def test_there_are_commands():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"init", "deploy", "call", "tx show", "mempool list", "balance", "mine", "plugins list"} <= names


@pytest.mark.parametrize("path, cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_cli_command_is_in_cli_md(path, cmd):
    text = read("cli.md")
    full = "ispc " + " ".join(path)
    heading = re.search(rf"^#+ `{re.escape(full)}`\s*$", text, re.M)
    assert heading, f"docs/cli.md needs a heading for `{full}`"
    section = text[heading.end():].split("\n## ", 1)[0]
    for param in cmd.params:
        if isinstance(param, click.Option):
            long = max(param.opts, key=len)
            assert f"`{long}" in section, f"the `{full}` section must document {long}"
    if any(isinstance(p, click.Option) and "--json" in p.opts for p in cmd.params):
        assert "shape" in section.lower() and "```json" in section, f"the `{full}` section must show its --json shape"


def test_global_options_are_in_cli_md():
    text = read("cli.md")
    for param in main.params:
        if isinstance(param, click.Option):
            assert f"`{max(param.opts, key=len)}" in text


def test_cli_md_documents_exit_codes():
    text = read("cli.md")
    assert "error: " in text and "Exit codes" in text


# --- configuration ------------------------------------------------------------------

CONFIG_KEYS = [(s, f.name) for s, cls in SECTIONS.items() for f in attrs.fields(cls)]


@pytest.mark.parametrize("section, key", CONFIG_KEYS, ids=[f"{s}.{k}" for s, k in CONFIG_KEYS])
def test_every_config_key_is_in_configuration_md(section, key):
    text = read("configuration.md")
    assert re.search(rf"^#+ `\[{section}\]`", text, re.M), f"docs/configuration.md needs a section [{section}]"
    assert f"`{section}.{key}`" in text, f"docs/configuration.md must document {section}.{key}"
    assert f"ISPC_{section.upper()}_{key.upper()}" in text, "and its environment variable"


def test_configuration_md_documents_free_form_sections_and_precedence():
    text = read("configuration.md")
    assert "`[genesis]`" in text and "`[plugin.<name>]`" in text
    assert "Precedence" in text and "ConfigError" in text
