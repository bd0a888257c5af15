"""Grid sweeps over any config field: axes from `--grid FIELD=START:STOP:STEP` / `FIELD=A,B,C` (or a sweep file's
`grid:` mapping), expanded into one set of config overrides per grid point (synth.config validates them)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import yaml

from synth.errors import ConfigError

#: A range's last value is kept when it lies within this fraction of a step past STOP (float steps round).
RANGE_END_TOLERANCE = 1e-6
#: Grid ranges are rounded to this many decimals so 0.24 + 3 * 0.02 is written 0.3, not 0.30000000000000004.
RANGE_DECIMALS = 10
#: Most points one grid may expand to (a typo in a step should not start a million-variant study).
MAX_GRID_POINTS = 10_000


@dataclass(frozen=True)
class GridAxis:
    """One swept field: `field` a dotted config path (e.g. "rig.front_to_rear_m"), `values` in sweep order."""

    field: str
    values: tuple[Any, ...]

    @property
    def short(self) -> str:
        """The field's last component (column and variant-name label)."""
        return self.field.rsplit(".", 1)[-1]


def _scalar(text: str) -> Any:
    """A value as YAML reads it (0.26 -> float, 10 -> int, true -> bool, face -> str)."""
    return yaml.safe_load(text)


def parse_range(text: str, source: str, field: str) -> tuple[float, ...]:
    """`START:STOP:STEP` -> (START, START + STEP, ...) up to STOP inclusive; floats rounded to RANGE_DECIMALS."""
    parts = text.split(":")
    try:
        start, stop, step = (float(p) for p in parts)
    except ValueError:
        raise ConfigError(source, field, f"range {text!r} must be START:STOP:STEP numbers, e.g. 0.24:0.50:0.02"
                          ) from None
    if not all(math.isfinite(v) for v in (start, stop, step)) or step <= 0 or stop < start:
        raise ConfigError(source, field, f"range {text!r} needs STEP > 0 and STOP >= START")
    count = int(math.floor((stop - start) / step + RANGE_END_TOLERANCE)) + 1
    if count > MAX_GRID_POINTS:
        raise ConfigError(source, field, f"range {text!r} has {count} values (most {MAX_GRID_POINTS}); widen STEP")
    return tuple(round(start + i * step, RANGE_DECIMALS) for i in range(count))


def axis_from_value(field: str, value: Any, source: str) -> GridAxis:
    """An axis from a sweep file's `grid:` entry: a list of values or a "START:STOP:STEP" string."""
    if not isinstance(field, str) or not field or any(not part for part in field.split(".")):
        raise ConfigError(source, f"grid.{field}", "a grid axis is a dotted config field, e.g. rig.front_to_rear_m")
    if isinstance(value, str) and value.count(":") == 2:
        values: tuple[Any, ...] = parse_range(value, source, f"grid.{field}")
    elif isinstance(value, (list, tuple)):
        values = tuple(value)
    else:
        values = (value,)
    if not values:
        raise ConfigError(source, f"grid.{field}", "no values; give a list or START:STOP:STEP")
    if len(set(map(repr, values))) != len(values):
        raise ConfigError(source, f"grid.{field}", f"repeated values in {list(values)}")
    return GridAxis(field, values)


def parse_axis(text: str, source: str = "--grid") -> GridAxis:
    """`FIELD=START:STOP:STEP` (inclusive range) or `FIELD=A,B,C` (values read as YAML scalars)."""
    field, sep, rest = text.partition("=")
    field = field.strip()
    if not sep or not field or not rest.strip():
        raise ConfigError(source, text, "expected FIELD=START:STOP:STEP or FIELD=A,B,C, e.g. "
                          "rig.front_to_rear_m=0.24:0.50:0.02 or rig.rear_pitch_deg=0,10,20,30")
    rest = rest.strip()
    if rest.count(":") == 2 and "," not in rest:
        return axis_from_value(field, rest, source)
    return axis_from_value(field, [_scalar(v.strip()) for v in rest.split(",")], source)


def grid_points(axes: list[GridAxis]) -> list[dict[str, Any]]:
    """Every combination of the axes' values ({field: value}), the first axis varying slowest."""
    fields = [a.field for a in axes]
    if len(set(fields)) != len(fields):
        raise ConfigError("--grid", ", ".join(fields), "an axis is given twice; give each field once")
    total = math.prod(len(a.values) for a in axes)
    if total > MAX_GRID_POINTS:
        raise ConfigError("--grid", ", ".join(fields), f"{total} grid points (most {MAX_GRID_POINTS})")
    return [dict(zip(fields, combo)) for combo in itertools.product(*(a.values for a in axes))]


def point_name(point: dict[str, Any]) -> str:
    """Variant name of a grid point, e.g. "front_to_rear_m=0.26,rear_pitch_deg=10" (full field paths when two
    axes share a last component)."""
    shorts = [f.rsplit(".", 1)[-1] for f in point]
    keys = shorts if len(set(shorts)) == len(shorts) else list(point)
    return ",".join(f"{k}={v}" for k, v in zip(keys, point.values()))


def point_overrides(point: dict[str, Any]) -> dict[str, Any]:
    """Config overrides of one grid point, e.g. {"rig": {"front_to_rear_m": 0.26, "name": ...}}; the rig is named
    after the point (tables tell the points apart) unless rig.name is itself an axis."""
    named = point if "rig.name" in point else {**point, "rig.name": point_name(point)}
    overrides: dict[str, Any] = {}
    for field, value in named.items():
        *parents, leaf = field.split(".")
        node = overrides
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError("--grid", field, f"overlaps the axis {part!r}; sweep either the section or its "
                                  "fields")
        node[leaf] = value
    return overrides


def field_value(data: dict[str, Any], field: str) -> Any:
    """The value at a dotted field of plain config data (`RenderConfig.model_dump()`); KeyError if it has none."""
    value: Any = data
    for part in field.split("."):
        if not isinstance(value, dict):
            raise KeyError(field)
        value = value[part]
    return value
