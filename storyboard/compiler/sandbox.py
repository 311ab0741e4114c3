"""The prompt sandbox: jinja's immutable sandbox with a budget on the work and memory of one render.

jinja's :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` stops escapes (``__class__``,
``__globals__``) and mutation of ``vars`` (``list.append``). On top of it, every place where a
template can spend time or memory is counted against one :class:`~storyboard.compiler.budget.Budget` per render: loop items,
calls, filters, tests, operators, comparisons, slices, attribute lookups, output and the text that
macros and ``{% set %}`` blocks collect. Whatever can *grow* a value (``center``, ``format``, ``%``,
``*``, ``+``, ``~``, ``join``, ``replace``, ``indent``, ``wordwrap``, ``batch``, ``str.ljust``, …)
is sized **before** the value is built, so a one-line template can neither hang the compiler nor
allocate gigabytes. An :class:`Undefined` value fails wherever it is used: printed, iterated,
compared, passed to a filter or a call, or put in a list or a mapping.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from functools import update_wrapper
from typing import Any, cast

import jinja2
import jinja2.filters
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment, modifies_known_mutable, safe_range

from storyboard.compiler.budget import (
    MAX_INT_BITS,
    MAX_VALUE_CHARS,
    Budget,
    BudgetError,
    BudgetFormatter,
    Counted,
    compare_cost,
    counted_items,
    fail_if_undefined,
    length,
    percent_size,
    rendered_size,
    replace_size,
    text_size,
    whole,
    width_size,
)
from storyboard.compiler.render import MAX_RENDERED_CHARS


class Undefined(jinja2.StrictUndefined):
    """StrictUndefined that also fails when shown inside a container (``repr``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        self._fail_with_undefined_error()
        return ""  # pragma: no cover - the line above raises


class _PromptCodeGenerator(CodeGenerator):
    """jinja's code generator, routing loops, comparisons, slices, ``~`` and literals through the budget."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        counted = nodes.Call(nodes.EnvironmentAttribute("sb_loop"), [node.iter], [], None, None, lineno=node.lineno)
        node = nodes.For(node.target, counted, node.body, node.else_, node.test, node.recursive, lineno=node.lineno)
        super().visit_For(node, frame)

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        self.write("environment.sb_compare(")
        self.visit(node.expr, frame)
        for op in node.ops:
            self.write(f", {op.op!r}, ")
            self.visit(op.expr, frame)
        self.write(")")

    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        if not isinstance(node.arg, nodes.Slice):
            super().visit_Getitem(node, frame)
            return
        self.write("environment.getitem(")
        self.visit(node.node, frame)
        self.write(", slice(")
        for i, part in enumerate((node.arg.start, node.arg.stop, node.arg.step)):
            self.write(", " if i else "")
            if part is None:
                self.write("None")
            else:
                self.visit(part, frame)
        self.write("))")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.sb_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self.write("environment.sb_items(")
        super().visit_List(node, frame)
        self.write(")")

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":
            super().visit_Tuple(node, frame)
            return
        self.write("environment.sb_items(")
        super().visit_Tuple(node, frame)
        self.write(")")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self.write("environment.sb_items(")
        super().visit_Dict(node, frame)
        self.write(")")


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}

# methods a prompt may call on plain values; anything else (str.translate, int.to_bytes, …) is refused
_SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset(
        "capitalize casefold center count endswith expandtabs find format format_map index isalnum isalpha "
        "isascii isdecimal isdigit isidentifier islower isnumeric isprintable isspace istitle isupper join "
        "ljust lower lstrip partition removeprefix removesuffix replace rfind rindex rjust rpartition rsplit "
        "rstrip split splitlines startswith strip swapcase title upper zfill".split()
    ),
    list: frozenset({"count", "index", "copy"}),
    tuple: frozenset({"count", "index"}),
    dict: frozenset({"get", "items", "keys", "values", "copy"}),
    int: frozenset({"bit_length", "conjugate", "is_integer"}),
    float: frozenset({"conjugate", "is_integer"}),
}
# filters that take a container (or an Undefined) and do not turn it into text
_CONTAINER_FILTERS = frozenset(
    "attr batch count d default dictsort first groupby items join last length list map max min reject "
    "rejectattr reverse select selectattr slice sort sum unique".split()
)
_UNDEFINED_OK = frozenset({"default", "d"})  # filters made for an Undefined
_UNDEFINED_TESTS = frozenset({"defined", "undefined"})
_REMOVED_FILTERS = ("random",)  # a different prompt (and cache key) at each compile


class PromptEnvironment(ImmutableSandboxedEnvironment):
    """The prompt sandbox; ``budget`` is reset by the renderer before each render."""

    code_generator_class = _PromptCodeGenerator
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self) -> None:
        # None renders as nothing: an unset `style` must not put the word "None" in a paid prompt
        super().__init__(undefined=Undefined, autoescape=False, finalize=self._finalize)
        self.budget = Budget()
        self.globals.pop("lipsum", None)  # lorem ipsum of any length: nothing a prompt needs
        self.globals["range"] = self._range
        for name in _REMOVED_FILTERS:
            self.filters.pop(name, None)
        self.filters = {name: self._guard_filter(name, f) for name, f in self.filters.items()}
        self.filters["join"] = self._guard_filter("join", self._join_filter)
        self.filters["sum"] = self._guard_filter("sum", self._sum_filter)
        self.tests = {name: self._guard_test(name, cast(Callable[..., Any], t)) for name, t in self.tests.items()}

    # -- output and collected text -------------------------------------------------------
    def _finalize(self, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, str):
            self.budget.build(len(value), "the output")
            return value
        size = rendered_size(value, MAX_RENDERED_CHARS, self.budget)
        if size > MAX_RENDERED_CHARS:
            raise BudgetError(f"a value in the prompt renders to more than {MAX_RENDERED_CHARS:,} characters")
        self.budget.build(size, "the output")
        return value

    def concat(self, pieces: Iterable[Any]) -> str:
        """What macros, ``{% set %}`` and ``{% filter %}`` blocks collect, joined: sized first."""
        pieces = list(pieces)
        self.budget.build(sum(len(p) if isinstance(p, str) else 64 for p in pieces), "the collected text")
        return "".join(pieces)

    def sb_concat(self, pieces: tuple[Any, ...]) -> str:
        """``a ~ b``: sized before it is joined."""
        size = 0
        for p in pieces:
            size += text_size(p, self.budget, "joining with ~")
        self.budget.build(size, "joining with ~")
        return "".join(map(str, pieces))

    # -- loops, comparisons, literals ------------------------------------------------------
    def sb_loop(self, iterable: Any) -> Any:
        """The iterable of a ``{% for %}``, its items counted."""
        if isinstance(iterable, jinja2.Undefined):
            return iterable  # iterating it fails with its own message
        return Counted(iterable, self.budget)

    def sb_compare(self, first: Any, *rest: Any) -> Any:
        """``a == b``, ``a in b``, ``a < b < c``: charged by the size of what is compared."""
        left = first
        result: Any = True
        for i in range(0, len(rest), 2):
            op, right = rest[i], rest[i + 1]
            self.budget.step(1 + compare_cost(left) + compare_cost(right))
            result = _COMPARE[op](left, right)
            if not result:
                return result
            left = right
        return result

    def sb_items(self, value: Any) -> Any:
        """A list, tuple or dict literal: an Undefined element fails here, not later as text."""
        items = value.values() if isinstance(value, dict) else value
        fail_if_undefined(*items)
        if isinstance(value, dict):
            fail_if_undefined(*value.keys())
        self.budget.step(1 + len(value) // 8)
        return value

    def _range(self, *args: Any) -> range:
        fail_if_undefined(*args)
        return safe_range(*args)  # jinja's own limit on one range; its items count when looped over

    # -- attributes, items, calls ---------------------------------------------------------
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        for kind, names in _SAFE_METHODS.items():
            if isinstance(obj, kind) and callable(value):
                return attr in names
        return True

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        if modifies_known_mutable(obj, attribute):
            return self.undefined(
                f"prompts cannot change variables: {attribute!r} would change a {type(obj).__name__} "
                "that every shot shares",
                name=attribute,
                obj=obj,
                exc=SecurityError,
            )
        return super().unsafe_undefined(obj, attribute)

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.budget.step(2)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, slice) and hasattr(obj, "__len__"):
            fail_if_undefined(obj, argument.start, argument.stop, argument.step)
            self.budget.build(len(range(*argument.indices(len(obj)))), "the slice")
        else:
            self.budget.step()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        plain = super().wrap_str_format(value)
        if plain is None:
            return None
        f_self: str = value.__self__
        is_map = value.__name__ == "format_map"
        env = self

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs, args = args[0], ()
            made = BudgetFormatter(env).vformat(f_self, args, kwargs)
            env.budget.build(len(made), "format")
            return type(f_self)(made)

        return update_wrapper(wrapper, value)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        budget = __self.budget
        budget.step(10 if isinstance(__obj, Macro) else 1)  # a macro call costs as much as ten steps
        if isinstance(__obj, LoopContext) and args:  # a recursive loop: loop(children)
            args = (__self.sb_loop(args[0]), *args[1:])
        elif not isinstance(__obj, Macro):  # a macro may test `is defined`; Python code may not
            fail_if_undefined(*args, *kwargs.values())
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            args = __self._check_str_method(owner, getattr(__obj, "__name__", ""), args)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, (str, list, tuple, dict)) and not isinstance(owner, str):
            budget.build(len(result), "the call")
        return result

    def _check_str_method(self, s: str, name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """Size what a method of ``s`` would make; the arguments to call it with (join's items, listed)."""
        budget = self.budget
        budget.step(1 + len(s) // 1000)
        if name in ("center", "ljust", "rjust", "zfill"):
            budget.build(max(len(s), whole(args[0]) if args else 0), f"str.{name}")
        elif name == "expandtabs":
            tab = whole(args[0]) if args else 8
            budget.build(len(s) + s.count("\t") * tab, "str.expandtabs")
        elif name == "replace" and len(args) >= 2:
            budget.build(replace_size(s, args[0], args[1], args[2] if len(args) > 2 else -1), "str.replace")
        elif name == "join" and args:
            items = list(counted_items(args[0], budget))
            budget.build(sum(text_size(i, budget, "str.join") for i in items) + len(s) * len(items), "str.join")
            return (items, *args[1:])
        else:
            budget.build(len(s), f"str.{name}")  # the other methods make at most a few times their text
        return args

    # -- operators --------------------------------------------------------------------------
    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        fail_if_undefined(left, right)
        budget = self.budget
        budget.step()
        if operator == "**":
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and right > 0
                and abs(left) > 1
                and right * abs(left).bit_length() > 4096
            ):
                raise BudgetError(f"{left} ** {right} is too large a number for a prompt")
        elif operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                    if len(seq) * n > MAX_VALUE_CHARS:
                        raise BudgetError(f"repeating {len(seq):,} items {n:,} times is too much for a prompt")
                    budget.build(max(0, len(seq) * n), "repeating with *")
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() + right.bit_length() > MAX_INT_BITS
            ):
                raise BudgetError("the product is too large a number for a prompt")
        elif operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                budget.build(len(left) + len(right), "adding with +")
        elif operator == "%" and isinstance(left, str):
            budget.build(percent_size(left, right, budget), "the % format")
        return super().call_binop(context, operator, left, right)

    # -- filters and tests ------------------------------------------------------------------
    def _guard_filter(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        offset = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
        env = self

        def guarded(*args: Any, **kwargs: Any) -> Any:
            budget = env.budget
            value = args[offset] if len(args) > offset else None
            rest = args[offset + 1 :]
            if name not in _UNDEFINED_OK:
                fail_if_undefined(value)
            fail_if_undefined(*rest, *kwargs.values())
            # filters over containers run Python code per item; text filters run at C speed
            budget.step(1 + (len(value) // 1000 if isinstance(value, str) else 2 * length(value)))
            if name not in _CONTAINER_FILTERS and not isinstance(value, (str, int, float)):
                text_size(value, budget, f"the {name} filter")
            env._check_filter(name, value, rest, kwargs)
            result = func(*args, **kwargs)
            if isinstance(result, (str, list, tuple, dict)):
                budget.build(len(result), f"the {name} filter")
            return result

        guarded = update_wrapper(guarded, func)
        return guarded

    def _check_filter(self, name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Size what a growing filter would make before it makes it."""
        budget = self.budget

        def arg(i: int, key: str, default: Any = None) -> Any:
            return args[i] if len(args) > i else kwargs.get(key, default)

        text = value if isinstance(value, str) else None
        if name == "center":
            width_size(value, arg(0, "width", 80), budget, "the center filter")
        elif name == "format" and text is not None:
            budget.build(percent_size(text, kwargs or args, budget), "the format filter")
        elif name == "indent" and text is not None:
            width = arg(0, "width", 4)
            pad = len(width) if isinstance(width, str) else whole(width)
            budget.build(len(text) + (text.count("\n") + 2) * pad, "the indent filter")
        elif name == "wordwrap" and text is not None:
            width = max(1, whole(arg(0, "width", 79)))
            wrap = arg(2, "wrapstring") or "\n"
            lines = len(text) // width + text.count("\n") + 1
            budget.step(len(text) // 10)  # textwrap is Python code
            budget.build(len(text) + lines * len(str(wrap)), "the wordwrap filter")
        elif name == "replace" and text is not None:
            budget.build(replace_size(text, arg(0, "old", ""), arg(1, "new", ""), arg(2, "count")), "replace")
        elif name == "truncate" and text is not None:
            budget.build(len(text) + len(str(arg(2, "end", "..."))), "the truncate filter")
        elif name == "batch":
            if arg(1, "fill_with") is not None:
                budget.build(max(0, whole(arg(0, "linecount"))), "the batch filter")
        elif name == "slice":
            budget.build(max(0, whole(arg(0, "slices"))) + length(value), "the slice filter")
        elif name == "urlize" and text is not None:
            extra = len(str(arg(3, "target") or "")) + len(str(arg(4, "rel") or "")) + 60
            budget.build(len(text) * 2 + (text.count(".") + 1) * extra, "the urlize filter")

    def _join_filter(self, value: Any, d: str = "", attribute: str | int | None = None) -> str:
        budget = self.budget
        if attribute is not None:
            get = jinja2.filters.make_attrgetter(self, attribute)
            items = [get(x) for x in counted_items(value, budget)]
        else:
            items = list(counted_items(value, budget))
        sep = str(d)
        size = len(sep) * max(0, len(items) - 1)
        for item in items:
            size += text_size(item, budget, "the join filter")
            if size > MAX_VALUE_CHARS:
                break
        budget.build(size, "the join filter")
        return sep.join(map(str, items))

    def _sum_filter(self, iterable: Any, attribute: str | int | None = None, start: Any = 0) -> Any:
        get = jinja2.filters.make_attrgetter(self, attribute) if attribute is not None else None
        total = start
        for item in counted_items(iterable, self.budget):
            value = get(item) if get is not None else item
            fail_if_undefined(value)
            if not isinstance(value, (int, float)) or not isinstance(total, (int, float)):
                raise TypeError("sum adds numbers; to put texts together use join")
            total = total + value
        return total

    def _guard_test(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        offset = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
        env = self

        def guarded(*args: Any, **kwargs: Any) -> Any:
            value = args[offset] if len(args) > offset else None
            if name not in _UNDEFINED_TESTS:
                fail_if_undefined(value)
            fail_if_undefined(*args[offset + 1 :], *kwargs.values())
            env.budget.step(1 + sum(length(a) for a in args[offset:]) // 1000)
            return func(*args, **kwargs)

        return update_wrapper(guarded, func)
