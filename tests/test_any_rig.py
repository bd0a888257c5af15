"""Rigs of any calibration model, size and layout from config: lens types, rig.resolution, non-square images and
heatmaps through the label pipeline (checked against OpenCV's projection), mount anchors and the refusals."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synth.config import load_config
from synth.errors import ConfigError
from synth.geometry.rig import build_rig, config_rig, image_size_at, mount_from_points

cv2 = pytest.importorskip("cv2")

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "render_configs" / "default.yaml"
RIGS = REPO / "render_configs" / "rigs"
#: The agreement asked of the labels against OpenCV's projection (px).
LABEL_TOL_PX = 0.05

FISHEYE_4_3 = {"type": "opencv_fisheye", "width": 640, "height": 480, "fx": 190.0, "fy": 190.5, "cx": 321.2,
               "cy": 238.7, "k": [0.03, -0.01, 0.002, -0.0003], "fov_deg": 190.0}


def custom_rig(tmp_path: Path, cameras: list[dict], rig_extra: str = "", extra: str = "") -> Path:
    """A config file with a custom rig of `cameras` (name, position_m, rotation_deg, lens dicts)."""
    path = tmp_path / "rig.yaml"
    cams = json.dumps(cameras)
    clips = "" if "clips:" in extra else "clips: {count: 2, frames: 3}\n"
    path.write_text(f"base: {DEFAULT}\n{clips}rig:\n  preset: custom\n  cameras: {cams}\n{rig_extra}{extra}")
    return path


def cam(name: str, lens: dict, position=(0.0, 0.0, 0.0), rotation=(0.0, 0.0, 0.0)) -> dict:
    return {"name": name, "position_m": list(position), "rotation_deg": list(rotation), "lens": lens}


def synth(*args: str) -> subprocess.CompletedProcess:
    env_cache = REPO / ".cache" / "egorig"
    import os

    env = dict(os.environ)
    env.setdefault("EGORIG_CACHE_DIR", str(env_cache))
    env.setdefault("WARP_CACHE_PATH", str(env_cache / "warp"))
    return subprocess.run([sys.executable, "-m", "synth.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600)


# ---- rig.resolution and lens types ----------------------------------------------------------------------------
def test_resolution_scales_the_longer_side_and_keeps_the_calibration_exact(tmp_path):
    path = custom_rig(tmp_path, [cam("a", FISHEYE_4_3)], "  resolution: 256\n")
    rig = config_rig(load_config(path), tmp_path)
    lens = rig.cameras[0].lens
    s = 256 / 640
    assert rig.image_size == (256, 192) and (lens.width, lens.height) == (256, 192)
    assert lens.fx == pytest.approx(190.0 * s, abs=1e-12) and lens.fy == pytest.approx(190.5 * s, abs=1e-12)
    assert lens.cx == pytest.approx((321.2 + 0.5) * s - 0.5, abs=1e-12)
    assert lens.cy == pytest.approx((238.7 + 0.5) * s - 0.5, abs=1e-12)
    native = config_rig(load_config(custom_rig(tmp_path, [cam("a", FISHEYE_4_3)], "  resolution: null\n")), tmp_path)
    assert native.image_size == (640, 480) and native.cameras[0].lens.fx == 190.0


def test_image_size_at_rounds_each_side_of_a_uniform_scale():
    assert image_size_at(752, 480, 256) == ((256, 163), 256 / 752)
    assert image_size_at(480, 640, 128) == ((96, 128), 0.2)
    assert image_size_at(872, 872, None) == ((872, 872), 1.0)


@pytest.mark.parametrize("lens", [
    {"type": "opencv_pinhole", "width": 752, "height": 480, "fx": 458.6, "fy": 457.3, "cx": 367.2, "cy": 248.4,
     "k": [-0.28, 0.07], "p": [0.0002, 0.00002]},
    {"type": "double_sphere", "width": 752, "height": 480, "fx": 156.9, "fy": 156.8, "cx": 376.0, "cy": 240.0,
     "xi": -0.17, "alpha": 0.59},
    {"type": "unified", "width": 752, "height": 480, "fx": 708.2, "fy": 707.6, "cx": 371.4, "cy": 245.9,
     "xi": 1.63, "k": [-0.213, 0.081], "p": [0.0007, -0.0002]},
    {"type": "eucm", "width": 752, "height": 480, "fx": 461.3, "fy": 460.8, "cx": 369.7, "cy": 241.2,
     "alpha": 0.632, "beta": 1.041},
    {"type": "fisheye624", "width": 752, "height": 480, "fx": 241.6, "fy": 241.6, "cx": 375.0, "cy": 240.0,
     "k": [-0.0257, 0.0981, -0.0669, 0.0104, 0.0034, -0.0009], "p": [0.0006, -0.0002],
     "s": [-0.0005, 0.0001, 0.0004, 0.0], "fov_deg": 150.0},
    {"type": "ocamcalib", "width": 752, "height": 480, "image_center": [376.2, 239.1],
     "poly_w2c": [240.1, 150.3, -10.2, 12.1, 3.2], "poly_c2w": [-160.0, 0.0, 0.0012],
     "affine": [1.001, 0.0004, -0.0003], "image_circle_radius_px": 440.0},
    {"type": "equidistant", "width": 752, "height": 480, "fov_deg": 190.0},
])
def test_every_lens_type_builds_at_the_rig_resolution(tmp_path, lens):
    rig = config_rig(load_config(custom_rig(tmp_path, [cam("a", lens)], "  resolution: 256\n")), tmp_path)
    c = rig.cameras[0]
    assert rig.image_size == (256, 163)
    assert c.lens.type == lens["type"]
    assert c.render == ("native" if lens["type"] == "equidistant" else "osl")
    # Round trip through dataset.json's lens dict.
    from synth.geometry.lenses import lens_from_dict

    assert lens_from_dict(json.loads(json.dumps(c.lens.to_dict()))) == c.lens


def test_inline_ocamcalib_applies_its_affine_part_unless_told_not_to(tmp_path):
    lens = {"type": "ocamcalib", "width": 752, "height": 480, "image_center": [376.2, 239.1],
            "poly_w2c": [240.1, 150.3, -10.2, 12.1, 3.2], "poly_c2w": [-160.0, 0.0, 0.0012],
            "affine": [1.05, 0.02, -0.02]}
    applied = config_rig(load_config(custom_rig(tmp_path, [cam("a", lens)])), tmp_path).cameras[0].lens
    plain = config_rig(load_config(custom_rig(tmp_path, [cam("a", {**lens, "apply_affine": False})])),
                       tmp_path).cameras[0].lens
    assert applied.apply_affine and not plain.apply_affine
    ray = np.array([0.5, 0.3, 0.8])
    assert np.abs(applied.project(ray)[0] - plain.project(ray)[0]).max() > 1.0


@pytest.mark.parametrize("lens, field, words", [
    ({**FISHEYE_4_3, "k": [0.1, 0.2]}, "rig.cameras[0].lens.k", "4"),
    ({**FISHEYE_4_3, "fx": -3.0}, "rig.cameras[0].lens.fx", "greater than 0"),
    ({"type": "double_sphere", "width": 640, "height": 480, "fx": 150, "fy": 150, "cx": 320, "cy": 240, "xi": 0.1,
      "alpha": 1.5}, "rig.cameras[0].lens.alpha", "1"),
    ({"type": "ocamcalib", "file": "builtin:ego4view/camera_front_left.json", "width": 10},
     "rig.cameras[0].lens", "either 'file' or the inline parameters"),
    ({"type": "ocamcalib", "width": 640, "height": 480}, "rig.cameras[0].lens", "missing"),
    ({"type": "equidistant", "width": 640}, "rig.cameras[0].lens", "both width and height"),
    ({**FISHEYE_4_3, "width": 0}, "rig.cameras[0].lens.width", "greater than 0"),
    ({"type": "ocamcalib", "width": 640, "height": 480, "image_center": [320, 240], "poly_w2c": [100.0, -50.0],
      "poly_c2w": [-100.0]}, "rig.cameras[0].lens", "rho must increase"),
])
def test_bad_lenses_are_refused_at_their_field(tmp_path, lens, field, words):
    path = custom_rig(tmp_path, [cam("a", lens)])
    proc = synth("validate", path)
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert field in line and words in line and str(path) in line


def test_cameras_of_different_aspect_ratios_are_refused_in_one_line(tmp_path):
    other = {**FISHEYE_4_3, "width": 752, "height": 480, "cx": 375.5}
    path = custom_rig(tmp_path, [cam("a", FISHEYE_4_3), cam("b", other, (0.1, 0, 0))])
    proc = synth("validate", path)
    assert proc.returncode == 2
    assert "rig.resolution" in proc.stderr and "a 256x192" in proc.stderr and "b 256x163" in proc.stderr


def test_a_lens_without_size_needs_a_resolution(tmp_path):
    path = custom_rig(tmp_path, [cam("a", {"type": "equidistant"})], "  resolution: null\n")
    with pytest.raises(ConfigError, match="rig.cameras.0..lens.*needs rig.resolution"):
        config_rig(load_config(path), tmp_path)


# ---- the label pipeline on a non-square rig, against OpenCV ------------------------------------------------------
def test_labels_of_a_non_square_rig_agree_with_opencv_and_heatmaps_keep_the_aspect(tmp_path):
    """`synth labels` on the 4-camera 640x480 headset example: every label's 2D point is OpenCV's cv2.fisheye
    projection of its camera-frame 3D joint with the calibration scaled by hand (pixel-centre convention), and the
    heatmaps are 64 x 48 with each peak on its joint's cell."""
    out = tmp_path / "labels"
    config = tmp_path / "small.yaml"
    config.write_text(f"base: {RIGS / 'headset_4cam.yaml'}\nclips: {{count: 1, frames: 3}}\n")
    proc = synth("labels", config, "--out", out, "--clips", "1")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["image"]["width"] == 256 and meta["image"]["height"] == 192
    assert (meta["heatmap"]["width"], meta["heatmap"]["height"], meta["heatmap"]["size"]) == (64, 48, 64)
    import yaml

    cams = yaml.safe_load((RIGS / "headset_4cam.yaml").read_text())["rig"]["cameras"]
    with np.load(out / "clips" / "clip_000000" / "labels.npz") as npz:
        j3 = npz["joints3d_camera"]
        j2 = npz["joints2d"]
        vis = npz["visibility"]
    with np.load(out / "clips" / "clip_000000" / "heatmaps.npz") as npz:
        hm = npz["heatmaps"]
    assert hm.shape[-2:] == (48, 64)
    s = 256 / 640
    checked = 0
    for v, c in enumerate(cams):
        lens = c["lens"]
        K = np.array([[lens["fx"] * s, 0, (lens["cx"] + 0.5) * s - 0.5],
                      [0, lens["fy"] * s, (lens["cy"] + 0.5) * s - 0.5], [0, 0, 1]])
        pts = j3[:, v].reshape(-1, 3)
        front = pts[:, 2] > 0.05 * np.linalg.norm(pts, axis=-1)  # cv2.fisheye needs z > 0
        ref, _ = cv2.fisheye.projectPoints(pts[front][:, None], np.zeros(3), np.zeros(3), K, np.array(lens["k"]))
        err = np.linalg.norm(j2[:, v].reshape(-1, 2)[front] - ref[:, 0], axis=-1)
        assert err.max() < LABEL_TOL_PX
        checked += int(front.sum())
    assert checked > 100
    # Heatmap peaks: cell = floor((u + 0.5) / stride + 0.5) per axis, stride 4 px both ways.
    f, v, j = np.argwhere(vis[:, :, 1:] == 2)[0]
    peak = np.unravel_index(np.argmax(hm[f, v, j]), hm.shape[-2:])
    u, w = j2[f, v, j + 1]
    assert peak == (int(np.floor((w + 0.5) / 4 + 0.5)), int(np.floor((u + 0.5) / 4 + 0.5)))


def test_the_ego4view_export_refuses_non_square_images(tmp_path):
    out = tmp_path / "labels"
    config = custom_rig(tmp_path, [cam("a", FISHEYE_4_3)], "  resolution: 64\n", "clips: {count: 1, frames: 1}\n")
    assert synth("labels", config, "--out", out, "--clips", "1").returncode == 0
    proc = synth("export", "ego4view", out, "--out", tmp_path / "e4v")
    assert proc.returncode == 2
    assert "64x48" in proc.stderr and "square images only" in proc.stderr and "native" in proc.stderr
    assert not (tmp_path / "e4v").exists()


# ---- mount anchors ------------------------------------------------------------------------------------------------
@pytest.fixture()
def head_box():
    """Head-frame points of a 16 x 20 x 24 cm box head (x right, y back, z down): face y = -0.08, back y = 0.12,
    top z = -0.14."""
    g = np.linspace(0.0, 1.0, 9)
    x, y, z = np.meshgrid(-0.08 + 0.16 * g, -0.08 + 0.20 * g, -0.14 + 0.24 * g, indexing="ij")
    return np.stack([x.ravel(), y.ravel(), z.ravel()], axis=-1)


@pytest.mark.parametrize("anchor, expected_point_head", [
    ("face", (0.0, -0.08 - 0.03, -0.07)),
    ("back_of_head", (0.0, 0.12 + 0.03, -0.07)),
    ("top_of_head", (0.0, None, -0.14 - 0.03)),
])
def test_mount_anchors_place_the_mount_point(tmp_path, head_box, anchor, expected_point_head):
    from synth.geometry.rig import fit_head_mount

    point = (0.01, 0.25, -0.02)
    path = custom_rig(tmp_path, [cam("a", FISHEYE_4_3), cam("b", FISHEYE_4_3, (0.0, 0.25, 0.0))],
                      f"  mount_anchor: {anchor}\n  mount_point_m: {list(point)}\n  front_clearance_m: 0.03\n"
                      f"  mount_height_m: 0.07\n")
    rig = build_rig(load_config(path).rig, tmp_path)
    mount = fit_head_mount(head_box, rig)
    placed = (mount.T_head_from_device @ np.array([*point, 1.0]))[:3]
    for got, want in zip(placed, expected_point_head):
        if want is not None:
            assert got == pytest.approx(want, abs=1e-12)
    assert mount.anchor == anchor
    # D-FH: the front-most camera (device y = 0) to the face.
    cam_y = mount.T_head_from_device[1, 3]
    assert mount.d_fh_m == pytest.approx(-0.08 - cam_y, abs=1e-12)


def test_the_face_anchor_with_the_device_origin_is_the_ego4view_mount():
    cfg = load_config(DEFAULT)
    rig = build_rig(cfg.rig, DEFAULT.parent)
    face, back = np.array([0.0, -0.1, -0.07]), np.array([0.0, 0.1, -0.07])
    mount = mount_from_points(face, back, rig, 0.06, 0.07)
    np.testing.assert_allclose(mount.T_head_from_device[:3, 3], [0.0, -0.16, -0.07], atol=1e-12)
    assert mount.d_fh_m == pytest.approx(0.06) and mount.d_rh_m == pytest.approx(-0.16 + 0.37 - 0.1)


def test_example_rigs_build_and_their_lenses_see_their_image(tmp_path):
    names = sorted(p.stem for p in RIGS.glob("*.yaml"))
    assert len(names) >= 3
    for name in names:
        rig = config_rig(load_config(RIGS / f"{name}.yaml"), RIGS)
        assert rig.image_size == (256, 192)
        for c in rig.cameras:
            assert c.render == "osl"
            centre = c.lens.unproject(np.array([127.5, 95.5]))
            assert math.degrees(math.acos(centre[2])) < 5.0  # the principal point near the image centre
