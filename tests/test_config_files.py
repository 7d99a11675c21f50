"""A hostile or damaged ispc.toml is one ConfigError naming the file, never a crash."""

from __future__ import annotations

import pytest

from ispc_core.config import load_config
from ispc_core.errors import ConfigError


@pytest.mark.parametrize(
    "body, message",
    [
        (b'[node]\nchain_id = "x\xff"\n', r"ispc.toml: not valid UTF-8 \(byte b'\\xff' at offset 20\)"),
        (("a = " + "[" * 100_000 + "]" * 100_000).encode(), "nested more than 64 levels deep"),
        (b"[node\n", "ispc.toml: not valid TOML"),
    ],
)
def test_bad_files_are_one_config_error(tmp_path, body, message):
    import py_ecc.bn128  # noqa: F401 - raises the recursion limit to 100000, as in a running node

    (tmp_path / "ispc.toml").write_bytes(body)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path)


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path):
    (tmp_path / "ispc.toml").write_text('[node]\nchain_id = "' + "[" * 200 + '"\n')
    assert load_config(tmp_path).node.chain_id == "[" * 200
