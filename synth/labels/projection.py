"""Joint positions in every camera of the rig and their fisheye pixel coordinates (DESIGN section 6)."""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from synth.geometry.transforms import apply_T, invert_T


class JointProjection(NamedTuple):
    """Per-view joint labels (unpacks as a tuple: cam, uv, in_fov).

    joints3d_camera_m: (F, V, J, 3) float64, OpenCV camera frame of each view, metres.
    joints2d_px: (F, V, J, 2) float64, OpenCV pixels of each view's render lens (whatever the lens returns for
        points it cannot see; non-finite values are possible there).
    in_fov: (F, V, J) bool, the lens maps the point (angle from the optical axis <= the lens' maximum field angle,
        point not at the centre) AND the pixel lies inside the image AND it is finite.
    """

    joints3d_camera_m: np.ndarray
    joints2d_px: np.ndarray
    in_fov: np.ndarray


def camera_centres_world(T_world_from_device, T_device_from_camera) -> np.ndarray:
    """Camera centres: T_world_from_device (F, 4, 4), T_device_from_camera (V, 4, 4) -> (F, V, 3) float64 world m."""
    T_wd = np.asarray(T_world_from_device, dtype=np.float64)
    T_dc = np.asarray(T_device_from_camera, dtype=np.float64)
    return apply_T(T_wd[:, None], T_dc[None, :, :3, 3])


def project_joints(joints3d_device_m, T_device_from_camera, lenses: Sequence) -> JointProjection:
    """Project joints into every view.

    joints3d_device_m: (F, J, 3) float, device frame (x right, y back, z down), metres.
    T_device_from_camera: (V, 4, 4) float64, OpenCV camera -> device.
    lenses: V lens objects (the render lenses) with `.project(points_cam) -> (uv, valid)` and `.in_image(uv)`.
    Returns JointProjection(joints3d_camera_m (F, V, J, 3), joints2d_px (F, V, J, 2), in_fov (F, V, J)).
    """
    joints = np.asarray(joints3d_device_m, dtype=np.float64)
    T_dc = np.asarray(T_device_from_camera, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[-1] != 3:
        raise ValueError(f"joints3d_device_m must be (F, J, 3), got {joints.shape}")
    if T_dc.ndim != 3 or T_dc.shape[1:] != (4, 4):
        raise ValueError(f"T_device_from_camera must be (V, 4, 4), got {T_dc.shape}")
    if len(lenses) != T_dc.shape[0]:
        raise ValueError(f"got {len(lenses)} lenses for {T_dc.shape[0]} camera poses")
    T_cd = invert_T(T_dc)  # (V, 4, 4) camera from device
    cam = apply_T(T_cd[None, :, None], joints[:, None])  # (F, V, J, 3)
    uv = np.empty(cam.shape[:-1] + (2,), dtype=np.float64)
    in_fov = np.empty(cam.shape[:-1], dtype=bool)
    for v, lens in enumerate(lenses):
        uv_v, valid_v = lens.project(cam[:, v])
        uv_v = np.asarray(uv_v, dtype=np.float64)
        uv[:, v] = uv_v
        finite = np.isfinite(uv_v).all(axis=-1)
        in_image = np.asarray(lens.in_image(np.where(finite[..., None], uv_v, 0.0)), dtype=bool)
        in_fov[:, v] = np.asarray(valid_v, dtype=bool) & finite & in_image
    return JointProjection(cam, uv, in_fov)


#: Length (m) of the segment whose image size apparent_size_px reports.
APPARENT_SIZE_SEGMENT_M = 0.10


def apparent_size_px(joints3d_camera_m, lenses: Sequence, segment_m: float = APPARENT_SIZE_SEGMENT_M) -> np.ndarray:
    """How large each joint appears: the square root of the image area (px^2) of a segment_m x segment_m square
    centred on the joint and facing the camera (perpendicular to the ray), i.e. px per segment_m, averaged over
    the directions in the image (a fisheye stretches radial and tangential directions differently).

    joints3d_camera_m: (F, V, J, 3) float64, OpenCV camera frame, metres; lenses: V lenses with `.project`.
    Returns (F, V, J) float64 px; NaN where the lens cannot map the square's corners.
    """
    cam = np.asarray(joints3d_camera_m, dtype=np.float64)
    h = 0.5 * float(segment_m)
    ray = cam / np.maximum(np.linalg.norm(cam, axis=-1, keepdims=True), 1e-12)
    helper = np.where(np.abs(ray[..., 2:3]) < 0.9, np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]))
    e1 = np.cross(ray, helper)
    e1 /= np.linalg.norm(e1, axis=-1, keepdims=True)
    e2 = np.cross(ray, e1)
    out = np.full(cam.shape[:-1], np.nan)
    for v, lens in enumerate(lenses):
        p = cam[:, v]
        pts = np.stack([p + h * e1[:, v], p - h * e1[:, v], p + h * e2[:, v], p - h * e2[:, v]], axis=-2)
        uv, ok = lens.project(pts)
        uv = np.asarray(uv, dtype=np.float64)
        ok = np.asarray(ok, dtype=bool).all(axis=-1) & np.isfinite(uv).all(axis=(-1, -2))
        a, b = uv[..., 0, :] - uv[..., 1, :], uv[..., 2, :] - uv[..., 3, :]
        area = np.abs(a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0])
        out[:, v] = np.where(ok, np.sqrt(area), np.nan)
    return out
