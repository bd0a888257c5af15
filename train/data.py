"""Torch datasets over the native egorig format: per-frame multi-view images, heatmaps, device-frame 3D joints and
the rig, plus the DataLoader factory."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from synth.constants import VIS_VISIBLE
from synth.dataset.format import clip_index
from synth.errors import DatasetError
from synth.geometry.transforms import invert_T
from train.synthetic_images import draw_skeleton_image

#: ImageNet normalisation of the ResNet input (torchvision's values).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Image sources: real files, the synthetic skeleton drawing, or files when the dataset has them.
IMAGE_SOURCES = ("auto", "files", "synthetic")
#: Heatmap sources: the stored heatmaps.npz, rendered from joints2d with synth's recipe, or render-if-identical.
HEATMAP_SOURCES = ("auto", "stored", "render")


def load_image(path: Path, size: int) -> np.ndarray:
    """Read an image file -> (size, size, 3) uint8 RGB, bicubic resize (the released preprocessing)."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.size != (size, size):
            im = im.resize((size, size), Image.BICUBIC)
        return np.asarray(im)


def normalise_image(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 ImageNet-normalised."""
    x = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (x - mean) / std


def render_view_heatmaps(joints2d_px: np.ndarray, visibility: np.ndarray, image_size: tuple[int, int],
                         heatmap_size: int, sigma: float) -> np.ndarray:
    """The 15 heatmap joints of each view rendered with synth's recipe (synth.labels.heatmaps).

    joints2d_px: (V, 16, 2) px; visibility: (V, 16) u8 (0 = outside the image: blank channel). -> (V, 15, S, S) f32.
    """
    from synth.labels.heatmaps import render_heatmaps

    return render_heatmaps(joints2d_px[:, 1:], image_size, heatmap_size, sigma, visible_mask=visibility[:, 1:] != 0)


def check_dataset(root: Path, hashes: bool) -> None:
    """DatasetError naming the damaged clips of a native dataset (sizes, or sizes and sha256, of every committed
    file)."""
    from synth.dataset.verify import verify_dataset

    damaged = verify_dataset(Path(root), hashes=hashes)
    if damaged:
        first = ", ".join(f"{cid} ({problems[0]})" for cid, problems in sorted(damaged.items())[:3])
        raise DatasetError(f"{root}: {len(damaged)} damaged clips, e.g. {first}; rerun the command that made the "
                           f"dataset to redo them (`synth verify {root}` lists them all)")


class NativeFrameDataset(Dataset):
    """One sample per frame of a split of a native dataset (`synth.dataset.reader.DatasetReader`).

    Sample (dict of tensors):
      images (V, 3, S, S) float32 ImageNet-normalised, S = input_size (bicubic resize);
      heatmaps (V, 15, h, h) float32, h = heatmap_size (peak 1.0);
      joints3d_device_m (16, 3) float32 device frame, metres;
      T_camera_from_device (V, 4, 4) float32 (metres);
      visibility (V, 16) uint8; synthetic_image: bool tensor (True when images are skeleton drawings);
      clip_index, frame_index: int64.
    views: subset of the dataset's views by name, in the model's order (default: all).
    images: "files" needs rgb/ images; "synthetic" draws the 2D skeleton (synth_images module; flagged) with only
      the joints the camera sees (visibility 2): a self-occluded joint keeps its heatmap target but is missing from
      the picture, as it is from a real image; "auto" uses files when the dataset has images, else synthetic.
    heatmaps: "stored" reads heatmaps.npz (whole clips, LRU-cached per worker); "render" draws them from joints2d
      with synth's recipe (needed when heatmap_size differs from the stored size; much faster than decompressing);
      "auto" renders when a probe frame shows rendering reproduces the stored maps, else reads them.
    """

    def __init__(self, root: str | Path, split: str | None = "train", input_size: int = 256,
                 heatmap_size: int | None = None, views: Sequence[str] | None = None, images: str = "auto",
                 heatmaps: str = "auto", clip_cache: int = 2, max_frames: int | None = None,
                 verify: str = "sizes"):
        from synth.dataset.reader import DatasetReader

        if images not in IMAGE_SOURCES:
            raise ValueError(f"images must be one of {IMAGE_SOURCES}, got {images!r}")
        if heatmaps not in HEATMAP_SOURCES:
            raise ValueError(f"heatmaps must be one of {HEATMAP_SOURCES}, got {heatmaps!r}")
        self.root = Path(root)
        if verify != "off":
            check_dataset(self.root, hashes=verify == "hashes")
        self.reader = DatasetReader(self.root)
        self.split = split
        self.input_size = int(input_size)
        self.stored_heatmap_size = self.reader.heatmap_size
        self.heatmap_size = int(heatmap_size or self.stored_heatmap_size)
        self.sigma = float(self.reader.meta["heatmap"].get("sigma", 1.0))
        all_views = self.reader.views
        self.views = list(views) if views else list(all_views)
        unknown = [v for v in self.views if v not in all_views]
        if unknown:
            raise DatasetError(f"{self.root}: views {unknown} not in the dataset's views {all_views}")
        self.view_index = [all_views.index(v) for v in self.views]
        has_files = self.reader.image_format is not None
        if images == "files" and not has_files:
            raise DatasetError(f"{self.root}: label-only dataset (image.format is null); use images: synthetic or "
                               f"render the dataset")
        self.synthetic_images = images == "synthetic" or (images == "auto" and not has_files)
        self.samples: list[tuple[str, int]] = list(self.reader.samples(split))
        if max_frames is not None:
            self.samples = self.samples[: int(max_frames)]
        if not self.samples:
            raise DatasetError(f"{self.root}: split {split!r} has no frames; check dataset.json splits")
        self.clip_ids = sorted({cid for cid, _ in self.samples})
        self._clip_cache = max(1, int(clip_cache))
        self._labels: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
        self._heatmaps: OrderedDict[str, np.ndarray] = OrderedDict()
        if self.heatmap_size != self.stored_heatmap_size and heatmaps == "stored":
            raise DatasetError(f"{self.root}: stored heatmaps are {self.stored_heatmap_size} px, heatmap_size is "
                               f"{self.heatmap_size}; use heatmaps: render")
        self.render_heatmaps = heatmaps == "render" or self.heatmap_size != self.stored_heatmap_size
        if heatmaps == "auto" and not self.render_heatmaps:
            self.render_heatmaps = self._rendering_matches_stored()

    # ------------------------------------------------------------------ rig
    @property
    def lenses(self) -> tuple:
        """The render lens of each selected view (synth.geometry.lenses)."""
        lenses = self.reader.lenses
        return tuple(lenses[i] for i in self.view_index)

    def projector(self):
        """LensProjector over the selected views' lenses (the 3D lifter's project_fn)."""
        from train.camera import LensProjector

        return LensProjector(self.lenses)

    # ------------------------------------------------------------------ caches
    def _clip_labels(self, clip_id: str) -> dict[str, np.ndarray]:
        if clip_id not in self._labels:
            self._labels[clip_id] = self.reader.labels(clip_id)
            while len(self._labels) > 4 * self._clip_cache:
                self._labels.popitem(last=False)
        self._labels.move_to_end(clip_id)
        return self._labels[clip_id]

    def _clip_heatmaps(self, clip_id: str) -> np.ndarray:
        if clip_id not in self._heatmaps:
            self._heatmaps[clip_id] = self.reader.heatmaps(clip_id)
            while len(self._heatmaps) > self._clip_cache:
                self._heatmaps.popitem(last=False)
        self._heatmaps.move_to_end(clip_id)
        return self._heatmaps[clip_id]

    def _rendering_matches_stored(self) -> bool:
        clip_id, frame = self.samples[0]
        labels = self._clip_labels(clip_id)
        row = self.reader.row(clip_id, frame)
        stored = self.reader.heatmaps(clip_id, frame).astype(np.float32)
        drawn = render_view_heatmaps(labels["joints2d"][row], labels["visibility"][row], self.reader.image_size,
                                     self.heatmap_size, self.sigma)
        return bool(np.abs(stored - drawn).max() < 2e-3)  # float16 storage rounding

    # ------------------------------------------------------------------ samples
    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict[str, Any]:
        clip_id, frame = self.samples[i]
        labels = self._clip_labels(clip_id)
        row = self.reader.row(clip_id, frame)
        vi = self.view_index
        joints2d = labels["joints2d"][row][vi]
        visibility = labels["visibility"][row][vi]
        if self.render_heatmaps:
            hm = render_view_heatmaps(joints2d, visibility, self.reader.image_size, self.heatmap_size, self.sigma)
        else:
            hm = self._clip_heatmaps(clip_id)[row][vi].astype(np.float32)
        images = []
        for k, view in enumerate(self.views):
            if self.synthetic_images:
                rgb = draw_skeleton_image(joints2d[k], visibility[k] == VIS_VISIBLE, self.reader.image_size,
                                          self.input_size)
            else:
                path = self.reader.image_path(clip_id, view, frame)
                if path is None:
                    raise DatasetError(f"{self.root}: {clip_id} frame {frame} view {view}: image missing")
                rgb = load_image(path, self.input_size)
            images.append(normalise_image(rgb))
        T_cam_dev = invert_T(labels["T_device_from_camera"][vi])
        return {
            "images": torch.stack(images),
            "heatmaps": torch.from_numpy(np.ascontiguousarray(hm, dtype=np.float32)),
            "joints3d_device_m": torch.from_numpy(labels["joints3d_device"][row].astype(np.float32)),
            "T_camera_from_device": torch.from_numpy(T_cam_dev.astype(np.float32)),
            "visibility": torch.from_numpy(np.ascontiguousarray(visibility)),
            "synthetic_image": torch.tensor(self.synthetic_images),
            "clip_index": torch.tensor(clip_index(clip_id), dtype=torch.int64),
            "frame_index": torch.tensor(int(frame), dtype=torch.int64),
        }


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool, num_workers: int = 0, seed: int = 0,
                drop_last: bool = False, prefetch_factor: int = 4) -> DataLoader:
    """DataLoader with a seeded shuffle (explicit torch.Generator), persistent workers and deep prefetching so
    decoding overlaps the model step; pinned memory when CUDA is present."""
    g = torch.Generator().manual_seed(int(seed))
    kwargs: dict[str, Any] = {}
    if num_workers > 0:
        kwargs.update(persistent_workers=True, prefetch_factor=prefetch_factor)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers, generator=g,
                      drop_last=drop_last and len(dataset) >= batch_size, pin_memory=torch.cuda.is_available(),
                      **kwargs)
