"""The prompt sandbox: budgets on the work and memory of a render, strict undefined values, read-only vars.

A render may spend at most so many loop items, steps and characters (``storyboard/compiler/sandbox.py``);
whatever can grow a value is sized before the value is built. These tests hold every bomb of issue 11
(items 10, 11, 16, 18) and their siblings to a clear PromptError, check in a subprocess that the memory
bombs never allocate their gigabytes, and check that real prompts render exactly as jinja renders them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from sbtest import build_project, time_limit, write_storyboard
from storyboard.compiler.compile import compile_file
from storyboard.compiler.render import PromptError, Renderer
from storyboard.errors import InputError
from support.cli import cli_env

CONTEXT = {
    "lens": "35mm lens",
    "cast": ["mira", "the ferryman"],
    "looks": {"mira": "red coat", "ferryman": "grey coat"},
    "n": 3,
    "a": "x" * 100_000,
    "shot": {"id": "s1", "duration": 5},
}


def render(template: str) -> str:
    with time_limit(30):
        return Renderer().render(template, dict(CONTEXT))


def refused(template: str) -> str:
    """The message (and hint) of the PromptError ``template`` raises."""
    with pytest.raises(PromptError) as info:
        render(template)
    return " — ".join(f"{m} {h or ''}" for m, h in info.value.messages)


# -- item 10: the work of a render, whatever construct does it ---------------------------------


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{% for x in 'x'*100000 %}{% for y in 'y'*100000 %}{% endfor %}{% endfor %}", "loops run over more than"),
        ("{% for x in cast*50000 %}{% for y in cast*50000 %}{% endfor %}{% endfor %}", "loops run over more than"),
        ("{% for k in looks %}{% for x in a %}{% for y in a %}{% endfor %}{% endfor %}{% endfor %}", "loops run"),
        ("{% for x in a %}{% for y in a if false %}{% endfor %}{% endfor %}", "loops run over more than"),
        ("{% for x in [[1]] recursive %}{{ loop([x]) }}{% endfor %}", "calls itself too deeply"),
        ("{% for x in [a|list] recursive %}{{ loop([x]) }}{% endfor %}", "calls itself too deeply"),
        (
            "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
            "the prompt's template",
        ),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "calls itself too deeply"),
        ("{% for i in range(100000) %}{% set x = (a[:1000]|list)|sort %}{% endfor %}", "the prompt's template"),
        ("{% for i in range(100000) %}{% set x = 'q' in (a[:5000]|list) %}{% endfor %}", "the prompt's template"),
        ("{% for i in range(100000) %}{% set x = a == a ~ '' %}{% endfor %}", "characters of text"),
        ("{% for i in range(99999) %}{{ a[:] and '' }}{% endfor %}", "characters of text"),
        ("{% for i in range(100000) %}{{ a.split('x')|length }}{% endfor %}", "the prompt's template"),
    ],
)
def test_every_kind_of_loop_and_call_is_budgeted(template: str, words: str) -> None:
    assert words in refused(template)


# -- item 11: memory bombs are sized before they are built -------------------------------------

MEMORY_BOMBS = {
    "center": "{{ 'x'|center(10**9) }}",
    "join": "{{ ([a]*10000)|join }}",
    "str_join": "{{ ''.join([a]*10000) }}",
    "format_width": "{{ '{:>900000000}'.format(1) }}",
    "format_nested_width": "{{ '{:>{}}'.format(1, 900000000) }}",
    "format_precision": "{{ '{:.900000000f}'.format(1.5) }}",
    "format_repeat": "{{ '{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}'.format(a) }}",
    "format_map": "{{ '{x:>900000000}'.format_map({'x': 1}) }}",
    "percent_width": "{{ '%900000000d' % 1 }}",
    "percent_star": "{{ '%*d' % (900000000, 1) }}",
    "percent_precision": "{{ '%.900000000f' % 1.5 }}",
    "percent_mapping": "{{ ('%(a)s' * 11) % {'a': a} }}",
    "format_filter": "{{ '%900000000d'|format(1) }}",
    "ljust": "{{ 'x'.ljust(10**9) }}",
    "rjust": "{{ 'x'.rjust(10**9) }}",
    "zfill": "{{ '1'.zfill(10**9) }}",
    "method_center": "{{ 'x'.center(10**9) }}",
    "expandtabs": "{{ ('\t' * 1000).expandtabs(10**6) }}",
    "str_repeat": "{{ 'x' * 10**9 }}",
    "list_repeat": "{{ ([1] * 10**9)|length }}",
    "concat_doubling": "{% set ns = namespace(s=a) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "plus_doubling": "{% set ns = namespace(s=a) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
    "replace_filter": "{{ a|replace('x', a)|length }}",
    "replace_method": "{{ a.replace('x', a)|length }}",
    "indent": "{{ ('\n' * 100000)|indent(a, blank=true)|length }}",
    "wordwrap": "{{ a|wordwrap(1, wrapstring=a)|length }}",
    "batch": "{{ [1]|batch(10**9, 'x')|list|length }}",
    "slice": "{{ [1]|slice(10**8)|list|length }}",
    "sum_lists": "{{ ([[1] * 100000] * 100000)|sum(start=[])|length }}",
    "list_repr": "{{ [a] * 100000 }}",
    "string_filter": "{{ ([a] * 100000)|string|length }}",
    "tojson": "{{ ([a] * 100000)|tojson|length }}",
    "pprint": "{{ ([a] * 100000)|pprint|length }}",
    "urlize": "{{ ('a.com ' * 100000)|urlize(target=a)|length }}",
    "set_block": "{% for k in range(1000) %}{% set x %}{% for i in range(100) %}{{ a }}{% endfor %}{% endset %}{% endfor %}",
    "macro_buffer": "{% macro m() %}{% for i in range(1000) %}{{ a }}{% endfor %}{% endmacro %}{{ m()|length }}",
    "square": "{% set ns = namespace(x=3) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}{% endfor %}",
    "power": "{{ 9 ** 99999999 }}",
    "to_bytes": "{{ (1).to_bytes(10**9, 'big') }}",
    "translate": "{{ a.translate({120: a}) }}",
    "encode": "{{ a.encode('utf-32') }}",
}


@pytest.mark.parametrize("name", sorted(MEMORY_BOMBS))
def test_a_memory_bomb_is_refused(name: str) -> None:
    message = refused(MEMORY_BOMBS[name])
    assert any(
        w in message
        for w in ("too much for a prompt", "characters", "too large a number", "is unsafe", "sum adds numbers")
    ), message


PEAK_SCRIPT = """
import json, resource, sys, tracemalloc
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # a bomb that gets through fails, not the machine
from storyboard.compiler.render import PromptError, Renderer
tracemalloc.start()  # ru_maxrss would include the parent's size, inherited across fork and exec
out = {}
for name, template in json.loads(sys.argv[1]).items():
    try:
        Renderer().render(template, {"a": "x" * 100000})
        out[name] = "rendered"
    except PromptError as exc:
        out[name] = exc.messages[0][0]
out["peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
print(json.dumps(out))
"""


def test_memory_bombs_never_allocate_their_gigabytes() -> None:
    """Every bomb in one fresh process: none rendered, and Python's allocations never passed 100 MB."""
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, json.dumps(MEMORY_BOMBS)],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [n for n in MEMORY_BOMBS if out[n] == "rendered"] == []
    assert out["peak_mb"] < 100, out  # each bomb asks for 1-40 GB


# -- real prompts are untouched ------------------------------------------------------------------

REAL_PROMPTS = [
    "{{ true }} {{ false }} {{ True }} {{ none is none }}",  # jinja's constants: the fast path used to look them up
    "{{ lens|upper }}, {{ cast|join(', ') }}",
    "{% for c in cast %}{{ loop.index }}. {{ c|title }}{% if not loop.last %}; {% endif %}{% endfor %}",
    "{{ looks.mira }} and {{ looks['ferryman'] }}; {{ looks|dictsort|first|join('=') }}",
    "{{ n * 2 }} {{ n ** 3 }} {{ n + 1 }} {{ '%s-%03d' % (lens, n) }} {{ '{} / {:>6}'.format(lens, n) }}",
    "{{ lens ~ '!' }} {{ lens[:4] }} {{ lens[::-1] }} {{ 'mira' in cast }} {{ n < 4 < 5 }}",
    "{{ cast|map('upper')|join(' & ') }} {{ cast|sort|last }} {{ cast|length }} {{ [1, 2, 3]|sum }}",
    "{{ lens|center(15) }}|{{ lens|truncate(6) }}|{{ lens|replace('mm', ' mm') }}|{{ lens|wordwrap(4) }}",
    "{% set parts = ['a', n, lens] %}{{ parts|join(' ') }} {{ {'k': n}|tojson }} {{ (1, 2) }} {{ [cast] }}",
    "{% macro who(x) %}<{{ x }}>{% endmacro %}{{ who('mira') }}{% set s %}{{ who(n) }}{% endset %}{{ s }}",
    "{{ lens.split(' ')|reverse|join(' ') }} {{ ', '.join(cast) }} {{ lens.upper().ljust(12, '.') }}",
    "{% for c in cast|batch(1) %}{{ c }}{% endfor %} {{ range(5)|list }} {{ cast|slice(2)|list }}",
    "{{ nothing|default('a default') }} {{ nothing is defined }} {{ shot.id }} {{ a|length }}",
    "{% filter upper %}{{ lens }}{% endfilter %} {{ '%(x)s' % {'x': lens} }} {{ lens|indent(2, true) }}",
]


@pytest.mark.parametrize("template", REAL_PROMPTS)
def test_real_prompts_render_as_jinja_renders_them(template: str) -> None:
    plain = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    assert render(template) == plain.from_string(template).render(dict(CONTEXT))


# -- item 16: an Undefined never reaches the prompt ----------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ [lense] }}",
        "{{ {'k': lense} }}",
        "{{ {lense: 1} }}",
        "{{ (lense, 1) }}",
        "{{ [lense]|length }}",
        "{{ [cast, [lense]] }}",
        "{{ '%r' % lense }}",
        "{{ '%s' % (lense,) }}",
        "{{ '{!r}'.format(lense) }}",
        "{{ '{}'.format(lense) }}",
        "{{ lense|pprint }}",
        "{{ lense|tojson }}",
        "{{ lense|list }}",
        "{{ lense|int }}",
        "{{ lense|float }}",
        "{{ lense|abs }}",
        "{{ lense|string }}",
        "{{ lense|length }}",
        "{{ lense|join }}",
        "{{ lense ~ '' }}",
        "{{ lense == 1 }}",
        "{{ lense in cast }}",
        "{{ 'x' in lense }}",
        "{{ lense is string }}",
        "{{ lense * 2 }}",
        "{{ ', '.join([lense]) }}",
        "{{ namespace(x=lense) }}",
        "{{ dict(x=lense) }}",
        "{{ range(lense) }}",
        "{% for x in lense %}{% endfor %}",
        "{% if lense %}{% endif %}",
    ],
)
def test_an_undefined_variable_fails_wherever_it_is_used(template: str) -> None:
    assert "'lense' is undefined" in refused(template)


@pytest.mark.parametrize(
    "template",
    [
        "{{ cast|map(attribute='__class__')|list }}",
        "{{ cast|map(attribute='__class__')|join }}",
        "{{ cast|map(attribute='nope')|list }}",
        "{{ [looks.nope] }}",
        "{{ {'k': shot.nope} }}",
        "{{ cast|map(attribute='nope')|first }}",
        "{{ cast|sum(attribute='nope') }}",
        "{{ cast|sort(attribute='nope') }}",
        "{{ cast|unique(attribute='nope')|list }}",
        "{{ cast|selectattr('nope')|list }}",
    ],
)
def test_undefined_attributes_fail_inside_containers_and_filters(template: str) -> None:
    message = refused(template)
    assert "is unsafe" in message or "has no attribute" in message
    assert "Undefined" not in message


def test_defined_and_default_still_handle_an_undefined_variable() -> None:
    assert render("{{ lense|default('x') }} {{ lense is defined }} {{ lense is undefined }}") == "x False True"


# -- item 18: vars are read-only, so no shot can change another's prompt ------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{% set _ = cast.append('ghost') %}",
        "{{ cast.append('ghost') }}",
        "{{ cast.extend(cast) }}",
        "{{ cast.pop() }}",
        "{{ cast.sort() }}",
        "{{ cast.insert(0, 'x') }}",
        "{{ looks.update({'mira': 'blue'}) }}",
        "{{ looks.setdefault('x', 1) }}",
        "{{ looks.pop('mira') }}",
        "{{ looks.clear() }}",
        "{{ shot.update({'id': 'x'}) }}",
        "{% set l = cast|list %}{{ l.append(1) }}",
        "{% for c in [cast] %}{{ c.append(1) }}{% endfor %}",
    ],
)
def test_a_prompt_cannot_change_a_variable(template: str) -> None:
    assert "prompts cannot change variables" in refused(template)


MUTATING = """\
version: 1
title: Shared
vars:
  cast: [mira, stone]
  looks: {mira: blue}
characters:
  mira: {image: assets/mira/front.png}
shots:
  - id: first
    prompt: "{% set _ = cast.append('ghost') %}@mira with {{ cast|join(', ') }}"
  - id: second
    prompt: "@mira with {{ cast|join(', ') }}"
"""


def test_a_shot_that_mutates_a_var_is_an_error_naming_that_shot_only(project: Path) -> None:
    with pytest.raises(InputError) as info:
        compile_file(write_storyboard(project, MUTATING))
    [problem] = info.value.problems
    assert problem.path == "shots[0].prompt" and "shot 'first'" in problem.message
    assert "prompts cannot change variables" in problem.message


READERS = [
    "{{ cast|join(', ') }} in {{ looks.mira }}",
    "{% for c in cast %}{{ c }}{% endfor %} {{ cast|length }}",
    "{% set more = cast + ['ghost'] %}{{ more|join }}",
    "{% set cast = cast|reverse|list %}{{ cast|first }}",
    "{{ cast|sort(reverse=true)|join }} {{ looks|dictsort }}",
    "{% set ns = namespace(c=cast) %}{% set ns.c = ns.c + [1] %}{{ ns.c }}",
    "{{ looks|items|list }} {{ cast[::-1] }}",
]


@pytest.fixture(scope="module")
def order_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("order") / "project")


@settings(max_examples=25, deadline=None)
@given(order=st.permutations(list(range(len(READERS)))))
def test_keys_do_not_depend_on_shot_order(order_project: Path, order: list[int]) -> None:
    """Each shot sees the vars as written, whatever ran before it: same prompt and key in any order."""

    def keys(indices: list[int]) -> dict[str, tuple[str, str]]:
        shots = "".join(f"  - id: s{i}\n    prompt: {json.dumps('@mira ' + READERS[i])}\n" for i in indices)
        path = write_storyboard(order_project, MUTATING.split("shots:\n")[0] + "shots:\n" + shots)
        return {s.id: (s.prompt, s.key) for s in compile_file(path).shots}

    assert keys(order) == keys(sorted(order))


def test_the_storyboard_time_budget_is_shared_by_every_render() -> None:
    """A render after MAX_TOTAL_SECONDS of rendering fails at its first step, whatever it does."""
    from storyboard.compiler.budget import MAX_TOTAL_SECONDS, Budget, BudgetError

    budget = Budget()
    budget.reset()
    budget.step()
    budget._spent = MAX_TOTAL_SECONDS  # as if the storyboard's earlier prompts had used all of it
    budget.finish()
    budget.reset()
    with pytest.raises(BudgetError, match="more than 30 together"):
        budget.step()


def test_a_template_over_10000_characters_is_refused_before_jinja_compiles_it() -> None:
    assert "a template of 70,000 characters" in refused("{{ 1 }}" * 10_000)
    assert render("{{ 1 }}" * 1_000) == "1" * 1_000  # 7,000 characters: fine
    assert Renderer().render("plain " * 5_000, {}) == "plain " * 5_000  # no template: no limit here
