"""The native dataset format (DESIGN section 7): file names, label array schema, clip ids and per-clip seeding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from synth.constants import DEFAULT_HEATMAP_SIGMA_PX, DEFAULT_HEATMAP_SIZE, NUM_HEATMAP_JOINTS, NUM_JOINTS
from synth.errors import DatasetError

#: Version of the on-disk layout; a reader refuses any other value.
SCHEMA_VERSION = 1

# File and folder names inside a dataset directory.
DATASET_JSON = "dataset.json"
INDEX_JSONL = "index.jsonl"
CLIPS_DIR = "clips"
CLIP_JSON = "clip.json"
LABELS_NPZ = "labels.npz"
HEATMAPS_NPZ = "heatmaps.npz"
#: Per-clip manifest: {relative path: {"bytes", "sha256"}} of every other file of the clip directory.
FILES_JSON = "files.json"
RGB_DIR = "rgb"
DEPTH_DIR = "depth"
PARTS_DIR = "parts"
OBJECTS_DIR = "objects"
PREVIEWS_DIR = "previews"
#: Run logs (Blender's, the farm's fault markers) and the farm's record of failed clips.
LOGS_DIR = "logs"
FAILURES_JSONL = "failures.jsonl"
#: Entries a run may create in a dataset directory before dataset.json exists (anything else there is not ours).
RUN_ENTRIES = (CLIPS_DIR, LOGS_DIR, FAILURES_JSONL, PREVIEWS_DIR)
#: Image file stem of frame `frame` (its labels' frame_index value): rgb/<view>/<stem>.<ext>.
FRAME_STEM = "{frame:06d}"
#: Image formats a dataset may declare in dataset.json "image.format" (None = label-only dataset).
IMAGE_FORMATS: tuple[str, ...] = ("jpg", "png")
#: dataset.json "kind": a label-only dataset (no images) or a rendered one; one directory never holds both.
KIND_LABELS, KIND_RENDERED = "labels", "rendered"
#: Split names in dataset.json "splits" (split by body identity).
SPLITS: tuple[str, ...] = ("train", "val", "test")
#: Name of the key inside heatmaps.npz.
HEATMAPS_KEY = "heatmaps"

#: Keys every dataset.json holds (the writer fills num_clips, clip_ids and splits).
DATASET_KEYS: tuple[str, ...] = (
    "schema_version",
    "egorig_version",
    "blender_version",
    "config",
    "config_hash",
    "seed",
    "joints",
    "heatmap_joints",
    "views",
    "rig",
    "image",
    "heatmap",
    "num_clips",
    "clip_ids",
    "splits",
    "asset_manifest_hash",
)
#: Keys of one index.jsonl line.
INDEX_KEYS: tuple[str, ...] = ("clip_id", "frames", "seconds", "labels_sha256", "heatmaps_sha256")
#: Keys every clip.json holds.
CLIP_KEYS: tuple[str, ...] = (
    "clip_id",
    "clip_index",
    "seed",
    "identity",
    "motion",
    "appearance",
    "environment",
    "hair",
    "camera_effects",
    "frames",
    "fps",
    "views",
    "d_fr_m",
    "d_rh_m",
    "front_clearance_m",
    "mount_height_m",
    "mount",
)

_CLIP_ID_RE = re.compile(r"^clip_(\d{6,})$")


@dataclass(frozen=True)
class ArraySpec:
    """One stored array: its key, dtype and symbolic shape.

    shape: entries are ints (fixed sizes) or names of dimensions bound per clip: "F" frames, "V" views,
        "SH", "SW" heatmap height and width in cells. The same name must have the same size in every array of a clip.
    """

    key: str
    dtype: str
    shape: tuple[int | str, ...]
    doc: str


#: labels.npz: every array of DESIGN section 6 except the heatmaps.
LABEL_SPECS: tuple[ArraySpec, ...] = (
    ArraySpec("joints3d_world", "float64", ("F", NUM_JOINTS, 3), "world frame, m"),
    ArraySpec("joints3d_device", "float64", ("F", NUM_JOINTS, 3), "device frame, m"),
    ArraySpec("joints3d_camera", "float64", ("F", "V", NUM_JOINTS, 3), "OpenCV camera frame per view, m"),
    ArraySpec("joints2d", "float64", ("F", "V", NUM_JOINTS, 2), "px at the rendered resolution, OpenCV centres"),
    ArraySpec("visibility", "uint8", ("F", "V", NUM_JOINTS), "0 outside, 1 occluded, 2 visible"),
    ArraySpec("occluder", "uint8", ("F", "V", NUM_JOINTS), "0 none, 1 body, 2 garment, 3 scene, 4 hair"),
    ArraySpec("T_world_from_device", "float64", ("F", 4, 4), "device pose in the world, m"),
    ArraySpec("T_device_from_camera", "float64", ("V", 4, 4), "OpenCV camera pose in the device frame, m"),
    ArraySpec("frame_index", "int64", ("F",), "frame number of each row (image file stems)"),
)
LABEL_KEYS: tuple[str, ...] = tuple(spec.key for spec in LABEL_SPECS)

#: heatmaps.npz: the 15 heatmap joints (synth.constants.HEATMAP_JOINTS) per frame and view.
HEATMAP_SPEC = ArraySpec(HEATMAPS_KEY, "float16", ("F", "V", NUM_HEATMAP_JOINTS, "SH", "SW"),
                         "peak 1.0, 0 outside; rows = image y")


def heatmap_dims(meta: Mapping[str, Any]) -> dict[str, int]:
    """{"SH": height, "SW": width} in cells of a dataset's heatmaps, from dataset.json "heatmap" (its "width" and
    "height"; datasets written before non-square images have only "size": square maps)."""
    hm = meta["heatmap"]
    size = int(hm["size"])
    return {"SH": int(hm.get("height", size)), "SW": int(hm.get("width", size))}


def clip_id(index: int) -> str:
    """The clip id of clip number `index` (0-based): 123 -> "clip_000123"."""
    index = int(index)
    if index < 0:
        raise DatasetError(f"clip index {index} is negative: clip indices start at 0")
    return f"clip_{index:06d}"


def clip_index(clip_id_: str) -> int:
    """Inverse of clip_id(): "clip_000123" -> 123; DatasetError for anything else."""
    match = _CLIP_ID_RE.match(str(clip_id_))
    if match is None:
        raise DatasetError(f"'{clip_id_}' is not a clip id: expected 'clip_' followed by at least 6 digits")
    return int(match.group(1))


def clip_seed_sequence(config_seed: int, clip_index_: int) -> np.random.SeedSequence:
    """The seed sequence of one clip: entropy [config_seed, clip_index] (no global RNG anywhere)."""
    return np.random.SeedSequence([int(config_seed), int(clip_index_)])


def clip_rng(config_seed: int, clip_index_: int) -> np.random.Generator:
    """The clip's generator; identical to np.random.default_rng([config_seed, clip_index])."""
    return np.random.Generator(np.random.PCG64(clip_seed_sequence(config_seed, clip_index_)))


def _coerce(value: np.ndarray, spec: ArraySpec, where: str) -> np.ndarray:
    """Cast `value` to spec.dtype when that loses nothing (floats widen; ints must round-trip exactly)."""
    target = np.dtype(spec.dtype)
    if value.dtype == target:
        return value
    if target.kind == "f" and value.dtype.kind in "fiu":
        if target.itemsize >= value.dtype.itemsize or spec is HEATMAP_SPEC:
            return value.astype(target)
    elif target.kind in "iu" and value.dtype.kind in "iub":
        cast = value.astype(target)
        if np.array_equal(cast, value):
            return cast
    raise DatasetError(
        f"{where}: '{spec.key}' has dtype {value.dtype}, expected {spec.dtype}: convert it before writing"
    )


def validate_arrays(
    arrays: Mapping[str, np.ndarray],
    specs: tuple[ArraySpec, ...],
    where: str,
    dims: dict[str, int] | None = None,
    coerce: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Check keys, dtypes and shapes of `arrays` against `specs`.

    where: names the file or clip in error messages. dims: sizes already bound ("F", "V", "SH", ...); it is extended
    with the sizes found. coerce: cast loss-free to the spec dtype instead of refusing a different dtype.
    Returns (the arrays, possibly cast; the bound dims). Raises DatasetError naming the array and the problem.
    """
    dims = dict(dims or {})
    expected = {spec.key for spec in specs}
    missing = sorted(expected - set(arrays))
    extra = sorted(set(arrays) - expected)
    if missing:
        raise DatasetError(f"{where}: missing arrays {missing}; a complete clip has {sorted(expected)}")
    if extra:
        raise DatasetError(f"{where}: unknown arrays {extra}; allowed are {sorted(expected)}")
    out: dict[str, np.ndarray] = {}
    for spec in specs:
        value = np.asarray(arrays[spec.key])
        if coerce:
            value = _coerce(value, spec, where)
        elif value.dtype != np.dtype(spec.dtype):
            raise DatasetError(f"{where}: '{spec.key}' has dtype {value.dtype}, expected {spec.dtype}")
        if value.ndim != len(spec.shape):
            raise DatasetError(
                f"{where}: '{spec.key}' has shape {value.shape}, expected {_shape_text(spec.shape)}"
            )
        for axis, (size, want) in enumerate(zip(value.shape, spec.shape)):
            if isinstance(want, str):
                bound = dims.setdefault(want, int(size))
                if bound != size:
                    raise DatasetError(
                        f"{where}: '{spec.key}' has shape {value.shape}, expected {_shape_text(spec.shape)} "
                        f"with {want} = {bound} (axis {axis} disagrees)"
                    )
            elif size != want:
                raise DatasetError(
                    f"{where}: '{spec.key}' has shape {value.shape}, expected {_shape_text(spec.shape)}"
                )
        out[spec.key] = value
    return out, dims


def _shape_text(shape: tuple[int | str, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"
