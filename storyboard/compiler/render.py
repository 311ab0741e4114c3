"""Render: a shot's prompt through sandboxed jinja, with strict undefined variables.

A prompt with no template syntax is returned as it is; one that only substitutes plain variables
(``{{ lens }}``) takes a fast path with jinja's semantics; anything else goes through jinja's
:class:`~jinja2.sandbox.SandboxedEnvironment` with ``StrictUndefined`` and budgets on what a
prompt may cost. The next stage, :mod:`storyboard.compiler.tags`, maps the ``@names``.
"""

from __future__ import annotations

import re
from typing import Any

from storyboard.util import did_you_mean

_MARKERS = ("{{", "{%", "{#")
# no whitespace control (``{{- x -}}``): jinja trims the text around those, the fast path does not
_SIMPLE_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")


class PromptError(Exception):
    """A prompt that cannot be rendered or mapped; ``messages`` lists every problem found."""

    def __init__(self, messages: list[tuple[str, str | None]]):
        super().__init__("; ".join(m for m, _ in messages))
        self.messages = messages


MAX_RENDERED_CHARS = 100_000  # far beyond any real prompt; stops a template that multiplies text
MAX_RANGE_ITEMS = 100_000  # items all range() calls of one prompt may produce together (nested loops)


def _prompt_environment() -> Any:
    """jinja's sandbox, plus limits on what a prompt can cost: big powers, huge repetitions, loops.

    The sandbox stops escapes (``__class__``, ``__globals__``); these limits stop a one-line template
    from freezing the machine (``{{ 9**9**9 }}``, ``{{ 'x' * 10**10 }}``, nested ``range`` loops).
    """
    import jinja2
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment, safe_range

    class PromptEnvironment(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def __init__(self) -> None:
            # None renders as nothing: an unset `style` must not put the word "None" in a paid prompt
            super().__init__(
                undefined=jinja2.StrictUndefined, autoescape=False, finalize=lambda v: "" if v is None else v
            )
            self.globals.pop("lipsum", None)  # lorem ipsum of any length: nothing a prompt needs
            self.globals["range"] = self._range
            self.range_items = 0

        def _range(self, *args: int) -> range:
            items = safe_range(*args)  # jinja's own limit on one range first
            self.range_items += len(items)
            if self.range_items > MAX_RANGE_ITEMS:
                raise SecurityError(f"the prompt's loops run over more than {MAX_RANGE_ITEMS:,} items")
            return items

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if (
                operator == "**"
                and isinstance(left, int)
                and isinstance(right, int)
                and right > 0
                and abs(left) > 1
                and right * abs(left).bit_length() > 4096
            ):
                raise SecurityError(f"{left} ** {right} is too large a number for a prompt")
            if operator == "*":
                for seq, n in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_RENDERED_CHARS:
                        raise SecurityError(f"repeating {len(seq):,} items {n:,} times is too much for a prompt")
            return super().call_binop(context, operator, left, right)

    return PromptEnvironment()


class Renderer:
    """Renders prompt templates in jinja's sandbox, compiling each distinct template once."""

    def __init__(self) -> None:
        self._env: Any = None
        self._templates: dict[str, Any] = {}

    def render(self, source: str, context: dict[str, Any]) -> str:
        """The rendered prompt; PromptError naming the undefined variable or the syntax error."""
        if not any(m in source for m in _MARKERS):
            return source
        if "{%" not in source and "{#" not in source:
            fast = self._fast(source, context)
            if fast is not None:
                return fast
        return self._jinja(source, context)

    @staticmethod
    def _fast(source: str, context: dict[str, Any]) -> str | None:
        """Substitute ``{{ a }}`` / ``{{ a.b }}`` over dicts; None when jinja must decide."""
        pieces: list[str] = []
        pos = 0
        for m in _SIMPLE_VAR.finditer(source):
            literal = source[pos : m.start()]
            if any(mk in literal for mk in _MARKERS):
                return None  # an expression the fast path does not understand
            value: Any = context
            for i, part in enumerate(m.group(1).split(".")):
                if not isinstance(value, dict) or part not in value:
                    if i == 0:
                        raise PromptError([(f"undefined variable {part!r} in the prompt", _var_hint(part, context))])
                    return None  # attribute semantics: let jinja decide
                value = value[part]
            if value is None or isinstance(value, (dict, list, float)):
                return None  # jinja's own string conversion
            pieces += (literal, str(value))
            pos = m.end()
        rest = source[pos:]
        if any(mk in rest for mk in _MARKERS):
            return None
        pieces.append(rest)
        return "".join(pieces)

    def _jinja(self, source: str, context: dict[str, Any]) -> str:
        import jinja2
        from jinja2.exceptions import SecurityError

        if self._env is None:
            self._env = _prompt_environment()
        try:
            template = self._templates.get(source)
            if template is None:
                template = self._templates[source] = self._env.from_string(source)
            self._env.range_items = 0
            pieces: list[str] = []
            size = 0
            for piece in template.generate(context):  # streamed, so a runaway template stops early
                size += len(piece)
                if size > MAX_RENDERED_CHARS:
                    raise PromptError(
                        [
                            (
                                f"the prompt renders to more than {MAX_RENDERED_CHARS:,} characters",
                                "a prompt is a few sentences: check the template's loops",
                            )
                        ]
                    )
                pieces.append(piece)
            return "".join(pieces)
        except PromptError:
            raise
        except jinja2.UndefinedError as exc:
            name = re.search(r"'([^']+)' is undefined", str(exc))
            hint = _var_hint(name.group(1), context) if name else None
            raise PromptError([(f"undefined variable in the prompt: {exc.message}", hint)]) from None
        except jinja2.TemplateSyntaxError as exc:
            raise PromptError([(f"template syntax error on prompt line {exc.lineno}: {exc.message}", None)]) from None
        except SecurityError as exc:
            raise PromptError(
                [
                    (
                        f"the prompt tried something the sandbox forbids: {exc}",
                        "prompts may only use variables and filters",
                    )
                ]
            ) from None
        except Exception as exc:  # a filter or test failing on the user's data
            raise PromptError([(f"the prompt template failed: {exc.__class__.__name__}: {exc}", None)]) from None


def _var_hint(name: str, context: dict[str, Any]) -> str:
    return did_you_mean(name, [k for k in context if not k.startswith("_")]) or "define it under `vars:`"
