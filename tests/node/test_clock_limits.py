"""The block clock at the largest configurable settings: mining never overflows (it used to crash ``mine``)."""

from __future__ import annotations

import pytest

from ispc_core.config_ranges import MAX_BLOCK_INTERVAL, MAX_TIMESTAMP
from ispc_core.errors import ConfigError
from ispc_core.node.node import Node

from .conftest import CHAIN


def test_mining_at_the_largest_clock_settings(tmp_path, kit):
    node = Node(tmp_path / "home", chain_id=CHAIN, genesis=kit.genesis, genesis_time=MAX_TIMESTAMP,
                block_interval=MAX_BLOCK_INTERVAL)
    try:
        for _ in range(3):
            node.submit(kit.transfer(node.ledger, kit.alice, kit.carol.address, 1))
            block = node.mine()
            assert block.time == MAX_TIMESTAMP + block.height * MAX_BLOCK_INTERVAL
            assert node.ledger.snapshot().block_time == block.time
    finally:
        node.close()


@pytest.mark.parametrize("genesis_time, interval, key", [
    (MAX_TIMESTAMP + 1, 10, "node.genesis_time"),
    (1 << 64, 10, "node.genesis_time"),
    (0, MAX_BLOCK_INTERVAL + 1, "node.block_interval"),
    (0, 0, "node.block_interval"),
])
def test_the_ledger_refuses_a_clock_configuration_would_refuse(tmp_path, kit, genesis_time, interval, key):
    with pytest.raises(ConfigError, match=key):
        Node(tmp_path / "home", chain_id=CHAIN, genesis=kit.genesis, genesis_time=genesis_time,
             block_interval=interval)
    assert not (tmp_path / "home" / "ledger.sqlite").exists()
