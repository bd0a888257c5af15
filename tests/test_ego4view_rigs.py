"""The Ego4View export of rigs other than Ego4View's: a square four-fisheye headset with its own view names (OpenCV
fisheye lenses, checked against cv2), a lens the Ego4View camera model cannot hold, and egorig's trainer on both
layouts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from synth.dataset.reader import DatasetReader
from tests.test_train_engine import TINY

cv2 = pytest.importorskip("cv2")

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "render_configs" / "default.yaml"
SIDE = 480
E4V = 872
JOINTS = ("Head", "Neck", "LeftArm", "RightArm", "LeftForeArm", "RightForeArm", "LeftHand", "RightHand",
          "LeftUpLeg", "RightUpLeg", "LeftLeg", "RightLeg", "LeftFoot", "RightFoot", "LeftToeBase", "RightToeBase")


def fisheye(fx: float, cx: float, cy: float, k) -> dict:
    return {"type": "opencv_fisheye", "width": SIDE, "height": SIDE, "fx": fx, "fy": fx, "cx": cx, "cy": cy,
            "k": list(k), "fov_deg": 190.0}


#: A headset: two front cameras looking down-forward, two side cameras looking down-outward (not Ego4View's rig).
HEADSET = [
    {"name": "front_left", "position_m": [-0.055, 0.0, 0.01], "rotation_deg": [20.0, 0.0, -20.0],
     "lens": fisheye(141.3, 240.6, 238.9, [0.0329, -0.0143, 0.0058, -0.0012])},
    {"name": "front_right", "position_m": [0.055, 0.0, 0.01], "rotation_deg": [20.0, 0.0, 20.0],
     "lens": fisheye(140.9, 238.1, 241.3, [0.0341, -0.0151, 0.0061, -0.0013])},
    {"name": "side_left", "position_m": [-0.085, 0.045, 0.02], "rotation_deg": [25.0, 0.0, -70.0],
     "lens": fisheye(141.7, 240.4, 240.2, [0.0318, -0.0139, 0.0055, -0.0011])},
    {"name": "side_right", "position_m": [0.085, 0.045, 0.02], "rotation_deg": [25.0, 0.0, 70.0],
     "lens": fisheye(141.1, 239.7, 239.6, [0.0335, -0.0147, 0.0059, -0.0012])},
]
SIDE_MAP = "side_left=back_left,side_right=back_right"


def synth(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    env.setdefault("WARP_CACHE_PATH", str(REPO / ".cache" / "egorig" / "warp"))
    return subprocess.run([sys.executable, "-m", "synth.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600)


def headset_config(path: Path, cameras: list[dict]) -> Path:
    rig = {"preset": "custom", "resolution": 128, "mount_anchor": "face", "front_clearance_m": 0.07,
           "mount_height_m": 0.06, "cameras": cameras}
    path.write_text(yaml.safe_dump({"base": str(DEFAULT), "name": path.stem, "clips": {"count": 2, "frames": 3},
                                    "rig": rig}))
    return path


@pytest.fixture(scope="module")
def work():
    # Not pytest's tmp_path: its "pytest-of-..." has a '-', which the RW loaders' metadata rule cuts at.
    with tempfile.TemporaryDirectory(prefix="egorig_e4v_rigs_") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
def headset(work):
    cfg = headset_config(work / "headset.yaml", HEADSET)
    out = work / "headset"
    proc = synth("labels", cfg, "--out", out, "--clips", 2, "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def record_arrays(record: dict, view: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(device_pts3d (16, 3) cm, camera pts3d (16, 3) cm, pts2d (16, 2) px) of one camera of a frame JSON."""
    joints = record["joints"]
    return (np.array([joints[j]["device_pts3d"] for j in JOINTS]),
            np.array([joints[j][f"camera_{view}_pts3d"] for j in JOINTS]),
            np.array([joints[j][f"camera_{view}_pts2d"] for j in JOINTS]))


def ocam(calib: dict, pts: np.ndarray) -> np.ndarray:
    """Ego4View's calibration projection (polynomial in theta = atan(-z / r)), written for this test."""
    r = np.hypot(pts[:, 0], pts[:, 1])
    theta = np.arctan(-pts[:, 2] / r)
    rho = sum(c * theta ** i for i, c in enumerate(calib["polynomialW2C"]))
    return np.stack([pts[:, 0] / r * rho + calib["image_center"][0], pts[:, 1] / r * rho + calib["image_center"][1]],
                    axis=1)


def test_a_square_headset_exports_rw_with_its_views_mapped_and_cv2_agrees(headset, work):
    out = work / "headset_rw"
    proc = synth("export", "ego4view", headset, "--out", out, "--layout", "rw", "--labels-only", "--cameras", SIDE_MAP)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "egorig_export.json").read_text())
    assert manifest["source_views"] == {"front_left": "front_left", "front_right": "front_right",
                                        "back_left": "side_left", "back_right": "side_right"}
    reader = DatasetReader(headset)
    checked = 0
    for seq in manifest["sequences"]:
        labels = reader.labels(seq["clip_id"])
        meta = json.loads((out / (seq["path"].split("-")[0] + "_metadata.json")).read_text())
        for frame_json in sorted((out / seq["path"] / "json_smplx").glob("*.json")):
            record = json.loads(frame_json.read_text())
            row = int(np.nonzero(labels["frame_index"] == record["egorig"]["frame_index"])[0][0])
            for view, source in manifest["source_views"].items():
                lens = next(c for c in HEADSET if c["name"] == source)["lens"]
                device, cam, pts2d = record_arrays(record, view)
                # The rig's own lens at 872 px (uniform scale, pixel centres) through OpenCV, independently of egorig.
                s = E4V / SIDE
                K = np.array([[lens["fx"] * s, 0, (lens["cx"] + 0.5) * s - 0.5],
                              [0, lens["fy"] * s, (lens["cy"] + 0.5) * s - 0.5], [0, 0, 1]])
                seen = np.array(record["egorig"]["visibility"][f"camera_{view}"]) != 0
                uv, _ = cv2.fisheye.projectPoints(cam[seen][None] / 100.0, np.zeros(3), np.zeros(3), K,
                                                  np.array(lens["k"], dtype=np.float64))
                np.testing.assert_allclose(pts2d[seen], uv[0], atol=1e-6)
                # The metadata transform takes device points to camera points; the calibration projects them.
                M = np.array(meta["coord_transformation_matrix"][f"device_to_camera_{view}"])
                np.testing.assert_allclose(device / 100.0 @ M[:3, :3].T + M[:3, 3], cam / 100.0, atol=1e-9)
                calib = json.loads((out / "camera_calib" / f"camera_{view}.json").read_text())
                assert calib["egorig"]["source_model"] == "opencv_fisheye"
                assert np.linalg.norm(ocam(calib, cam[seen]) - pts2d[seen], axis=1).max() < 0.5
                src = reader.views.index(source)
                np.testing.assert_array_equal(record["egorig"]["pts2d_render_px"][f"camera_{view}"],
                                              labels["joints2d"][row, src])
                checked += int(seen.sum())
    assert checked > 100


def test_the_syn_layout_and_unmapped_views_are_refused_in_one_line(headset, work):
    proc = synth("export", "ego4view", headset, "--out", work / "x", "--labels-only")
    assert proc.returncode == 2 and "side_left" in proc.stderr and "--cameras" in proc.stderr
    proc = synth("export", "ego4view", headset, "--out", work / "x", "--labels-only", "--cameras", SIDE_MAP)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "--layout rw" in lines[0]
    assert "front cameras 11.0 cm apart (model: 12 cm)" in lines[0]
    proc = synth("export", "ego4view", headset, "--out", work / "x", "--labels-only", "--cameras", "nope=back_left")
    assert proc.returncode == 2 and "nope" in proc.stderr
    assert not (work / "x").exists()


def test_a_lens_the_ego4view_model_cannot_hold_is_refused_unless_forced(work):
    cams = json.loads(json.dumps(HEADSET))
    lens = cams[2]["lens"]
    cams[2]["lens"] = {"type": "fisheye624", "width": SIDE, "height": SIDE, "fx": lens["fx"], "fy": lens["fx"],
                       "cx": lens["cx"], "cy": lens["cy"], "k": [0.03, -0.01, 0.005, -0.001, 0.0, 0.0],
                       "p": [0.004, -0.003], "s": [0.002, 0.0, -0.002, 0.0], "fov_deg": 150.0}
    ds = work / "tangential"
    assert synth("labels", headset_config(work / "tangential.yaml", cams), "--out", ds, "--clips", 1,
                 "--quiet").returncode == 0
    proc = synth("export", "ego4view", ds, "--out", work / "t", "--layout", "rw", "--labels-only", "--cameras", SIDE_MAP)
    assert proc.returncode == 2 and "camera_back_left" in proc.stderr and "fisheye624" in proc.stderr
    assert "--force" in proc.stderr and not (work / "t").exists()
    proc = synth("export", "ego4view", ds, "--out", work / "t", "--layout", "rw", "--labels-only", "--cameras",
                 SIDE_MAP, "--force")
    assert proc.returncode == 0, proc.stderr
    calib = json.loads((work / "t" / "camera_calib" / "camera_back_left.json").read_text())
    assert calib["egorig"]["max_fit_residual_px"] > 0.5
    assert "camera_back_left" in (work / "t" / "README_egorig.md").read_text().split("Exported with --force")[1]


def test_egorig_trains_on_both_exports_and_reads_what_the_native_dataset_holds(work):
    from train.config import load_config
    from train.data import NativeFrameDataset
    from train.ego4view import Ego4ViewSynDataset
    from train.engine import fit
    from train.fixtures import write_fixture_dataset

    from synth.dataset.ego4view import export_ego4view

    native = write_fixture_dataset(work / "fixture", np.random.default_rng(0), identities=3, frames=4,
                                   image_size=32, image_format="jpg")
    ref = NativeFrameDataset(native, "train", input_size=32, heatmap_size=8)
    for layout in ("syn", "rw"):
        out = export_ego4view(native, work / f"fixture_{layout}", layout=layout, force=True).out
        ds = Ego4ViewSynDataset(out, "train", input_size=32, heatmap_size=8)
        assert ds.layout == layout and len(ds) == len(ref)
        a, b = ds[0], ref[0]
        np.testing.assert_allclose(a["joints3d_device_m"], b["joints3d_device_m"], atol=1e-6)
        np.testing.assert_allclose(a["T_camera_from_device"], b["T_camera_from_device"], atol=1e-5)
        np.testing.assert_array_equal(a["visibility"], b["visibility"])
        np.testing.assert_allclose(a["joints2d_px"], (b["joints2d_px"] + 0.5) * (E4V / 32) - 0.5, atol=1e-3)
        assert tuple(a["image_size_px"].tolist()) == (E4V, E4V)
        cfg_path = work / f"train_{layout}.yaml"
        data = json.loads(json.dumps(TINY))
        data["data"].update(root=str(out), format=f"ego4view_{layout}")
        data["train"]["out_dir"] = str(work / f"run_{layout}")
        cfg_path.write_text(yaml.safe_dump(data))
        results = fit(load_config(cfg_path))
        assert np.isfinite(results["pose3d"]["mpjpe_mm"])
