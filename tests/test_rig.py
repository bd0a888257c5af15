"""Rig construction from config, the head-mount fit, and the `synth rig` / `synth lens` commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synth.config import load_config
from synth.constants import VIEWS
from synth.errors import ConfigError
from synth.geometry.rig import build_rig, fit_head_mount, head_extent_points, mount_from_points
from synth.geometry.transforms import make_T

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "render_configs" / "default.yaml"


def rig_for(**overrides):
    cfg = load_config(DEFAULT, overrides={"rig": overrides} if overrides else None)
    return build_rig(cfg.rig, DEFAULT.parent)


def positions(rig):
    return {c.name: c.position_device_m for c in rig.cameras}


def test_default_rig_geometry():
    rig = rig_for()
    assert rig.views == VIEWS
    p = positions(rig)
    # Rear pair 0.37 m behind the front pair (device +y is backward), baselines 0.12 m, all in one plane.
    assert p["back_left"][1] - p["front_left"][1] == pytest.approx(0.37)
    assert p["back_right"][1] - p["front_right"][1] == pytest.approx(0.37)
    assert p["front_right"][0] - p["front_left"][0] == pytest.approx(0.12)
    assert p["back_right"][0] - p["back_left"][0] == pytest.approx(0.12)
    # Device origin is the midpoint of the two front cameras; left cameras on the wearer's left (-x).
    np.testing.assert_allclose((p["front_left"] + p["front_right"]) / 2, 0.0, atol=1e-12)
    assert p["front_left"][0] < 0 and p["back_left"][0] < 0
    for cam in rig.cameras:
        # Every optical axis points down (device +z); rotations are proper.
        np.testing.assert_allclose(cam.optical_axis_device, [0, 0, 1], atol=1e-12)
        R = cam.T_device_from_camera[:3, :3]
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(R) == pytest.approx(1.0)
    # Back cameras are rotated 180 degrees about the optical axis relative to the front ones (Ego4View).
    Rf = rig.camera("front_left").T_device_from_camera[:3, :3]
    Rb = rig.camera("back_left").T_device_from_camera[:3, :3]
    np.testing.assert_allclose(Rf.T @ Rb, np.diag([-1.0, -1.0, 1.0]), atol=1e-12)


def test_changing_dfr_moves_only_the_rear_pair():
    a, b = rig_for(front_to_rear_m=0.37), rig_for(front_to_rear_m=0.26)
    for ca, cb in zip(a.cameras, b.cameras):
        if ca.name.startswith("front"):
            np.testing.assert_array_equal(ca.T_device_from_camera, cb.T_device_from_camera)
        else:
            np.testing.assert_array_equal(ca.T_device_from_camera[:3, :3], cb.T_device_from_camera[:3, :3])
            assert cb.position_device_m[1] == pytest.approx(0.26)
            assert cb.position_device_m[0] == pytest.approx(ca.position_device_m[0])


def test_pitch_tilts_towards_the_body_and_yaw_outwards():
    rig = rig_for(front_pitch_deg=20.0, rear_pitch_deg=30.0, yaw_deg=10.0)
    axis = {c.name: c.optical_axis_device for c in rig.cameras}
    # The body is behind the front cameras (+y) and in front of the rear cameras (-y).
    assert np.degrees(np.arcsin(axis["front_left"][1])) == pytest.approx(20.0, abs=1e-6 + 0.5)
    assert axis["back_left"][1] < 0 and axis["back_right"][1] < 0
    # Outward: left cameras lean to -x, right cameras to +x.
    assert axis["front_left"][0] < 0 < axis["front_right"][0]
    assert axis["back_left"][0] < 0 < axis["back_right"][0]
    for a in axis.values():
        assert a[2] > 0.8  # still mostly downward


def test_lenses_follow_resolution_and_report_fit_residual():
    rig = rig_for(resolution=128)
    for cam in rig.cameras:
        assert (cam.lens.width, cam.lens.height) == (128, 128)
        assert cam.calibration is not None and cam.calibration.type == "ocamcalib"
        assert 0.0 < cam.fit_residual_px < 0.5
        # The render lens reproduces the calibration within the reported residual.
        rays = np.array([[0.1, 0.2, 1.0], [-0.5, 0.3, 0.4], [0.9, -0.2, 0.2]])
        uv_cal, ok_cal = cam.calibration.project(rays)
        uv_fit, ok_fit = cam.lens.project(rays)
        assert ok_cal.all() and ok_fit.all()
        assert np.abs(uv_cal - uv_fit).max() <= cam.fit_residual_px + 1e-9


def test_custom_rig_explicit_poses():
    cfg = load_config(
        DEFAULT,
        overrides={
            "rig": {
                "preset": "custom",
                "cameras": [
                    {"name": "top", "position_m": [0.0, 0.1, -0.05], "lens": {"type": "equidistant", "fov_deg": 180}},
                    {"name": "side", "position_m": [0.1, 0.1, 0.0], "rotation_deg": [0.0, 90.0, 0.0],
                     "lens": {"type": "equidistant", "fov_deg": 190}},
                ],
            }
        },
    )
    rig = build_rig(cfg.rig)
    assert rig.views == ("top", "side")
    np.testing.assert_allclose(rig.camera("top").position_device_m, [0.0, 0.1, -0.05])
    # A 90 degree rotation about y turns the optical axis from +z to +x.
    np.testing.assert_allclose(rig.camera("side").optical_axis_device, [1.0, 0.0, 0.0], atol=1e-12)
    assert rig.camera("side").lens.max_field_angle_rad == pytest.approx(np.radians(95.0))


def ellipsoid_head(depth=0.20, width=0.155, height=0.23, centre=(0.0, -0.02, -0.04), n=4000, seed=0):
    """Surface points of an ellipsoid head in the head frame (x right, y back, z down), metres."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.asarray(centre) + d * np.array([width / 2, depth / 2, height / 2])


def test_head_mount_places_front_cameras_ahead_of_the_face():
    rig = rig_for(front_to_rear_m=0.37, front_clearance_m=0.06, mount_height_m=0.04)
    head = ellipsoid_head()
    mount = fit_head_mount(head, rig)
    front, back = head_extent_points(head, 0.04)
    # The device origin (front cameras' midpoint) sits 6 cm ahead (-y) of the face, at the mount height.
    origin = mount.T_head_from_device[:3, 3]
    assert origin[1] == pytest.approx(front[1] - 0.06)
    assert origin[2] == pytest.approx(-0.04)
    np.testing.assert_array_equal(mount.T_head_from_device[:3, :3], np.eye(3))
    # D-RH = rear camera y - back of head y; for this head: D-FR - clearance - depth at that height.
    assert mount.d_rh_m == pytest.approx(0.37 + origin[1] - back[1])
    assert mount.d_fh_m == pytest.approx(0.06)
    depth = back[1] - front[1]
    assert 0.15 < depth <= 0.20
    assert mount.d_rh_m == pytest.approx(0.37 - 0.06 - depth)


def test_mount_follows_the_head():
    rig = rig_for()
    mount = mount_from_points(np.array([0, -0.1, -0.07]), np.array([0, 0.1, -0.07]), rig, 0.06, 0.07)
    # A head turned 90 degrees to its left about the vertical, standing at (1, 2, 1.6) m.
    R_world_from_head = np.array([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]]) @ np.diag([1, 1, 1.0])
    T_world_from_head = make_T(R_world_from_head, np.array([1.0, 2.0, 1.6]))
    T_world_from_device = T_world_from_head @ mount.T_head_from_device
    origin_world = T_world_from_device[:3, 3]
    np.testing.assert_allclose(origin_world, T_world_from_head[:3, :3] @ np.array([0, -0.16, -0.07]) + [1, 2, 1.6])
    # The rear cameras are 0.37 m along the head's backward axis from the front ones.
    rear_world = T_world_from_device @ rig.camera("back_left").T_device_from_camera
    front_world = T_world_from_device @ rig.camera("front_left").T_device_from_camera
    np.testing.assert_allclose(rear_world[:3, 3] - front_world[:3, 3], R_world_from_head[:, 1] * 0.37, atol=1e-12)


def test_cli_rig_plot(tmp_path):
    out = tmp_path / "rig.png"
    proc = subprocess.run([sys.executable, "-m", "synth.cli", "rig", str(DEFAULT), "--plot", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "back_right" in proc.stdout
    from PIL import Image

    img = np.asarray(Image.open(out).convert("RGB"), dtype=np.float32)
    assert img.shape[0] > 400 and img.shape[1] > 800
    assert img.std() > 10  # not a blank canvas


def test_cli_lens_json(tmp_path):
    # The default (render.camera auto on the CPU): OSL cameras of the calibrations themselves, no fit.
    proc = subprocess.run([sys.executable, "-m", "synth.cli", "lens", str(DEFAULT), "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["camera"] for r in rows] == list(VIEWS)
    for r in rows:
        assert r["render"] == "osl" and r["cycles"] is None and r["max_fit_residual_px"] == 0.0
        assert r["lens"]["type"] == "ocamcalib" and r["lens"]["width"] == 256
    native = tmp_path / "native.yaml"
    native.write_text(f"base: {DEFAULT}\nrender: {{camera: native}}\n")
    proc = subprocess.run([sys.executable, "-m", "synth.cli", "lens", str(native), "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for r in json.loads(proc.stdout):
        assert r["render"] == "native"
        assert r["cycles"]["panorama_type"] == "FISHEYE_LENS_POLYNOMIAL"
        assert r["cycles"]["resolution_x"] == 256
        assert 0.0 < r["max_fit_residual_px"] < 0.5
    proc = subprocess.run(
        [sys.executable, "-m", "synth.cli", "lens", "builtin:ego4view/camera_back_left.json", "--json"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    assert row["cycles"]["resolution_x"] == 872 and row["max_fit_residual_px"] < 0.5


def test_render_camera_decides_which_lens_the_labels_use():
    from synth.config import camera_path
    from synth.geometry.rig import config_rig

    osl = load_config(DEFAULT, overrides={"rig": {"resolution": 64}})
    assert camera_path(osl.render) == "osl"
    for cam in config_rig(osl, DEFAULT.parent).cameras:  # the calibration itself: exact
        assert cam.render == "osl" and cam.lens is cam.calibration and cam.fit_residual_px == 0.0
        assert cam.cycles_settings() is None
    native = load_config(DEFAULT, overrides={"rig": {"resolution": 64}, "render": {"camera": "native"}})
    for cam in config_rig(native, DEFAULT.parent).cameras:  # Cycles' polynomial fitted to it
        assert cam.render == "native" and cam.lens.type == "polynomial" and cam.calibration.type == "ocamcalib"
        assert 0.0 < cam.fit_residual_px < 0.1
    assert camera_path(load_config(DEFAULT, overrides={"render": {"device": "cuda"}}).render) == "native"
    with pytest.raises(ConfigError, match="render: camera 'osl' runs on CPU and OptiX only"):
        load_config(DEFAULT, overrides={"render": {"device": "cuda", "camera": "osl"}})
