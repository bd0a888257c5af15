"""Reads and validates a native dataset: metadata, per-clip labels and heatmaps, image paths, samples."""

from __future__ import annotations

import json
import zipfile
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from synth.dataset import format as fmt
from synth.errors import DatasetError
from synth.io import sha256_file


def read_index(path: Path) -> tuple[dict[str, dict], bool]:
    """Parse index.jsonl into {clip_id: line}; the bool says a torn last line (a crash mid-append) was dropped.

    A malformed line that is not the last one means the file was edited or damaged: DatasetError.
    """
    entries: dict[str, dict] = {}
    if not path.exists():
        return entries, False
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    torn = False
    # A complete file ends with "\n", so the last element is b""; anything else there is a torn append.
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    elif lines:
        torn = True
        lines = lines[:-1]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            missing = [k for k in fmt.INDEX_KEYS if k not in entry]
            if missing:
                raise ValueError(f"missing keys {missing}")
            fmt.clip_index(entry["clip_id"])
        except (ValueError, DatasetError) as exc:
            raise DatasetError(
                f"{path}: line {number} is not a valid index entry ({exc}); remove that line (its clip is then "
                f"redone) or regenerate the dataset"
            ) from None
        entries[entry["clip_id"]] = entry
    return entries, torn


#: The fix for a damaged committed clip.
REDO_HINT = "rerun the command that made the dataset, which redoes damaged clips (`synth verify DIR` lists them)"


class DatasetReader:
    """Read access to one dataset directory written by DatasetWriter.

    Frames are addressed by their frame number (labels["frame_index"] values, also the image file stems);
    `row(clip_id, frame)` maps a frame number to the row of the label arrays (equal when frame_index = 0..F-1).
    Only clips with an index.jsonl line are visible, so a dataset can be read while it is still being written.
    """

    def __init__(self, path: str | Path):
        self.root = Path(path)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: no such dataset directory; pass the --out of a generation run")
        dataset_json = self.root / fmt.DATASET_JSON
        if not dataset_json.exists():
            raise DatasetError(
                f"{dataset_json}: missing; {self.root} is not an egorig dataset (generate one with `synth labels` "
                f"or `synth render`)"
            )
        try:
            self.meta: dict[str, Any] = json.loads(dataset_json.read_text())
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{dataset_json}: corrupt ({exc}); regenerate the dataset") from None
        version = self.meta.get("schema_version")
        if version != fmt.SCHEMA_VERSION:
            raise DatasetError(
                f"{dataset_json}: schema_version {version}, this egorig reads {fmt.SCHEMA_VERSION}; regenerate the "
                f"dataset or use the egorig version that wrote it"
            )
        missing = [k for k in fmt.DATASET_KEYS if k not in self.meta]
        if missing:
            raise DatasetError(f"{dataset_json}: missing keys {missing}; regenerate the dataset")
        self._index, _ = read_index(self.root / fmt.INDEX_JSONL)
        self._frames_cache: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ dataset level
    @property
    def clip_ids(self) -> list[str]:
        """Completed clips (index.jsonl), sorted."""
        return sorted(self._index)

    @property
    def splits(self) -> dict[str, list[str]]:
        """{"train", "val", "test"} -> clip ids (identity-disjoint); empty lists until the run is finalized."""
        return {name: list(self.meta["splits"].get(name, [])) for name in fmt.SPLITS}

    @property
    def views(self) -> list[str]:
        return list(self.meta["views"])

    @property
    def rig(self) -> dict[str, Any]:
        """dataset.json "rig": front_to_rear_m, front_baseline_m, front_clearance_m, cameras (name, pose, lens)."""
        return self.meta["rig"]

    @property
    def image_size(self) -> tuple[int, int]:
        """(width, height) of the rendered images and of the joints2d pixel grid."""
        return int(self.meta["image"]["width"]), int(self.meta["image"]["height"])

    @property
    def image_format(self) -> str | None:
        """"jpg" | "png", or None for a label-only dataset."""
        return self.meta["image"].get("format")

    @property
    def heatmap_size(self) -> int:
        """Heatmap cells along the image's longer side (dataset.json heatmap.size)."""
        return int(self.meta["heatmap"]["size"])

    @property
    def heatmap_shape(self) -> tuple[int, int]:
        """(width, height) of the heatmaps in cells: the image's aspect ratio at heatmap_size cells on its longer
        side (synth.labels.heatmaps.heatmap_shape_for)."""
        dims = fmt.heatmap_dims(self.meta)
        return dims["SW"], dims["SH"]

    def T_device_from_camera(self) -> np.ndarray:
        """(V, 4, 4) float64: each camera's OpenCV pose in the device frame, metres, from dataset.json."""
        return np.array([cam["T_device_from_camera"] for cam in self.rig["cameras"]], dtype=np.float64)

    @cached_property
    def lenses(self) -> tuple:
        """The render lens of every view (synth.geometry.lenses.Lens), rebuilt from dataset.json."""
        try:
            from synth.geometry.lenses import lens_from_dict
        except ImportError as exc:
            raise DatasetError(f"cannot rebuild lenses: synth.geometry.lenses is unavailable ({exc})") from None
        out = []
        for cam in self.rig["cameras"]:
            try:
                out.append(lens_from_dict(cam["lens"]))
            except Exception as exc:  # a malformed dict: name the camera and the file
                raise DatasetError(
                    f"{self.root / fmt.DATASET_JSON}: rig.cameras[{cam.get('name')}].lens is invalid ({exc}); "
                    f"regenerate the dataset"
                ) from None
        return tuple(out)

    # ------------------------------------------------------------------ clip level
    def _clip_dir(self, clip_id: str) -> Path:
        if clip_id not in self._index:
            raise DatasetError(
                f"{self.root}: {clip_id} is not a completed clip (not in {fmt.INDEX_JSONL}); "
                f"known clips: {len(self._index)}, e.g. {self.clip_ids[:3]}"
            )
        return self.root / fmt.CLIPS_DIR / clip_id

    def index_entry(self, clip_id: str) -> dict[str, Any]:
        """The clip's index.jsonl line: frames, seconds per stage, sha256 of labels.npz and heatmaps.npz."""
        self._clip_dir(clip_id)
        return dict(self._index[clip_id])

    def clip_meta(self, clip_id: str) -> dict[str, Any]:
        """clip.json: identity, motion, appearance, environment, seed, D-FR, D-RH, frames, views."""
        path = self._clip_dir(clip_id) / fmt.CLIP_JSON
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise DatasetError(f"{path}: missing; {REDO_HINT}") from None
        except ValueError as exc:
            raise DatasetError(f"{path}: corrupt ({exc}); {REDO_HINT}") from None

    def identity_of(self, clip_id: str) -> str:
        """The body identity of a clip (clip.json identity.identity_id): what splits keep apart."""
        return str(self.clip_meta(clip_id)["identity"]["identity_id"])

    def _verify(self, path: Path, clip_id: str, key: str) -> None:
        want = self._index[clip_id][key]
        got = sha256_file(path)
        if got != want:
            raise DatasetError(
                f"{path}: sha256 {got[:12]}... differs from {fmt.INDEX_JSONL} ({want[:12]}...); the file is corrupt: "
                f"{REDO_HINT}"
            )

    def labels(self, clip_id: str, verify: bool = False) -> dict[str, np.ndarray]:
        """The clip's label arrays (format.LABEL_SPECS), validated; `verify` also checks the sha256.

        Shapes: joints3d_world (F, 16, 3) f64 m; joints3d_device (F, 16, 3) f64 m; joints3d_camera
        (F, V, 16, 3) f64 m; joints2d (F, V, 16, 2) f64 px; visibility, occluder (F, V, 16) u8;
        T_world_from_device (F, 4, 4) f64; T_device_from_camera (V, 4, 4) f64; frame_index (F,) i64.
        """
        path = self._clip_dir(clip_id) / fmt.LABELS_NPZ
        if verify:
            self._verify(path, clip_id, "labels_sha256")
        arrays = self._load_npz(path)
        arrays, dims = fmt.validate_arrays(arrays, fmt.LABEL_SPECS, str(path))
        if dims["V"] != len(self.views):
            raise DatasetError(f"{path}: {dims['V']} views, dataset.json lists {len(self.views)}")
        self._frames_cache[clip_id] = arrays["frame_index"]
        return arrays

    @staticmethod
    def _load_npz(path: Path) -> dict[str, np.ndarray]:
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {key: npz[key] for key in npz.files}
        except FileNotFoundError:
            raise DatasetError(f"{path}: missing; {REDO_HINT}") from None
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise DatasetError(f"{path}: corrupt ({exc}); {REDO_HINT}") from None

    def heatmaps(self, clip_id: str, frame: int | None = None, verify: bool = False) -> np.ndarray:
        """Heatmaps (F, V, 15, SH, SW) float16 (heatmap_shape), or one frame's (V, 15, SH, SW) when `frame` is given.

        heatmaps.npz is compressed, so it cannot be memory-mapped; a single frame is read by streaming the
        zip entry up to that frame, without holding the whole clip in memory.
        """
        path = self._clip_dir(clip_id) / fmt.HEATMAPS_NPZ
        if verify:
            self._verify(path, clip_id, "heatmaps_sha256")
        if frame is None:
            arrays = self._load_npz(path)
            arrays, _ = fmt.validate_arrays(arrays, (fmt.HEATMAP_SPEC,), str(path), fmt.heatmap_dims(self.meta))
            return arrays[fmt.HEATMAPS_KEY]
        row = self.row(clip_id, frame)
        try:
            with zipfile.ZipFile(path) as zf, zf.open(f"{fmt.HEATMAPS_KEY}.npy") as fh:
                version = np.lib.format.read_magic(fh)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(fh)
                if fortran or dtype != np.dtype(fmt.HEATMAP_SPEC.dtype) or len(shape) != 5:
                    raise ValueError(f"unexpected array header {shape} {dtype} fortran={fortran}")
                frame_bytes = int(np.prod(shape[1:])) * dtype.itemsize
                fh.seek(fh.tell() + row * frame_bytes)
                data = fh.read(frame_bytes)
        except FileNotFoundError:
            raise DatasetError(f"{path}: missing; {REDO_HINT}") from None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise DatasetError(f"{path}: corrupt ({exc}); {REDO_HINT}") from None
        if len(data) != frame_bytes:
            raise DatasetError(f"{path}: truncated at frame {frame}; {REDO_HINT}")
        return np.frombuffer(data, dtype=dtype).reshape(shape[1:])

    def frames(self, clip_id: str) -> np.ndarray:
        """(F,) int64 frame numbers of the clip (labels["frame_index"])."""
        if clip_id not in self._frames_cache:
            path = self._clip_dir(clip_id) / fmt.LABELS_NPZ
            try:
                with np.load(path, allow_pickle=False) as npz:
                    self._frames_cache[clip_id] = np.asarray(npz["frame_index"], dtype=np.int64)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                raise DatasetError(f"{path}: cannot read frame_index ({exc}); {REDO_HINT}") from None
        return self._frames_cache[clip_id]

    def row(self, clip_id: str, frame: int) -> int:
        """Row of frame number `frame` in the clip's label arrays; DatasetError if the clip has no such frame."""
        frames = self.frames(clip_id)
        pos = int(np.searchsorted(frames, frame))
        if pos >= len(frames) or frames[pos] != frame:
            span = f"frames run {int(frames[0])}..{int(frames[-1])}" if len(frames) else "it has no frames"
            raise DatasetError(f"{clip_id}: no frame {frame}; {span}")
        return pos

    def image_path(self, clip_id: str, view: str, frame: int, kind: str = fmt.RGB_DIR) -> Path | None:
        """Path of the rgb image of (clip, view, frame), or None for a label-only dataset or a missing file."""
        if view not in self.views:
            raise DatasetError(f"unknown view '{view}'; this dataset has {self.views}")
        if self.image_format is None:
            return None
        stem = fmt.FRAME_STEM.format(frame=int(frame))
        path = self._clip_dir(clip_id) / kind / view / f"{stem}.{self.image_format}"
        return path if path.exists() else None

    def samples(self, split: str | None = None) -> Iterator[tuple[str, int]]:
        """(clip_id, frame number) for every frame of every completed clip, or of one split's clips."""
        if split is None:
            ids = self.clip_ids
        elif split in fmt.SPLITS:
            ids = [cid for cid in self.splits[split] if cid in self._index]
        else:
            raise DatasetError(f"unknown split '{split}'; use one of {list(fmt.SPLITS)}")
        for cid in ids:
            for frame in self.frames(cid):
                yield cid, int(frame)
