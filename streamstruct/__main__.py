"""``python -m streamstruct demo`` (or the ``streamstruct demo`` script): the demo's entry point.

The demo itself (scenario, views, command line) lives in :mod:`streamstruct._demo`.
"""

from __future__ import annotations

import sys

from ._demo.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
