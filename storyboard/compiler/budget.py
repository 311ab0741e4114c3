"""The budget of one prompt render: its limits, its counters, and sizes computed without building.

:mod:`storyboard.compiler.sandbox` charges every construct of a template to a :class:`Budget`;
the functions here size what an operation would make (``str(value)`` of a container, a printf
``%`` format, a ``str.format`` field, a ``replace``) so that the sandbox can refuse it before
the value exists.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedFormatter
from jinja2.utils import Namespace

MAX_LOOP_ITEMS = 100_000  # items all the loops of one render may go through together
MAX_STEPS = 1_000_000  # units of work (one to a few microseconds each) one render may spend
MAX_VALUE_CHARS = 1_000_000  # one text or list a template may build
MAX_BUILT_CHARS = 10_000_000  # all the text and list items one render may build together
MAX_SECONDS = 5.0  # a backstop: no render may run longer, whatever it does
MAX_TOTAL_SECONDS = 30.0  # nor all the renders of one compilation together
MAX_INT_BITS = 100_000  # an integer of ~30,000 digits: Python refuses to print longer ones anyway


class BudgetError(SecurityError):
    """A render that went over its budget; ``hint`` says what to change."""

    def __init__(self, message: str, hint: str = "a prompt is a few sentences: check the template's loops"):
        super().__init__(message)
        self.hint = hint


class Budget:
    """What one render has spent: loop items, steps of work, characters built, and its deadline."""

    __slots__ = ("items", "steps", "built", "deadline", "_clock_at", "_started", "_spent")

    def __init__(self) -> None:
        self._spent = 0.0
        self._started: float | None = None
        self.reset()

    def reset(self) -> None:
        """Start a new render: fresh counters, and a deadline within what is left of the total time."""
        self.finish()
        now = time.monotonic()
        self._started = now
        self.items = 0
        self.steps = 0
        self.built = 0
        self.deadline = now + max(0.0, min(MAX_SECONDS, MAX_TOTAL_SECONDS - self._spent))
        self._clock_at = 0 if self._spent >= MAX_TOTAL_SECONDS else 4096

    def finish(self) -> None:
        """The render is over: the time it took counts towards :data:`MAX_TOTAL_SECONDS`."""
        if self._started is not None:
            self._spent += time.monotonic() - self._started
            self._started = None

    def step(self, n: int = 1) -> None:
        """Spend ``n`` units of work; BudgetError past :data:`MAX_STEPS` or the deadline."""
        self.steps += n
        if self.steps > MAX_STEPS:
            raise BudgetError(f"the prompt's template does more than {MAX_STEPS:,} steps of work")
        if self.steps >= self._clock_at:
            self._clock_at = self.steps + 4096
            if time.monotonic() > self.deadline:
                raise BudgetError(
                    f"the prompt's template ran for more than {MAX_SECONDS:g} seconds "
                    f"(or the storyboard's prompts for more than {MAX_TOTAL_SECONDS:g} together)"
                )

    def item(self) -> None:
        """One more loop item."""
        self.items += 1
        if self.items > MAX_LOOP_ITEMS:
            raise BudgetError(f"the prompt's loops run over more than {MAX_LOOP_ITEMS:,} items")
        self.step()

    def build(self, size: int, what: str) -> None:
        """About to build a value of ``size`` characters or items; BudgetError if it is too much."""
        if size > MAX_VALUE_CHARS:
            raise BudgetError(f"{what} would make {size:,} characters: too much for a prompt")
        self.built += size
        if self.built > MAX_BUILT_CHARS:
            raise BudgetError(f"the prompt's template builds more than {MAX_BUILT_CHARS:,} characters of text")
        self.step(1 + size // 1000)


def rendered_size(value: Any, limit: int, budget: Budget | None = None) -> int:
    """About how many characters ``str(value)`` makes, counting no further than ``limit``.

    Walks containers without building any text; raises the UndefinedError of the first
    :class:`Undefined` it meets (so a variable hidden in a list is named, not printed).
    """
    total = 0
    visited = 0
    stack = [value]
    while stack and total <= limit:
        v = stack.pop()
        visited += 1
        if isinstance(v, str):
            total += len(v) + 2
        elif isinstance(v, jinja2.Undefined):
            v._fail_with_undefined_error()
        elif isinstance(v, bool) or v is None:
            total += 5
        elif isinstance(v, int):
            total += v.bit_length() // 3 + 2
        elif isinstance(v, float):
            total += 24
        elif isinstance(v, Mapping):
            total += 2 + 4 * len(v)
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(v)
            stack.extend(v)
        elif isinstance(v, Namespace):
            attrs = getattr(v, "_Namespace__attrs", {})
            total += 14 + 4 * len(attrs)
            stack.extend(attrs.values())
        else:
            total += 64  # a date, a macro, a loop: short texts
    if budget is not None:
        budget.step(1 + visited // 8)
    return total


def text_size(value: Any, budget: Budget, what: str) -> int:
    """The size of ``str(value)``; BudgetError before building a text that would be too long."""
    if isinstance(value, str):
        return len(value)
    size = rendered_size(value, MAX_VALUE_CHARS, budget)
    if size > MAX_VALUE_CHARS:
        raise BudgetError(f"{what} would make more than {MAX_VALUE_CHARS:,} characters: too much for a prompt")
    return size


def fail_if_undefined(*values: Any) -> None:
    """Raise the error of the first Undefined among ``values``."""
    for v in values:
        if isinstance(v, jinja2.Undefined):
            v._fail_with_undefined_error()


def whole(value: Any) -> int:
    """``value`` if it is an int (not a bool), else 0: for widths and counts from a template."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


_FORMAT_NUMBERS = re.compile(r"\d+")
_PERCENT_SPEC = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+))?[hlL]?(?P<conv>[a-zA-Z%])"
)


def percent_size(fmt: str, args: Any, budget: Budget) -> int:
    """An upper bound on the length of ``fmt % args`` (printf-style), computed without formatting."""
    positional = list(args) if isinstance(args, tuple) else [args]
    mapping = args if isinstance(args, Mapping) else None
    total = len(fmt)
    index = 0

    def take() -> Any:
        nonlocal index
        value = positional[index] if index < len(positional) else None
        index += 1
        return value

    for m in _PERCENT_SPEC.finditer(fmt):
        budget.step()
        if m["conv"] == "%":
            continue
        width = whole(take()) if m["width"] == "*" else int(m["width"] or 0)
        prec = whole(take()) if m["prec"] == "*" else int(m["prec"] or 0)
        if m["key"] is not None and mapping is not None:
            value = mapping.get(m["key"])
        else:
            value = take()
        total += abs(width) + abs(prec) + text_size(value, budget, "the % format")
        if total > MAX_VALUE_CHARS:
            break
    return total


class BudgetFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, sizing each field before formatting it."""

    def __init__(self, env: Any):
        super().__init__(env)
        self.budget = env.budget
        self.made = 0

    def _add(self, size: int) -> None:
        self.made += size
        if self.made > MAX_VALUE_CHARS:
            raise BudgetError(f"format would make more than {MAX_VALUE_CHARS:,} characters: too much for a prompt")
        self.budget.step()

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            self._add(text_size(value, self.budget, "format"))
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        widths = sum(int(n) for n in _FORMAT_NUMBERS.findall(format_spec)) if format_spec else 0
        self._add(widths + text_size(value, self.budget, "format"))
        return super().format_field(value, format_spec)


class Counted:
    """An iterable whose every item is a loop item of the budget (``len`` kept for ``loop.length``)."""

    __slots__ = ("_iterable", "_budget")

    def __init__(self, iterable: Iterable[Any], budget: Budget):
        self._iterable, self._budget = iterable, budget

    def __iter__(self) -> Iterator[Any]:
        budget = self._budget
        for item in self._iterable:
            budget.item()
            yield item

    def __len__(self) -> int:
        return len(self._iterable)  # type: ignore[arg-type]


def width_size(value: Any, width: Any, budget: Budget, what: str) -> None:
    """Charge padding ``value`` to ``width`` (center, ljust) before it is padded."""
    budget.build(max(text_size(value, budget, what), whole(width)), what)


def length(value: Any) -> int:
    """``len(value)`` for what has one (texts, lists, mappings), else 0; never iterates."""
    try:
        return len(value) if isinstance(value, (str, list, tuple, dict, set, frozenset, range)) else 0
    except OverflowError:  # pragma: no cover - a range too long for len(); safe_range refuses those
        return MAX_VALUE_CHARS + 1


def compare_cost(value: Any) -> int:
    """Steps to compare with ``value``: texts compare at C speed, containers item by item."""
    return len(value) // 1000 if isinstance(value, str) else length(value) // 50


def counted_items(iterable: Any, budget: Budget) -> Iterator[Any]:
    """The items of a filter's input, a step each, stopping past :data:`MAX_VALUE_CHARS` items."""
    fail_if_undefined(iterable)
    for n, item in enumerate(iterable):
        if n >= MAX_VALUE_CHARS:
            raise BudgetError(f"more than {MAX_VALUE_CHARS:,} items: too much for a prompt")
        budget.step()
        yield item


def replace_size(text: str, old: Any, new: Any, count: Any) -> int:
    """An upper bound on the length of ``text.replace(old, new, count)``."""
    old, new = str(old), str(new)
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(0, len(new) - len(old))
