"""OpenCV calibration (FileStorage YAML / JSON, also ROS camera_info YAML) -> one pinhole or fisheye camera."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth.rig_import.common import (ImportedCamera, ImportOptions, _fail, _load_json, _mapping, _numbers,
                                     _read_text, _sanitise, _whole, _with_fov, _yaml_error)

if TYPE_CHECKING:  # numpy loads lazily: `synth` builds the import command's parser on every call
    import numpy as np

OPENCV_MODELS = ("opencv_pinhole", "opencv_fisheye")
#: Values of a model key in an OpenCV file (model, camera_model, distortion_model; lower case) -> lens type.
OPENCV_MODEL_NAMES = {
    **{name: "opencv_pinhole" for name in ("opencv_pinhole", "pinhole", "plumb_bob", "rational_polynomial",
                                           "radtan", "radial_tangential", "brown", "brown_conrady")},
    **{name: "opencv_fisheye" for name in ("opencv_fisheye", "fisheye", "equidistant", "kannala_brandt",
                                           "kannala-brandt", "kb4")},
}
OPENCV_MODEL_KEYS = ("model", "camera_model", "distortion_model")
#: Pinhole coefficient counts cv::projectPoints takes that egorig renders: k1 k2 p1 p2 [k3 [k4 k5 k6]].
OPENCV_PINHOLE_COUNTS = (0, 4, 5, 8)


def _filestorage_loader():
    """yaml.SafeLoader that reads OpenCV FileStorage's `!!opencv-matrix` / `!!opencv-nd-matrix` nodes as mappings."""
    import yaml

    class FileStorageLoader(yaml.SafeLoader):
        pass

    def matrix(loader: yaml.SafeLoader, node: yaml.Node) -> dict:
        return loader.construct_mapping(node, deep=True)

    for tag in ("opencv-matrix", "opencv-nd-matrix"):
        FileStorageLoader.add_constructor(f"tag:yaml.org,2002:{tag}", matrix)
    return FileStorageLoader


def _load_opencv_file(path: Path) -> dict[str, Any]:
    import yaml

    text = _read_text(path)
    if path.suffix.lower() == ".json":
        data = _load_json(path, text)
    elif path.suffix.lower() == ".xml" or text.lstrip().startswith("<"):
        raise _fail(path, "-", "OpenCV FileStorage XML is not read; save the calibration as YAML or JSON "
                    "(cv::FileStorage with a .yml or .json name)")
    else:
        # FileStorage's first line `%YAML:1.0` is not a YAML directive PyYAML accepts; it carries nothing else.
        text = re.sub(r"\A%YAML:\d\.\d[^\n]*", "#", text)
        try:
            data = yaml.load(text, Loader=_filestorage_loader())  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise _yaml_error(path, exc) from None
    return _mapping(path, data, "-", "an OpenCV calibration (a mapping with camera_matrix, "
                    "distortion_coefficients, image_width and image_height)")


def _opencv_matrix(path: Path, key: str, value: Any) -> np.ndarray:
    """A FileStorage matrix node ({rows, cols, data}), a flat list or a list of rows -> (rows, cols) or (n,)."""
    import numpy as np

    if isinstance(value, dict):
        data = value.get("data")
        if isinstance(data, list):  # FileStorage may write numbers YAML 1.1 reads as strings, such as 1e-05
            data = [_number_text(v) if isinstance(v, str) else v for v in data]
        values = np.array(_numbers(path, f"{key}.data", data))
        rows, cols = value.get("rows"), value.get("cols")
        if isinstance(rows, int) and isinstance(cols, int):
            if rows * cols != values.size:
                raise _fail(path, key, f"rows x cols = {rows} x {cols} but data holds {values.size} numbers")
            return values.reshape(rows, cols)
        return values
    if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
        rows = [_numbers(path, key, row) for row in value]
        if len({len(row) for row in rows}) != 1:
            raise _fail(path, key, "the rows of the matrix have different lengths")
        return np.array(rows)
    return np.array(_numbers(path, key, value))


def _number_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _get_key(data: dict[str, Any], key: str) -> str | None:
    """The key of `data` equal to `key` ignoring case."""
    for name in data:
        if isinstance(name, str) and name.lower() == key:
            return name
    return None


def _opencv_declared_model(path: Path, data: dict[str, Any], flag: str | None) -> tuple[str | None, str]:
    """(the lens type a model key of the file names or None, that key or "model"). A value egorig does not know
    (some tools put the camera's product name there) defers to --model, or is refused without it."""
    key = _get_key(data, "fisheye_model")
    if key is not None and data[key] is not None:
        value = data[key]
        if value in (0, 1) or isinstance(value, bool):
            return ("opencv_fisheye" if value else "opencv_pinhole"), key
        raise _fail(path, key, f"expected 0 (pinhole) or 1 (fisheye), got {value!r}")
    for name in OPENCV_MODEL_KEYS:
        key = _get_key(data, name)
        if key is None or data[key] is None:
            continue
        value = str(data[key]).strip().lower()
        if value in OPENCV_MODEL_NAMES:
            return OPENCV_MODEL_NAMES[value], key
        if flag is None:
            raise _fail(path, key, f"unknown model {data[key]!r} (known: {', '.join(sorted(OPENCV_MODEL_NAMES))}); "
                        f"pass --model opencv_pinhole or --model opencv_fisheye")
    return None, "model"


def read_opencv(path: Path, opts: ImportOptions) -> list[ImportedCamera]:
    """One camera from an OpenCV FileStorage YAML / JSON (or a ROS camera_info YAML)."""
    import numpy as np

    data = _load_opencv_file(path)
    needs = "an OpenCV calibration has camera_matrix, distortion_coefficients, image_width and image_height"

    def get(key: str) -> Any:
        name = _get_key(data, key)
        if name is None or data[name] is None:
            raise _fail(path, key, f"missing; {needs}")
        return data[name]

    K = _opencv_matrix(path, "camera_matrix", get("camera_matrix"))
    if K.shape != (3, 3) and K.size == 9:
        K = K.reshape(3, 3)
    if K.shape != (3, 3):
        raise _fail(path, "camera_matrix", f"expected a 3x3 matrix, got {K.size} numbers")
    if abs(K[0, 1]) > 1e-12 or np.abs(K[1:, 0]).max() > 1e-12 or np.abs(K[2] - [0.0, 0.0, 1.0]).max() > 1e-12:
        raise _fail(path, "camera_matrix", f"expected [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (no skew), got "
                    f"{K.tolist()}; recalibrate without skew or normalise the matrix")
    coeffs = tuple(_opencv_matrix(path, "distortion_coefficients", get("distortion_coefficients")).ravel().tolist())
    width = _whole(path, "image_width", get("image_width"))
    height = _whole(path, "image_height", get("image_height"))
    declared, model_key = _opencv_declared_model(path, data, opts.model)
    if declared and opts.model and declared != opts.model:
        raise _fail(path, model_key, f"the file says {declared} but --model is {opts.model}; drop --model or fix "
                    f"the file")
    model = declared or opts.model
    n = len(coeffs)
    if n in (12, 14):
        terms = "thin prism and tilted sensor" if n == 14 else "thin prism"
        raise _fail(path, "distortion_coefficients", f"{n} coefficients ({terms} terms) are not supported; "
                    f"recalibrate with at most 8 (k1 k2 p1 p2 k3 k4 k5 k6)")
    lens: dict[str, Any] = {"type": model or "opencv_pinhole", "width": width, "height": height,
                            "fx": float(K[0, 0]), "fy": float(K[1, 1]), "cx": float(K[0, 2]), "cy": float(K[1, 2])}
    if model == "opencv_fisheye":
        if n not in (0, 4):
            raise _fail(path, "distortion_coefficients", f"an OpenCV fisheye calibration has 4 coefficients (k1 k2 "
                        f"k3 k4), got {n}")
        lens["k"] = list(coeffs) if coeffs else [0.0] * 4
    else:
        if n == 4 and model is None:
            raise _fail(path, "distortion_coefficients", "4 coefficients are either pinhole k1 k2 p1 p2 or fisheye "
                        "k1 k2 k3 k4 and the file has no model key: pass --model opencv_pinhole or --model "
                        "opencv_fisheye")
        if n not in OPENCV_PINHOLE_COUNTS:
            raise _fail(path, "distortion_coefficients", f"{n} coefficients do not match an OpenCV pinhole model; "
                        f"expected 0, 4 (k1 k2 p1 p2), 5 (+ k3) or 8 (+ k3 k4 k5 k6)")
        padded = coeffs + (0.0,) * (4 - n) if n < 4 else coeffs
        k1, k2, p1, p2 = padded[:4]
        lens["k"] = [k1, k2, *padded[4:]]
        lens["p"] = [p1, p2]
    return [ImportedCamera(name=_sanitise(path.stem), lens=_with_fov(lens, opts), T_first_from_camera=np.eye(4),
                           source=path)]

