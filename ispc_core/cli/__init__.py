"""The ``ispc`` command line, one module per job.

* :mod:`~ispc_core.cli.app` — the root group, its global options and the one
  place where errors become an ``error: ...`` line;
* :mod:`~ispc_core.cli.common` — opening the node, printing text or JSON;
* :mod:`~ispc_core.cli.node` — ``init``, ``plugins list``, ``demo``;
* :mod:`~ispc_core.cli.calls` — ``deploy``, ``call``;
* :mod:`~ispc_core.cli.transactions` — ``tx show``, ``tx export``;
* :mod:`~ispc_core.cli.chain` — ``mempool list``, ``balance``, ``mine``;
* :mod:`~ispc_core.cli.proofs` — ``proofs list | show | wait``;
* :mod:`~ispc_core.cli.verify` — ``verify``;
* :mod:`~ispc_core.cli.keys` — ``setup`` (node circuit keys);
* :mod:`~ispc_core.cli.zk` — ``zk setup | prove | verify`` on circom/snarkjs files;
* :mod:`~ispc_core.cli.zktools` — ``zk r1cs info``, ``zk wtns check``, ``zk export ...``;
* :mod:`~ispc_core.cli.srs` — ``srs new | import | info``;
* :mod:`~ispc_core.cli.zkml` — ``zkml compile | setup | prove | verify`` (ONNX models as circuits).

Each command module has ``register(main)``; :data:`COMMAND_MODULES` lists them
in the order they are attached. See docs/cli.md.
"""

from __future__ import annotations

import importlib

from ispc_core.cli.app import main
from ispc_core.cli.calls import parse_call_arg
from ispc_core.cli.transactions import tx_to_json

#: modules that add commands to ``ispc``; each has ``register(main)``
COMMAND_MODULES = (
    "ispc_core.cli.node",
    "ispc_core.cli.calls",
    "ispc_core.cli.transactions",
    "ispc_core.cli.chain",
    "ispc_core.cli.proofs",
    "ispc_core.cli.verify",
    "ispc_core.cli.keys",
    "ispc_core.cli.zk",
    "ispc_core.cli.zktools",
    "ispc_core.cli.srs",
    "ispc_core.cli.zkml",
)

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(main)
del _name

__all__ = ["COMMAND_MODULES", "main", "parse_call_arg", "tx_to_json"]
