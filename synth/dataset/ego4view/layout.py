"""Names and units of the two Ego4View layouts (what the authors' released loaders and scripts look for).

Ego4View-Syn (`syn`)::

    {train,validation,test}.txt             one character directory per line
    rp_egorig_<split>/<seq>/fisheye_rgb/camera_<view>/<frame>.jpg
                           json_smplx_gendered/<frame>.json
                           fisheye_hm/camera_<view>/<frame>.npy

Its single-view heatmap dataset reads only the FIRST line of a split file, so each split is one character
directory (`rp_egorig_train`, ...) holding all its sequences: no line, and so no data, is skipped. The `rp` prefix
matches the heatmap script's `rp*/*` glob.

Ego4View-RW (`rw`)::

    {train,validation,test}.txt             one sequence directory per line: 2024_egorig/S_<identity>/seq_<clip>-0
    2024_egorig/S_<identity>/seq_<clip>-0/fisheye_rgb/camera_<view>/<frame>.png
                                          json_smplx/<frame>.json
                                          fisheye_hm/camera_<view>/<frame>.npy
    2024_egorig/S_<identity>/seq_<clip>_metadata.json      device-to-camera transforms (+ intrinsics)

The RW loaders find the metadata by cutting the frame path at its FIRST '-' and appending `_metadata.json`, and
the heatmap script globs `2024*/S*/seq*`: hence the date-like top directory, the `S_` and `seq_` prefixes, names
without '-' before the sequence's `-0`, and an export path without '-'.

Both: 2D points (`camera_<view>_pts2d`) are pixels of the 872 x 872 image the Ego4View calibrations and heatmap
generator assume, OpenCV pixel-centre convention (the same convention as the calibration's image_center):
u_872 = (u + 0.5) * 872 / W - 0.5 for a render of W px. Points the lens has no finite image for are written as
MISSING_PX (far outside, so the heatmap generator leaves their channel empty).
"""

from __future__ import annotations

import re

import numpy as np

from synth.dataset.ego4view.calib import EGO4VIEW_IMAGE_PX

LAYOUTS = ("syn", "rw")
#: The four cameras both layouts have, in the loaders' view order.
EGO4VIEW_VIEWS = ("front_left", "front_right", "back_left", "back_right")
#: Ego4View split file per native split.
SPLIT_FILES: dict[str, str] = {"train": "train.txt", "val": "validation.txt", "test": "test.txt"}
RGB_DIR = "fisheye_rgb"
HEATMAP_DIR = "fisheye_hm"
JSON_DIR = {"syn": "json_smplx_gendered", "rw": "json_smplx"}
IMAGE_SUFFIX = {"syn": ".jpg", "rw": ".png"}
#: Calibrations (Ego4View JSON, 872 px) of the exported rig: point the trainer's camera_calib_file_dir_path here.
CALIB_DIR = "camera_calib"
README_NAME = "README_egorig.md"
MANIFEST_NAME = "egorig_export.json"
#: Exported frame file stem: the frame number as a plain decimal integer (Ego4View names frames by integer index).
FRAME_NAME = "{frame:d}"
#: Syn character directory per split (the prefix matches the heatmap script's rp*/* glob).
SYN_CHARACTER = "rp_egorig_{split}"
#: RW top directory: the heatmap script globs 2024*/S*/seq*.
RW_DATE_DIR = "2024_egorig"
RW_SUBJECT = "S_{identity}"
RW_SEQUENCE = "seq_{clip}"
#: RW sequence directories are <base>-<chunk>; the metadata of all chunks is <base>_metadata.json.
RW_CHUNK = "-0"
RW_METADATA_SUFFIX = "_metadata.json"
JPEG_QUALITY = 95
#: Written for a 2D point the lens has no finite image for (px, both coordinates).
MISSING_PX = -10000.0

_UNSAFE = re.compile(r"[^A-Za-z0-9_.]+")


def camera_key(view: str) -> str:
    """Ego4View's per-camera name for one of our views: "front_left" -> "camera_front_left"."""
    return f"camera_{view}"


def safe_name(text: str) -> str:
    """A path component without '-' or other characters the loaders' path rules trip on."""
    return _UNSAFE.sub("_", str(text)).strip("_") or "x"


def split_dir_name(split: str) -> str:
    """Ego4View's split name of a native split: "val" -> "validation"."""
    return SPLIT_FILES[split].removesuffix(".txt")


def sequence_path(layout: str, split: str, identity_id: str, clip_id: str) -> str:
    """The sequence directory of a clip, relative to the export root (POSIX), as its split file line names it."""
    if layout == "syn":
        return f"{SYN_CHARACTER.format(split=split_dir_name(split))}/{safe_name(clip_id)}"
    subject = RW_SUBJECT.format(identity=safe_name(identity_id))
    return f"{RW_DATE_DIR}/{subject}/{RW_SEQUENCE.format(clip=safe_name(clip_id))}{RW_CHUNK}"


def split_line(layout: str, seq_path: str) -> str:
    """The split-file line of a sequence: its character directory (syn) or the sequence itself (rw)."""
    return seq_path.split("/")[0] if layout == "syn" else seq_path


def rw_metadata_path(seq_path: str) -> str:
    """The RW metadata file of a sequence (relative), as the loaders derive it: cut at '-', add _metadata.json."""
    return seq_path.split("-")[0] + RW_METADATA_SUFFIX


def ego4view_px(uv_px, image_size: tuple[int, int]) -> np.ndarray:
    """Render pixels -> Ego4View's 872 px image, pixel-centre convention; non-finite -> MISSING_PX.

    uv_px: (..., 2) OpenCV px of an image of image_size = (W, H) (square). Returns (..., 2) float64.
    """
    width, height = image_size
    if width != height:
        raise ValueError(f"Ego4View images are square; got {width}x{height}")
    uv = np.asarray(uv_px, dtype=np.float64)
    out = (uv + 0.5) * (EGO4VIEW_IMAGE_PX / float(width)) - 0.5
    finite = np.isfinite(out).all(axis=-1, keepdims=True)
    return np.where(finite, out, MISSING_PX)
