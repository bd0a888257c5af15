"""Per-frame records of the Ego4View layouts: the JSON of one frame, its heatmaps and a sequence's RW metadata."""

from __future__ import annotations

from typing import Any

import numpy as np

from synth.constants import EGO4VIEW_JOINT_NAMES, M_TO_CM
from synth.dataset.ego4view.calib import EGO4VIEW_IMAGE_PX
from synth.dataset.ego4view.layout import camera_key
from synth.dataset.ego4view.syn_model import camera_from_device

#: Ego4View's heatmap generator: 64 x 64 cells, sigma 1 cell, from 872 px points.
EGO4VIEW_HEATMAP_CELLS = 64
EGO4VIEW_HEATMAP_SIGMA = 1.0


def _euler_xyz_rad(R: np.ndarray) -> list[float]:
    """Blender 'XYZ' Euler angles (rad) of a rotation matrix R = Rz @ Ry @ Rx."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_matrix(R).as_euler("xyz").tolist()


def frame_json(layout: str, labels: dict[str, np.ndarray], row: int, views: list[str], pts2d_872: np.ndarray,
               extra: dict[str, Any]) -> dict[str, Any]:
    """The json_smplx_gendered (syn) or json_smplx (rw) record of one frame (field meanings: README_egorig.md).

    labels: the clip's native label arrays; row: the frame's row; pts2d_872: (F, V, J, 2) the clip's 2D points in
    Ego4View px (layout.ego4view_px); extra: goes under "egorig" (with frame_index and per-camera visibility).
    """
    from synth.geometry.transforms import opencv_camera_to_blender

    T_world_from_device = labels["T_world_from_device"][row]
    joints: dict[str, Any] = {}
    for j, name in enumerate(EGO4VIEW_JOINT_NAMES):
        world = labels["joints3d_world"][row, j]
        entry: dict[str, Any] = (
            {"trans_blender": world.tolist()} if layout == "syn" else {"trans": (world * M_TO_CM).tolist()}
        )
        entry["device_pts3d"] = (labels["joints3d_device"][row, j] * M_TO_CM).tolist()
        for v, view in enumerate(views):
            key = camera_key(view)
            entry[f"{key}_pts3d"] = (labels["joints3d_camera"][row, v, j] * M_TO_CM).tolist()
            entry[f"{key}_pts2d"] = pts2d_872[row, v, j].tolist()
        joints[name] = entry
    egorig = {
        **extra,
        "frame_index": int(labels["frame_index"][row]),
        "visibility": {camera_key(view): labels["visibility"][row, v].tolist() for v, view in enumerate(views)},
        "pts2d_render_px": {camera_key(view): labels["joints2d"][row, v].tolist() for v, view in enumerate(views)},
    }
    if layout == "rw":
        return {
            "camera_pose": T_world_from_device.tolist(),
            "global_rot_blender": _euler_xyz_rad(T_world_from_device[:3, :3]),
            "joints": joints,
            "egorig": egorig,
        }
    T_world_from_blcam = opencv_camera_to_blender(T_world_from_device[None] @ labels["T_device_from_camera"])
    trans = {"device": T_world_from_device[:3, 3].tolist()}
    rot = {"device": _euler_xyz_rad(T_world_from_device[:3, :3])}
    for v, view in enumerate(views):
        trans[camera_key(view)] = T_world_from_blcam[v][:3, 3].tolist()
        rot[camera_key(view)] = _euler_xyz_rad(T_world_from_blcam[v][:3, :3])
    return {"global_trans_blender": trans, "global_rot_blender": rot, "joints": joints, "egorig": egorig}


def ego4view_heatmaps(pts2d_872: np.ndarray) -> np.ndarray:
    """(..., 16, 64, 64) float32: Ego4View's generator applied to 2D points (..., 16, 2) in 872 px, literally
    (stride 872 / 64 on the raw coordinate, peak on int(h + 0.5), 7 x 7 window, no visibility mask), so that running
    the authors' generate_heatmap.py on the exported JSON rewrites the same files."""
    from synth.labels.heatmaps import render_heatmaps

    return render_heatmaps(
        pts2d_872, (EGO4VIEW_IMAGE_PX, EGO4VIEW_IMAGE_PX), heatmap_size=EGO4VIEW_HEATMAP_CELLS,
        sigma_px=EGO4VIEW_HEATMAP_SIGMA, dtype=np.float32, centre_to_corner_px=0.0, peak_rounding="trunc",
    )


def rw_metadata(views: list[str], T_device_from_camera: np.ndarray, calibrations: dict[str, dict],
                extra: dict[str, Any]) -> dict[str, Any]:
    """A sequence's _metadata.json: coord_transformation_matrix.device_to_camera_<view> = T_camera_from_device
    (4, 4) metres (OpenCV camera frame from the device frame), intrinsics per camera (Ego4View JSON, 872 px)."""
    T_cd = camera_from_device(T_device_from_camera)
    return {
        "coord_transformation_matrix": {f"device_to_{camera_key(v)}": T_cd[i].tolist() for i, v in enumerate(views)},
        "intrinsics": {camera_key(v): calibrations[v] for v in views},
        "egorig": extra,
    }
