"""Small label-only (or skeleton-image) datasets in the native format for tests and benchmarks: moving stick
figures below an equidistant four-camera rig, written with synth's DatasetWriter (SYNTHETIC; not rendered data)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from synth.constants import NUM_JOINTS, VIEWS
from synth.dataset.format import clip_id as make_clip_id

#: Stick figure in the device frame (x right, y back, z down), metres: head just behind the device, feet ~1.7 m
#: below, toes forward (-y).
BASE_POSE_DEVICE_M = np.array([
    [0.00, 0.10, 0.08], [0.00, 0.10, 0.22],                                  # head, neck
    [-0.18, 0.10, 0.28], [0.18, 0.10, 0.28], [-0.22, 0.10, 0.55], [0.22, 0.10, 0.55],   # shoulders, elbows
    [-0.20, 0.05, 0.78], [0.20, 0.05, 0.78],                                 # wrists
    [-0.10, 0.10, 0.80], [0.10, 0.10, 0.80], [-0.11, 0.08, 1.25], [0.11, 0.08, 1.25],   # hips, knees
    [-0.12, 0.12, 1.65], [0.12, 0.12, 1.65], [-0.12, -0.02, 1.70], [0.12, -0.02, 1.70],  # ankles, balls
])
#: Per-joint motion amplitude (m): limbs move most.
MOTION_AMPLITUDE_M = np.array([0.02, 0.02, 0.04, 0.04, 0.15, 0.15, 0.3, 0.3, 0.04, 0.04, 0.15, 0.15, 0.25, 0.25,
                               0.25, 0.25])
FIXTURE_FOV_RAD = math.radians(200.0)
FIXTURE_FPS = 30.0
#: The device of a person standing upright facing -Y (world Z up): x right = -X, y back = +Y, z down = -Z.
R_WORLD_FROM_DEVICE_STANDING = np.diag([-1.0, 1.0, -1.0])
DEVICE_HEIGHT_M = 1.75


def fixture_rig(front_to_rear_m: float = 0.37, baseline_m: float = 0.12) -> np.ndarray:
    """T_device_from_camera (4, 4, 4) for the default view order: cameras look down (+z), rear pair rotated 180
    degrees about the optical axis and `front_to_rear_m` behind the front pair."""
    T = np.tile(np.eye(4), (4, 1, 1))
    xs = (-baseline_m / 2, baseline_m / 2, -baseline_m / 2, baseline_m / 2)
    for v in range(4):
        T[v, 0, 3] = xs[v]
        if v >= 2:
            T[v, 1, 3] = front_to_rear_m
            T[v, :3, :3] = np.diag([-1.0, -1.0, 1.0])
    return T


def make_poses(frames: int, rng: np.random.Generator) -> np.ndarray:
    """(frames, 16, 3) device-frame joints (m): the stick figure scaled per identity with smooth per-joint motion."""
    scale = rng.uniform(0.9, 1.1)
    phase = rng.uniform(0, 2 * np.pi, size=(NUM_JOINTS, 3))
    freq = rng.uniform(0.5, 2.0, size=(NUM_JOINTS, 3))
    t = np.arange(frames)[:, None, None] / FIXTURE_FPS
    motion = MOTION_AMPLITUDE_M[None, :, None] * np.sin(2 * np.pi * freq[None] * t + phase[None])
    return BASE_POSE_DEVICE_M[None] * scale + motion


def write_fixture_dataset(out: str | Path, rng: np.random.Generator, identities: int = 3, frames: int = 4,
                          image_size: int = 64, image_format: str | None = None, front_to_rear_m: float = 0.37,
                          heatmap_size: int = 64) -> Path:
    """Write a dataset with one clip of `frames` frames per identity (resumable, like any native dataset).

    Splits by identity: val and test get one identity each when identities >= 3, train the rest (all of them
    otherwise). image_format None = label-only; "jpg"/"png" stores the synthetic skeleton drawings as the images.
    Returns the dataset path.
    """
    from PIL import Image

    from synth.dataset.writer import DatasetWriter
    from synth.geometry.lenses import EquidistantLens
    from synth.geometry.transforms import apply_T
    from synth.labels.heatmaps import render_heatmaps
    from synth.labels.projection import project_joints
    from train.synthetic_images import draw_skeleton_image

    out = Path(out)
    lens = EquidistantLens(width=image_size, height=image_size, fov_rad=FIXTURE_FOV_RAD)
    T_dc = fixture_rig(front_to_rear_m)
    meta = {
        "egorig_version": "fixture", "config": {"fixture": True, "front_to_rear_m": front_to_rear_m},
        "config_hash": f"fixture-{front_to_rear_m:.3f}-{image_size}-{frames}-{identities}", "seed": 0,
        "views": list(VIEWS),
        "rig": {"front_to_rear_m": front_to_rear_m, "front_baseline_m": 0.12, "front_clearance_m": 0.06,
                "cameras": [{"name": v, "T_device_from_camera": T_dc[i].tolist(), "lens": lens.to_dict(),
                             "calibration": None, "cycles": lens.cycles_settings().to_dict(),
                             "max_fit_residual_px": 0.0} for i, v in enumerate(VIEWS)]},
        "image": {"width": image_size, "height": image_size, "format": image_format},
        "heatmap": {"size": heatmap_size, "sigma": 1.0},
    }
    writer = DatasetWriter(out, meta)
    ids = []
    for k in range(identities):
        cid = make_clip_id(k)
        ids.append(cid)
        if writer.is_complete(cid):
            continue
        joints = make_poses(frames, rng)
        cam, uv, in_fov = project_joints(joints, T_dc, [lens] * 4)
        visibility = np.where(in_fov, 2, 0).astype(np.uint8)
        T_wd = np.tile(np.eye(4), (frames, 1, 1))
        T_wd[:, :3, :3] = R_WORLD_FROM_DEVICE_STANDING
        T_wd[:, 2, 3] = DEVICE_HEIGHT_M
        labels = {
            "joints3d_world": apply_T(T_wd[:, None], joints),
            "joints3d_device": joints, "joints3d_camera": cam, "joints2d": uv, "visibility": visibility,
            "occluder": np.zeros_like(visibility), "T_world_from_device": T_wd, "T_device_from_camera": T_dc,
            "frame_index": np.arange(frames, dtype=np.int64),
        }
        heatmaps = render_heatmaps(uv[:, :, 1:], (image_size, image_size), heatmap_size, 1.0,
                                   visible_mask=in_fov[:, :, 1:], dtype=np.float16)
        if image_format is not None:
            tmp = writer.clip_dir_tmp(cid)
            for v, view in enumerate(VIEWS):
                (tmp / "rgb" / view).mkdir(parents=True, exist_ok=True)
                for f in range(frames):
                    rgb = draw_skeleton_image(uv[f, v], in_fov[f, v], (image_size, image_size), image_size)
                    Image.fromarray(rgb).save(tmp / "rgb" / view / f"{f:06d}.{image_format}")
        clip_meta = {"clip_index": k, "seed": k, "identity": {"identity_id": f"fixture_{k}"},
                     "motion": {"name": "sines", "family": "fixture", "params": {}, "fps": FIXTURE_FPS},
                     "appearance": {}, "environment": {}, "hair": None, "camera_effects": None, "fps": FIXTURE_FPS,
                     "views": list(VIEWS),
                     "d_fr_m": front_to_rear_m, "d_rh_m": 0.1, "front_clearance_m": 0.06, "mount_height_m": 0.0,
                     "mount": {"d_fh_m": 0.06, "refit_m": 0.0, "camera_clearance_m": None}}
        writer.write_clip(cid, clip_meta, labels, heatmaps, {"labels": 0.0})
    n_eval = 1 if identities >= 3 else 0
    splits = {"train": ids[: len(ids) - 2 * n_eval] or ids, "val": ids[len(ids) - 2 * n_eval: len(ids) - n_eval],
              "test": ids[len(ids) - n_eval:] if n_eval else []}
    if not n_eval:
        splits = {"train": ids, "val": [], "test": []}
    writer.finalize(splits)
    return out
