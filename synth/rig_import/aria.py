"""Project Aria device calibration JSON -> `ImportedCamera`s posed relative to the first one chosen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synth.rig_import.common import (ROTATION_TOLERANCE, ImportedCamera, ImportOptions, _fail, _load_json, _mapping,
                                     _numbers, _read_text, _sanitise, _whole, _with_fov)

#: Image size (width, height px) of each Aria camera's factory calibration when the JSON does not carry one
#: (projectaria_tools' per-device camera configs). Gen2 devices name their class "Oatmeal".
ARIA_GEN1_SIZES = {
    "camera-slam-left": (640, 480), "camera-slam-right": (640, 480), "camera-rgb": (2880, 2880),
    "camera-et-left": (640, 480), "camera-et-right": (640, 480),
}
ARIA_GEN2_SIZES = {
    "slam-front-left": (512, 512), "slam-front-right": (512, 512), "slam-side-left": (512, 512),
    "slam-side-right": (512, 512), "camera-rgb": (4032, 3024), "camera-et-left": (400, 400),
    "camera-et-right": (400, 400),
}
ARIA_GEN2_DEVICE_CLASS = "oatmeal"
#: Aria projection models egorig maps: name -> number of Params.
ARIA_PROJECTIONS = {"FisheyeRadTanThinPrism": 15, "Fisheye62": 11, "KannalaBrandtK3": 8}


def read_aria(path: Path, opts: ImportOptions) -> list[ImportedCamera]:
    """The cameras of a Project Aria device calibration JSON (all, or --cameras in that order), relative to the
    first."""
    import numpy as np
    from synth.geometry.transforms import invert_T, make_T, quaternion_wxyz_to_matrix

    data = _mapping(path, _load_json(path, _read_text(path)), "-", "an Aria device calibration (a JSON object with "
                    "CameraCalibrations)")
    entries = data.get("CameraCalibrations")
    if not isinstance(entries, list) or not entries:
        raise _fail(path, "CameraCalibrations", "missing or empty; an Aria device calibration lists its cameras "
                    "there")
    by_label: dict[str, tuple[int, dict]] = {}
    for i, entry in enumerate(entries):
        entry = _mapping(path, entry, f"CameraCalibrations[{i}]", "a camera calibration object")
        label = entry.get("Label")
        if not isinstance(label, str) or not label:
            raise _fail(path, f"CameraCalibrations[{i}].Label", "missing; every Aria camera calibration has a label")
        by_label[label] = (i, entry)
    chosen = list(opts.aria_cameras) if opts.aria_cameras else list(by_label)
    unknown = [label for label in chosen if label not in by_label]
    if unknown:
        raise _fail(path, "CameraCalibrations", f"no camera labelled {unknown[0]!r}; the file has "
                    f"{', '.join(by_label)} (choose with --cameras)")
    device_class = str((data.get("DeviceClassInfo") or {}).get("DeviceClass", "")).strip().lower()
    sizes = ARIA_GEN2_SIZES if device_class == ARIA_GEN2_DEVICE_CLASS else ARIA_GEN1_SIZES
    cameras = []
    T_first_from_device = None
    for label in chosen:
        i, entry = by_label[label]
        where = f"CameraCalibrations[{i}] ({label})."
        lens = _with_fov(_aria_lens(path, where, label, entry, sizes, opts), opts)
        pose = _mapping(path, entry.get("T_Device_Camera"), f"{where}T_Device_Camera", "a mapping with Translation "
                        "and UnitQuaternion")
        t = _numbers(path, f"{where}T_Device_Camera.Translation", pose.get("Translation"), 3, " (metres)")
        quat = pose.get("UnitQuaternion")
        if not (isinstance(quat, list) and len(quat) == 2):
            raise _fail(path, f"{where}T_Device_Camera.UnitQuaternion", f"expected [w, [x, y, z]], got {quat!r}")
        w = _numbers(path, f"{where}T_Device_Camera.UnitQuaternion", [quat[0]], 1, " (w)")
        xyz = _numbers(path, f"{where}T_Device_Camera.UnitQuaternion", quat[1], 3, " ([x, y, z])")
        q = np.array(w + xyz)
        if abs(np.linalg.norm(q) - 1.0) > ROTATION_TOLERANCE:
            raise _fail(path, f"{where}T_Device_Camera.UnitQuaternion", f"not a unit quaternion (norm "
                        f"{np.linalg.norm(q):.6g}); give the rotation as [w, [x, y, z]] of norm 1")
        T_device_from_camera = make_T(quaternion_wxyz_to_matrix(q), np.array(t))
        if T_first_from_device is None:
            T_first_from_device = invert_T(T_device_from_camera)
        cameras.append(ImportedCamera(name=_sanitise(label), lens=lens,
                                      T_first_from_camera=T_first_from_device @ T_device_from_camera, source=path))
    return cameras


def _aria_lens(path: Path, where: str, label: str, entry: dict, sizes: dict[str, tuple[int, int]],
               opts: ImportOptions) -> dict[str, Any]:
    projection = _mapping(path, entry.get("Projection"), f"{where}Projection", "a mapping with Name and Params")
    name = projection.get("Name")
    if not isinstance(name, str) or name not in ARIA_PROJECTIONS:
        raise _fail(path, f"{where}Projection.Name", f"{name!r} is not supported; supported: "
                    f"{', '.join(ARIA_PROJECTIONS)} (leave the camera out with --cameras)")
    params = _numbers(path, f"{where}Projection.Params", projection.get("Params"), ARIA_PROJECTIONS[name],
                      f" for {name}")
    if opts.size is not None:
        width, height = opts.size
    elif isinstance(entry.get("ConfigData"), dict) and "ImageWidth" in entry["ConfigData"]:
        config = entry["ConfigData"]
        width = _whole(path, f"{where}ConfigData.ImageWidth", config.get("ImageWidth"))
        height = _whole(path, f"{where}ConfigData.ImageHeight", config.get("ImageHeight"))
    elif label in sizes:
        width, height = sizes[label]
    else:
        raise _fail(path, f"{where}Label", f"no image size is known for camera {label!r}; pass --size WxH (the size "
                    f"its calibration holds at)")
    lens: dict[str, Any] = {"type": "fisheye624", "width": width, "height": height}
    if name == "KannalaBrandtK3":  # fx fy cx cy k0..k3: theta (1 + k0 theta^2 + ...), OpenCV's fisheye
        lens.update(type="opencv_fisheye", fx=params[0], fy=params[1], cx=params[2], cy=params[3],
                    k=list(params[4:8]))
        return lens
    # FisheyeRadTanThinPrism / Fisheye62: f cx cy k0..k5 p0 p1 [s0..s3], one focal length.
    lens.update(fx=params[0], fy=params[0], cx=params[1], cy=params[2], k=list(params[3:9]), p=list(params[9:11]),
                s=list(params[11:15]) if name == "FisheyeRadTanThinPrism" else [0.0] * 4)
    return lens

