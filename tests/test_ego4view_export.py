"""`synth export ego4view` read back as the authors' released EgoRear trainer would read it (tests/ego4view_reader.py,
written from the published layout, imports nothing from synth): split files and globs find every frame, the RW
metadata is found by the loaders' split('-') rule, the metadata transforms and exported calibrations reproduce the
exported 2D points, the 2D points are in 872 px, the heatmaps are generate_heatmap.py's, and the refusals."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tests import ego4view_reader as E

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "render_configs" / "default.yaml"
SHIPPED_CALIB = REPO / "synth" / "data" / "calib" / "ego4view"
#: Three clips of three frames; the split fractions put the default seed's three identities in three splits
#: (the split of an identity is a fixed hash of seed and id: synth/dataset/splits.py).
CLIPS, FRAMES = 3, 3
COMMON = f"clips: {{frames: {FRAMES}}}\nsplits: {{val: 0.48, test: 0.1}}\n"
RIGS = {
    "default": "",
    "rear42": "rig: {front_to_rear_m: 0.42}\n",
    "pitched": "rig: {rear_pitch_deg: 20.0}\n",
}
SPLITS = ("train", "val", "test")
#: Reprojection tolerance asked of the exported 2D points (px at 872); in practice they agree to ~1e-6.
REPROJ_TOL_PX = 0.5
PTS3D_TOL_CM = 1e-6


def synth(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    cache = REPO / ".cache" / "egorig"
    env.setdefault("EGORIG_CACHE_DIR", str(cache))
    env.setdefault("WARP_CACHE_PATH", str(cache / "warp"))
    return subprocess.run([sys.executable, "-m", "synth.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600)


def export_cmd(dataset: Path, out: Path, layout: str, *extra: str) -> subprocess.CompletedProcess:
    return synth("export", "ego4view", dataset, "--out", out, "--layout", layout, *extra)


# ---- fixtures: one label-only dataset per rig, one export per (rig, layout), all reused --------------------------
@pytest.fixture(scope="module")
def work():
    """A scratch directory whose path has no '-' (the RW loaders cut frame paths at the first '-'; pytest's own
    tmp_path has 'pytest-of-...')."""
    root = Path(tempfile.mkdtemp(prefix="e4v_"))
    assert "-" not in str(root), f"{root}: the temporary directory has a '-'; set TMPDIR to a path without one"
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def dataset(work):
    """rig name -> the path of its label-only native dataset (generated once)."""
    made: dict[str, Path] = {}

    def get(rig: str) -> Path:
        if rig not in made:
            cfg = work / f"{rig}.yaml"
            cfg.write_text(f"base: {DEFAULT}\n{COMMON}{RIGS[rig]}")
            out = work / f"ds_{rig}"
            res = synth("labels", cfg, "--out", out, "--clips", CLIPS, "--quiet")
            assert res.returncode == 0, res.stderr
            made[rig] = out
        return made[rig]

    return get


@pytest.fixture(scope="module")
def export(work, dataset):
    """(rig, layout) -> the path of its --labels-only export (exported once)."""
    made: dict[tuple[str, str], Path] = {}

    def get(rig: str, layout: str) -> Path:
        if (rig, layout) not in made:
            out = work / f"x_{rig}_{layout}"
            res = export_cmd(dataset(rig), out, layout, "--labels-only")
            assert res.returncode == 0, res.stderr
            made[rig, layout] = out
        return made[rig, layout]

    return get


def dataset_json(ds: Path) -> dict:
    return E.read_json(str(ds / "dataset.json"))


def native_labels(ds: Path, clip_id: str) -> dict[str, np.ndarray]:
    with np.load(ds / "clips" / clip_id / "labels.npz") as z:
        return {k: z[k] for k in z.files}


def all_frames(root: Path, layout: str) -> list[str]:
    return [f for split in SPLITS for f in E.read_split(str(root), layout, split)]


def native_row(labels: dict[str, np.ndarray], record: dict) -> int:
    rows = np.flatnonzero(labels["frame_index"] == record["egorig"]["frame_index"])
    assert len(rows) == 1
    return int(rows[0])


def refused(res: subprocess.CompletedProcess, out: Path, *needles: str) -> str:
    """Assert a one-line `error:` refusal (exit 2) that names every needle and created nothing; return the line."""
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert not out.exists()
    return lines[0]


# ---- 1. read back through the split files and the loaders' globs ------------------------------------------------
@pytest.mark.parametrize("layout", ["syn", "rw"])
def test_every_frame_is_found_through_the_split_files(dataset, export, layout):
    ds, root = dataset("default"), export("default", layout)
    meta = dataset_json(ds)
    assert sum(1 for s in SPLITS if meta["splits"][s]) >= 2, \
        "the test config no longer spreads its clips over the splits: adjust COMMON's split fractions"
    found_total = 0
    for split in SPLITS:
        clips = meta["splits"][split]
        expected = {(cid, int(f)) for cid in clips for f in native_labels(ds, cid)["frame_index"]}
        frames = E.read_split(str(root), layout, split)
        got = set()
        for path in frames:
            record = E.read_json(path)
            assert record["egorig"]["split"] == split
            assert Path(path).stem == str(record["egorig"]["frame_index"])
            got.add((record["egorig"]["clip_id"], record["egorig"]["frame_index"]))
        assert len(frames) == len(expected) == len(clips) * FRAMES
        assert got == expected
        lines = E.split_lines(str(root), split)
        if layout == "syn":
            # One character directory per split: the stage-1 dataset, reading only the first line, sees it all.
            assert len(lines) == (1 if clips else 0)
            assert E.read_split(str(root), layout, split, first_line_only=True) == frames
        else:
            assert len(lines) == len(clips)
        found_total += len(frames)
    assert found_total == CLIPS * FRAMES


def test_heatmap_script_globs_find_the_sequences(export):
    syn, rw = export("default", "syn"), export("default", "rw")
    syn_seqs = {os.path.dirname(os.path.dirname(f)) for f in all_frames(syn, "syn")}
    assert set(glob.glob(os.path.join(syn, "rp*/*"))) == syn_seqs and len(syn_seqs) == CLIPS
    rw_seqs = {str(rw / line) for split in SPLITS for line in E.split_lines(str(rw), split)}
    # 2024*/S*/seq* also matches the seq_<clip>_metadata.json files; the script finds no json_smplx/ under them.
    matched = glob.glob(os.path.join(rw, "2024*/S*/seq*"))
    assert {p for p in matched if os.path.isdir(p)} == rw_seqs and len(rw_seqs) == CLIPS
    for p in matched:
        if not os.path.isdir(p):
            assert not glob.glob(os.path.join(p, "json_smplx", "*.json"))


@pytest.mark.parametrize("layout", ["syn", "rw"])
def test_frame_json_fields_and_paths(dataset, export, layout):
    ds, root = dataset("default"), export("default", layout)
    for path in all_frames(root, layout):
        record = E.read_json(path)
        assert set(record["joints"]) == set(E.JOINTS)
        for name in E.JOINTS:
            joint = record["joints"][name]
            assert len(joint["device_pts3d"]) == 3
            for view in E.VIEWS:
                assert len(joint[f"camera_{view}_pts3d"]) == 3 and len(joint[f"camera_{view}_pts2d"]) == 2
        labels = native_labels(ds, record["egorig"]["clip_id"])
        row = native_row(labels, record)
        np.testing.assert_allclose(E.joint_array(record, "device_pts3d"), labels["joints3d_device"][row] * 100.0,
                                   atol=1e-9)
        for v, view in enumerate(E.VIEWS):
            np.testing.assert_allclose(E.joint_array(record, f"camera_{view}_pts3d"),
                                       labels["joints3d_camera"][row, v] * 100.0, atol=1e-9)
            assert os.path.isfile(E.heatmap_path(path, layout, view))
            assert not os.path.exists(E.image_path(path, layout, view))  # --labels-only: no fisheye_rgb/
        if layout == "rw":
            metadata = E.rw_metadata(path)  # the loaders' split('-') rule finds it
            assert metadata["egorig"]["clip_id"] == record["egorig"]["clip_id"]
            for view in E.VIEWS:
                M = np.asarray(metadata["coord_transformation_matrix"][f"device_to_camera_{view}"])
                assert M.shape == (4, 4) and np.allclose(M[3], [0, 0, 0, 1])
                assert set(metadata["intrinsics"][f"camera_{view}"]) >= {"size", "image_center", "polynomialW2C"}


# ---- 2. reprojection with the trainer's camera models -----------------------------------------------------------
@pytest.mark.parametrize("rig", ["default", "rear42", "pitched"])
def test_rw_metadata_and_calibrations_reproduce_the_2d_points(export, rig):
    root = export(rig, "rw")
    calibs = {v: E.read_json(str(root / "camera_calib" / f"camera_{v}.json")) for v in E.VIEWS}
    checked = 0
    rear_T = []
    for path in all_frames(root, "rw"):
        record, metadata = E.read_json(path), E.rw_metadata(path)
        device = E.joint_array(record, "device_pts3d")
        for view in E.VIEWS:
            key = f"camera_{view}"
            M = metadata["coord_transformation_matrix"][f"device_to_{key}"]
            if view == "back_left":
                rear_T.append(np.asarray(M))
            cam = E.rw_camera_points(M, device)
            np.testing.assert_allclose(cam, E.joint_array(record, f"{key}_pts3d"), atol=PTS3D_TOL_CM, rtol=0)
            seen = np.asarray(record["egorig"]["visibility"][key]) != 0
            pts2d = E.joint_array(record, f"{key}_pts2d")[seen]
            for calib in (calibs[view], metadata["intrinsics"][key]):
                err = np.linalg.norm(E.project(calib, cam[seen]) - pts2d, axis=-1)
                assert np.all(err < REPROJ_TOL_PX), (path, view, err.max())
            checked += int(seen.sum())
    assert checked > 0
    # The rig override took effect: the rear camera is 42 cm back, or pitched (not the Syn model's 180-deg turn).
    T = rear_T[0]
    if rig == "rear42":
        assert np.allclose(np.linalg.inv(T)[1, 3], 0.42, atol=1e-6)
    elif rig == "pitched":
        assert not np.allclose(T[:3, :3], np.diag([-1.0, -1.0, 1.0]), atol=1e-3)
    else:
        assert np.allclose(np.linalg.inv(T)[:3], [[-1, 0, 0, -0.06], [0, -1, 0, 0.37], [0, 0, 1, 0]], atol=1e-9)


def test_syn_fixed_offsets_and_shipped_calibrations_reproduce_the_2d_points(export):
    root = export("default", "syn")
    shipped = {v: json.loads((SHIPPED_CALIB / f"camera_{v}.json").read_text()) for v in E.VIEWS}
    checked = 0
    for path in all_frames(root, "syn"):
        record = E.read_json(path)
        device = E.joint_array(record, "device_pts3d")
        for view in E.VIEWS:
            key = f"camera_{view}"
            cam = E.syn_camera_points(view, device)
            np.testing.assert_allclose(cam, E.joint_array(record, f"{key}_pts3d"), atol=PTS3D_TOL_CM, rtol=0)
            seen = np.asarray(record["egorig"]["visibility"][key]) != 0
            err = np.linalg.norm(E.project(shipped[view], cam[seen]) - E.joint_array(record, f"{key}_pts2d")[seen],
                                 axis=-1)
            assert np.all(err < REPROJ_TOL_PX), (path, view, err.max())
            checked += int(seen.sum())
    assert checked > 0


def test_the_syn_model_would_be_wrong_for_the_other_rigs(export):
    """What the refusals protect against: on the 42 cm and pitched rigs the Syn fixed offsets miss the rear
    cameras' true camera-frame points by centimetres."""
    for rig in ("rear42", "pitched"):
        path = all_frames(export(rig, "rw"), "rw")[0]
        record = E.read_json(path)
        miss = np.abs(E.syn_camera_points("back_left", E.joint_array(record, "device_pts3d"))
                      - E.joint_array(record, "camera_back_left_pts3d")).max()
        assert miss > 1.0, (rig, miss)


# ---- 3. 2D points in 872 px -------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["syn", "rw"])
def test_pts2d_are_872_px_of_the_render_points(dataset, export, layout):
    ds, root = dataset("default"), export("default", layout)
    width = dataset_json(ds)["image"]["width"]
    assert width != E.IMAGE_PX  # the conversion is not the identity here
    for path in all_frames(root, layout):
        record = E.read_json(path)
        assert record["egorig"]["render_image_size_px"] == [width, width]
        labels = native_labels(ds, record["egorig"]["clip_id"])
        row = native_row(labels, record)
        for v, view in enumerate(E.VIEWS):
            key = f"camera_{view}"
            render = np.asarray(record["egorig"]["pts2d_render_px"][key], dtype=np.float64)
            native = labels["joints2d"][row, v]
            np.testing.assert_array_equal(render, native)
            finite = np.isfinite(native).all(axis=-1)
            expected = np.where(finite[:, None], (native + 0.5) * E.IMAGE_PX / width - 0.5, -10000.0)
            np.testing.assert_allclose(E.joint_array(record, f"{key}_pts2d"), expected, atol=1e-9, rtol=0)


# ---- 4. heatmaps are generate_heatmap.py's ----------------------------------------------------------------------
@pytest.mark.parametrize("rig,layout", [("default", "syn"), ("default", "rw"), ("rear42", "rw"), ("pitched", "rw")])
def test_heatmaps_are_the_generator_recipe_on_the_exported_points(export, rig, layout):
    root = export(rig, layout)
    count = 0
    for path in all_frames(root, layout):
        record = E.read_json(path)
        for view in E.VIEWS:
            hm = np.load(E.heatmap_path(path, layout, view))
            assert hm.shape == (16, 64, 64) and hm.dtype == np.float32
            assert np.array_equal(hm, E.generate_target(E.joint_array(record, f"camera_{view}_pts2d")))
            count += 1
    assert count == CLIPS * FRAMES * len(E.VIEWS)


def test_generate_target_recipe():
    """The reader's recipe itself: peak on int(p / stride + 0.5), 7 x 7 window cropped, far points empty."""
    stride = 872 / 64
    pts = np.array([[10.0 * stride, 20.0 * stride], [0.0, 0.0], [-10000.0, -10000.0], [-4.6 * stride, 5.0],
                    [-0.9 * stride, 5.0]] + [[300.0, 300.0]] * 11)
    hm = E.generate_target(pts)
    assert hm[0, 20, 10] == 1.0 and np.count_nonzero(hm[0]) == 49
    assert hm[1, 0, 0] == 1.0 and np.count_nonzero(hm[1]) == 16
    assert not hm[2].any()
    assert not hm[3].any()  # mu_x = int(-4.1) = -4: the window [-7, 0) lies left of the map (br = 0, not < 0)
    assert hm[4, 0, 0] == 1.0  # mu_x = int(-0.4) = 0: truncation, not floor


def test_export_heatmaps_match_the_recipe_off_the_image():
    """The exported joints all fall in the image, so the export's heatmap function is also checked here on points
    near and beyond the edges (partial windows, truncation of negative cells, MISSING_PX) against the reader."""
    from synth.dataset.ego4view.records import ego4view_heatmaps

    stride = 872 / 64
    rng = np.random.default_rng(0)
    pts = rng.uniform(-150.0, 1030.0, size=(200, 16, 2))
    pts[::7, 3] = -10000.0
    edge = np.array([[-0.5, -0.5], [-0.5 + 1e-9, 3.0], [63.5, 63.5], [63.5 - 1e-9, 10.0], [-3.5, 5.0],
                     [-3.5 - 1e-9, 5.0], [-4.5, 5.0], [66.5, 5.0], [67.5, 5.0], [67.5 - 1e-6, 5.0], [-0.9, 0.0],
                     [0.0, 0.0], [64.0, 64.0], [-3.6, 4.0], [70.0, 70.0], [32.0, -3.4]]) * stride
    pts = np.concatenate([pts, edge[None]])
    got = ego4view_heatmaps(pts)
    assert got.shape == (len(pts), 16, 64, 64) and got.dtype == np.float32
    for i in range(len(pts)):
        assert np.array_equal(got[i], E.generate_target(pts[i])), i


# ---- 5. refusals and --force ------------------------------------------------------------------------------------
def test_syn_export_of_a_42cm_rig_is_refused_and_forced(work, dataset):
    ds = dataset("rear42")
    out = work / "refused_rear42"
    refused(export_cmd(ds, out, "syn", "--labels-only"), out, "42.0 cm", "--layout rw")
    res = export_cmd(ds, out, "syn", "--labels-only", "--force")
    assert res.returncode == 0, res.stderr
    assert any(line.startswith("note: --force:") and "42.0 cm" in line for line in res.stderr.splitlines())
    readme = (out / "README_egorig.md").read_text()
    forced = readme.split("## Exported with --force", 1)
    assert len(forced) == 2 and "42.0 cm" in forced[1]
    assert any("42.0 cm" in reason for reason in E.read_json(str(out / "egorig_export.json"))["forced"])
    assert len(all_frames(out, "syn")) == CLIPS * FRAMES


def test_syn_export_of_a_pitched_rig_is_refused(work, dataset):
    out = work / "refused_pitched"
    refused(export_cmd(dataset("pitched"), out, "syn", "--labels-only"), out, "pitched 20.0 deg", "--layout rw")


@pytest.mark.parametrize("layout", ["syn", "rw"])
def test_a_label_only_dataset_needs_labels_only(work, dataset, layout):
    out = work / f"refused_images_{layout}"
    refused(export_cmd(dataset("default"), out, layout), out, "--labels-only")


# ---- 6. a '-' in the RW export path -----------------------------------------------------------------------------
def test_rw_export_under_a_dash_path_notes_it(work, dataset):
    out = work / "with-dash" / "export"
    res = export_cmd(dataset("default"), out, "rw", "--labels-only")
    assert res.returncode == 0, res.stderr
    notes = [line for line in res.stderr.splitlines() if line.startswith("note:") and "'-'" in line]
    assert len(notes) == 1, res.stderr
    assert (out / "README_egorig.md").is_file()
    frames = all_frames(out, "rw")
    assert len(frames) == CLIPS * FRAMES
    # Why the note: the loaders' rule now cuts at the directory's '-' and misses the metadata.
    assert not os.path.exists(E.rw_metadata_path(frames[0]))
