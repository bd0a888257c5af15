"""Exports a native dataset in the Ego4View-Syn layout so tools written for that dataset read it unchanged."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from synth.constants import EGO4VIEW_JOINT_NAMES, M_TO_CM, NUM_JOINTS, VIS_OUTSIDE
from synth.dataset import format as fmt
from synth.dataset.reader import DatasetReader
from synth.dataset.staging import staged_output_dir
from synth.io import atomic_path, write_bytes_atomic
from synth.errors import DatasetError

#: Ego4View split file per native split.
SPLIT_FILES: dict[str, str] = {"train": "train.txt", "val": "validation.txt", "test": "test.txt"}
#: Per-frame folders of a sequence.
RGB_DIR = "fisheye_rgb"
JSON_DIR = "json_smplx_gendered"
HEATMAP_DIR = "fisheye_hm"
README_NAME = "README_egorig.md"
#: Exported frame file stem: the frame number as a plain decimal integer (Ego4View names frames by integer index).
FRAME_NAME = "{frame:d}"
#: Character directory prefix. Ego4View-Syn characters are named rp_* and its heatmap script globs "rp*/*".
CHARACTER_PREFIX = "rp_egorig_"
#: JPEG quality when PNG renders are converted (Ego4View tools open <frame>.jpg).
JPEG_QUALITY = 95

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def camera_key(view: str) -> str:
    """Ego4View's per-camera name for one of our views: "front_left" -> "camera_front_left"."""
    return f"camera_{view}"


def character_name(identity_id: str) -> str:
    """Character directory of a body identity (file-system safe)."""
    return CHARACTER_PREFIX + _UNSAFE.sub("_", str(identity_id)).strip("_")


def _euler_xyz_rad(R: np.ndarray) -> list[float]:
    """Blender 'XYZ' Euler angles (rad) of a rotation matrix R = Rz @ Ry @ Rx."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_matrix(R).as_euler("xyz").tolist()


def _pose_entry(T: np.ndarray) -> tuple[list[float], list[float]]:
    return T[:3, 3].tolist(), _euler_xyz_rad(T[:3, :3])


def frame_json(labels: dict[str, np.ndarray], row: int, views: list[str], extra: dict[str, Any]) -> dict[str, Any]:
    """The json_smplx_gendered-style record of one frame (field meanings: README_egorig.md, written by export).

    labels: the clip's native label arrays; row: the row of the frame; extra: goes under "egorig".
    """
    from synth.geometry.transforms import opencv_camera_to_blender

    T_world_from_device = labels["T_world_from_device"][row]
    T_world_from_cam = T_world_from_device[None] @ labels["T_device_from_camera"]  # (V, 4, 4) OpenCV cameras
    T_world_from_blcam = opencv_camera_to_blender(T_world_from_cam)
    trans, rot = {}, {}
    trans["device"], rot["device"] = _pose_entry(T_world_from_device)
    for v, view in enumerate(views):
        trans[camera_key(view)], rot[camera_key(view)] = _pose_entry(T_world_from_blcam[v])

    joints: dict[str, Any] = {}
    for j, name in enumerate(EGO4VIEW_JOINT_NAMES):
        entry: dict[str, Any] = {
            "trans_blender": labels["joints3d_world"][row, j].tolist(),
            "device_pts3d": (labels["joints3d_device"][row, j] * M_TO_CM).tolist(),
        }
        for v, view in enumerate(views):
            key = camera_key(view)
            entry[f"{key}_pts3d"] = (labels["joints3d_camera"][row, v, j] * M_TO_CM).tolist()
            entry[f"{key}_pts2d"] = labels["joints2d"][row, v, j].tolist()
        joints[name] = entry
    visibility = {camera_key(view): labels["visibility"][row, v].tolist() for v, view in enumerate(views)}
    return {
        "global_trans_blender": trans,
        "global_rot_blender": rot,
        "joints": joints,
        "egorig": {**extra, "frame_index": int(labels["frame_index"][row]), "visibility": visibility},
    }


def head_heatmaps(joints2d_head_px: np.ndarray, visibility_head: np.ndarray, image_size: tuple[int, int],
                  size: int, sigma: float) -> np.ndarray:
    """Head channel (F, V, S, S) float32 from the head's 2D position (F, V, 2) px and visibility (F, V) codes.

    Same recipe as the stored 15 channels (synth.labels.heatmaps.render_heatmaps), zero where the head is outside
    the image (visibility 0).
    """
    from synth.labels.heatmaps import render_heatmaps

    maps = render_heatmaps(
        joints2d_head_px[:, :, None, :],
        image_size,
        heatmap_size=size,
        sigma_px=sigma,
        visible_mask=(visibility_head != VIS_OUTSIDE)[:, :, None],
        dtype=np.float32,
    )
    return maps[:, :, 0]


def _place_image(src: Path, dst: Path, link: bool) -> None:
    with atomic_path(dst) as tmp:
        if src.suffix.lower() == ".png":
            from PIL import Image

            with Image.open(src) as img:
                img.convert("RGB").save(tmp, format="JPEG", quality=JPEG_QUALITY)
        elif link:
            try:
                os.link(src, tmp)
            except OSError:  # another file system, or links not allowed: copy instead
                shutil.copy2(src, tmp)
        else:
            shutil.copy2(src, tmp)


def _save_npy_atomic(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array, allow_pickle=False)


def export_ego4view(
    dataset_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    clip_ids: list[str] | None = None,
    link: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write the Ego4View-Syn layout of a native dataset into `out_dir`; returns out_dir.

    clip_ids: a subset to export (default: all completed clips). link: hard-link JPEG images instead of copying.
    overwrite: replace an earlier export in out_dir (the whole tree is written aside and renamed into place, so a
    failed export leaves out_dir as it was). A label-only dataset exports without fisheye_rgb/.
    """
    reader = DatasetReader(dataset_dir)
    check_exportable(reader)
    out = Path(out_dir).absolute()
    root = reader.root.absolute()
    if out == root or root in out.parents:
        raise DatasetError(f"{out}: is inside the dataset {root}; export to a directory outside it")
    with staged_output_dir(out, overwrite=overwrite, marker=README_NAME, command="synth export") as stage:
        _write_export(reader, stage, reader.clip_ids if clip_ids is None else list(clip_ids), link)
    return out


def check_exportable(reader: DatasetReader) -> None:
    """DatasetError when the Ego4View layout cannot hold the dataset: its images and heatmaps are square (its
    loaders resize every image to a square and its heatmaps are S x S)."""
    width, height = reader.image_size
    if width != height:
        raise DatasetError(
            f"{reader.root}: images are {width}x{height} px; the Ego4View layout holds square images only (its "
            f"loaders resize to a square and its heatmaps are square): train on the native format (egotrain with "
            f"data.format native), or render a square rig"
        )


def _write_export(reader: DatasetReader, out: Path, ids: list[str], link: bool) -> None:
    views = reader.views
    width, height = reader.image_size
    hm_size = reader.heatmap_size
    hm_sigma = float(reader.meta["heatmap"].get("sigma", fmt.DEFAULT_HEATMAP_SIGMA_PX))
    has_images = reader.image_format is not None

    character_of: dict[str, str] = {}
    for cid in ids:
        meta = reader.clip_meta(cid)
        character = character_name(meta["identity"]["identity_id"])
        character_of[cid] = character
        seq_dir = out / character / cid
        labels = reader.labels(cid)
        heatmaps = reader.heatmaps(cid)
        head = head_heatmaps(
            labels["joints2d"][:, :, 0], labels["visibility"][:, :, 0], (width, height), hm_size, hm_sigma
        )
        (seq_dir / JSON_DIR).mkdir(parents=True, exist_ok=True)
        for view in views:
            (seq_dir / HEATMAP_DIR / camera_key(view)).mkdir(parents=True, exist_ok=True)
            if has_images:
                (seq_dir / RGB_DIR / camera_key(view)).mkdir(parents=True, exist_ok=True)
        extra = {"clip_id": cid, "identity_id": meta["identity"]["identity_id"]}
        for row, frame in enumerate(labels["frame_index"]):
            name = FRAME_NAME.format(frame=int(frame))
            record = frame_json(labels, row, views, extra)
            write_bytes_atomic(seq_dir / JSON_DIR / f"{name}.json", json.dumps(record).encode("utf-8"))
            for v, view in enumerate(views):
                maps = np.empty((NUM_JOINTS, hm_size, hm_size), np.float32)
                maps[0] = head[row, v]
                maps[1:] = heatmaps[row, v]
                _save_npy_atomic(seq_dir / HEATMAP_DIR / camera_key(view) / f"{name}.npy", maps)
                if has_images:
                    src = reader.image_path(cid, view, int(frame))
                    if src is None:
                        raise DatasetError(
                            f"{reader.root}: {cid} has no {view} image for frame {int(frame)}; re-render the clip "
                            f"or export a label-only copy"
                        )
                    _place_image(src, seq_dir / RGB_DIR / camera_key(view) / f"{name}.jpg", link)

    _write_splits(reader, out, character_of)
    write_bytes_atomic(out / README_NAME, readme_text(reader, has_images).encode("utf-8"))


def _write_splits(reader: DatasetReader, out: Path, character_of: dict[str, str]) -> None:
    """train/validation/test.txt: one character directory per line; a character in two splits is refused."""
    split_of: dict[str, str] = {}
    members: dict[str, set[str]] = {name: set() for name in SPLIT_FILES}
    for split, ids in reader.splits.items():
        for cid in ids:
            if cid not in character_of:
                continue
            character = character_of[cid]
            other = split_of.setdefault(character, split)
            if other != split:
                raise DatasetError(
                    f"{reader.root / fmt.DATASET_JSON}: character {character} has clips in '{other}' and '{split}'; "
                    f"Ego4View splits list characters, so splits must be by identity: regenerate the splits"
                )
            members[split].add(character)
    for split, file_name in SPLIT_FILES.items():
        text = "".join(f"{c}\n" for c in sorted(members[split]))
        write_bytes_atomic(out / file_name, text.encode("utf-8"))


def readme_text(reader: DatasetReader, has_images: bool) -> str:
    """Field-by-field description of the exported files."""
    width, height = reader.image_size
    size = reader.heatmap_size
    cams = ", ".join(camera_key(v) for v in reader.views)
    images = (
        f"`fisheye_rgb/camera_<view>/<frame>.jpg`: the rendered images ({width}x{height}); JPEG renders are "
        f"hard-linked (or copied), PNG renders converted to JPEG quality {JPEG_QUALITY}."
        if has_images
        else "No `fisheye_rgb/`: the source dataset is label-only (no images were rendered)."
    )
    return f"""# Ego4View-Syn layout exported by egorig

Source: `{reader.root}` (config_hash `{reader.meta['config_hash']}`, schema {reader.meta['schema_version']}).

## Tree

```
{{train,validation,test}}.txt     character directories, one per line (splits are identity-disjoint)
<character>/<seq>/
  fisheye_rgb/camera_<view>/<frame>.jpg
  json_smplx_gendered/<frame>.json
  fisheye_hm/camera_<view>/<frame>.npy
```

- `<character>` = `{CHARACTER_PREFIX}<identity_id>`: one body identity (clip.json `identity.identity_id`, characters
  other than `A-Za-z0-9_.-` replaced by `_`). The `rp_` prefix matches Ego4View-Syn's `rp*/*` glob.
- `<seq>` = the native clip id (`clip_000123`).
- `<frame>` = the frame number (native `frame_index`) as a plain decimal integer without zero padding
  (`0.json`, `1.json`, ..., `10.json`); sort file lists naturally (as Ego4View's scripts do), not lexically.
- Cameras: {cams}.
- {images}

## json_smplx_gendered/<frame>.json

- `joints.<name>` for the 16 joints (Head, Neck, LeftArm, RightArm, LeftForeArm, RightForeArm, LeftHand,
  RightHand, LeftUpLeg, RightUpLeg, LeftLeg, RightLeg, LeftFoot, RightFoot, LeftToeBase, RightToeBase):
  - `trans_blender`: [x, y, z] metres, world frame (Blender world, Z up) = native `joints3d_world`.
  - `device_pts3d`: [x, y, z] centimetres, device frame (origin between the front cameras, x = wearer's right,
    y = backward, z = down; OpenCV-style axes) = native `joints3d_device` x 100.
  - `camera_<view>_pts3d`: centimetres, OpenCV camera frame (x right, y down, z optical axis) = native
    `joints3d_camera` x 100.
  - `camera_<view>_pts2d`: [u, v] pixels at {width}x{height} (the exported image size, not Ego4View's 872x872),
    OpenCV convention ((0, 0) = centre of the top-left pixel) = native `joints2d`. Tools that hard-code 872 px
    (e.g. Ego4View's heatmap generator) must be given this size instead. Joints outside the image
    keep their projected (possibly out-of-range) coordinates; see `egorig.visibility`.
- `global_trans_blender`: {{"device": [x, y, z], "camera_<view>": [x, y, z]}} metres, world frame: the device
  origin and each camera centre.
- `global_rot_blender`: same keys, Blender 'XYZ' Euler angles in radians (R = Rz Ry Rx) of the object's
  world rotation: for "device" the device axes above; for cameras the Blender camera (looking down -Z, +Y up).
- `smplx_params`: not written (bodies are not SMPL-X; the body identity is in the native clip.json).
- `egorig`: `clip_id`, `identity_id`, `frame_index`, and `visibility` per camera (16 codes: 0 outside the image,
  1 occluded, 2 visible).

## fisheye_hm/camera_<view>/<frame>.npy

(16, {size}, {size}) float32. Channels 1..15 = native heatmaps of Neck..RightToeBase (synth.labels.heatmaps:
Ego4View's recipe, peak 1.0 on the cell floor((u + 0.5) / stride + 0.5), sigma {reader.meta['heatmap'].get('sigma')}
heatmap px, 7x7 window, zero when the joint is outside the image). Channel 0 (Head) is rendered from the head's
`camera_<view>_pts2d` with the same recipe (zero when the head is outside the image), so the file has Ego4View's
16 channels; Ego4View loaders drop channel 0 and keep channels 1..15.
"""
