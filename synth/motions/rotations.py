"""Batched float64 rotation maths in numpy: axis-angle, matrices, unit quaternions, slerp, swing-twist."""

from __future__ import annotations

import numpy as np

#: Below this angle (rad) series expansions replace divisions by sin(angle).
_SMALL_ANGLE_RAD = 1e-8


def _f64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def rot_x(angle_rad) -> np.ndarray:
    """Rotation matrices about +x. angle_rad (...) rad -> (..., 3, 3)."""
    a = _f64(angle_rad)
    c, s = np.cos(a), np.sin(a)
    out = np.zeros(a.shape + (3, 3))
    out[..., 0, 0] = 1.0
    out[..., 1, 1] = c
    out[..., 1, 2] = -s
    out[..., 2, 1] = s
    out[..., 2, 2] = c
    return out


def rot_y(angle_rad) -> np.ndarray:
    """Rotation matrices about +y. angle_rad (...) rad -> (..., 3, 3)."""
    a = _f64(angle_rad)
    c, s = np.cos(a), np.sin(a)
    out = np.zeros(a.shape + (3, 3))
    out[..., 1, 1] = 1.0
    out[..., 0, 0] = c
    out[..., 0, 2] = s
    out[..., 2, 0] = -s
    out[..., 2, 2] = c
    return out


def rot_z(angle_rad) -> np.ndarray:
    """Rotation matrices about +z. angle_rad (...) rad -> (..., 3, 3)."""
    a = _f64(angle_rad)
    c, s = np.cos(a), np.sin(a)
    out = np.zeros(a.shape + (3, 3))
    out[..., 2, 2] = 1.0
    out[..., 0, 0] = c
    out[..., 0, 1] = -s
    out[..., 1, 0] = s
    out[..., 1, 1] = c
    return out


def axis_angle_to_matrix(rotvec) -> np.ndarray:
    """Rodrigues' formula. rotvec (..., 3) rad (axis * angle) -> (..., 3, 3) rotation matrices."""
    r = _f64(rotvec)
    theta = np.linalg.norm(r, axis=-1)
    small = theta < _SMALL_ANGLE_RAD
    safe = np.where(small, 1.0, theta)
    # sin(t)/t and (1-cos(t))/t^2 with their Taylor limits at 0.
    a = np.where(small, 1.0 - theta**2 / 6.0, np.sin(safe) / safe)
    b = np.where(small, 0.5 - theta**2 / 24.0, (1.0 - np.cos(safe)) / safe**2)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    k = np.zeros(r.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2] = -z, y
    k[..., 1, 0], k[..., 1, 2] = z, -x
    k[..., 2, 0], k[..., 2, 1] = -y, x
    eye = np.broadcast_to(np.eye(3), k.shape)
    return eye + a[..., None, None] * k + b[..., None, None] * (k @ k)


def quaternion_to_matrix(quat) -> np.ndarray:
    """quat (..., 4) (w, x, y, z), any norm > 0 -> (..., 3, 3) rotation matrices."""
    q = _f64(quat)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    out = np.empty(q.shape[:-1] + (3, 3))
    out[..., 0, 0] = 1 - 2 * (y * y + z * z)
    out[..., 0, 1] = 2 * (x * y - w * z)
    out[..., 0, 2] = 2 * (x * z + w * y)
    out[..., 1, 0] = 2 * (x * y + w * z)
    out[..., 1, 1] = 1 - 2 * (x * x + z * z)
    out[..., 1, 2] = 2 * (y * z - w * x)
    out[..., 2, 0] = 2 * (x * z - w * y)
    out[..., 2, 1] = 2 * (y * z + w * x)
    out[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return out


def matrix_to_quaternion(matrix) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions (w, x, y, z) with w >= 0.

    Uses the largest of the four diagonal combinations (Shepperd's method) so it is accurate at every angle.
    """
    m = _f64(matrix)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # Four candidate 4*q_i^2 values; pick the largest per element.
    cand = np.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    idx = np.argmax(cand, axis=-1)
    s = np.sqrt(np.maximum(np.take_along_axis(cand, idx[..., None], -1)[..., 0], 1e-300)) * 2.0  # 4 |q_i|
    d21, d02, d10 = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]
    s21, s02, s10 = m[..., 2, 1] + m[..., 1, 2], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 0] + m[..., 0, 1]
    rows = (
        (s / 4, d21 / s, d02 / s, d10 / s),
        (d21 / s, s / 4, s10 / s, s02 / s),
        (d02 / s, s10 / s, s / 4, s21 / s),
        (d10 / s, s02 / s, s21 / s, s / 4),
    )
    table = np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)  # (..., 4 candidates, 4)
    q = np.take_along_axis(table, idx[..., None, None], axis=-2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def quaternion_to_axis_angle(quat) -> np.ndarray:
    """(..., 4) quaternions (w, x, y, z) -> (..., 3) axis-angle with angle in [0, pi]."""
    q = _f64(quat)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    q = np.where(q[..., :1] < 0, -q, q)
    v = q[..., 1:]
    sin_half = np.linalg.norm(v, axis=-1)
    angle = 2.0 * np.arctan2(sin_half, q[..., 0])
    small = sin_half < _SMALL_ANGLE_RAD
    # angle / sin(angle/2) -> 2 as the angle -> 0.
    scale = np.where(small, 2.0, angle / np.where(small, 1.0, sin_half))
    return v * scale[..., None]


def axis_angle_to_quaternion(rotvec) -> np.ndarray:
    """(..., 3) axis-angle rad -> (..., 4) unit quaternions (w, x, y, z)."""
    r = _f64(rotvec)
    theta = np.linalg.norm(r, axis=-1)
    small = theta < _SMALL_ANGLE_RAD
    # sin(t/2)/t -> 1/2 as t -> 0.
    k = np.where(small, 0.5 - theta**2 / 48.0, np.sin(theta / 2) / np.where(small, 1.0, theta))
    return np.concatenate([np.cos(theta / 2)[..., None], r * k[..., None]], axis=-1)


def matrix_to_axis_angle(matrix) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 3) axis-angle rad, angle in [0, pi]."""
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


def quaternion_multiply(q1, q2) -> np.ndarray:
    """Hamilton product q1 * q2 of (..., 4) quaternions (w, x, y, z) (apply q2 first, then q1)."""
    a, b = _f64(q1), _f64(q2)
    w1, x1, y1, z1 = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    w2, x2, y2, z2 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        axis=-1,
    )


def quaternion_conjugate(quat) -> np.ndarray:
    """(..., 4) -> (..., 4) conjugate (the inverse of a unit quaternion)."""
    q = _f64(quat).copy()
    q[..., 1:] *= -1.0
    return q


def slerp(q0, q1, t) -> np.ndarray:
    """Spherical linear interpolation along the shorter arc.

    q0, q1: (..., 4) unit quaternions (w, x, y, z); t: (...) or scalar fraction in [0, 1] -> (..., 4) unit.
    """
    a, b = _f64(q0), _f64(q1)
    t = _f64(t)[..., None]
    dot = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot)
    omega = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_omega = np.sin(omega)
    near = sin_omega < 1e-6
    safe = np.where(near, 1.0, sin_omega)
    w0 = np.where(near, 1.0 - t, np.sin((1.0 - t) * omega) / safe)
    w1 = np.where(near, t, np.sin(t * omega) / safe)
    out = w0 * a + w1 * b
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def rotation_angle(matrix) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (...) rotation angle in [0, pi] rad."""
    return np.linalg.norm(matrix_to_axis_angle(matrix), axis=-1)


def relative_angle(ra, rb) -> np.ndarray:
    """Geodesic angle (rad) between rotation matrices ra, rb (..., 3, 3) -> (...)."""
    return rotation_angle(np.swapaxes(ra, -1, -2) @ rb)


def rotation_between(a, b) -> np.ndarray:
    """Smallest rotation taking unit vector(s) a to unit vector(s) b: (..., 3), (..., 3) -> (..., 3, 3).

    Undefined (returns a half-turn about an arbitrary perpendicular axis) for exactly opposite vectors.
    """
    u = _f64(a) / np.linalg.norm(a, axis=-1, keepdims=True)
    v = _f64(b) / np.linalg.norm(b, axis=-1, keepdims=True)
    u, v = np.broadcast_arrays(u, v)
    axis = np.cross(u, v)
    sin_t = np.linalg.norm(axis, axis=-1)
    cos_t = np.sum(u * v, axis=-1)
    angle = np.arctan2(sin_t, cos_t)
    # Opposite vectors: pick any axis perpendicular to u.
    helper = np.where(np.abs(u[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    perp = np.cross(u, helper)
    perp = perp / np.linalg.norm(perp, axis=-1, keepdims=True)
    degenerate = sin_t < 1e-12
    unit_axis = np.where(degenerate[..., None], perp, axis / np.where(degenerate, 1.0, sin_t)[..., None])
    return axis_angle_to_matrix(unit_axis * angle[..., None])


def swing_twist(matrix, twist_axis) -> tuple[np.ndarray, np.ndarray]:
    """Split rotations into R = swing @ twist, the twist being about `twist_axis`.

    matrix: (..., 3, 3); twist_axis: (3,) unit vector (a joint's rest bone axis).
    Returns (swing_rotvec (..., 3) rad, perpendicular to the axis; twist_rad (...) in (-pi, pi]).
    """
    q = matrix_to_quaternion(matrix)
    axis = _f64(twist_axis) / np.linalg.norm(twist_axis)
    proj = q[..., 1:] @ axis
    twist_rad = 2.0 * np.arctan2(proj, q[..., 0])
    twist_rad = np.where(twist_rad > np.pi, twist_rad - 2 * np.pi, twist_rad)
    twist_q = np.concatenate([np.cos(twist_rad / 2)[..., None], np.sin(twist_rad / 2)[..., None] * axis], -1)
    swing_q = quaternion_multiply(q, quaternion_conjugate(twist_q))
    return quaternion_to_axis_angle(swing_q), twist_rad


def mirror_left_right(matrix) -> np.ndarray:
    """Mirror rotations across the body's sagittal plane (x -> -x): M R M with M = diag(-1, 1, 1).

    (..., 3, 3) -> (..., 3, 3); in axis-angle this maps (x, y, z) to (x, -y, -z). It turns a right-side joint
    rotation into the equivalent left-side one and back.
    """
    m = np.array([-1.0, 1.0, 1.0])
    return _f64(matrix) * m[:, None] * m[None, :]
