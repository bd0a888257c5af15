"""Shutter maths without Blender: how long Cycles' shutter is, and where things are within it.

A frame is exposed around its time; between two frames everything moves linearly: points straight, rigid poses by
their location and their rotation quaternion interpolated component-wise (then normalised), which is how Blender
interpolates the linear keys synth/blender/motion.py writes. A frame's neighbours are the previous and next
frames of the clip; at a clip's ends the missing neighbour continues the one-sided motion.
"""

from __future__ import annotations

import numpy as np

from synth.geometry.transforms import make_T, quaternion_wxyz_to_matrix


def shutter_frames(exposure_time_s: float, fps: float) -> float:
    """Cycles' motion_blur_shutter (frames) of an exposure time (s) at `fps` frames per second."""
    if not exposure_time_s > 0.0 or not fps > 0.0:
        raise ValueError(f"exposure time {exposure_time_s} s and fps {fps} must be > 0")
    return float(exposure_time_s) * float(fps)


def neighbours(values: np.ndarray, f: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prev, cur, next) of frame f of per-frame points (F, ..., 3), world m; a one-frame clip does not move."""
    cur = values[f]
    prev = values[f - 1] if f > 0 else None
    nxt = values[f + 1] if f + 1 < len(values) else None
    if prev is None and nxt is None:
        return cur, cur, cur
    if prev is None:
        prev = 2.0 * cur - nxt
    if nxt is None:
        nxt = 2.0 * cur - prev
    return prev, cur, nxt


def _continued(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The pose one more step from rigid pose a to b (4, 4): location 2 b - a, rotation (R_b R_a^T) R_b."""
    return make_T(b[:3, :3] @ a[:3, :3].T @ b[:3, :3], 2.0 * b[:3, 3] - a[:3, 3])


def neighbour_poses(T: np.ndarray, f: int) -> np.ndarray:
    """(3, 4, 4): rigid poses of frames f - 1, f, f + 1 from per-frame poses T (F, 4, 4); at a clip's ends the
    missing one repeats the one-sided step (location linearly, rotation by the same relative rotation)."""
    T = np.asarray(T, dtype=np.float64)
    cur = T[f]
    if len(T) == 1:
        return np.stack([cur, cur, cur])
    if f == 0:
        return np.stack([_continued(T[1], cur), cur, T[1]])
    if f == len(T) - 1:
        return np.stack([T[f - 1], cur, _continued(T[f - 1], cur)])
    return np.stack([T[f - 1], cur, T[f + 1]])


def matrix_to_quaternion_wxyz(R: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) -> unit quaternion (4,) (w, x, y, z) with w >= 0 (Shepperd's method)."""
    R = np.asarray(R, dtype=np.float64)
    trace = np.trace(R)
    diag = np.diag(R)
    k = int(np.argmax([trace, *diag]))
    if k == 0:
        s = 2.0 * np.sqrt(1.0 + trace)
        q = [0.25 * s, (R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s]
    elif k == 1:
        s = 2.0 * np.sqrt(1.0 + R[0, 0] - R[1, 1] - R[2, 2])
        q = [(R[2, 1] - R[1, 2]) / s, 0.25 * s, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s]
    elif k == 2:
        s = 2.0 * np.sqrt(1.0 + R[1, 1] - R[0, 0] - R[2, 2])
        q = [(R[0, 2] - R[2, 0]) / s, (R[0, 1] + R[1, 0]) / s, 0.25 * s, (R[1, 2] + R[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + R[2, 2] - R[0, 0] - R[1, 1])
        q = [(R[1, 0] - R[0, 1]) / s, (R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, 0.25 * s]
    q = np.asarray(q)
    q /= np.linalg.norm(q)
    return -q if q[0] < 0.0 else q


def pose_keys(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys of rigid poses (K, 4, 4): locations (K, 3) and quaternions (K, 4) wxyz, each in the hemisphere of the
    one before (so the component-wise interpolation takes the short way)."""
    poses = np.asarray(poses, dtype=np.float64)
    quats = [matrix_to_quaternion_wxyz(P[:3, :3]) for P in poses]
    for i in range(1, len(quats)):
        if float(quats[i] @ quats[i - 1]) < 0.0:
            quats[i] = -quats[i]
    return poses[:, :3, 3].copy(), np.stack(quats)


def subframe_pose(poses: np.ndarray, t: float) -> np.ndarray:
    """(4, 4) pose at time t in [-1, 1] frames from the neighbour poses (3, 4, 4) (prev, this frame, next)."""
    locs, quats = pose_keys(poses)
    a, w = (1, 0) if t < 0.0 else (1, 2), abs(float(t))
    loc = (1.0 - w) * locs[a[0]] + w * locs[a[1]]
    q = (1.0 - w) * quats[a[0]] + w * quats[a[1]]
    return make_T(quaternion_wxyz_to_matrix(q), loc)


def subframe_points(prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray, t: float) -> np.ndarray:
    """Points (..., 3) at time t in [-1, 1] frames between their neighbours (linear)."""
    other = prev if t < 0.0 else nxt
    return cur + abs(float(t)) * (other - cur)
