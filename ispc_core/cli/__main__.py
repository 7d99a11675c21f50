"""``python -m ispc_core.cli``: the same as the ``ispc`` command."""

import sys

from ispc_core.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
