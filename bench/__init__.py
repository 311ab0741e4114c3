"""storyboard's benchmark suite: ``python -m bench [--quick]`` (see docs/performance.md).

Benchmarks report; they never fail on timing. Each module has ``run(quick: bool) -> list[dict]``.
"""
