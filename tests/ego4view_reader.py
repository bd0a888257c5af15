"""A stand-alone reader of the published Ego4View layouts, written from the layout facts of the authors' released
EgoRear loaders and generate_heatmap.py (not from synth): the tests read an export back through it, the way the
authors' trainer would, so that it checks the export against the layout rather than against itself.

It imports nothing from synth: only the standard library, numpy and (for images) PIL.

- Syn: split lines are character directories; sequences are `<root>/<line>/*`; frames are
  `<seq>/json_smplx_gendered/*.json`; the stage-1 single-view heatmap dataset reads only the first line.
- RW: split lines are sequence directories; frames are `<root>/<line>/json_smplx/*.json`; the sequence metadata is
  `frame_json.split("-")[0] + "_metadata.json"` (the whole path cut at its first '-').
- Images / heatmaps: the frame JSON path with the JSON directory replaced by `fisheye_rgb/camera_<view>` /
  `fisheye_hm/camera_<view>` and `.json` by the image suffix / `.npy`.
"""

from __future__ import annotations

import glob
import json
import math
import os

import numpy as np

JSON_DIR = {"syn": "json_smplx_gendered", "rw": "json_smplx"}
IMAGE_SUFFIX = {"syn": ".jpg", "rw": ".png"}
SPLIT_FILE = {"train": "train.txt", "val": "validation.txt", "validation": "validation.txt", "test": "test.txt"}
VIEWS = ("front_left", "front_right", "back_left", "back_right")
JOINTS = ("Head", "Neck", "LeftArm", "RightArm", "LeftForeArm", "RightForeArm", "LeftHand", "RightHand",
          "LeftUpLeg", "RightUpLeg", "LeftLeg", "RightLeg", "LeftFoot", "RightFoot", "LeftToeBase", "RightToeBase")
IMAGE_PX = 872
HEATMAP_PX = 64
#: The syn trainer's fixed device -> camera offsets (cm), and whether the camera is turned 180 deg (x, y negated).
SYN_OFFSET_CM = {"front_left": (6.0, 0.0, 0.0), "front_right": (-6.0, 0.0, 0.0),
                 "back_left": (-6.0, 37.0, 0.0), "back_right": (6.0, 37.0, 0.0)}
SYN_TURNED = {"front_left": False, "front_right": False, "back_left": True, "back_right": True}


def split_lines(root: str, split: str) -> list[str]:
    """The non-empty, stripped lines of a split file ("train", "val"/"validation" or "test")."""
    with open(os.path.join(root, SPLIT_FILE[split])) as fh:
        return [line.strip() for line in fh.readlines() if line.strip()]


def read_split(root: str, layout: str, split: str, first_line_only: bool = False) -> list[str]:
    """Every frame JSON path (sorted) of a split, found as the loaders find them (globs joined onto root).

    first_line_only: read only the first line of the split file (the syn stage-1 heatmap dataset's quirk).
    """
    lines = split_lines(root, split)
    if first_line_only:
        lines = lines[:1]
    frames: list[str] = []
    for line in lines:
        if layout == "syn":
            for seq in glob.glob(os.path.join(root, line, "*")):
                frames += glob.glob(os.path.join(seq, JSON_DIR["syn"], "*.json"))
        elif layout == "rw":
            frames += glob.glob(os.path.join(root, line, JSON_DIR["rw"], "*.json"))
        else:
            raise ValueError(layout)
    return sorted(frames)


def _replaced(frame_json: str, layout: str, folder: str, suffix: str) -> str:
    return frame_json.replace(JSON_DIR[layout], folder).replace(".json", suffix)


def image_path(frame_json: str, layout: str, view: str) -> str:
    """The loaders' image path of a frame and camera."""
    return _replaced(frame_json, layout, f"fisheye_rgb/camera_{view}", IMAGE_SUFFIX[layout])


def heatmap_path(frame_json: str, layout: str, view: str) -> str:
    """The loaders' heatmap (.npy) path of a frame and camera."""
    return _replaced(frame_json, layout, f"fisheye_hm/camera_{view}", ".npy")


def rw_metadata_path(frame_json: str) -> str:
    """The RW pose3d loader's metadata path: the frame path cut at its first '-' + "_metadata.json"."""
    return frame_json.split("-")[0] + "_metadata.json"


def rw_metadata(frame_json: str) -> dict:
    """The RW sequence metadata of a frame (json), found by rw_metadata_path."""
    with open(rw_metadata_path(frame_json)) as fh:
        return json.load(fh)


def read_json(path: str) -> dict:
    with open(path) as fh:
        return json.load(fh)


def joint_array(record: dict, key: str) -> np.ndarray:
    """(16, k) float64 of joints[<name>][key] over the 16 joints, in the loaders' joint order."""
    return np.array([record["joints"][name][key] for name in JOINTS], dtype=np.float64)


def generate_target(pts2d: np.ndarray, image_size: int = IMAGE_PX, heatmap_size: int = HEATMAP_PX,
                    sigma: float = 1.0) -> np.ndarray:
    """(16, 64, 64) float32 heatmaps of (16, 2) points in 872 px, the generate_heatmap.py recipe:
    stride = image / heatmap, peak cell mu = int(p / stride + 0.5) (int truncation), a 7 x 7 Gaussian window
    [mu - 3, mu + 4) cropped to the map; a window entirely outside leaves its channel zero."""
    pts2d = np.asarray(pts2d, dtype=np.float64)
    target = np.zeros((len(pts2d), heatmap_size, heatmap_size), dtype=np.float32)
    stride = image_size / heatmap_size
    tmp = int(3 * sigma)
    size = 2 * tmp + 1
    x = np.arange(0, size, 1, np.float32)
    y = x[:, None]
    g = np.exp(-((x - tmp) ** 2 + (y - tmp) ** 2) / (2 * sigma ** 2))
    for j, (px, py) in enumerate(pts2d):
        mu_x, mu_y = int(px / stride + 0.5), int(py / stride + 0.5)
        ul = (int(mu_x - tmp), int(mu_y - tmp))
        br = (int(mu_x + tmp + 1), int(mu_y + tmp + 1))
        if ul[0] >= heatmap_size or ul[1] >= heatmap_size or br[0] < 0 or br[1] < 0:
            continue
        gx = (max(0, -ul[0]), min(br[0], heatmap_size) - ul[0])
        gy = (max(0, -ul[1]), min(br[1], heatmap_size) - ul[1])
        hx = (max(0, ul[0]), min(br[0], heatmap_size))
        hy = (max(0, ul[1]), min(br[1], heatmap_size))
        target[j, hy[0]:hy[1], hx[0]:hx[1]] = g[gy[0]:gy[1], gx[0]:gx[1]]
    return target


def project(calib: dict, pts_cam) -> np.ndarray:
    """(N, 2) px of camera-frame points (N, 3) (OpenCV axes) with an Ego4View calibration (the 3D stage's model):
    theta = atan(-z / r), rho = sum W2C[i] theta^i, (u, v) = (x, y) / r * rho + image_center."""
    w2c = [float(c) for c in calib["polynomialW2C"]]
    cx, cy = (float(c) for c in calib["image_center"])
    out = []
    for x, y, z in np.asarray(pts_cam, dtype=np.float64).reshape(-1, 3):
        r = math.sqrt(x * x + y * y)
        theta = math.atan(-z / r)
        rho = sum(c * theta ** i for i, c in enumerate(w2c))
        out.append((x / r * rho + cx, y / r * rho + cy))
    return np.array(out, dtype=np.float64)


def syn_camera_points(view: str, device_cm) -> np.ndarray:
    """The syn trainer's camera-frame points (cm) of device points (N, 3) cm: the front cameras p + offset, the
    rear ones (-x, -y, z) + offset."""
    p = np.array(device_cm, dtype=np.float64).reshape(-1, 3)
    if SYN_TURNED[view]:
        p[:, 0] *= -1.0
        p[:, 1] *= -1.0
    return p + np.array(SYN_OFFSET_CM[view])


def rw_camera_points(M, device_cm) -> np.ndarray:
    """The RW trainer's camera-frame points (cm): M (4, 4, metres) @ [p / 100, 1], back to cm."""
    p_m = np.asarray(device_cm, dtype=np.float64).reshape(-1, 3) / 100.0
    homo = np.concatenate([p_m, np.ones((len(p_m), 1))], axis=1)
    return (np.asarray(M, dtype=np.float64) @ homo.T).T[:, :3] * 100.0


def open_image(path: str):
    """The image as the loaders open it (PIL, RGB)."""
    from PIL import Image

    return Image.open(path).convert("RGB")
