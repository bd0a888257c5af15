"""The Ego4View-Syn camera model (fixed device-to-camera offsets) and what a rig must match to use it.

The released Ego4View-Syn trainer does not read camera poses: it turns device-frame points (cm) into camera-frame
points with fixed offsets: front_left p + (6, 0, 0), front_right p + (-6, 0, 0), and for the rear pair (turned
180 degrees about the optical axis) (-x, -y, z) + (-6, 37, 0) (back_left) or (6, 37, 0) (back_right). As rigid
transforms that is T_camera_from_device below. A rig whose cameras differ from it (more than POSITION_TOL_M or
ANGLE_TOL_DEG) gives that trainer the wrong geometry; `differences` names each difference in words.
"""

from __future__ import annotations

import math

import numpy as np

from synth.geometry.transforms import invert_T

#: The Ego4View-Syn rig: camera centres in the device frame (m) and whether the camera is turned 180 degrees.
SYN_FRONT_BASELINE_M = 0.12
SYN_FRONT_TO_REAR_M = 0.37
POSITION_TOL_M = 5e-4
ANGLE_TOL_DEG = 0.05
_CENTRES_M = {
    "front_left": (-0.06, 0.0, 0.0),
    "front_right": (0.06, 0.0, 0.0),
    "back_left": (-0.06, SYN_FRONT_TO_REAR_M, 0.0),
    "back_right": (0.06, SYN_FRONT_TO_REAR_M, 0.0),
}
_TURNED = {"front_left": False, "front_right": False, "back_left": True, "back_right": True}


def syn_T_device_from_camera(view: str) -> np.ndarray:
    """(4, 4) float64: the Ego4View-Syn model's OpenCV camera -> device transform of one of its four views (m)."""
    T = np.eye(4)
    if _TURNED[view]:
        T[:3, :3] = np.diag([-1.0, -1.0, 1.0])
    T[:3, 3] = _CENTRES_M[view]
    return T


def syn_camera_from_device_cm(view: str, points_device_cm) -> np.ndarray:
    """The model's device -> camera map on points (..., 3) cm (a new array; the inputs are not changed)."""
    p = np.array(points_device_cm, dtype=np.float64)
    if _TURNED[view]:
        p[..., :2] *= -1.0
    return p - (np.diag([-1.0, -1.0, 1.0]) if _TURNED[view] else np.eye(3)) @ np.array(_CENTRES_M[view]) * 100.0


def _angle_deg(R: np.ndarray) -> float:
    return math.degrees(math.acos(float(np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0))))


def _tilt(R_model: np.ndarray, R: np.ndarray) -> str:
    """How a camera's orientation R (device <- camera) differs from the model's, in words (pitch / yaw / roll)."""
    from scipy.spatial.transform import Rotation

    # The rotation in the model camera's frame: x right, y down, z optical axis.
    rx, ry, rz = Rotation.from_matrix(R_model.T @ R).as_euler("xyz", degrees=True)
    parts = [f"{name} {abs(value):.1f} deg" for name, value in (("pitched", rx), ("yawed", ry), ("rolled", rz))
             if abs(value) > ANGLE_TOL_DEG]
    return ", ".join(parts) or f"turned {_angle_deg(R_model.T @ R):.2f} deg"


def differences(T_device_from_camera: dict[str, np.ndarray]) -> list[str]:
    """Each way a rig (view -> (4, 4) OpenCV camera -> device, m) differs from the Ego4View-Syn model, in words;
    [] when it is that rig (within POSITION_TOL_M and ANGLE_TOL_DEG)."""
    views = list(T_device_from_camera)
    if sorted(views) != sorted(_CENTRES_M):
        return [f"cameras {', '.join(views)} (the model has {', '.join(_CENTRES_M)})"]
    out: list[str] = []
    T = {v: np.asarray(T_device_from_camera[v], dtype=np.float64) for v in views}
    centre = {v: T[v][:3, 3] for v in views}
    front_baseline = float(np.linalg.norm(centre["front_right"] - centre["front_left"]))
    rear_baseline = float(np.linalg.norm(centre["back_right"] - centre["back_left"]))
    rear_y = 0.5 * float(centre["back_left"][1] + centre["back_right"][1])
    front_y = 0.5 * float(centre["front_left"][1] + centre["front_right"][1])
    if abs(front_baseline - SYN_FRONT_BASELINE_M) > POSITION_TOL_M:
        out.append(f"front cameras {100 * front_baseline:.1f} cm apart (model: {100 * SYN_FRONT_BASELINE_M:.0f} cm)")
    if abs(rear_baseline - SYN_FRONT_BASELINE_M) > POSITION_TOL_M:
        out.append(f"rear cameras {100 * rear_baseline:.1f} cm apart (model: {100 * SYN_FRONT_BASELINE_M:.0f} cm)")
    if abs((rear_y - front_y) - SYN_FRONT_TO_REAR_M) > POSITION_TOL_M:
        out.append(f"rear cameras {100 * (rear_y - front_y):.1f} cm behind the front ones "
                   f"(model: {100 * SYN_FRONT_TO_REAR_M:.0f} cm)")
    tilts = {}
    for v in views:
        model = syn_T_device_from_camera(v)
        if _angle_deg(model[:3, :3].T @ T[v][:3, :3]) > ANGLE_TOL_DEG:
            tilts[v] = _tilt(model[:3, :3], T[v][:3, :3])
    for pair, (a, b) in (("front", ("front_left", "front_right")), ("rear", ("back_left", "back_right"))):
        if a in tilts and tilts.get(b) == tilts[a]:
            out.append(f"{pair} cameras {tilts.pop(a)} (model: none)")
            tilts.pop(b)
    out.extend(f"camera_{v} {tilt} (model: none)" for v, tilt in tilts.items())
    if not out:  # what remains: an offset the summaries above do not show (e.g. height, a shifted pair)
        for v in views:
            shift = T[v][:3, 3] - np.array(_CENTRES_M[v])
            if np.linalg.norm(shift) > POSITION_TOL_M:
                dx, dy, dz = 100 * shift
                out.append(f"camera_{v} moved ({dx:+.1f}, {dy:+.1f}, {dz:+.1f}) cm (device x, y, z) from the model")
    return out


def differences_of_rig(views, T_device_from_camera) -> list[str]:
    """differences() of a rig given as views (V,) and T_device_from_camera (V, 4, 4)."""
    return differences({v: np.asarray(T, dtype=np.float64) for v, T in zip(views, T_device_from_camera)})


def camera_from_device(T_device_from_camera) -> np.ndarray:
    """(..., 4, 4) T_camera_from_device (the RW metadata's device_to_camera matrices) of T_device_from_camera."""
    return invert_T(np.asarray(T_device_from_camera, dtype=np.float64))
