"""Ctrl-C during the generation phase is a flag raised at safe points (build/interrupt.py)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from storyboard.build.interrupt import deferred_interrupt, results_in_order


@pytest.fixture(autouse=True)
def default_sigint() -> Iterator[None]:
    """Python's own Ctrl-C handler for each test, whatever the suite was started with (a background
    job of a non-interactive shell starts with SIGINT ignored, and xdist's workers inherit that)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _sigint() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # the handler runs in the main thread at its next bytecode


def test_a_ctrl_c_sets_the_flags_and_is_raised_only_at_a_check() -> None:
    cancel = threading.Event()
    with deferred_interrupt(cancel) as interrupt:
        _sigint()  # no KeyboardInterrupt here, wherever the main thread was
        assert interrupt.requested.is_set() and cancel.is_set()
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored after the phase


def test_a_second_ctrl_c_stops_at_once() -> None:
    with deferred_interrupt(threading.Event()):
        _sigint()
        with pytest.raises(KeyboardInterrupt):
            _sigint()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_results_come_in_order_and_a_pending_ctrl_c_stops_the_wait() -> None:
    cancel = threading.Event()
    with ThreadPoolExecutor(2) as pool, deferred_interrupt(cancel) as interrupt:
        assert list(results_in_order(pool, lambda x: x * 2, [3, 1, 2], interrupt)) == [6, 2, 4]
        slow = results_in_order(pool, lambda x: cancel.wait(5) and x, [1], interrupt)
        started = time.monotonic()
        _sigint()
        with pytest.raises(KeyboardInterrupt):
            next(slow)
        assert time.monotonic() - started < 1.0  # raised within a 0.2-s step, not after the work


def test_outside_the_main_thread_nothing_is_installed() -> None:
    seen: list[object] = []

    def run() -> None:
        with deferred_interrupt(threading.Event()):
            seen.append(signal.getsignal(signal.SIGINT))

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert seen == [signal.default_int_handler]
