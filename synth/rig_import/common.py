"""What every calibration reader shares: its options, the camera it returns and small checked readers of file values.

Camera frames are OpenCV's in every supported format (x right, y down, z optical axis) and pixels follow OpenCV
((0, 0) = centre of the top-left pixel), except OCamCalib's calib_results.txt, whose rows / columns are converted.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth.errors import AssetError

if TYPE_CHECKING:  # numpy and yaml load lazily: `synth` builds the import command's parser on every call
    import numpy as np
    import yaml

#: What a camera name may hold (synth.config.CameraConfig.name).
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")
#: Largest deviation from orthonormality (max |R R^T - I|) of a rotation read from a file; within it the nearest
#: rotation is used (files round their numbers), beyond it the file is refused.
ROTATION_TOLERANCE = 1e-4


@dataclasses.dataclass(frozen=True)
class ImportOptions:
    """What the readers need besides the file: the output directory (for `file:` references) and format flags."""

    out_dir: Path
    model: str | None = None
    fov_deg: float | None = None
    image_circle_px: float | None = None
    aria_cameras: tuple[str, ...] | None = None
    size: tuple[int, int] | None = None


@dataclasses.dataclass(frozen=True)
class ImportedCamera:
    """One calibrated camera read from a file.

    name: the default camera name (matches NAME_PATTERN); lens: a lens mapping of synth/config.py (`type` first);
    T_first_from_camera: (4, 4) float64, this camera's OpenCV frame -> the OpenCV frame of its file's first camera,
    metres (identity for the first); source: the file.
    """

    name: str
    lens: dict[str, Any]
    T_first_from_camera: np.ndarray
    source: Path


def _fail(path: Path, where: str, problem: str) -> AssetError:
    return AssetError(f"{path}: {where}: {problem}")


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AssetError(f"{path}: byte {exc.start}: not UTF-8 text; give the calibration as a text file") from None
    except OSError as exc:
        raise AssetError(f"{path}: cannot read the calibration ({exc.strerror or exc}); give an existing, readable "
                         f"file") from None


def _load_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AssetError(f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg}); fix or "
                         f"re-export the file") from None


def _yaml_error(path: Path, exc: yaml.YAMLError) -> AssetError:
    from synth.schema import yaml_error_where

    where, problem = yaml_error_where(exc)
    return AssetError(f"{path}: {where}: YAML syntax error ({problem}); fix or re-export the file")


def _mapping(path: Path, data: Any, where: str, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        got = "nothing" if data is None else type(data).__name__
        raise _fail(path, where, f"expected {what}, got {got}")
    return data


def _field(path: Path, data: dict[str, Any], key: str, where: str, needs: str) -> Any:
    if key not in data or data[key] is None:
        raise _fail(path, f"{where}{key}", f"missing; {needs}")
    return data[key]


def _numbers(path: Path, where: str, value: Any, count: int | None = None, what: str = "") -> tuple[float, ...]:
    """Finite numbers of a list (exactly `count` of them if given), as floats."""
    items = value if isinstance(value, (list, tuple)) else None
    ok = items is not None and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items)
    if ok:
        items = tuple(float(v) for v in items)
        ok = all(math.isfinite(v) for v in items) and (count is None or len(items) == count)
    if not ok:
        size = f"{count} " if count is not None else ""
        raise _fail(path, where, f"expected a list of {size}finite numbers{what}, got {value!r}")
    return items


def _whole(path: Path, where: str, value: Any) -> int:
    """A positive whole number (an image side, px)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer() or value <= 0:
        raise _fail(path, where, f"expected a positive whole number of pixels, got {value!r}")
    return int(value)


def _rigid(path: Path, where: str, value: Any) -> np.ndarray:
    """A (4, 4) rigid transform from nested lists, its rotation made exactly orthonormal (files round)."""
    import numpy as np

    rows = value if isinstance(value, (list, tuple)) and len(value) == 4 else None
    if rows is None:
        raise _fail(path, where, f"expected a 4x4 matrix (4 rows of 4 numbers), got {value!r}")
    T = np.array([_numbers(path, where, row, 4, " per row of a 4x4 matrix") for row in rows])
    if np.abs(T[3] - [0.0, 0.0, 0.0, 1.0]).max() > 1e-9:
        raise _fail(path, where, f"the last row must be [0, 0, 0, 1], got {T[3].tolist()}")
    R = T[:3, :3]
    error = float(np.abs(R @ R.T - np.eye(3)).max())
    if error > ROTATION_TOLERANCE or np.linalg.det(R) <= 0.0:
        raise _fail(path, where, f"the upper-left 3x3 block is not a rotation (|R R^T - I| = {error:.2g}, det "
                    f"{np.linalg.det(R):.3g}); give a rigid transform")
    u, _, vt = np.linalg.svd(R)
    T[:3, :3] = u @ vt
    return T


def _sanitise(name: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return clean if clean.strip("_") else "camera"


def _with_fov(lens: dict[str, Any], opts: ImportOptions) -> dict[str, Any]:
    if opts.fov_deg is not None:
        lens["fov_deg"] = float(opts.fov_deg)
    return lens


def _relative_or_absolute(path: Path, directory: Path) -> str:
    """`path` relative to `directory` (so the pair can move together), or absolute where no relative path exists."""
    try:
        return Path(os.path.relpath(path.resolve(), directory.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return str(path.resolve())

