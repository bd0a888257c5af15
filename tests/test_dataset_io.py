"""Native dataset writer/reader round trips, crash safety, determinism, the Ego4View export and previews."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synth.constants import EGO16_JOINTS, HEATMAP_JOINTS, VIEWS
from synth.dataset import format as fmt
from synth.dataset import writer as writer_mod
from synth.dataset.ego4view import export_ego4view
from synth.dataset.reader import DatasetReader
from synth.dataset.writer import DatasetWriter
from synth.errors import DatasetError
from synth.viz.preview import contact_sheet, preview

W = H = 64
HM = 64
V = len(VIEWS)


def lens_dict() -> dict:
    """An equidistant 180 degree lens: its image circle is the circle inscribed in the 64 x 64 image."""
    from synth.geometry.lenses import EquidistantLens

    return EquidistantLens(width=W, height=H, fov_rad=np.pi, shift_x=0.0, shift_y=0.0).to_dict()


def rig_T_device_from_camera() -> np.ndarray:
    """(V, 4, 4) the Ego4View rig: front pair 12 cm apart, rear pair 37 cm behind, turned 180 deg about the axis."""
    T = np.tile(np.eye(4), (V, 1, 1))
    for v in range(V):
        T[v, :3, 3] = [0.12 * (v % 2) - 0.06, 0.37 * (v // 2), 0.0]
        if v >= 2:
            T[v, :3, :3] = np.diag([-1.0, -1.0, 1.0])
    return T


def dataset_meta(config_hash: str = "hash_a", image_format: str | None = "png") -> dict:
    cams = []
    for name, T in zip(VIEWS, rig_T_device_from_camera()):
        cams.append({"name": name, "T_device_from_camera": T.tolist(), "lens": lens_dict(), "calibration": None,
                     "cycles": {}, "max_fit_residual_px": 0.0})
    return {
        "egorig_version": "0.1.0",
        "blender_version": None,
        "config": {"seed": 7, "note": "test"},
        "config_hash": config_hash,
        "seed": 7,
        "joints": list(EGO16_JOINTS),
        "heatmap_joints": list(HEATMAP_JOINTS),
        "views": list(VIEWS),
        "rig": {"front_to_rear_m": 0.37, "front_baseline_m": 0.12, "front_clearance_m": 0.06, "cameras": cams},
        "image": {"width": W, "height": H, "format": image_format},
        "heatmap": {"size": HM, "sigma": 1.0},
        "asset_manifest_hash": None,
    }


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def make_clip(seed: int, frames: int = 3, identity: str = "id_a") -> tuple[dict, dict, np.ndarray]:
    """(clip_meta, labels, heatmaps) of a synthetic clip with the right shapes and dtypes."""
    rng = np.random.default_rng(seed)
    T_wd = np.tile(np.eye(4), (frames, 1, 1))
    for f in range(frames):
        T_wd[f, :3, :3] = random_rotation(rng)
        T_wd[f, :3, 3] = rng.normal(size=3)
    T_dc = rig_T_device_from_camera()
    labels = {
        "joints3d_world": rng.normal(size=(frames, 16, 3)),
        "joints3d_device": rng.normal(size=(frames, 16, 3)),
        "joints3d_camera": rng.normal(size=(frames, V, 16, 3)),
        "joints2d": rng.uniform(0, W - 1, size=(frames, V, 16, 2)),
        "visibility": rng.integers(0, 3, size=(frames, V, 16)).astype(np.uint8),
        "occluder": rng.integers(0, 4, size=(frames, V, 16)).astype(np.uint8),
        "T_world_from_device": T_wd,
        "T_device_from_camera": T_dc,
        "frame_index": np.arange(frames, dtype=np.int64),
    }
    heatmaps = rng.random((frames, V, 15, HM, HM)).astype(np.float16)
    meta = {
        "clip_index": seed,
        "seed": [7, seed],
        "identity": {"backend": "anny", "identity_id": identity, "sex": "female", "age_years": 30.0,
                     "stature_m": 1.7, "params": {}},
        "motion": {"name": "walk", "family": "walk", "params": {}, "fps": 30.0},
        "appearance": {},
        "environment": {},
        "hair": None,
        "camera_effects": None,
        "fps": 30.0,
        "views": list(VIEWS),
        "d_fr_m": 0.37,
        "d_rh_m": 0.1,
        "front_clearance_m": 0.06,
        "mount_height_m": 0.0,
        "mount": {"d_fh_m": 0.06, "refit_m": 0.0, "camera_clearance_m": {v: 0.05 for v in VIEWS}},
    }
    return meta, labels, heatmaps


def write_images(writer: DatasetWriter, cid: str, frames: int, seed: int) -> dict:
    """Random 64x64 PNGs into the clip's staging dir, as the renderer would; returns {(view, frame): array}."""
    rng = np.random.default_rng(seed + 1000)
    tmp = writer.clip_dir_tmp(cid)
    out = {}
    for view in VIEWS:
        (tmp / "rgb" / view).mkdir(parents=True, exist_ok=True)
        for f in range(frames):
            img = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
            Image.fromarray(img).save(tmp / "rgb" / view / f"{f:06d}.png")
            out[(view, f)] = img
    return out


def write_dataset(root: Path, clips: list[tuple[int, str]], images: bool = True, frames: int = 3) -> DatasetWriter:
    writer = DatasetWriter(root, dataset_meta(image_format="png" if images else None))
    for index, identity in clips:
        cid = fmt.clip_id(index)
        meta, labels, hm = make_clip(index, frames, identity)
        if images:
            write_images(writer, cid, frames, index)
        writer.write_clip(cid, meta, labels, hm, {"labels": 0.5})
    return writer


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def index_lines(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "index.jsonl").read_text().splitlines()]


# ---------------------------------------------------------------------------------------------------- format
def test_clip_ids_and_seeding():
    assert fmt.clip_id(123) == "clip_000123"
    assert fmt.clip_index("clip_000123") == 123
    with pytest.raises(DatasetError):
        fmt.clip_index("clip_12")
    with pytest.raises(DatasetError):
        fmt.clip_id(-1)
    a = fmt.clip_rng(7, 3).random(5)
    assert np.array_equal(a, np.random.default_rng([7, 3]).random(5))
    assert not np.array_equal(a, fmt.clip_rng(7, 4).random(5))
    assert fmt.clip_seed_sequence(7, 3).entropy == [7, 3]


# ---------------------------------------------------------------------------------------------------- round trip
def test_round_trip(tmp_path):
    writer = DatasetWriter(tmp_path, dataset_meta())
    cid = fmt.clip_id(0)
    meta, labels, hm = make_clip(0)
    images = write_images(writer, cid, 3, 0)
    labels32 = dict(labels, joints2d=labels["joints2d"].astype(np.float32))  # widened on write
    writer.write_clip(cid, meta, labels32, hm.astype(np.float32), {"labels": 1.25})
    writer.finalize({"train": [cid]})

    reader = DatasetReader(tmp_path)
    assert reader.clip_ids == [cid]
    assert reader.views == list(VIEWS)
    assert reader.splits == {"train": [cid], "val": [], "test": []}
    got = reader.labels(cid, verify=True)
    assert set(got) == set(labels)
    for key, value in labels.items():
        if key == "joints2d":
            np.testing.assert_array_equal(got[key], value.astype(np.float32).astype(np.float64))
        else:
            np.testing.assert_array_equal(got[key], value)
        assert got[key].dtype == np.dtype(next(s.dtype for s in fmt.LABEL_SPECS if s.key == key))
    heat = reader.heatmaps(cid, verify=True)
    assert heat.dtype == np.float16 and heat.shape == (3, V, 15, HM, HM)
    np.testing.assert_array_equal(heat, hm)
    np.testing.assert_array_equal(reader.heatmaps(cid, frame=2), hm[2])
    clip_json = reader.clip_meta(cid)
    assert clip_json["clip_id"] == cid and clip_json["frames"] == 3 and clip_json["identity"]["identity_id"] == "id_a"
    for (view, f), img in images.items():
        path = reader.image_path(cid, view, f)
        assert path == tmp_path / "clips" / cid / "rgb" / view / f"{f:06d}.png"
        np.testing.assert_array_equal(np.asarray(Image.open(path)), img)
    assert list(reader.samples()) == [(cid, 0), (cid, 1), (cid, 2)]
    assert list(reader.samples("val")) == []
    (line,) = index_lines(tmp_path)
    assert line["labels_sha256"] == sha256(tmp_path / "clips" / cid / "labels.npz")
    assert line["heatmaps_sha256"] == sha256(tmp_path / "clips" / cid / "heatmaps.npz")
    assert line["frames"] == 3 and line["seconds"]["labels"] == 1.25
    ds = json.loads((tmp_path / "dataset.json").read_text())
    assert ds["num_clips"] == 1 and ds["clip_ids"] == [cid] and ds["schema_version"] == 1
    assert not list((tmp_path / "clips").glob(".*"))  # no staging leftovers


def test_invalid_labels_refused(tmp_path):
    writer = DatasetWriter(tmp_path, dataset_meta())
    meta, labels, hm = make_clip(0)
    bad = dict(labels, joints2d=labels["joints2d"][:, :, :15])
    with pytest.raises(DatasetError, match="joints2d"):
        writer.write_clip("clip_000000", meta, bad, hm, {})
    bad = dict(labels, visibility=labels["visibility"].astype(np.int64) + 300)  # does not fit uint8
    with pytest.raises(DatasetError, match="visibility"):
        writer.write_clip("clip_000000", meta, bad, hm, {})
    missing = {k: v for k, v in labels.items() if k != "occluder"}
    with pytest.raises(DatasetError, match="occluder"):
        writer.write_clip("clip_000000", meta, missing, hm, {})
    assert writer.completed_clip_ids() == []


# ---------------------------------------------------------------------------------------------------- crash safety
def test_crash_before_rename_leaves_nothing_and_is_redone(tmp_path, monkeypatch):
    writer = DatasetWriter(tmp_path, dataset_meta())
    cid = fmt.clip_id(0)
    meta, labels, hm = make_clip(0)
    write_images(writer, cid, 3, 0)
    real_replace = os.replace

    def crashing_replace(src, dst):
        if Path(src).name == f".{cid}.tmp":
            raise RuntimeError("simulated crash")
        return real_replace(src, dst)

    monkeypatch.setattr(writer_mod.os, "replace", crashing_replace)
    with pytest.raises(RuntimeError, match="simulated crash"):
        writer.write_clip(cid, meta, labels, hm, {})
    monkeypatch.setattr(writer_mod.os, "replace", real_replace)

    assert not (tmp_path / "clips" / cid).exists()
    assert not (tmp_path / "index.jsonl").exists() or index_lines(tmp_path) == []
    assert (tmp_path / "clips" / f".{cid}.tmp" / "labels.npz").exists()  # the partial staging dir

    resumed = DatasetWriter(tmp_path, dataset_meta())
    assert resumed.completed_clip_ids() == []
    assert DatasetReader(tmp_path).clip_ids == []
    tmp = resumed.clip_dir_tmp(cid)
    assert list(tmp.iterdir()) == []  # the leftover was wiped
    resumed.write_clip(cid, meta, labels, hm, {})
    assert resumed.completed_clip_ids() == [cid]
    np.testing.assert_array_equal(DatasetReader(tmp_path).labels(cid)["joints2d"], labels["joints2d"])


def test_crash_after_rename_before_index_is_redone(tmp_path, monkeypatch):
    writer = DatasetWriter(tmp_path, dataset_meta())
    cid = fmt.clip_id(0)
    meta, labels, hm = make_clip(0)

    def crash(self, entry):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(DatasetWriter, "_append_index", crash)
    with pytest.raises(RuntimeError):
        writer.write_clip(cid, meta, labels, hm, {})
    monkeypatch.undo()
    assert (tmp_path / "clips" / cid / "labels.npz").exists()  # complete-looking but not committed

    resumed = DatasetWriter(tmp_path, dataset_meta())
    assert resumed.completed_clip_ids() == []
    _, labels2, hm2 = make_clip(5)
    resumed.write_clip(cid, meta, labels2, hm2, {})
    np.testing.assert_array_equal(DatasetReader(tmp_path).labels(cid)["joints3d_world"], labels2["joints3d_world"])


def test_torn_index_line_is_dropped_and_rewritten(tmp_path):
    write_dataset(tmp_path, [(0, "a"), (1, "a")], images=False)
    with open(tmp_path / "index.jsonl", "ab") as fh:
        fh.write(b'{"clip_id": "clip_000002", "fra')
    assert DatasetReader(tmp_path).clip_ids == ["clip_000000", "clip_000001"]  # the reader tolerates it too
    writer = DatasetWriter(tmp_path, dataset_meta(image_format=None))
    assert writer.completed_clip_ids() == ["clip_000000", "clip_000001"]
    raw = (tmp_path / "index.jsonl").read_bytes()
    assert raw.endswith(b"\n") and b"clip_000002" not in raw
    assert [e["clip_id"] for e in index_lines(tmp_path)] == ["clip_000000", "clip_000001"]
    meta, labels, hm = make_clip(2)
    writer.write_clip("clip_000002", meta, labels, hm, {})
    assert DatasetReader(tmp_path).clip_ids == ["clip_000000", "clip_000001", "clip_000002"]


def test_damaged_index_middle_line_is_an_error(tmp_path):
    write_dataset(tmp_path, [(0, "a"), (1, "a")], images=False)
    lines = (tmp_path / "index.jsonl").read_text().splitlines()
    (tmp_path / "index.jsonl").write_text("not json\n" + lines[1] + "\n")
    with pytest.raises(DatasetError, match="line 1"):
        DatasetReader(tmp_path)


def test_resume_skips_completed_clips(tmp_path):
    write_dataset(tmp_path, [(0, "a"), (1, "b")], images=False)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "clips").rglob("*") if p.is_file()}
    writer = DatasetWriter(tmp_path, dataset_meta(image_format=None))
    todo = [fmt.clip_id(i) for i in range(3) if not writer.is_complete(fmt.clip_id(i))]
    assert todo == ["clip_000002"]
    with pytest.raises(DatasetError, match="already complete"):
        meta, labels, hm = make_clip(0)
        writer.write_clip("clip_000000", meta, labels, hm, {})
    after = {p: p.stat().st_mtime_ns for p in (tmp_path / "clips").rglob("*") if p.is_file()}
    assert after == before


def test_mismatched_config_hash_refused(tmp_path):
    DatasetWriter(tmp_path, dataset_meta(config_hash="hash_a"))
    with pytest.raises(DatasetError) as err:
        DatasetWriter(tmp_path, dataset_meta(config_hash="hash_b"))
    message = str(err.value)
    assert "hash_a" in message and "hash_b" in message and "--out" in message and "delete" in message


def test_reader_errors_name_the_file(tmp_path):
    with pytest.raises(DatasetError, match="dataset.json"):
        DatasetReader(tmp_path)
    (tmp_path / "dataset.json").write_text("{ not json")
    with pytest.raises(DatasetError, match="corrupt"):
        DatasetReader(tmp_path)
    (tmp_path / "dataset.json").write_text(json.dumps(dict(dataset_meta(), schema_version=99)))
    with pytest.raises(DatasetError, match="schema_version 99"):
        DatasetReader(tmp_path)


# ---------------------------------------------------------------------------------------------------- determinism
def test_same_inputs_same_bytes(tmp_path, monkeypatch):
    meta, labels, hm = make_clip(3)
    # Same data, but another dict order, a Fortran-ordered array and a shifted clock.
    shuffled = {key: labels[key] for key in reversed(list(labels))}
    shuffled["joints3d_camera"] = np.asfortranarray(labels["joints3d_camera"])
    real_time = time.time
    outputs = []
    for run, (offset, arrays) in enumerate([(0.0, labels), (3.0e7, shuffled)]):
        monkeypatch.setattr(time, "time", lambda: real_time() + offset)
        writer = DatasetWriter(tmp_path / f"run{run}", dataset_meta())
        writer.write_clip("clip_000003", meta, arrays, hm, {})
        outputs.append(tmp_path / f"run{run}" / "clips" / "clip_000003")
    for name in ("labels.npz", "heatmaps.npz", "clip.json"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name
    # Different data gives different bytes (the comparison above can fail).
    writer = DatasetWriter(tmp_path / "run2", dataset_meta())
    writer.write_clip("clip_000003", meta, dict(labels, frame_index=labels["frame_index"] + 1), hm, {})
    assert (tmp_path / "run2/clips/clip_000003/labels.npz").read_bytes() != (outputs[0] / "labels.npz").read_bytes()


def test_sha256_verification_catches_corruption(tmp_path):
    write_dataset(tmp_path, [(0, "a")], images=False)
    path = tmp_path / "clips" / "clip_000000" / "labels.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    reader = DatasetReader(tmp_path)
    with pytest.raises(DatasetError, match="sha256"):
        reader.labels("clip_000000", verify=True)
    reader.heatmaps("clip_000000", verify=True)  # untouched file still verifies


# ---------------------------------------------------------------------------------------------------- ego4view
def euler_xyz_matrix(angles) -> np.ndarray:
    ax, ay, az = angles
    Rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    Ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    Rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return Rz @ Ry @ Rx


def test_export_ego4view(tmp_path):
    src = tmp_path / "native"
    writer = write_dataset(src, [(0, "alice"), (1, "alice"), (2, "bob")], images=True)
    writer.finalize({"train": ["clip_000000", "clip_000001"], "test": ["clip_000002"]})
    result = export_ego4view(src, tmp_path / "e4v")
    out = result.out
    assert (result.layout, result.sequences, result.frames) == ("syn", 3, 9)

    # One character directory per split: the released stage-1 loader, which reads only the first line, sees all.
    split = {name: (out / f"{name}.txt").read_text().split() for name in ("train", "validation", "test")}
    assert split == {"train": ["rp_egorig_train"], "validation": [], "test": ["rp_egorig_test"]}
    assert sorted(p.name for p in (out / "rp_egorig_train").iterdir()) == ["clip_000000", "clip_000001"]
    seq = out / "rp_egorig_train" / "clip_000001"
    for view in VIEWS:
        assert sorted(p.name for p in (seq / "fisheye_rgb" / f"camera_{view}").iterdir()) == ["0.jpg", "1.jpg", "2.jpg"]
        assert Image.open(seq / "fisheye_rgb" / f"camera_{view}" / "1.jpg").size == (W, H)
    assert sorted(p.name for p in (seq / "json_smplx_gendered").iterdir()) == ["0.json", "1.json", "2.json"]

    _, labels, _ = make_clip(1, 3, "alice")
    record = json.loads((seq / "json_smplx_gendered" / "1.json").read_text())
    assert list(record["joints"]) == ["Head", "Neck", "LeftArm", "RightArm", "LeftForeArm", "RightForeArm",
                                      "LeftHand", "RightHand", "LeftUpLeg", "RightUpLeg", "LeftLeg", "RightLeg",
                                      "LeftFoot", "RightFoot", "LeftToeBase", "RightToeBase"]
    device = np.array([record["joints"][n]["device_pts3d"] for n in record["joints"]])
    np.testing.assert_allclose(device, labels["joints3d_device"][1] * 100.0, rtol=1e-12)
    world = np.array([record["joints"][n]["trans_blender"] for n in record["joints"]])
    np.testing.assert_array_equal(world, labels["joints3d_world"][1])
    for v, view in enumerate(VIEWS):
        # 2D points in Ego4View's 872 px image (pixel centres), the render-pixel ones kept under egorig.
        pts2d = np.array([record["joints"][n][f"camera_{view}_pts2d"] for n in record["joints"]])
        np.testing.assert_allclose(pts2d, (labels["joints2d"][1, v] + 0.5) * (872 / W) - 0.5, atol=1e-9)
        np.testing.assert_array_equal(record["egorig"]["pts2d_render_px"][f"camera_{view}"], labels["joints2d"][1, v])
        pts3d = np.array([record["joints"][n][f"camera_{view}_pts3d"] for n in record["joints"]])
        np.testing.assert_allclose(pts3d, labels["joints3d_camera"][1, v] * 100.0, rtol=1e-12)
        cam_centre = (labels["T_world_from_device"][1] @ labels["T_device_from_camera"][v])[:3, 3]
        np.testing.assert_allclose(record["global_trans_blender"][f"camera_{view}"], cam_centre, atol=1e-12)
    np.testing.assert_allclose(euler_xyz_matrix(record["global_rot_blender"]["device"]),
                               labels["T_world_from_device"][1][:3, :3], atol=1e-9)
    assert record["egorig"]["visibility"]["camera_back_left"] == labels["visibility"][1, 2].tolist()
    assert record["egorig"]["render_image_size_px"] == [W, H] and record["egorig"]["split"] == "train"

    # Heatmaps: 16 channels, Head first, peak 1.0 on Ego4View's cell int(p / (872 / 64) + 0.5) of the 872 px point.
    for v, view in enumerate(VIEWS):
        heat = np.load(seq / "fisheye_hm" / f"camera_{view}" / "2.npy")
        assert heat.shape == (16, 64, 64) and heat.dtype == np.float32
        p872 = (labels["joints2d"][2, v] + 0.5) * (872 / W) - 0.5
        for j in range(16):
            col, row = (int(c / (872 / 64) + 0.5) for c in p872[j])
            assert heat[j, row, col] == 1.0 and heat[j].max() == 1.0
    calib = json.loads((out / "camera_calib" / "camera_front_left.json").read_text())
    assert calib["size"] == [872, 872] and calib["egorig"]["max_fit_residual_px"] < 1e-6
    manifest = json.loads((out / "egorig_export.json").read_text())
    assert [s["path"] for s in manifest["sequences"]] == ["rp_egorig_train/clip_000000", "rp_egorig_train/clip_000001",
                                                        "rp_egorig_test/clip_000002"]
    assert "labels only" not in (out / "README_egorig.md").read_text().lower()


def test_export_label_only_needs_the_flag_and_refuses_mixed_identity(tmp_path):
    src = tmp_path / "native"
    writer = write_dataset(src, [(0, "alice"), (1, "alice")], images=False)
    writer.finalize({"train": ["clip_000000"], "test": ["clip_000001"]}, identity_of=lambda cid: cid)
    with pytest.raises(DatasetError, match="identity alice has clips in 'train' and 'test'"):
        export_ego4view(src, tmp_path / "bad", labels_only=True)
    with pytest.raises(DatasetError, match="identity alice"):
        writer.finalize({"train": ["clip_000000"], "test": ["clip_000001"]})
    writer.finalize({"train": ["clip_000000", "clip_000001"]})
    with pytest.raises(DatasetError, match="--labels-only"):
        export_ego4view(src, tmp_path / "e4v")
    assert not (tmp_path / "e4v").exists()
    out = export_ego4view(src, tmp_path / "e4v", labels_only=True).out
    seq = out / "rp_egorig_train" / "clip_000000"
    assert not (seq / "fisheye_rgb").exists()
    assert (seq / "json_smplx_gendered" / "0.json").exists()
    assert "labels only" in (out / "README_egorig.md").read_text().lower()


# ---------------------------------------------------------------------------------------------------- preview
def test_preview_colours_joints_by_visibility(tmp_path):
    writer = DatasetWriter(tmp_path, dataset_meta(image_format=None))
    meta, labels, hm = make_clip(0, frames=3)
    labels["visibility"][:] = 0
    labels["joints2d"][:] = -50.0  # every other joint outside, drawn grey at the clamped corner
    labels["joints2d"][1, 0, 6] = (20.0, 40.0)  # left hand visible
    labels["visibility"][1, 0, 6] = 2
    labels["joints2d"][1, 0, 7] = (44.0, 40.0)  # right hand occluded
    labels["visibility"][1, 0, 7] = 1
    writer.write_clip("clip_000000", meta, labels, hm, {})
    reader = DatasetReader(tmp_path)

    png = contact_sheet(reader, "clip_000000", [0, 1], tmp_path / "sheet.png")
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert img.shape == (2 * 256, V * 256, 3)  # 64 px renders are shown as 256 px tiles
    scale = 256 / W
    row_offset = 256  # frame 1 is the second row; view 0 the first column

    def pixel(u, v):
        return img[row_offset + int(round((v + 0.5) * scale - 0.5)), int(round((u + 0.5) * scale - 0.5))]

    visible, occluded = pixel(20.0, 40.0), pixel(44.0, 40.0)
    assert visible[1] > visible[0] + 80 and visible[1] > visible[2] + 80  # green
    assert occluded[0] > 200 and occluded[0] > occluded[1] + 60 and occluded[2] < 80  # orange
    assert np.abs(img[0:256, 256:512].astype(int) - img[256:512, 256:512]).sum() > 0  # frame labels differ
    # The image circle: radius 32 px about the image centre (31.5, 31.5), i.e. 128 tile px about 127.5.
    x = y = int(round(127.5 + 128 * np.cos(np.pi / 4)))
    patch = img[y - 2:y + 3, 256 + x - 2:256 + x + 3]
    assert np.any((patch[..., 0] > 150) & (patch[..., 1] > 150) & (patch[..., 2] < 130))  # yellow line
    inside = img[127 - 20:127 + 20, 256 + 127 - 20:256 + 127 + 20]
    assert not np.any((inside[..., 0] > 150) & (inside[..., 1] > 150) & (inside[..., 2] < 130))

    default = preview(tmp_path)
    assert default == tmp_path / "previews" / "clip_000000.png"
    assert Image.open(default).size == (V * 256, 3 * 256)  # all 3 frames (fewer than 4)


def test_preview_over_images(tmp_path):
    write_dataset(tmp_path, [(0, "a")], images=True, frames=5)
    out = preview(tmp_path, frames=[0, 4], out=tmp_path / "p.png")
    img = Image.open(out)
    assert img.size == (V * 256, 2 * 256)
    arr = np.asarray(img.convert("RGB"))
    assert arr[100:150, 100:150].std() > 20  # random image content, not the flat dark background
