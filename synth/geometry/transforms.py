"""Rotations, 4x4 rigid transforms, and the one conversion between Blender and OpenCV camera frames.

Conventions: rotation matrices act on column vectors (p_to = R_to_from @ p_from); transforms are (..., 4, 4) float64
named `T_<to>_from_<from>`; angles are radians unless the name says `_deg`.
"""

from __future__ import annotations

import numpy as np

#: Below this rotation angle (rad) the axis-angle formulas switch to their Taylor expansions.
SMALL_ANGLE_RAD = 1e-8

#: OpenCV camera (x right, y down, z forward) from Blender camera (X right, Y up, looking down -Z): (4, 4) float64.
#: It is its own inverse, so it is also T_blcam_from_cvcam.
T_cvcam_from_blcam: np.ndarray = np.diag([1.0, -1.0, -1.0, 1.0])
T_cvcam_from_blcam.setflags(write=False)


def _as_float(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def skew(v) -> np.ndarray:
    """Cross-product matrices: v (..., 3) -> (..., 3, 3) with skew(v) @ w == cross(v, w)."""
    v = _as_float(v)
    zero = np.zeros(v.shape[:-1])
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return np.stack(
        [np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], axis=-2
    )


def axis_angle_to_matrix(rotvec) -> np.ndarray:
    """Rodrigues' formula: rotation vectors (..., 3) rad (axis * angle) -> rotation matrices (..., 3, 3)."""
    rotvec = _as_float(rotvec)
    angle = np.linalg.norm(rotvec, axis=-1)[..., None, None]
    small = angle < SMALL_ANGLE_RAD
    safe = np.where(small, 1.0, angle)
    a = np.where(small, 1.0 - angle**2 / 6.0, np.sin(safe) / safe)  # sin(t) / t
    b = np.where(small, 0.5 - angle**2 / 24.0, (1.0 - np.cos(safe)) / safe**2)  # (1 - cos t) / t^2
    K = skew(rotvec)
    return np.eye(3) + a * K + b * (K @ K)


def matrix_to_axis_angle(R) -> np.ndarray:
    """Inverse of axis_angle_to_matrix: rotations (..., 3, 3) -> rotation vectors (..., 3) rad, angle in [0, pi]."""
    R = _as_float(R)
    trace = np.trace(R, axis1=-2, axis2=-1)
    cos_t = np.clip(0.5 * (trace - 1.0), -1.0, 1.0)
    angle = np.arccos(cos_t)
    vee = 0.5 * np.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1)
    sin_t = np.sin(angle)
    small = angle < SMALL_ANGLE_RAD
    factor = np.where(small, 1.0 + angle**2 / 6.0, angle / np.where(small, 1.0, sin_t))
    out = vee * factor[..., None]
    # Near pi, sin(angle) -> 0 and the antisymmetric part loses the axis: read it from R + R^T = 2 (I + (1-cos) a a^T).
    near_pi = angle > np.pi - 1e-4
    if np.any(near_pi):
        Rp, cp, vp = R[near_pi], cos_t[near_pi], vee[near_pi]
        B = 0.5 * (Rp + np.swapaxes(Rp, -1, -2)) - cp[:, None, None] * np.eye(3)  # (1 - cos) a a^T
        row = np.argmax(np.diagonal(B, axis1=-2, axis2=-1), axis=-1)  # the largest |a_i|: a well-conditioned row
        axis = B[np.arange(len(row)), row]
        axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
        axis = np.where((np.sum(axis * vp, -1) < 0.0)[:, None], -axis, axis)
        out = out.copy()
        out[near_pi] = axis * angle[near_pi][:, None]
    return out


def euler_xyz_deg_to_matrix(angles_deg) -> np.ndarray:
    """Extrinsic x-then-y-then-z Euler angles (..., 3) deg -> R = Rz @ Ry @ Rx (..., 3, 3).

    This is Blender's default 'XYZ' rotation mode.
    """
    a = np.deg2rad(_as_float(angles_deg))
    cx, cy, cz = np.cos(a[..., 0]), np.cos(a[..., 1]), np.cos(a[..., 2])
    sx, sy, sz = np.sin(a[..., 0]), np.sin(a[..., 1]), np.sin(a[..., 2])
    one, zero = np.ones_like(cx), np.zeros_like(cx)
    Rx = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cx, -sx], -1), np.stack([zero, sx, cx], -1)], -2)
    Ry = np.stack([np.stack([cy, zero, sy], -1), np.stack([zero, one, zero], -1), np.stack([-sy, zero, cy], -1)], -2)
    Rz = np.stack([np.stack([cz, -sz, zero], -1), np.stack([sz, cz, zero], -1), np.stack([zero, zero, one], -1)], -2)
    return Rz @ Ry @ Rx


def matrix_to_euler_xyz_deg(R) -> np.ndarray:
    """Inverse of euler_xyz_deg_to_matrix: rotations (..., 3, 3) -> extrinsic x-y-z angles (..., 3) deg, with
    rx, rz in (-180, 180] and ry in [-90, 90].

    rz and ry are read from the first column; rx then comes from what is left, (Rz Ry)^T R = Rx, so near the
    gimbal lock (ry = +-90 deg, where only rx - rz or rx + rz is defined) the angles still rebuild R to rounding.
    """
    R = _as_float(R)
    ry = np.arctan2(-R[..., 2, 0], np.hypot(R[..., 0, 0], R[..., 1, 0]))
    rz = np.arctan2(R[..., 1, 0], R[..., 0, 0])
    zero = np.zeros_like(ry)
    Rzy = euler_xyz_deg_to_matrix(np.rad2deg(np.stack([zero, ry, rz], axis=-1)))
    Rx = np.swapaxes(Rzy, -1, -2) @ R
    rx = np.arctan2(Rx[..., 2, 1], Rx[..., 1, 1])
    return np.rad2deg(np.stack([rx, ry, rz], axis=-1))


def quaternion_wxyz_to_matrix(q) -> np.ndarray:
    """Quaternions (..., 4) as (w, x, y, z), normalised here -> rotation matrices (..., 3, 3); q and -q agree."""
    q = _as_float(q)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(~(norm > 0.0)):
        raise ValueError("a quaternion of norm 0 is no rotation")
    w, x, y, z = np.moveaxis(q / norm, -1, 0)
    return np.stack([
        np.stack([1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)], -1),
        np.stack([2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)], -1),
        np.stack([2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)], -1),
    ], -2)


def make_T(R, t) -> np.ndarray:
    """Rigid transforms from rotations R (..., 3, 3) and translations t (..., 3) (any length unit) -> (..., 4, 4)."""
    R = _as_float(R)
    t = _as_float(t)
    batch = np.broadcast_shapes(R.shape[:-2], t.shape[:-1])
    T = np.zeros(batch + (4, 4))
    T[..., :3, :3] = R
    T[..., :3, 3] = t
    T[..., 3, 3] = 1.0
    return T


def invert_T(T) -> np.ndarray:
    """Inverse of rigid transforms (..., 4, 4): T_b_from_a -> T_a_from_b (uses R^T, exact for rigid motions)."""
    T = _as_float(T)
    R_inv = np.swapaxes(T[..., :3, :3], -1, -2)
    t_inv = -(R_inv @ T[..., :3, 3:4])[..., 0]
    return make_T(R_inv, t_inv)


def apply_T(T, points):
    """Apply T_b_from_a (..., 4, 4) to points_a (..., 3) -> points_b (..., 3), same length unit.

    Batch dims broadcast: a (4, 4) T applies to any (..., 3) array; for (F, 4, 4) transforms and (F, J, 3) points
    pass T[:, None]. Works on numpy arrays and on torch tensors (T is converted to the points' dtype and device;
    differentiable).
    """
    if type(points).__module__.split(".")[0] == "torch":
        import torch

        T = torch.as_tensor(T, dtype=points.dtype, device=points.device)
    else:
        T = _as_float(T)
        points = np.asarray(points)
        if points.dtype not in (np.float32, np.float64):
            points = points.astype(np.float64)
    R = T[..., :3, :3]
    t = T[..., :3, 3]
    return (R @ points[..., None])[..., 0] + t


def blender_camera_to_opencv(T_world_from_blcam) -> np.ndarray:
    """Camera poses (..., 4, 4): Blender camera (looks down -Z, +Y up) -> OpenCV camera (z forward, y down).

    Returns T_world_from_cvcam = T_world_from_blcam @ T_blcam_from_cvcam; same camera centre, flipped y and z axes.
    """
    return _as_float(T_world_from_blcam) @ T_cvcam_from_blcam


def opencv_camera_to_blender(T_world_from_cvcam) -> np.ndarray:
    """Inverse of blender_camera_to_opencv: T_world_from_cvcam (..., 4, 4) -> T_world_from_blcam (..., 4, 4)."""
    return _as_float(T_world_from_cvcam) @ T_cvcam_from_blcam
