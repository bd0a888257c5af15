"""Export a native dataset in the Ego4View-Syn or Ego4View-RW layout (synth.dataset.ego4view.layout), checked
first against what the authors' released loaders, heatmap script and camera models assume."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synth.dataset import format as fmt
from synth.dataset.ego4view import layout as L
from synth.dataset.ego4view.calib import EGO4VIEW_IMAGE_PX, ego4view_calibration, ocam_project
from synth.dataset.ego4view.readme import readme_text
from synth.dataset.ego4view.records import ego4view_heatmaps, frame_json, rw_metadata
from synth.dataset.ego4view.syn_model import POSITION_TOL_M, differences_of_rig
from synth.dataset.reader import DatasetReader
from synth.dataset.staging import staged_output_dir
from synth.errors import DatasetError
from synth.io import atomic_path, json_bytes, write_bytes_atomic

#: Largest pixel error (at 872 px) between a rig lens and its exported Ego4View calibration accepted without --force.
MAX_CALIBRATION_RESIDUAL_PX = 0.5
#: Largest rotation-matrix entry difference between a clip's cameras and the dataset rig (syn: one rig for all).
ROTATION_TOL = 1e-6
#: Ego4View's published calibrations (the trainer's default camera_calib_file_dir_path).
BUILTIN_EGO4VIEW_CALIB = "builtin:ego4view/camera_{view}.json"


@dataclass
class ExportResult:
    """What export_ego4view wrote: the directory, the layout, and notes for the user (one line each)."""

    out: Path
    layout: str
    sequences: int
    frames: int
    notes: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    layout: str
    views: list[str]  # Ego4View's four camera names, in its order
    sources: list[int]  # the dataset view index of each
    calibrations: dict[str, dict]
    notes: list[str]
    forced: list[str]
    images: bool


def export_ego4view(
    dataset_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    layout: str = "syn",
    clip_ids: list[str] | None = None,
    link: bool = True,
    overwrite: bool = False,
    force: bool = False,
    labels_only: bool = False,
    camera_map: dict[str, str] | None = None,
) -> ExportResult:
    """Write the Ego4View layout `layout` ("syn" or "rw") of a native dataset into `out_dir`.

    clip_ids: a subset to export (default: all completed clips). link: hard-link images that need no conversion.
    overwrite: replace an earlier export in out_dir (the tree is written aside and renamed into place, so a failed
    export leaves out_dir as it was). force: export a rig the layout's camera model or calibration format cannot
    represent exactly (the differences are recorded). labels_only: no images (required for a label-only dataset).
    camera_map: {dataset view: Ego4View camera} for rigs whose four views have other names (default: the same names).
    Raises DatasetError, in one line naming the reason and the fix, before anything is written.
    """
    if layout not in L.LAYOUTS:
        raise DatasetError(f"unknown Ego4View layout {layout!r}; use one of {', '.join(L.LAYOUTS)}")
    reader = DatasetReader(dataset_dir)
    out = Path(out_dir).absolute()
    root = reader.root.absolute()
    if out == root or root in out.parents:
        raise DatasetError(f"{out}: is inside the dataset {root}; export to a directory outside it")
    plan = plan_export(reader, layout, force=force, labels_only=labels_only, camera_map=camera_map)
    if layout == "rw" and "-" in str(out):
        plan.notes.append(
            f"{out}: the path has a '-'; the RW pose3d loader finds <seq>_metadata.json by cutting the frame path at "
            f"its first '-', so keep the export (and its data_root) under a path without '-'"
        )
    ids = reader.clip_ids if clip_ids is None else list(clip_ids)
    with staged_output_dir(out, overwrite=overwrite, marker=L.README_NAME, command="synth export") as stage:
        sequences, frames = _write_export(reader, stage, ids, plan, link)
    return ExportResult(out, layout, sequences, frames, plan.notes)


def camera_sources(reader: DatasetReader, camera_map: dict[str, str] | None) -> list[int]:
    """The dataset view index of each Ego4View camera (EGO4VIEW_VIEWS order); DatasetError naming the problem.

    camera_map: {dataset view: Ego4View camera}; views it does not name keep their own name.
    """
    views = list(reader.views)
    camera_map = dict(camera_map or {})
    unknown = sorted(set(camera_map) - set(views))
    if unknown:
        raise DatasetError(f"--cameras: {', '.join(unknown)}: not a view of {reader.root} (views: {', '.join(views)})")
    slots = [camera_map.get(v, v) for v in views]
    if sorted(slots) != sorted(L.EGO4VIEW_VIEWS):
        raise DatasetError(
            f"{reader.root}: the rig's cameras are {', '.join(views)}"
            + (f" (mapped to {', '.join(slots)})" if camera_map else "")
            + f"; the Ego4View loaders open exactly {', '.join(L.EGO4VIEW_VIEWS)}: map a four-camera rig with "
              f"--cameras VIEW=CAMERA,..., or train on the native format"
        )
    return [slots.index(slot) for slot in L.EGO4VIEW_VIEWS]


def plan_export(reader: DatasetReader, layout: str, force: bool = False, labels_only: bool = False,
                camera_map: dict[str, str] | None = None) -> _Plan:
    """Check that the layout can hold the dataset and compute the exported calibrations; DatasetError otherwise."""
    width, height = reader.image_size
    where = reader.root
    if width != height:
        raise DatasetError(
            f"{where}: images are {width}x{height} px; the Ego4View layouts hold square images only (their loaders "
            f"resize to a square and their heatmaps are square): train on the native format (egotrain with "
            f"data.format native), or render a square rig"
        )
    sources = camera_sources(reader, camera_map)
    views = list(L.EGO4VIEW_VIEWS)
    has_images = reader.image_format is not None
    if not has_images and not labels_only:
        raise DatasetError(
            f"{where}: a label-only dataset (no images); the Ego4View image loaders open fisheye_rgb/ and would "
            f"fail on the first frame: render the dataset, or pass --labels-only to export labels and heatmaps only"
        )
    notes: list[str] = []
    forced: list[str] = []
    if labels_only:
        notes.append("labels only: no fisheye_rgb/, so the authors' image loaders will not work on this export")
    calibrations: dict[str, dict] = {}
    lenses = [reader.lenses[i] for i in sources]
    for view, lens in zip(views, lenses):
        try:
            calib = ego4view_calibration(lens)
        except ValueError as exc:
            raise DatasetError(f"{where}: camera_{view}: {exc}; this lens has no Ego4View calibration") from None
        calibrations[view] = calib
        residual = calib["egorig"]["max_fit_residual_px"]
        if residual > MAX_CALIBRATION_RESIDUAL_PX:
            reason = (f"camera_{view}: the Ego4View camera model (a radial OCamCalib polynomial) holds this "
                      f"{calib['egorig']['source_model']} lens only to {residual:.2f} px at {EGO4VIEW_IMAGE_PX} px")
            if not force:
                raise DatasetError(f"{where}: {reason}; the authors' 3D stage would project that far off: pass "
                                   f"--force to export anyway")
            forced.append(reason)
    if layout == "syn":
        diffs = differences_of_rig(views, reader.T_device_from_camera()[sources])
        if diffs:
            reason = "; ".join(diffs)
            if not force:
                raise DatasetError(
                    f"{where}: {reason}: the Ego4View-Syn camera model of the authors' trainer (fixed offsets) "
                    f"cannot represent this rig: use --layout rw (per-sequence device-to-camera transforms), or "
                    f"--force"
                )
            forced.append(f"not the Ego4View-Syn rig: {reason}")
        shipped = _shipped_calibration_error(calibrations)
        if shipped > MAX_CALIBRATION_RESIDUAL_PX:
            notes.append(f"the lenses are not Ego4View's (up to {shipped:.1f} px apart): set the trainer's "
                         f"camera_calib_file_dir_path to <export>/{L.CALIB_DIR}")
    notes.extend(f"--force: {reason}" for reason in forced)
    return _Plan(layout, views, sources, calibrations, notes, forced, has_images and not labels_only)


def _shipped_calibration_error(calibrations: dict[str, dict]) -> float:
    """Largest pixel distance (872 px) between the exported calibrations and Ego4View's published ones, over the
    rays each exported calibration maps into the image."""
    from synth.dataset.ego4view.calib import _directions

    alpha = np.linspace(0.0, np.radians(95.0), 96)
    rays = _directions(alpha, np.linspace(0.0, 2 * np.pi, 36, endpoint=False))
    worst = 0.0
    for view, calib in calibrations.items():
        from synth.geometry.lenses import _read_calibration_text

        shipped = json.loads(_read_calibration_text(BUILTIN_EGO4VIEW_CALIB.format(view=view)))
        uv = ocam_project(calib, rays)
        inside = (uv >= -0.5).all(-1) & (uv < EGO4VIEW_IMAGE_PX - 0.5).all(-1)
        worst = max(worst, float(np.max(np.linalg.norm(ocam_project(shipped, rays) - uv, axis=-1)[inside])))
    return worst


def _place_image(src: Path, dst: Path, suffix: str, link: bool) -> None:
    with atomic_path(dst) as tmp:
        if src.suffix.lower() != suffix:  # .png -> .jpg (syn) or .jpg -> .png (rw)
            from PIL import Image

            with Image.open(src) as img:
                rgb = img.convert("RGB")
                if suffix == ".jpg":
                    rgb.save(tmp, format="JPEG", quality=L.JPEG_QUALITY)
                else:
                    rgb.save(tmp, format="PNG")
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


def _split_of(reader: DatasetReader, ids: list[str]) -> dict[str, str]:
    """clip -> native split; an identity in two splits is refused (the splits must be identity-disjoint)."""
    split_of: dict[str, str] = {}
    identity_split: dict[str, str] = {}
    wanted = set(ids)
    for split, members in reader.splits.items():
        for cid in members:
            if cid not in wanted:
                continue
            split_of[cid] = split
            identity = reader.identity_of(cid)
            other = identity_split.setdefault(identity, split)
            if other != split:
                raise DatasetError(
                    f"{reader.root / fmt.DATASET_JSON}: identity {identity} has clips in '{other}' and '{split}'; "
                    f"Ego4View splits are by subject, so splits must be identity-disjoint: regenerate the splits"
                )
    missing = [cid for cid in ids if cid not in split_of]
    if missing:
        raise DatasetError(f"{reader.root / fmt.DATASET_JSON}: {missing[0]} is in no split; regenerate the splits")
    return split_of


#: Native label arrays with a view axis: (F, V, ...) and (V, 4, 4).
_PER_VIEW = ("joints3d_camera", "joints2d", "visibility", "occluder")


def _in_camera_order(labels: dict[str, np.ndarray], sources: list[int]) -> dict[str, np.ndarray]:
    """The clip's label arrays with their view axis in Ego4View's camera order."""
    out = dict(labels)
    for key in _PER_VIEW:
        if key in out:
            out[key] = out[key][:, sources]
    out["T_device_from_camera"] = labels["T_device_from_camera"][sources]
    return out


def _write_export(reader: DatasetReader, out: Path, ids: list[str], plan: _Plan, link: bool) -> tuple[int, int]:
    layout, views = plan.layout, plan.views
    json_dir, suffix = L.JSON_DIR[layout], L.IMAGE_SUFFIX[layout]
    split_of = _split_of(reader, ids)
    rig_T = reader.T_device_from_camera()[plan.sources]
    source_views = [reader.views[i] for i in plan.sources]
    sequences: list[dict[str, Any]] = []
    lines: dict[str, set[str]] = {split: set() for split in L.SPLIT_FILES}
    total_frames = 0
    taken: dict[str, str] = {}
    for cid in ids:
        identity = reader.identity_of(cid)
        seq_rel = L.sequence_path(layout, split_of[cid], identity, cid)
        if seq_rel in taken:
            raise DatasetError(f"{reader.root}: clips {taken[seq_rel]} and {cid} both map to {seq_rel} (names "
                               f"differ only in characters the Ego4View path rules do not allow); rename a clip")
        taken[seq_rel] = cid
        seq_dir = out / seq_rel
        labels = _in_camera_order(reader.labels(cid), plan.sources)
        T_dc = np.asarray(labels["T_device_from_camera"], dtype=np.float64)
        if layout == "syn" and (np.abs(T_dc[:, :3, 3] - rig_T[:, :3, 3]).max() > POSITION_TOL_M
                                or np.abs(T_dc[:, :3, :3] - rig_T[:, :3, :3]).max() > ROTATION_TOL):
            raise DatasetError(f"{reader.root}: {cid}: its cameras are not the dataset's rig (dataset.json); the "
                               f"Ego4View-Syn layout has one rig for all sequences: use --layout rw")
        pts2d = L.ego4view_px(labels["joints2d"], reader.image_size)  # (F, V, 16, 2) px at 872
        heatmaps = ego4view_heatmaps(pts2d)  # (F, V, 16, 64, 64)
        extra = {"clip_id": cid, "identity_id": identity, "split": split_of[cid],
                 "render_image_size_px": list(reader.image_size)}
        (seq_dir / json_dir).mkdir(parents=True, exist_ok=True)
        for view in views:
            (seq_dir / L.HEATMAP_DIR / L.camera_key(view)).mkdir(parents=True, exist_ok=True)
            if plan.images:
                (seq_dir / L.RGB_DIR / L.camera_key(view)).mkdir(parents=True, exist_ok=True)
        for row, frame in enumerate(labels["frame_index"]):
            name = L.FRAME_NAME.format(frame=int(frame))
            record = frame_json(layout, labels, row, views, pts2d, extra)
            write_bytes_atomic(seq_dir / json_dir / f"{name}.json", json.dumps(record).encode("utf-8"), durable=False)
            for v, view in enumerate(views):
                _save_npy_atomic(seq_dir / L.HEATMAP_DIR / L.camera_key(view) / f"{name}.npy", heatmaps[row, v])
                if plan.images:
                    src = reader.image_path(cid, source_views[v], int(frame))
                    if src is None:
                        raise DatasetError(
                            f"{reader.root}: {cid} has no {view} image for frame {int(frame)}; re-render the clip, "
                            f"or pass --labels-only"
                        )
                    _place_image(src, seq_dir / L.RGB_DIR / L.camera_key(view) / f"{name}{suffix}", suffix, link)
        if layout == "rw":
            meta = rw_metadata(views, T_dc, plan.calibrations, {"clip_id": cid, "identity_id": identity})
            write_bytes_atomic(out / L.rw_metadata_path(seq_rel), json_bytes(meta), durable=False)
        lines[split_of[cid]].add(L.split_line(layout, seq_rel))
        sequences.append({"path": seq_rel, "clip_id": cid, "identity_id": identity, "split": split_of[cid],
                          "frames": int(len(labels["frame_index"]))})
        total_frames += int(len(labels["frame_index"]))

    for split, file_name in L.SPLIT_FILES.items():
        write_bytes_atomic(out / file_name, "".join(f"{line}\n" for line in sorted(lines[split])).encode("utf-8"))
    for view in views:
        write_bytes_atomic(out / L.CALIB_DIR / f"{L.camera_key(view)}.json", json_bytes(plan.calibrations[view]))
    manifest = {
        "layout": layout,
        "source": str(reader.root),
        "config_hash": reader.meta["config_hash"],
        "views": views,
        "source_views": {view: reader.views[i] for view, i in zip(views, plan.sources)},
        "render_image_size_px": list(reader.image_size),
        "pts2d_image_size_px": [EGO4VIEW_IMAGE_PX, EGO4VIEW_IMAGE_PX],
        "images": plan.images,
        "calibration_residual_px": {v: plan.calibrations[v]["egorig"]["max_fit_residual_px"] for v in views},
        "forced": plan.forced,
        "sequences": sequences,
    }
    write_bytes_atomic(out / L.MANIFEST_NAME, json_bytes(manifest))
    write_bytes_atomic(out / L.README_NAME, readme_text(reader, plan, source_views).encode("utf-8"))
    return len(sequences), total_frames
