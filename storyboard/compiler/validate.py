"""Validate loaded YAML against the pydantic models and explain every failure in words.

Pydantic's errors are turned into :class:`~storyboard.errors.Problem` objects that name the
file, line, column and field path, say what is wrong in plain words and suggest a fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails  # pydantic's own error type (pydantic_core comes with pydantic)

from storyboard.compiler.load import Document, PathT, shown
from storyboard.compiler.spec import DEFAULT_MODEL, IDENT_PATTERN, Library, Storyboard
from storyboard.errors import InputError, Problem
from storyboard.util import did_you_mean

M = TypeVar("M", bound=BaseModel)

_NAME_HINT = "names use letters, digits and _, and do not start with a digit (e.g. old_mira)"
_BOOL_HINT = "YAML reads yes, no, on, off, true and false as true/false: write the number"


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that owns the last segment of ``loc`` (for listing its fields)."""
    current: Any = model
    in_dict = False
    for part in loc[:-1]:
        if in_dict:  # a name in a dict of models (characters: {mira: …}), not a field
            in_dict = False
            continue
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        if part == current.__name__:  # the branch of a union pydantic tried (`cut` | TransitionSpec)
            continue
        field = current.model_fields.get(part)
        if field is None:
            return None
        in_dict = _is_dict(field.annotation)
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _is_dict(annotation: Any) -> bool:
    """True for ``dict[...]`` and ``dict[...] | None``."""
    import typing

    return typing.get_origin(annotation) is dict or any(
        typing.get_origin(a) is dict for a in typing.get_args(annotation)
    )


def _inner_model(annotation: Any) -> Any:
    """The model class inside ``Foo``, ``tuple[Foo, ...]``, ``dict[str, Foo]`` or ``Foo | None``."""
    import typing

    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(args):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def _describe(err: ErrorDetails, model: type[BaseModel]) -> tuple[str, str | None, bool]:
    """(message, hint, point-at-key) for one pydantic error."""
    kind = err["type"]
    loc = err["loc"]
    inp = err.get("input")
    field = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        owner = _model_at(model, loc)
        hint = did_you_mean(field, list(owner.model_fields)) if owner else None
        if owner and not hint:
            hint = "known fields: " + ", ".join(owner.model_fields)
        return f"unknown field {field!r}", hint, True
    if kind == "missing":
        if field == "prompt" and "generate" in loc:
            return (
                "a generated asset needs a prompt: missing required field 'prompt'",
                "say what the image shows: `generate: {prompt: a young explorer with a red scarf, views: 2}`",
                False,
            )
        return f"missing required field {field!r}", None, False
    bool_hint = _BOOL_HINT if isinstance(inp, bool) else None
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "")
        if field == "[key]" or pattern == IDENT_PATTERN:
            return f"{shown(inp)} is not a valid name", _NAME_HINT, field == "[key]"
        if "mp4" in pattern:
            return (
                f"{shown(inp)} must be a file name ending in .mp4",
                "no folders, no control characters, no leading dot, at most 100 characters before .mp4: "
                "the film is written to the build folder",
                False,
            )
        return (
            f"{shown(inp)} is not a valid name or reference",
            "write a name (mira) or a namespaced name (cast.mira)",
            False,
        )
    if kind == "value_error":  # our own validators' words (spec.py)
        return str(err.get("ctx", {}).get("error", err["msg"])), bool_hint, False
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{shown(inp)} is not allowed here; expected {expected}", bool_hint, False
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{shown(inp)} is out of range: {err['msg'].lower()}", None, False
    if kind in ("int_type", "int_parsing", "int_from_float"):
        if "constrained-int" in loc:  # a shot's duration: a number or `auto`
            return f"{shown(inp)} must be a whole number or `auto`", bool_hint, False
        return f"{shown(inp)} must be a whole number", bool_hint, False
    if kind in ("float_type", "float_parsing"):
        return f"{shown(inp)} must be a number of seconds", bool_hint, False
    if kind in ("string_type",):
        return f"expected text, got {type(inp).__name__} {shown(inp)}", None, False
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping (name: value), got {type(inp).__name__}", None, False
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {type(inp).__name__}", None, False
    if kind == "string_too_long":
        return f"{inp!r:.60} is too long: at most {err.get('ctx', {}).get('max_length')} characters", None, False
    if kind == "value_error":
        return str(err.get("ctx", {}).get("error", err["msg"])), None, False
    if kind == "too_short":
        return f"{field or 'this'} must not be empty", None, False
    if kind == "string_too_short":
        if field == "model":
            return (
                "model must not be empty",
                f"remove the `model:` line to use the default model ({DEFAULT_MODEL}), or name one",
                False,
            )
        return "must not be empty", None, False
    return err["msg"], None, False


def _clean_loc(loc: tuple[Any, ...]) -> tuple[PathT, bool]:
    """Drop pydantic's union/tag segments; report whether the error is about a dict key."""
    out: list[str | int] = []
    is_key = False
    for part in loc:
        if part == "[key]":
            is_key = True
            continue
        if isinstance(part, str) and (
            part in ("TransitionSpec", "constrained-int") or part.startswith("literal[") or part.endswith("]")
        ):
            continue
        out.append(part)
    return tuple(out), is_key


def _failed_items_only(err: ErrorDetails) -> bool:
    """Pydantic's "too short" for a list that is long enough but whose items all failed (reported each)."""
    if err["type"] != "too_short":
        return False
    inp, wanted = err.get("input"), err.get("ctx", {}).get("min_length", 1)
    return isinstance(inp, (list, tuple)) and len(inp) >= wanted


def _other_branch(err: ErrorDetails) -> bool:
    """In a ``"cut" | TransitionSpec`` union, the error of the branch the user did not write.

    A mapping was meant for the model, text for the literal: reporting both says two contradictory things.
    """
    loc, inp = err["loc"], err.get("input")
    if isinstance(inp, dict) and any(isinstance(p, str) and p.startswith("literal[") for p in loc):
        return True
    if err["type"] == "literal_error" and "literal['auto']" in loc:  # `duration: 5 | auto`: the number is meant
        return True
    return err["type"] == "model_type" and "TransitionSpec" in loc and not isinstance(inp, dict)


def validate(doc: Document, model: type[M]) -> M:
    """Validate a loaded document as ``model``; raise InputError listing every problem."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        problems: list[Problem] = []
        seen: set[tuple[PathT, str]] = set()
        for err in exc.errors(include_url=False):
            if _failed_items_only(err) or _other_branch(err):
                continue
            path, is_key = _clean_loc(err["loc"])
            message, hint, at_key = _describe(err, model)
            if (path, message) in seen:
                continue
            seen.add((path, message))
            problems.append(doc.problem(path, message, hint, key=at_key or is_key))
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise InputError(problems) from None


def validate_storyboard(doc: Document) -> Storyboard:
    """Validate a storyboard file (it must not be a library)."""
    storyboard_only = {"shots", "film", "defaults", "vars", "model"}
    if not storyboard_only & set(doc.data) and set(doc.data) & {"characters", "objects", "styles", "images"}:
        raise InputError(doc.problem((), "this looks like a library (no shots)", "build a storyboard that imports it"))
    return validate(doc, Storyboard)


def validate_library(doc: Document) -> Library:
    """Validate a library file (no shots, no film)."""
    for field in ("shots", "film", "defaults", "vars", "model"):
        if field in doc.data:
            raise InputError(
                doc.problem(
                    (field,), f"a library cannot have {field!r}", "only storyboards have shots and a film", key=True
                )
            )
    return validate(doc, Library)
