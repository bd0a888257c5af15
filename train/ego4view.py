"""Reader for the Ego4View-Syn layout (<character>/<sequence>/fisheye_rgb, json_smplx_gendered, fisheye_hm) giving
the same samples as the native dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from synth.constants import EGO4VIEW_JOINT_NAMES, M_TO_CM, VIEWS
from synth.errors import ConfigError, DatasetError
from train.data import load_image, normalise_image
from train.grids import Size, describe, is_square, longer_side

#: Our split names -> the Ego4View split files.
SPLIT_FILES = {"train": "train.txt", "val": "validation.txt", "test": "test.txt"}
#: The released generator's heatmap size and what it stores (16 channels, Head first).
EGO4VIEW_HEATMAP_SIZE = 64
JSON_DIR = "json_smplx_gendered"
RGB_DIR = "fisheye_rgb"
HM_DIR = "fisheye_hm"


def rigid_fit(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rigid transform T (4, 4) with dst ~ R @ src + t (Kabsch, proper rotation) from (N, 3) point pairs."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    u, _, vt = np.linalg.svd((src - mu_s).T @ (dst - mu_d))
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    R = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, mu_d - R @ mu_s
    return T


class Ego4ViewSynDataset(Dataset):
    """Frames of an Ego4View-Syn split (split files list character directories; every sequence under them is used).

    Same sample dict as train.data.NativeFrameDataset: device_pts3d (cm) -> joints3d_device_m; the per-frame
    T_camera_from_device is fitted rigidly from the JSON's device and camera points (no hard-coded offsets);
    heatmaps from fisheye_hm/*.npy (Head channel dropped) or, when missing or another size, rendered from
    camera_*_pts2d with the Ego4View recipe (corner convention); joints2d_px = camera_*_pts2d - 0.5 (that corner
    convention moved to OpenCV pixel centres). Lenses: OCamCalib JSONs from calib_dir (default: synth's built-in
    Ego4View calibrations). The layout's images are square (872 x 872 px), so input_size and heatmap_size must be
    square too (an int, or [S, S]): ConfigError naming the field otherwise.
    """

    def __init__(self, root: str | Path, split: str = "train", input_size: Size = 256, heatmap_size: Size = 64,
                 views: Sequence[str] | None = None, calib_dir: str | Path | None = None,
                 max_frames: int | None = None):
        for field, value in (("data.input_size", input_size), ("data.heatmap_size", heatmap_size)):
            if not is_square(value):
                raise ConfigError("config", field, f"{describe(value)}: the Ego4View-Syn layout has square 872 x 872 "
                                                   f"px images; give an int (format: ego4view_syn)")
        self.root = Path(root)
        if split not in SPLIT_FILES:
            raise DatasetError(f"{self.root}: unknown split {split!r}; use one of {list(SPLIT_FILES)}")
        split_file = self.root / SPLIT_FILES[split]
        if not split_file.is_file():
            raise DatasetError(f"{split_file}: missing; not an Ego4View-Syn directory")
        self.views = list(views) if views else list(VIEWS)
        self.input_size, self.heatmap_size = longer_side(input_size), longer_side(heatmap_size)
        self.calib_dir = calib_dir
        self.synthetic_images = False
        self.samples: list[tuple[Path, str]] = []
        for line in split_file.read_text().splitlines():  # all lines (the released stage-1 reader used only one)
            line = line.strip()
            if not line:
                continue
            char_dir = self.root / line.removeprefix("./")
            for seq in sorted(p for p in char_dir.iterdir() if p.is_dir()) if char_dir.is_dir() else []:
                for js in sorted((seq / JSON_DIR).glob("*.json")):
                    self.samples.append((seq, js.stem))
        if max_frames is not None:
            self.samples = self.samples[: int(max_frames)]
        if not self.samples:
            raise DatasetError(f"{split_file}: no frames found under the listed character directories")

    @property
    def heatmap_hw(self) -> tuple[int, int]:
        """(h, w) cells of the heatmaps (square)."""
        return self.heatmap_size, self.heatmap_size

    @property
    def lenses(self) -> tuple:
        from synth.geometry.lenses import load_ocamcalib

        base = f"{self.calib_dir}/" if self.calib_dir else "builtin:ego4view/"
        return tuple(load_ocamcalib(f"{base}camera_{v}.json") for v in self.views)

    def projector(self):
        from train.camera import LensProjector

        return LensProjector(self.lenses)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict[str, Any]:
        from PIL import Image

        from synth.labels.heatmaps import PIXEL_CENTRE_TO_CORNER, render_heatmaps

        seq, stem = self.samples[i]
        data = json.loads((seq / JSON_DIR / f"{stem}.json").read_text())
        joints = data["joints"]
        dev_cm = np.array([joints[n]["device_pts3d"] for n in EGO4VIEW_JOINT_NAMES], dtype=np.float64)
        images, heatmaps, T_cd, vis, uv_px = [], [], [], [], []
        for view in self.views:
            cam_cm = np.array([joints[n][f"camera_{view}_pts3d"] for n in EGO4VIEW_JOINT_NAMES], dtype=np.float64)
            pts2d = np.array([joints[n][f"camera_{view}_pts2d"] for n in EGO4VIEW_JOINT_NAMES], dtype=np.float64)
            T = rigid_fit(dev_cm / M_TO_CM, cam_cm / M_TO_CM)
            T_cd.append(T)
            path = seq / RGB_DIR / f"camera_{view}" / f"{stem}.jpg"
            if not path.exists():
                path = path.with_suffix(".png")
            if not path.exists():
                raise DatasetError(f"{seq}: frame {stem} view {view}: image missing under {RGB_DIR}/camera_{view}")
            images.append(normalise_image(load_image(path, self.input_size)))
            with Image.open(path) as im:
                size = im.size
            inside = (pts2d >= 0).all(1) & (pts2d[:, 0] < size[0]) & (pts2d[:, 1] < size[1])
            vis.append(np.where(inside, 2, 0).astype(np.uint8))
            uv_px.append(pts2d - PIXEL_CENTRE_TO_CORNER)
            hm_path = seq / HM_DIR / f"camera_{view}" / f"{stem}.npy"
            if hm_path.exists() and self.heatmap_size == EGO4VIEW_HEATMAP_SIZE:
                heatmaps.append(np.load(hm_path).astype(np.float32)[1:])
            else:
                heatmaps.append(render_heatmaps(pts2d[1:], size, self.heatmap_size, 1.0, centre_to_corner_px=0.0))
        return {
            "images": torch.stack(images),
            "heatmaps": torch.from_numpy(np.stack(heatmaps).astype(np.float32)),
            "joints2d_px": torch.from_numpy(np.stack(uv_px).astype(np.float32)),
            "image_size_px": torch.tensor(size, dtype=torch.int64),
            "joints3d_device_m": torch.from_numpy((dev_cm / M_TO_CM).astype(np.float32)),
            "T_camera_from_device": torch.from_numpy(np.stack(T_cd).astype(np.float32)),
            "visibility": torch.from_numpy(np.stack(vis)),
            "synthetic_image": torch.tensor(False),
            "clip_index": torch.tensor(i, dtype=torch.int64),
            "frame_index": torch.tensor(int(stem) if stem.isdigit() else i, dtype=torch.int64),
        }
