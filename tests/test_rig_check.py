"""`synth rig check`: rendered marker centroids against the labels' projection.

The measurement itself is checked without Blender first (exact expected images, a known shift recovered from a
synthetic render), then through real Cycles renders at 96-128 px: exact cameras read far below the threshold, a
principal point moved by 0.5 px reads 0.5 px and fails, the native fit reads within its residual, and the command
line writes its report and contact sheet and sets its exit code.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from synth.config import load_config
from synth.geometry.camera_models import OpenCVFisheyeLens
from synth.geometry.lenses import load_ocamcalib
from synth.geometry.markers import (MarkerField, cone_outline, coverage_centroid, expected_coverage, measure_markers,
                                    place_markers)
from synth.geometry.rig import config_rig
from synth.run.rig_check import CameraCheck, check_camera, check_lens

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "render_configs" / "default.yaml"
#: An exact camera must read below this (the check's own noise at 64 samples is ~0.02 px).
EXACT_MAX_PX = 0.1
#: The principal-point shift of the perturbed render, px, and how closely the check must measure it.
PERTURB_PX = 0.5
PERTURB_TOL_PX = 0.05


def _ego4view_lens(size: int = 128):
    return load_ocamcalib("builtin:ego4view/camera_front_left.json").scaled_to(size, size)


def _fisheye_lens():
    """The non-square opencv_fisheye camera of the custom rig below, scaled 640x480 -> 128x96."""
    lens = OpenCVFisheyeLens(width=640, height=480, fx=160.0, fy=160.0, cx=319.5, cy=239.5, k=(0.05, -0.01, 0.0, 0.0),
                         fov_rad=np.radians(190.0))
    return lens.scaled_to(128, 96, scale=0.2)


def _brute_force_coverage(lens, field: MarkerField, k: int, n: int = 64) -> np.ndarray:
    """Fraction of n x n sub-pixel ray centres inside marker k's cone: slow, independent reference."""
    u0, v0, u1, v1 = field.windows_px[k]
    off = (np.arange(n) + 0.5) / n - 0.5
    uu, vv = np.meshgrid(np.arange(u0, u1, dtype=float), np.arange(v0, v1, dtype=float))
    ou, ov = np.meshgrid(off, off)
    sub = np.stack([uu, vv], -1)[..., None, :] + np.stack([ou.ravel(), ov.ravel()], -1)
    rays = lens.unproject(sub)
    cos = rays @ field.directions_cam[k]
    return (cos > np.cos(field.angular_radius_rad[k])).mean(-1)


def _synthetic_render(lens, field: MarkerField) -> np.ndarray:
    """The exact coverage image of the field's spheres through `lens` (what an ideal renderer of `lens` draws),
    each computed over a window around where `lens` images it."""
    outline, _ = lens.project(cone_outline(field.directions_cam, field.angular_radius_rad))
    lo = np.clip(np.floor(outline.min(axis=1) + 0.5).astype(int) - 2, 0, None)
    hi = np.floor(outline.max(axis=1) + 0.5).astype(int) + 3
    hi = np.minimum(hi, [lens.width, lens.height])
    own = dataclasses.replace(field, windows_px=np.concatenate([lo, hi], axis=1))
    image = np.zeros((lens.height, lens.width))
    for k in range(len(field)):
        u0, v0, u1, v1 = own.windows_px[k]
        image[v0:v1, u0:u1] += expected_coverage(lens, own, k)
    return image


# ---------------------------------------------------------------------------------------------------- no Blender
@pytest.mark.parametrize("make_lens", [_ego4view_lens, _fisheye_lens], ids=["ocamcalib", "opencv_fisheye_4x3"])
def test_markers_are_whole_apart_and_spread_over_the_field(make_lens):
    lens = make_lens()
    field = place_markers(lens, 24)
    assert len(field) == 24
    w = field.windows_px
    assert (w[:, :2] >= 0).all() and (w[:, 2] <= lens.width).all() and (w[:, 3] <= lens.height).all()
    for i in range(len(w)):
        for j in range(i):
            assert w[i, 2] <= w[j, 0] or w[j, 2] <= w[i, 0] or w[i, 3] <= w[j, 1] or w[j, 3] <= w[i, 1]
    # Every outline is inside the valid field and its window.
    outline, valid = lens.project(cone_outline(field.directions_cam, field.angular_radius_rad))
    assert valid.all()
    assert (outline[..., 0] > w[:, None, 0]).all() and (outline[..., 0] < w[:, None, 2] - 1).all()
    # Spread: markers near the field's edge and on both sides of the principal point.
    alpha = np.arccos(field.directions_cam[:, 2])
    assert alpha.max() > 0.75 * lens.max_field_angle_rad
    centre, _ = lens.project(field.directions_cam)
    cx, cy = lens.project(np.array([0.0, 0.0, 1.0]))[0]
    for sign in (-1, 1):
        assert (sign * (centre[:, 0] - cx) > 0.25 * lens.width).any()
        assert (sign * (centre[:, 1] - cy) > 0.25 * lens.height).any()


def test_expected_coverage_centroid_matches_a_brute_force_reference():
    lens = _ego4view_lens()
    field = place_markers(lens, 8)
    for k in range(len(field)):
        cov = expected_coverage(lens, field, k)
        ref = _brute_force_coverage(lens, field, k)
        assert np.abs(cov - ref).max() < 0.01
        gap = np.linalg.norm(coverage_centroid(cov, field.windows_px[k]) - coverage_centroid(ref, field.windows_px[k]))
        assert gap < 0.002
        area = cov.sum() / (np.pi * 3.0 ** 2)  # DEFAULT_RADIUS_PX = 3: about that radius
        assert 0.7 < area < 1.4


def test_measurement_recovers_a_known_shift_of_a_synthetic_render():
    lens = _fisheye_lens()
    field = place_markers(lens, 16)
    exact = measure_markers(_synthetic_render(lens, field), lens, field)
    assert exact.found.all() and exact.max_error_px < 1e-9 and exact.stray_flux_fraction == 0.0
    moved = dataclasses.replace(lens, cx=lens.cx + 0.3)
    m = measure_markers(_synthetic_render(moved, field), lens, field)
    assert m.found.all()
    # A pixel-wise centroid of a shape a few pixels wide moves with the shape up to ~0.01 px (where its edges fall
    # on the pixel grid changes): far below what the check has to resolve.
    shift = m.rendered_px - m.expected_px
    np.testing.assert_allclose(shift[:, 0], 0.3, atol=0.01)
    np.testing.assert_allclose(shift[:, 1], 0.0, atol=0.01)
    # Far off: the markers leave their windows and are reported missing, not measured small.
    far = measure_markers(_synthetic_render(dataclasses.replace(lens, cx=lens.cx + 12.0), field), lens, field)
    assert not far.found.all() and far.stray_flux_fraction > 0.1


# ---------------------------------------------------------------------------------------------------- Cycles
#: Tests that render with Cycles (the tests above run without Blender).
needs_bpy = pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="needs the bpy wheel (Blender)")


def _rig(config: Path, **overrides):
    cfg = load_config(config, overrides or None)
    return config_rig(cfg, config.resolve().parent)


@needs_bpy
def test_ego4view_osl_cameras_match_their_labels():
    rig = _rig(DEFAULT_CONFIG, rig={"resolution": 128})
    for name in ("front_left", "back_right"):
        cam = rig.camera(name)
        assert cam.render == "osl" and cam.lens.type == "ocamcalib"
        check = check_camera(cam, samples=64, markers=16)
        m = check.result.measurement
        assert check.passed, check.failure
        assert m.found.all() and len(m.found) == 16
        assert m.max_error_px < EXACT_MAX_PX and m.mean_error_px < 0.3 * EXACT_MAX_PX
        assert 0.97 < m.flux_ratio.min() and m.flux_ratio.max() < 1.03


def _custom_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "rig.yaml"
    path.write_text(
        f"base: {DEFAULT_CONFIG}\n"
        "rig:\n"
        "  preset: custom\n"
        "  resolution: 128\n"
        "  cameras:\n"
        "    - {name: cam0, position_m: [0.05, 0.0, 0.02], rotation_deg: [20, -10, 30], lens: {type: opencv_fisheye, "
        "width: 640, height: 480, fx: 160, fy: 160, cx: 319.5, cy: 239.5, k: [0.05, -0.01, 0.0, 0.0], fov_deg: 190}}\n"
        + extra
    )
    return path


@needs_bpy
def test_non_square_opencv_fisheye_camera_matches_through_osl(tmp_path):
    rig = _rig(_custom_config(tmp_path))
    cam = rig.camera("cam0")
    assert (cam.render, cam.lens.type, cam.lens.width, cam.lens.height) == ("osl", "opencv_fisheye", 128, 96)
    check = check_camera(cam, samples=64, markers=16)
    assert check.passed, check.failure
    assert check.result.measurement.max_error_px < EXACT_MAX_PX


@needs_bpy
def test_a_render_half_a_pixel_off_its_labels_is_measured_and_fails():
    labels = _ego4view_lens(96)
    rendered = dataclasses.replace(labels, image_center=(labels.image_center[0] + PERTURB_PX, labels.image_center[1]))
    result = check_lens(rendered, "osl", labels, markers=12, samples=64)
    m = result.measurement
    assert m.found.all()
    np.testing.assert_allclose(m.error_px, PERTURB_PX, atol=PERTURB_TOL_PX)
    shift = m.rendered_px - m.expected_px
    assert (shift[:, 0] > 0).all() and np.abs(shift[:, 1]).max() < PERTURB_TOL_PX
    check = CameraCheck(name="perturbed", render="osl", lens=labels, fit_residual_px=0.0, threshold_px=0.25,
                        result=result)
    assert not check.passed and "0.25" in check.failure


@needs_bpy
def test_native_path_reads_within_the_fit_residual():
    rig = _rig(DEFAULT_CONFIG, rig={"resolution": 96}, render={"camera": "native"})
    cam = rig.camera("front_left")
    assert cam.render == "native" and cam.lens.type == "polynomial" and cam.calibration is not None
    check = check_camera(cam, samples=64, markers=12)
    assert check.passed, check.failure
    # The labels use the fit, which Cycles renders exactly ...
    assert check.result.measurement.max_error_px < EXACT_MAX_PX
    # ... and the same render against the calibration is off by no more than the fit's residual.
    calib = check.result.calibration_measurement
    assert calib is not None and calib.found.all()
    assert calib.max_error_px <= cam.fit_residual_px + 0.05


@needs_bpy
def test_cli_reports_writes_the_sheet_and_sets_the_exit_code(tmp_path, capsys):
    from synth.cli import main

    config = _custom_config(tmp_path)
    out = tmp_path / "check"
    argv = ["rig", "check", str(config), "--json", "--out", str(out), "--samples", "32", "--markers", "8"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is True and report["failing_cameras"] == []
    assert report["render_camera"] == "osl" and report["threshold_px"] == 0.25
    (cam,) = report["cameras"]
    assert (cam["name"], cam["render"], cam["lens_type"], cam["width"], cam["height"]) == (
        "cam0", "osl", "opencv_fisheye", 128, 96)
    assert cam["markers"] == 8 and len(cam["marker_list"]) == 8 and cam["passed"] is True
    assert 0.0 <= cam["p99_error_px"] <= cam["max_error_px"] < EXACT_MAX_PX
    assert Path(report["contact_sheet"]).is_file() and (out / "contact_sheet.png").stat().st_size > 1000
    assert json.loads((out / "report.json").read_text()) == report

    # A threshold no render can meet: exit 1 and a one-line summary naming the camera.
    argv = ["rig", "check", str(config), "--out", str(out), "--samples", "16", "--markers", "4",
            "--resolution", "64", "--threshold-px", "0"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "64x48" in captured.out
    (line,) = captured.err.strip().splitlines()
    assert "cam0" in line and "1 of 1" in line


def test_cli_refuses_bad_input_in_one_line(tmp_path, capsys):
    from synth.cli import main

    assert main(["rig", "check", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err
    config = _custom_config(tmp_path)
    assert main(["rig", "check", str(config), "--camera", "nope"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "nope" in line and "cam0" in line
