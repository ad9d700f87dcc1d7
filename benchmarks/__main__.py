"""``python -m benchmarks``: the whole suite (see ``benchmarks.suite``); ``--help`` for options."""

from benchmarks.suite import main

raise SystemExit(main())
