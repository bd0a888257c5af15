"""The base of every validated input model (configs, sweeps, asset manifests) and its one-line error messages."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

#: Python types a YAML boolean must not silently become (pydantic's lax mode reads `true` as 1).
_NUMBER_TYPES = (int, float)


def _is_number_annotation(annotation: Any) -> bool:
    if annotation in _NUMBER_TYPES:
        return True
    args = getattr(annotation, "__args__", None)
    return bool(args) and annotation is not bool and all(a in _NUMBER_TYPES or a is type(None) for a in args) \
        and any(a in _NUMBER_TYPES for a in args)


def _all_finite(value: Any) -> bool:
    """False when a float, or a float inside a list or tuple, is NaN or infinite (mappings are their own models)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_all_finite(v) for v in value)
    return True


class FrozenModel(BaseModel):
    """An immutable pydantic model that rejects unknown keys (a typo in a YAML file is an error, not ignored),
    booleans given for numbers (`seed: true` is a mistake, not 1) and NaN or infinite numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name) if isinstance(name, str) else None
                if isinstance(value, bool) and field is not None and _is_number_annotation(field.annotation):
                    raise ValueError(f"{name}: expected a number, got the boolean {value}")
                if field is not None and not _all_finite(value):
                    raise ValueError(f"{name}: every number must be finite (got {value!r})")
        return data


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a mapping with the same key twice (the later one would silently win)."""


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def yaml_error_where(exc: yaml.YAMLError) -> tuple[str, str]:
    """(where, problem) of a YAML syntax error: "line L, column C" (1-based; "-" without a position) and PyYAML's
    problem ("invalid YAML" when it gives none)."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "-"
    return where, getattr(exc, "problem", None) or "invalid YAML"


def load_yaml(text: str) -> Any:
    """Parse YAML like yaml.safe_load, refusing duplicate keys (yaml.YAMLError with the line of the second one)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def _format_loc(loc: tuple[Any, ...], tags: Mapping[str, type[BaseModel]]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            # Discriminated-union branches show up as the tag name; keep them out of the user's field path.
            if item in tags and parts:
                continue
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "-"


def _model_in(annotation: Any) -> Any:
    """The BaseModel class inside an annotation like `X`, `X | None`, `tuple[X, ...]` or `dict[str, X]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...],
                  tags: Mapping[str, type[BaseModel]]) -> list[str] | None:
    """Field names allowed at the parent of `loc` (for unknown-key errors), when it can be resolved."""
    current: Any = model
    for item in loc[:-1]:
        if isinstance(item, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            break
        if item in fields:
            current = _model_in(fields[item].annotation)
            if current is None:
                return None
        elif item in tags:
            current = tags[item]
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else None


def validation_error_line(exc: ValidationError, model: type[BaseModel],
                          tags: Mapping[str, type[BaseModel]] | None = None) -> tuple[str, str]:
    """(field path, problem) for the first error of a pydantic ValidationError, written for a user.

    tags: the branches of the model's discriminated unions by their `type` tag (pydantic puts the tag into an
    error's location; it is dropped from the field path and used to list the branch's allowed keys).
    """
    tags = tags or {}
    err = exc.errors()[0]
    loc = tuple(err.get("loc", ()))
    field = _format_loc(loc, tags)
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc, tags)
        problem = f"unknown key '{loc[-1]}'"
        if allowed:
            problem += f"; allowed keys here: {', '.join(allowed)}"
    elif kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        problem = f"unknown type {ctx.get('tag')!r}; allowed: {ctx.get('expected_tags')}"
    elif kind == "union_tag_not_found":
        problem = f"missing 'type'; allowed: {', '.join(repr(t) for t in tags)}"
    else:
        msg = err.get("msg", "invalid value")
        msg = msg.removeprefix("Value error, ")
        got = err.get("input")
        problem = msg if isinstance(got, (dict, list)) else f"{msg} (got {got!r})"
    extra = len(exc.errors()) - 1
    if extra > 0:
        problem += f" (and {extra} more problem{'s' if extra > 1 else ''})"
    return field, problem
