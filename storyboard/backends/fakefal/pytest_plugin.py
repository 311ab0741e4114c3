"""pytest plugin: the ``fake_fal`` fixture (a started FakeFal per test) and ``fake_fal_factory``.

Registered as the ``pytest11`` entry point ``storyboard_fakefal``; importing it costs nothing,
the fake is imported when a test asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from storyboard.backends.fakefal import FakeFal


@pytest.fixture
def fake_fal_factory() -> Iterator[Callable[..., FakeFal]]:
    """Start fakes with any FakeFal options: ``fake = fake_fal_factory(concurrency=1)``; all stop after the test."""
    from storyboard.backends.fakefal import FakeFal

    started: list[FakeFal] = []

    def make(**options: Any) -> FakeFal:
        fake = FakeFal(**options).start()
        started.append(fake)
        return fake

    try:
        yield make
    finally:
        for fake in started:
            fake.stop()


@pytest.fixture
def fake_fal(fake_fal_factory: Callable[..., FakeFal]) -> FakeFal:
    """A started FakeFal on a free port, stopped after the test.

    Merge ``fake_fal.client_env()`` (or ``.env`` plus your own FAL_KEY) into a subprocess's
    environment; ``.ca_path``, ``.port`` and ``.url`` say where it is.
    """
    return fake_fal_factory()
