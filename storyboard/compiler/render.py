"""Render: a shot's prompt through sandboxed jinja, with strict undefined variables.

A prompt with no template syntax is returned as it is; one that only substitutes plain variables
(``{{ lens }}``) takes a fast path with jinja's semantics; anything else goes through the sandbox
of :mod:`storyboard.compiler.sandbox` (jinja's immutable sandbox, strict undefined variables, and
a budget on the work and memory of each render). The next stage, :mod:`storyboard.compiler.tags`,
maps the ``@names``.
"""

from __future__ import annotations

import re
from typing import Any

from storyboard.util import did_you_mean

_MARKERS = ("{{", "{%", "{#")
# no whitespace control (``{{- x -}}``): jinja trims the text around those, the fast path does not
_SIMPLE_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")


_JINJA_CONSTANTS = frozenset({"true", "false", "none", "True", "False", "None"})


class PromptError(Exception):
    """A prompt that cannot be rendered or mapped; ``messages`` lists every problem found."""

    def __init__(self, messages: list[tuple[str, str | None]]):
        super().__init__("; ".join(m for m, _ in messages))
        self.messages = messages


MAX_RENDERED_CHARS = 100_000  # far beyond any real prompt; stops a template that multiplies text
MAX_TEMPLATE_CHARS = 10_000  # a template's own text: jinja takes about a second to compile 70,000 characters


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
            if m.group(1).split(".")[0] in _JINJA_CONSTANTS:
                return None  # `{{ true }}` is jinja's constant, whatever vars say
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

        from storyboard.compiler import sandbox  # imports jinja: only for prompts that need it
        from storyboard.compiler.budget import BudgetError

        if len(source) > MAX_TEMPLATE_CHARS:
            raise PromptError(
                [
                    (
                        f"the prompt is a template of {len(source):,} characters, over the limit of "
                        f"{MAX_TEMPLATE_CHARS:,}",
                        "a prompt is a few sentences: put long shared text in `vars`",
                    )
                ]
            )
        if self._env is None:
            self._env = sandbox.PromptEnvironment()
        budget = self._env.budget
        try:
            template = self._templates.get(source)
            if template is None:
                budget.reset()  # jinja folds constant expressions while compiling: they count too
                template = self._templates[source] = self._env.from_string(source)
            budget.reset()
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
            hint = None
            if exc.message and "'random'" in exc.message:
                hint = "a random prompt would change the shot's cache key, and pay again, at every build"
            raise PromptError([(f"template syntax error on prompt line {exc.lineno}: {exc.message}", hint)]) from None
        except BudgetError as exc:
            raise PromptError([(str(exc), exc.hint)]) from None
        except SecurityError as exc:
            if str(exc).startswith("prompts cannot change variables"):
                hint = "make a new value instead: {% set more = cast + ['ghost'] %}"
                raise PromptError([(str(exc), hint)]) from None
            raise PromptError(
                [
                    (
                        f"the prompt tried something the sandbox forbids: {exc}",
                        "prompts may only use variables and filters",
                    )
                ]
            ) from None
        except RecursionError:
            raise PromptError(
                [("the prompt's template nests or calls itself too deeply", "a prompt needs no recursion")]
            ) from None
        except Exception as exc:  # a filter or test failing on the user's data
            raise PromptError([(f"the prompt template failed: {exc.__class__.__name__}: {exc}", None)]) from None
        finally:
            budget.finish()  # only the time spent rendering counts towards the storyboard's total


def _var_hint(name: str, context: dict[str, Any]) -> str:
    return did_you_mean(name, [k for k in context if not k.startswith("_")]) or "define it under `vars:`"
