"""Reader for the Ego4View-Syn and -RW layouts (egorig exports and the released datasets) giving the same samples as
the native dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from synth.constants import EGO4VIEW_JOINT_NAMES, M_TO_CM, VIEWS
from synth.dataset.ego4view.calib import EGO4VIEW_IMAGE_PX
from synth.errors import ConfigError, DatasetError
from train.data import load_image, normalise_image
from train.grids import Size, describe, is_square, longer_side

#: Our split names -> the Ego4View split files.
SPLIT_FILES = {"train": "train.txt", "val": "validation.txt", "test": "test.txt"}
#: The released generator's heatmap size and what it stores (16 channels, Head first).
EGO4VIEW_HEATMAP_SIZE = 64
JSON_DIRS = {"syn": "json_smplx_gendered", "rw": "json_smplx"}
RGB_DIR = "fisheye_rgb"
HM_DIR = "fisheye_hm"
CALIB_DIR = "camera_calib"
MANIFEST_NAME = "egorig_export.json"


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
    """Frames of an Ego4View split, Syn or RW layout (synth.dataset.ego4view.layout): Syn split files list character
    directories (every sequence under them is used), RW split files list sequence directories.

    Same sample dict as train.data.NativeFrameDataset. device_pts3d (cm) -> joints3d_device_m; the per-frame
    T_camera_from_device is fitted rigidly from the JSON's device and camera points (no hard-coded offsets);
    camera_*_pts2d are pixels of Ego4View's 872 x 872 image (OpenCV pixel-centre convention, the calibrations'
    own), so joints2d_px = pts2d and image_size_px = 872 whatever the image files' size; heatmaps from
    fisheye_hm/*.npy (Head channel dropped) or, when missing or another size, rendered from pts2d with Ego4View's
    generator recipe; visibility from the JSON's egorig block when present (an egorig export), else 2 inside the
    image and 0 outside. Lenses: Ego4View JSONs from calib_dir, else the export's camera_calib/, else synth's
    built-in Ego4View calibrations. Images are square, so input_size and heatmap_size must be square too (an int,
    or [S, S]): ConfigError naming the field otherwise.
    """

    def __init__(self, root: str | Path, split: str = "train", input_size: Size = 256, heatmap_size: Size = 64,
                 views: Sequence[str] | None = None, calib_dir: str | Path | None = None,
                 max_frames: int | None = None, layout: str | None = None):
        for field, value in (("data.input_size", input_size), ("data.heatmap_size", heatmap_size)):
            if not is_square(value):
                raise ConfigError("config", field, f"{describe(value)}: the Ego4View layouts have square images; "
                                                   f"give an int (format: ego4view_syn or ego4view_rw)")
        self.root = Path(root)
        if split not in SPLIT_FILES:
            raise DatasetError(f"{self.root}: unknown split {split!r}; use one of {list(SPLIT_FILES)}")
        split_file = self.root / SPLIT_FILES[split]
        if not split_file.is_file():
            raise DatasetError(f"{split_file}: missing; not an Ego4View directory")
        self.layout = layout or detect_layout(self.root)
        self.json_dir = JSON_DIRS[self.layout]
        self.views = list(views) if views else list(VIEWS)
        self.input_size, self.heatmap_size = longer_side(input_size), longer_side(heatmap_size)
        exported = self.root / CALIB_DIR
        self.calib_dir = calib_dir if calib_dir else (exported if exported.is_dir() else None)
        self.synthetic_images = False
        self.samples: list[tuple[Path, str]] = []
        for line in split_file.read_text().splitlines():  # all lines (the released stage-1 reader used only one)
            line = line.strip()
            if not line:
                continue
            listed = self.root / line.removeprefix("./")
            if self.layout == "syn":
                seqs = sorted(p for p in listed.iterdir() if p.is_dir()) if listed.is_dir() else []
            else:
                seqs = [listed]
            for seq in seqs:
                stems = [js.stem for js in (seq / self.json_dir).glob("*.json")]
                for stem in sorted(stems, key=lambda t: (len(t), t)):  # natural order of integer names
                    self.samples.append((seq, stem))
        if max_frames is not None:
            self.samples = self.samples[: int(max_frames)]
        if not self.samples:
            raise DatasetError(f"{split_file}: no frames found under the listed directories")

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
        from synth.labels.heatmaps import render_heatmaps

        seq, stem = self.samples[i]
        data = json.loads((seq / self.json_dir / f"{stem}.json").read_text())
        joints = data["joints"]
        egorig = data.get("egorig", {})
        dev_cm = np.array([joints[n]["device_pts3d"] for n in EGO4VIEW_JOINT_NAMES], dtype=np.float64)
        size = (EGO4VIEW_IMAGE_PX, EGO4VIEW_IMAGE_PX)
        images, heatmaps, T_cd, vis, uv_px = [], [], [], [], []
        for view in self.views:
            cam_cm = np.array([joints[n][f"camera_{view}_pts3d"] for n in EGO4VIEW_JOINT_NAMES], dtype=np.float64)
            pts2d = np.array([joints[n][f"camera_{view}_pts2d"] for n in EGO4VIEW_JOINT_NAMES], dtype=np.float64)
            T_cd.append(rigid_fit(dev_cm / M_TO_CM, cam_cm / M_TO_CM))
            path = seq / RGB_DIR / f"camera_{view}" / f"{stem}.jpg"
            if not path.exists():
                path = path.with_suffix(".png")
            if not path.exists():
                raise DatasetError(f"{seq}: frame {stem} view {view}: image missing under {RGB_DIR}/camera_{view}")
            images.append(normalise_image(load_image(path, self.input_size)))
            codes = egorig.get("visibility", {}).get(f"camera_{view}")
            if codes is None:
                inside = (pts2d >= -0.5).all(1) & (pts2d < size[0] - 0.5).all(1)
                codes = np.where(inside, 2, 0)
            vis.append(np.asarray(codes, dtype=np.uint8))
            uv_px.append(pts2d)
            hm_path = seq / HM_DIR / f"camera_{view}" / f"{stem}.npy"
            if hm_path.exists() and self.heatmap_size == EGO4VIEW_HEATMAP_SIZE:
                heatmaps.append(np.load(hm_path).astype(np.float32)[1:])
            else:
                heatmaps.append(render_heatmaps(pts2d[1:], size, self.heatmap_size, 1.0, centre_to_corner_px=0.0,
                                                peak_rounding="trunc"))
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


def detect_layout(root: Path) -> str:
    """"syn" or "rw" of an Ego4View directory: the egorig export manifest, else which JSON folder exists."""
    manifest = root / MANIFEST_NAME
    if manifest.is_file():
        return str(json.loads(manifest.read_text())["layout"])
    for layout, pattern in (("syn", "*/*/json_smplx_gendered"), ("rw", "*/*/*/json_smplx")):
        if next(root.glob(pattern), None) is not None:
            return layout
    raise DatasetError(f"{root}: neither an Ego4View-Syn (<character>/<seq>/json_smplx_gendered) nor an Ego4View-RW "
                       f"(<date>/<subject>/<seq>/json_smplx) directory")
