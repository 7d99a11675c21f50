"""How plugin problems are reported: file and line, once per process, and unknown names in the selection."""

from __future__ import annotations

import logging

import pytest

from ispc_core.errors import PluginError
from ispc_core.plugins import PluginManager
from test_plugins import make_distribution


@pytest.fixture
def broken(tmp_path, monkeypatch):
    root = make_distribution(
        tmp_path / "site", "brokenplug", "0.1", {"brokenplug": "brokenplug_mod"},
        {"brokenplug_mod": "import os\n\n\nraise RuntimeError('kaboom on line 4')\n"},
    )
    monkeypatch.syspath_prepend(str(root))
    return root


def _messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "ispc_core.plugins"]


def test_a_plugin_that_fails_to_import_is_reported_with_file_and_line_once(broken, caplog):
    with caplog.at_level(logging.WARNING, logger="ispc_core.plugins"):
        for _ in range(3):  # `ispc demo` opens several managers: one report, not three
            PluginManager()
    reports = [m for m in _messages(caplog) if "brokenplug" in m]
    assert len(reports) == 1
    assert f"at {broken / 'brokenplug_mod.py'}:4" in reports[0] and "kaboom on line 4" in reports[0]


def test_unknown_names_in_the_disable_list_are_reported(monkeypatch, caplog):
    monkeypatch.setenv("ISPC_DISABLE_PLUGINS", "no-such-plugin-xyz")
    with caplog.at_level(logging.WARNING, logger="ispc_core.plugins"):
        PluginManager()
    assert any("'no-such-plugin-xyz' is disabled" in m and "no installed plugin has that name" in m for m in _messages(caplog))


def test_unknown_names_in_the_selection_are_fatal_in_strict_mode():
    with pytest.raises(PluginError, match="'typo-plugin' is selected to load"):
        PluginManager(load=["typo-plugin"], strict=True)
