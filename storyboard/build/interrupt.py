"""Ctrl-C while shots, sounds and images are being made: a flag checked at safe points.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be. While the build waits
on its worker threads that can be inside ``concurrent.futures.wait`` (whose ``_AcquireFutures``
takes each future's lock in turn) or ``Future.result`` with a lock taken and not yet released;
the worker that finishes that future would then block on the lock forever, and so would the
pool's shutdown — a build that ignores Ctrl-C. The window is a few bytecodes each 0.2 s, found by
reading, not seen. :func:`deferred_interrupt` closes it: for the generation phase only, and only
in the main thread with Python's default handler, SIGINT merely sets the build's cancel event
(running generations stop at their next check) and a flag; the runners call
:meth:`Interrupt.check` where they hold no lock, and it raises ``KeyboardInterrupt`` there, so
everything downstream (finished work kept, exit 130) is as before. A second Ctrl-C raises at
once, as Python's default does. A process started with SIGINT ignored (a background job of a
non-interactive shell) keeps ignoring it, as Python itself does.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FuturesTimeout
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Interrupt:
    """Whether Ctrl-C was pressed during the generation phase."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.requested = threading.Event()

    def request(self) -> None:
        """Ctrl-C: stop starting work, tell running work to stop, raise at the next :meth:`check`."""
        self.requested.set()
        self.cancel.set()

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed (call it where no lock is held)."""
        if self.requested.is_set():
            raise KeyboardInterrupt


@contextmanager
def deferred_interrupt(cancel: threading.Event) -> Iterator[Interrupt]:
    """Within the block, SIGINT sets flags instead of raising (main thread, default handler only)."""
    interrupt = Interrupt(cancel)
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is not signal.default_int_handler:
        yield interrupt  # a build in a server's thread, or a process that handles SIGINT its own way
        return

    def handler(signum: int, frame: object) -> None:
        if interrupt.requested.is_set():  # the second Ctrl-C: stop now
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        interrupt.request()

    signal.signal(signal.SIGINT, handler)
    try:
        yield interrupt
    finally:
        signal.signal(signal.SIGINT, previous)


def results_in_order(
    pool: Executor, fn: Callable[[T], R], items: Iterable[T], interrupt: Interrupt | None
) -> Iterator[R]:
    """``pool.map(fn, items)``, waiting in 0.2-s steps so that a pending Ctrl-C is raised between them."""
    futures = [pool.submit(fn, item) for item in items]
    for fut in futures:
        while True:
            if interrupt is not None:
                interrupt.check()
            try:
                result = fut.result(timeout=0.2)
            except FuturesTimeout:
                continue
            break
        yield result
