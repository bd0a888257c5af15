"""Kalibr (ethz-asl/kalibr) camchain YAML -> `ImportedCamera`s posed by their T_cn_cnm1 chain."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from synth.rig_import.common import (ImportedCamera, ImportOptions, _fail, _field, _mapping, _numbers, _read_text,
                                     _rigid, _whole, _with_fov, _yaml_error)

#: Kalibr's intrinsics vector per camera_model.
KALIBR_INTRINSICS = {
    "pinhole": ("fu", "fv", "pu", "pv"),
    "omni": ("xi", "fu", "fv", "pu", "pv"),
    "ds": ("xi", "alpha", "fu", "fv", "pu", "pv"),
    "eucm": ("alpha", "beta", "fu", "fv", "pu", "pv"),
}
#: Kalibr's distortion_coeffs count per distortion_model (the ones egorig maps).
KALIBR_DISTORTION_COUNTS = {"radtan": 4, "equidistant": 4, "none": 0}
#: (camera_model, distortion_model) -> egorig lens type.
KALIBR_LENS_TYPES = {
    ("pinhole", "radtan"): "opencv_pinhole",
    ("pinhole", "equidistant"): "opencv_fisheye",
    ("pinhole", "none"): "opencv_pinhole",
    ("omni", "radtan"): "unified",
    ("omni", "none"): "unified",
    ("ds", "none"): "double_sphere",
    ("eucm", "none"): "eucm",
}


def read_kalibr(path: Path, opts: ImportOptions) -> list[ImportedCamera]:
    """The cameras of a Kalibr camchain YAML, posed by its T_cn_cnm1 chain relative to cam0."""
    import numpy as np
    import yaml
    from synth.geometry.transforms import invert_T
    from synth.schema import load_yaml

    try:
        data = load_yaml(_read_text(path))
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    data = _mapping(path, data, "-", "a Kalibr camchain (a mapping of cam0, cam1, ...)")
    count = 0
    while f"cam{count}" in data:
        count += 1
    if count == 0:
        raise _fail(path, "cam0", "missing; a Kalibr camchain has cam0, cam1, ... entries (kalibr_calibrate_cameras "
                    "writes it as camchain-*.yaml)")
    extra = sorted(k for k in data if isinstance(k, str) and re.fullmatch(r"cam\d+", k) and int(k[3:]) >= count)
    if extra:
        raise _fail(path, extra[0], f"the chain stops at cam{count - 1}: cameras must be numbered cam0, cam1, ... "
                    f"without gaps")
    cameras = []
    T_first_from_prev = np.eye(4)
    for i in range(count):
        cam_id = f"cam{i}"
        cam = _mapping(path, data[cam_id], cam_id, "a mapping with camera_model, intrinsics, distortion_model, "
                       "distortion_coeffs and resolution")
        lens = _with_fov(_kalibr_lens(path, cam_id, cam), opts)
        if i == 0:  # cam0 is the chain's reference (a T_cn_cnm1 there, as some converters write, relates it to
            T = np.eye(4)  # another frame and is not used: --position-m / --rotation-deg place it)
        else:
            T_this_from_prev = _rigid(path, f"{cam_id}.T_cn_cnm1", _field(
                path, cam, "T_cn_cnm1", f"{cam_id}.", f"{cam_id} needs its pose relative to cam{i - 1} (Kalibr's "
                f"T_cn_cnm1, the 4x4 transform from cam{i - 1} to {cam_id} coordinates)"))
            T = T_first_from_prev @ invert_T(T_this_from_prev)
        T_first_from_prev = T
        cameras.append(ImportedCamera(name=cam_id, lens=lens, T_first_from_camera=T, source=path))
    return cameras


def _kalibr_lens(path: Path, cam_id: str, cam: dict[str, Any]) -> dict[str, Any]:
    where = f"{cam_id}."
    needs = "a Kalibr camera has camera_model, intrinsics, distortion_model, distortion_coeffs and resolution"
    model = _field(path, cam, "camera_model", where, needs)
    distortion = _field(path, cam, "distortion_model", where, needs)
    pairs = ", ".join(f"{c}-{d}" for c, d in KALIBR_LENS_TYPES)
    if not isinstance(model, str) or model not in KALIBR_INTRINSICS:
        raise _fail(path, f"{where}camera_model", f"{model!r} is not supported; supported (camera-distortion): "
                    f"{pairs}")
    if not isinstance(distortion, str) or (model, distortion) not in KALIBR_LENS_TYPES:
        raise _fail(path, f"{where}distortion_model", f"{model!r} with distortion {distortion!r} is not "
                    f"supported; supported (camera-distortion): {pairs}")
    names = KALIBR_INTRINSICS[model]
    intr = dict(zip(names, _numbers(path, f"{where}intrinsics", _field(path, cam, "intrinsics", where, needs),
                                    len(names), f" ([{' '.join(names)}] for {model})")))
    n_dist = KALIBR_DISTORTION_COUNTS[distortion]
    coeffs = _numbers(path, f"{where}distortion_coeffs", cam.get("distortion_coeffs", []), n_dist,
                      f" for distortion {distortion!r}")
    size = cam.get("resolution")
    if not (isinstance(size, (list, tuple)) and len(size) == 2):
        raise _fail(path, f"{where}resolution", f"expected [width, height] in px, got {size!r}; {needs}")
    width, height = (_whole(path, f"{where}resolution", v) for v in size)
    lens_type = KALIBR_LENS_TYPES[(model, distortion)]
    lens: dict[str, Any] = {"type": lens_type, "width": width, "height": height, "fx": intr["fu"],
                            "fy": intr["fv"], "cx": intr["pu"], "cy": intr["pv"]}
    if lens_type == "opencv_fisheye":
        lens["k"] = list(coeffs)
    elif lens_type in ("opencv_pinhole", "unified"):
        k1, k2, p1, p2 = coeffs if coeffs else (0.0, 0.0, 0.0, 0.0)
        if lens_type == "unified":
            lens["xi"] = intr["xi"]
        lens["k"], lens["p"] = [k1, k2], [p1, p2]
    elif lens_type == "double_sphere":
        lens["xi"], lens["alpha"] = intr["xi"], intr["alpha"]
    else:  # eucm
        lens["alpha"], lens["beta"] = intr["alpha"], intr["beta"]
    return lens

