"""The allowed range of every integer setting, checked the same way for every source.

``ispc.toml``, environment variables, ``--set`` and ``Manager.open(overrides=...)``
all reach :func:`check_int` (through ``ispc_core.config._coerce``), so a value
is refused with the same message wherever it was written. The bounds are what
the node can actually honour: integers are stored and handed to programs and
engines as signed 64-bit numbers, a WebAssembly memory has at most 65536
pages, and timers take at most 2^31 - 1 milliseconds.
"""

from __future__ import annotations

from ispc_core.errors import ConfigError

#: SQLite integers, ``i64`` host-function results and engine counters are signed 64-bit
INT64_MAX = (1 << 63) - 1
#: 9999-12-31T23:59:59Z: the last second a block time can be shown as a date
MAX_TIMESTAMP = 253_402_300_799
#: 366 days: with the largest genesis time, block times stay below 2^63 for about 8e11 blocks
MAX_BLOCK_INTERVAL = 366 * 86_400

#: ``section.key`` -> (lowest, highest, what the highest is); any other integer is 0 .. INT64_MAX
RANGES: dict[str, tuple[int, int, str]] = {
    "node.genesis_time": (0, MAX_TIMESTAMP, "9999-12-31T23:59:59Z"),
    "node.block_interval": (1, MAX_BLOCK_INTERVAL, "366 days"),
    "limits.memory_pages": (0, 65_536, "4 GiB, the most a WebAssembly memory can have"),
    "limits.wall_time_ms": (0, (1 << 31) - 1, "about 24.8 days"),
}
_DEFAULT = (0, INT64_MAX, "2^63 - 1")


def int_range(key: str) -> tuple[int, int]:
    """``(lowest, highest)`` allowed for the integer setting ``key`` (``"limits.fuel"``)."""
    low, high, _ = RANGES.get(key, _DEFAULT)
    return low, high


def check_int(key: str, value: int) -> int:
    """``value`` if it is in the range of setting ``key``, else ``ConfigError`` naming the key and the bound."""
    low, high, why = RANGES.get(key, _DEFAULT)
    if value < 0 <= low:
        raise ConfigError(f"{key}: must not be negative, got {value}")
    if value < low:
        raise ConfigError(f"{key}: must be positive, got {value}" if low == 1 else f"{key}: must be at least {low}, got {value}")
    if value > high:
        raise ConfigError(f"{key}: must be at most {high} ({why}), got {value}")
    return value
