"""Torch datasets over the native egorig format: per-frame multi-view images, heatmaps, device-frame 3D joints and
the rig, plus the DataLoader factory."""

from __future__ import annotations

import logging
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
from train.grids import Size, describe, heatmap_grid, input_grid
from train.synthetic_images import draw_skeleton_image

log = logging.getLogger(__name__)

#: ImageNet normalisation of the ResNet input (torchvision's values).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Image sources: real files, the synthetic skeleton drawing, or files when the dataset has them.
IMAGE_SOURCES = ("auto", "files", "synthetic")
#: Heatmap sources: the stored heatmaps.npz, rendered from joints2d with synth's recipe, or render-if-identical.
HEATMAP_SOURCES = ("auto", "stored", "render")


def load_image(path: Path, size: int | tuple[int, int]) -> np.ndarray:
    """Read an image file -> (H, W, 3) uint8 RGB at size = (W, H) px (an int S: (S, S)), resized bicubically per
    axis (the released preprocessing)."""
    from PIL import Image

    width, height = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.size != (width, height):
            im = im.resize((width, height), Image.BICUBIC)
        return np.asarray(im)


def normalise_image(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 ImageNet-normalised."""
    x = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (x - mean) / std


def render_view_heatmaps(joints2d_px: np.ndarray, visibility: np.ndarray, image_size: tuple[int, int],
                         heatmap_size: int | tuple[int, int], sigma: float) -> np.ndarray:
    """The 15 heatmap joints of each view rendered with synth's recipe (synth.labels.heatmaps).

    joints2d_px: (V, 16, 2) OpenCV px of an image of image_size = (W, H) px; visibility: (V, 16) u8 (0 = outside
    the image: blank channel); heatmap_size: S (S x S cells) or (w, h) cells, per-axis strides W / w and H / h;
    sigma in cells. -> (V, 15, h, w) float32, peak 1.0.
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

    Sample (dict of tensors), W x H the dataset's image size in px (`image_size`), W_in x H_in the input grid
    (`input_wh`), w x h the heatmap grid (`heatmap_wh`):
      images (V, 3, H_in, W_in) float32 ImageNet-normalised (bicubic resize per axis);
      heatmaps (V, 15, h, w) float32 (peak 1.0; strides W / w and H / h image px per cell);
      joints2d_px (V, 16, 2) float32 OpenCV px ((0, 0) = centre of the top-left pixel) of the W x H image;
      image_size_px (2,) int64 (W, H), the image the 2D labels and heatmaps refer to;
      joints3d_device_m (16, 3) float32 device frame, metres;
      T_camera_from_device (V, 4, 4) float32 (metres);
      visibility (V, 16) uint8; synthetic_image: bool tensor (True when images are skeleton drawings);
      clip_index, frame_index: int64.
    input_size: int (the longer side; the shorter follows the images' aspect ratio, rounded to a multiple of 32 when
      the images are not square: train.grids.input_grid) or (W_in, H_in).
    heatmap_size: int (the longer side: train.grids.heatmap_grid), (w, h), or None for the stored heatmaps' grid.
    views: subset of the dataset's views by name, in the model's order (default: all).
    images: "files" needs rgb/ images; "synthetic" draws the 2D skeleton (synth_images module; flagged) with only
      the joints the camera sees (visibility 2): a self-occluded joint keeps its heatmap target but is missing from
      the picture, as it is from a real image; "auto" uses files when the dataset has images, else synthetic.
    heatmaps: "stored" reads heatmaps.npz (whole clips, LRU-cached per worker; only when its grid is the heatmap
      grid); "render" draws them from joints2d with synth's recipe (needed when the grids differ; much faster than
      decompressing); "auto" renders when a probe frame shows rendering reproduces the stored maps, else reads them.
    """

    def __init__(self, root: str | Path, split: str | None = "train", input_size: Size = 256,
                 heatmap_size: Size | None = None, views: Sequence[str] | None = None, images: str = "auto",
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
        self.image_size = self.reader.image_size
        self.input_size = input_size if isinstance(input_size, int) else tuple(int(s) for s in input_size)
        self.input_wh = input_grid(self.input_size, self.image_size)
        self.stored_heatmap_wh = self.reader.heatmap_shape
        self.heatmap_wh = (self.stored_heatmap_wh if heatmap_size is None
                           else heatmap_grid(heatmap_size, self.image_size, self.input_wh))
        if self.image_size[0] != self.image_size[1] and isinstance(self.input_size, int):
            exact = self.input_size * min(self.image_size) / max(self.image_size)
            how = "" if exact == min(self.input_wh) else f", rounded from {exact:.1f} to a multiple of 32"
            log.info("%s: %d x %d px images -> input grid %d x %d px (input_size %d on the longer side%s), heatmaps "
                     "%d x %d cells", self.root, *self.image_size, *self.input_wh, self.input_size, how,
                     *self.heatmap_wh)
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
        same_grid = self.heatmap_wh == self.stored_heatmap_wh
        if not same_grid and heatmaps == "stored":
            raise DatasetError(f"{self.root}: stored heatmaps are {self.stored_heatmap_wh[0]} x "
                               f"{self.stored_heatmap_wh[1]} cells, the heatmap grid is {self.heatmap_wh[0]} x "
                               f"{self.heatmap_wh[1]} (heatmap_size {describe(heatmap_size)}); use heatmaps: render")
        self.render_heatmaps = heatmaps == "render" or not same_grid
        if heatmaps == "auto" and not self.render_heatmaps:
            self.render_heatmaps = self._rendering_matches_stored()

    @property
    def heatmap_size(self) -> int:
        """Heatmap cells on the longer side (the square maps' side)."""
        return max(self.heatmap_wh)

    @property
    def heatmap_hw(self) -> tuple[int, int]:
        """(h, w) cells of the heatmaps, the order of their array axes (the models' `heatmap_size`)."""
        return self.heatmap_wh[1], self.heatmap_wh[0]

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
        drawn = render_view_heatmaps(labels["joints2d"][row], labels["visibility"][row], self.image_size,
                                     self.heatmap_wh, self.sigma)
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
            hm = render_view_heatmaps(joints2d, visibility, self.image_size, self.heatmap_wh, self.sigma)
        else:
            hm = self._clip_heatmaps(clip_id)[row][vi].astype(np.float32)
        images = []
        for k, view in enumerate(self.views):
            if self.synthetic_images:
                rgb = draw_skeleton_image(joints2d[k], visibility[k] == VIS_VISIBLE, self.image_size,
                                          self.input_wh)
            else:
                path = self.reader.image_path(clip_id, view, frame)
                if path is None:
                    raise DatasetError(f"{self.root}: {clip_id} frame {frame} view {view}: image missing")
                rgb = load_image(path, self.input_wh)
            images.append(normalise_image(rgb))
        T_cam_dev = invert_T(labels["T_device_from_camera"][vi])
        return {
            "images": torch.stack(images),
            "heatmaps": torch.from_numpy(np.ascontiguousarray(hm, dtype=np.float32)),
            "joints2d_px": torch.from_numpy(np.ascontiguousarray(joints2d, dtype=np.float32)),
            "image_size_px": torch.tensor(self.image_size, dtype=torch.int64),
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
