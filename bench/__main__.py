"""``python -m bench [--quick] [--only NAME ...]``: run the benchmark suite (see :mod:`bench.run`)."""

from bench.run import main

raise SystemExit(main())
