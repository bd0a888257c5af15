"""Tests for synth.geometry.lenses against independent re-derivations (Cycles kernel maths, OCamCalib, OpenCV)."""

import dataclasses
import importlib.resources
import json
import math

import cv2
import numpy as np
import pytest
import torch

from synth.constants import VIEWS
from synth.errors import AssetError
from synth.geometry.lenses import (
    CyclesCamera,
    EquidistantLens,
    EquisolidLens,
    OCamCalibLens,
    PolynomialLens,
    lens_from_dict,
    load_ocamcalib,
)

EGO4VIEW_SIZE = 872
SMALL_SIZE = 256
FOV_185 = math.radians(185.0)
POLY_K = (0.0, -1.0 / 1.8, 0.0, -0.004, 5e-4)  # the polynomial measured against Cycles renders (research notes)


def calib_json(view: str) -> dict:
    """The raw Ego4View JSON, read straight from the package data (independently of the loader)."""
    resource = importlib.resources.files("synth").joinpath("data", "calib", "ego4view", f"camera_{view}.json")
    return json.loads(resource.read_text())


def builtin(view: str) -> str:
    return f"builtin:ego4view/camera_{view}.json"


def cycles_lenses() -> dict:
    return {
        "equidistant_square": EquidistantLens(SMALL_SIZE, SMALL_SIZE, FOV_185),
        "equidistant_shift_320x256": EquidistantLens(320, 256, FOV_185, shift_x=-0.04, shift_y=0.06),
        "equisolid_square": EquisolidLens(SMALL_SIZE, SMALL_SIZE, FOV_185, focal_mm=2.7, sensor_width_mm=8.0),
        "equisolid_vertical_300x260": EquisolidLens(300, 260, math.radians(170.0), focal_mm=2.7, sensor_width_mm=8.0,
                                                    sensor_height_mm=7.0, sensor_fit="VERTICAL", shift_x=0.03),
        "polynomial_872": PolynomialLens(EGO4VIEW_SIZE, EGO4VIEW_SIZE, FOV_185, POLY_K, sensor_width_mm=6.0),
        "polynomial_shift_320x256": PolynomialLens(320, 256, FOV_185, POLY_K, sensor_width_mm=6.0,
                                                   shift_x=0.05, shift_y=-0.03),
        "polynomial_horizontal_256x320": PolynomialLens(256, 320, FOV_185, POLY_K, sensor_width_mm=6.0,
                                                        sensor_fit="HORIZONTAL"),
    }


def ocamcalib_lenses() -> dict:
    out = {}
    for view in VIEWS:
        for size in (EGO4VIEW_SIZE, SMALL_SIZE):
            lens = load_ocamcalib(builtin(view), size, size)
            out[f"ocamcalib_{view}_{size}"] = lens
            out[f"ocamcalib_{view}_{size}_render"] = lens.render_lens()
    return out


ALL_LENSES = {**cycles_lenses(), **ocamcalib_lenses()}


# ---- independent re-derivations --------------------------------------------------------------------------------------
def ocamcalib_world2cam(d: dict, points: np.ndarray) -> np.ndarray:
    """The published world2cam with the Ego4View convention, written with plain loops from the JSON fields."""
    w2c = d["polynomialW2C"]
    cx, cy = d["image_center"]
    out = np.zeros((len(points), 2))
    for n, (x, y, z) in enumerate(points):
        r = math.sqrt(x * x + y * y)
        theta = math.atan(-z / r)
        rho = 0.0
        for i, c in enumerate(w2c):
            rho += c * theta**i
        out[n] = (x / r * rho + cx, y / r * rho + cy)
    return out


def cycles_sensor(width, height, sensor_w, sensor_h, fit):
    """Cycles' panorama sensor size (blender/camera.cpp), re-derived."""
    if fit == "AUTO":
        return (sensor_w, sensor_w * height / width) if width > height else (sensor_w * width / height, sensor_w)
    if fit == "HORIZONTAL":
        return sensor_w, sensor_w * height / width
    return sensor_h * width / height, sensor_h


def cycles_pixel(lens, p_cv: np.ndarray) -> np.ndarray:
    """Research notes section 2.2, point by point: Blender-camera direction -> Cycles (u, v) -> OpenCV pixel."""
    out = np.zeros((len(p_cv), 2))
    for n, (x, y, z) in enumerate(p_cv):
        X, Y, Z = x, -y, -z  # OpenCV camera -> Blender camera
        theta = math.atan2(math.hypot(X, Y), -Z)
        phi = math.atan2(Y, X)
        if isinstance(lens, EquidistantLens):
            u = 0.5 + theta / lens.fov_rad * math.cos(phi)
            v = 0.5 + theta / lens.fov_rad * math.sin(phi)
        else:
            sw, sh = cycles_sensor(lens.width, lens.height, lens.sensor_width_mm, lens.sensor_height_mm,
                                   lens.sensor_fit)
            if isinstance(lens, EquisolidLens):
                r = 2.0 * lens.focal_mm * math.sin(theta / 2.0)
            else:  # theta = -(k0 + k1 r + ... + k4 r^4), Newton from Cycles' start value
                k = lens.k
                r = (-theta - k[0]) / k[1]
                for _ in range(50):
                    f = -(k[0] + k[1] * r + k[2] * r**2 + k[3] * r**3 + k[4] * r**4) - theta
                    df = -(k[1] + 2 * k[2] * r + 3 * k[3] * r**2 + 4 * k[4] * r**3)
                    r -= f / df
            u = 0.5 + r * math.cos(phi) / sw
            v = 0.5 + r * math.sin(phi) / sh
        u -= lens.shift_x
        v -= lens.shift_y
        col, row = u * lens.width, (1.0 - v) * lens.height
        out[n] = (col - 0.5, row - 0.5)
    return out


def directions(rng, n, max_angle_rad):
    """n unit rays (OpenCV camera) with field angles uniform in [0, max_angle_rad]."""
    alpha = rng.uniform(0.0, max_angle_rad, n)
    phi = rng.uniform(-math.pi, math.pi, n)
    return np.stack([np.sin(alpha) * np.cos(phi), np.sin(alpha) * np.sin(phi), np.cos(alpha)], axis=-1)


def pixels_inside_circle(lens, step_px):
    """A dense pixel grid (not aligned with the principal point) restricted to the imaged field."""
    us = np.arange(-0.5, lens.width - 0.5, step_px) + 0.137 * step_px
    vs = np.arange(-0.5, lens.height - 0.5, step_px) + 0.291 * step_px
    uv = np.stack(np.meshgrid(us, vs, indexing="xy"), axis=-1).reshape(-1, 2)
    rays = lens.unproject(uv)
    alpha = np.arccos(np.clip(rays[:, 2], -1.0, 1.0))
    return uv[alpha <= lens.max_field_angle_rad - 1e-9]


# ---- round trips, numpy / torch ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(ALL_LENSES))
def test_project_unproject_round_trip(name):
    lens = ALL_LENSES[name]
    uv = pixels_inside_circle(lens, step_px=max(lens.width, lens.height) / 150.0)
    if isinstance(lens, OCamCalibLens):
        # Pixels within |rho(axis)| (< 0.01 px) of the centre are not reached by the published model (module docs).
        rho_axis = abs(sum(c * (-math.pi / 2) ** i for i, c in enumerate(lens.poly_w2c)))
        uv = uv[np.linalg.norm(uv - np.array(lens.image_center), axis=-1) > 2.0 * rho_axis]
    assert len(uv) > 0.5 * 150**2 * math.pi / 4 * min(lens.width, lens.height) / max(lens.width, lens.height)
    rays = lens.unproject(uv)
    np.testing.assert_allclose(np.linalg.norm(rays, axis=-1), 1.0, atol=1e-12)
    uv_back, valid = lens.project(rays * 3.7)  # any length unit
    assert valid.all()
    np.testing.assert_allclose(uv_back, uv, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", sorted(ALL_LENSES))
def test_numpy_and_torch_agree(name):
    lens = ALL_LENSES[name]
    rng = np.random.default_rng(5)
    points = directions(rng, 300, lens.max_field_angle_rad) * rng.uniform(0.1, 10.0, (300, 1))
    uv_np, valid_np = lens.project(points)
    uv_t, valid_t = lens.project(torch.tensor(points))
    assert uv_t.dtype == torch.float64 and valid_t.dtype == torch.bool
    np.testing.assert_allclose(uv_t.numpy(), uv_np, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(valid_t.numpy(), valid_np)
    rays_np = lens.unproject(uv_np)
    rays_t = lens.unproject(torch.tensor(uv_np))
    np.testing.assert_allclose(rays_t.numpy(), rays_np, rtol=0, atol=1e-9)
    # float32 stays float32 and is close.
    uv_32, _ = lens.project(torch.tensor(points, dtype=torch.float32))
    assert uv_32.dtype == torch.float32
    np.testing.assert_allclose(uv_32.numpy(), uv_np, rtol=0, atol=1e-2)
    uv_np32, _ = lens.project(points.astype(np.float32))
    assert uv_np32.dtype == np.float32


@pytest.mark.parametrize("name", ["equidistant_shift_320x256", "equisolid_vertical_300x260",
                                  "polynomial_shift_320x256", "ocamcalib_back_right_256",
                                  "ocamcalib_front_left_872_render"])
def test_torch_path_is_differentiable(name):
    lens = ALL_LENSES[name]
    rng = np.random.default_rng(6)
    points = torch.tensor(directions(rng, 4, lens.max_field_angle_rad) * 2.0, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: lens.project(p)[0], (points,))
    uv = torch.tensor(lens.project(points.detach().numpy())[0], requires_grad=True)
    assert torch.autograd.gradcheck(lambda q: lens.unproject(q), (uv,))
    uv_out, _ = lens.project(points)
    uv_out.sum().backward()
    assert torch.isfinite(points.grad).all() and points.grad.abs().sum() > 0


# ---- OCamCalib -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("view", VIEWS)
def test_ocamcalib_matches_published_world2cam(view):
    d = calib_json(view)
    lens = load_ocamcalib(builtin(view))
    assert (lens.width, lens.height) == tuple(d["size"])
    rng = np.random.default_rng(7)
    points = directions(rng, 500, lens.max_field_angle_rad) * rng.uniform(0.05, 5.0, (500, 1))
    uv, valid = lens.project(points)
    assert valid.all()
    np.testing.assert_allclose(uv, ocamcalib_world2cam(d, points), rtol=0, atol=1e-3)
    # Scaled to 256 px: the same formula in the pixel-centre convention u' = (u + 0.5) s - 0.5.
    s = SMALL_SIZE / EGO4VIEW_SIZE
    small = lens.scaled_to(SMALL_SIZE, SMALL_SIZE)
    uv_small, valid_small = small.project(points)
    assert valid_small.all()
    np.testing.assert_allclose(uv_small, (ocamcalib_world2cam(d, points) + 0.5) * s - 0.5, rtol=0, atol=1e-6)
    assert small.max_field_angle_rad == pytest.approx(lens.max_field_angle_rad, abs=1e-12)


@pytest.mark.parametrize("view", VIEWS)
def test_ocamcalib_field_angle_is_the_image_circle(view):
    d = calib_json(view)
    lens = load_ocamcalib(builtin(view))
    alpha = lens.max_field_angle_rad
    assert math.radians(80.0) < alpha < math.radians(92.5)
    rho = sum(c * (alpha - math.pi / 2) ** i for i, c in enumerate(d["polynomialW2C"]))
    assert rho == pytest.approx(d["imageCircleRadius"], abs=1e-6)
    # A smaller nominal field of view caps it.
    narrow = load_ocamcalib(builtin(view), fov_rad=math.radians(120.0))
    assert narrow.max_field_angle_rad == pytest.approx(math.radians(60.0))


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("size", [EGO4VIEW_SIZE, SMALL_SIZE])
def test_cycles_polynomial_fit_of_ego4view(view, size):
    d = calib_json(view)
    lens = load_ocamcalib(builtin(view), size, size)
    render = lens.render_lens()
    assert isinstance(render, PolynomialLens) and (render.width, render.height) == (size, size)
    assert render.k[0] == 0.0 and render.sensor_width_mm >= 1.0
    assert render.max_field_angle_rad == pytest.approx(lens.max_field_angle_rad, abs=1e-6)
    # Residual measured here, on our own sampling, against the independent world2cam (at 872 px, then scaled).
    alpha = np.linspace(1e-4, lens.max_field_angle_rad * (1 - 1e-7), 1500)[:, None]
    phi = np.linspace(0.0, 2 * math.pi, 24, endpoint=False)[None, :] + 0.1
    alpha, phi = np.broadcast_arrays(alpha, phi)
    rays = np.stack([np.sin(alpha) * np.cos(phi), np.sin(alpha) * np.sin(phi), np.cos(alpha)], -1).reshape(-1, 3)
    s = size / EGO4VIEW_SIZE
    expected = (ocamcalib_world2cam(d, rays) + 0.5) * s - 0.5
    uv, valid = render.project(rays)
    assert valid.all()
    residual = np.linalg.norm(uv - expected, axis=-1).max()
    assert residual < 0.5 * s
    assert lens.max_fit_residual_px < 0.5 * s
    assert lens.max_fit_residual_px == pytest.approx(residual, abs=0.01 * s)
    settings = lens.cycles_settings()
    assert settings.panorama_type == "FISHEYE_LENS_POLYNOMIAL"
    assert settings.max_fit_residual_px == lens.max_fit_residual_px
    assert settings.fisheye_fov_rad == pytest.approx(2 * lens.max_field_angle_rad, abs=1e-6)
    assert (settings.resolution_x, settings.resolution_y) == (size, size)
    # Every value Blender stores as float32 is exactly representable, so the label lens is what Cycles holds.
    for value in (*settings.polynomial_k, settings.shift_x, settings.shift_y, settings.fisheye_fov_rad):
        assert float(np.float32(value)) == value


def test_ocamcalib_affine_is_not_applied():
    lens = load_ocamcalib(builtin("front_left"))
    skewed = OCamCalibLens(lens.width, lens.height, lens.image_center, lens.poly_w2c, lens.poly_c2w,
                           affine=(1.2, 0.1, -0.1), image_circle_radius_px=lens.image_circle_radius_px)
    points = directions(np.random.default_rng(8), 50, lens.max_field_angle_rad)
    np.testing.assert_array_equal(skewed.project(points)[0], lens.project(points)[0])


def _ocamcalib_world2cam(point, ss_inv, xc_row, yc_col, c, d, e):
    """OCamCalib's world2cam as its toolbox defines it: 3D axes (x_o, y_o, z_o) with x_o along image rows, theta =
    atan(z_o / |(x_o, y_o)|), point2D = (row, column). Our OpenCV camera frame is (x_o, y_o, z_o) = (y, x, -z)."""
    x_o, y_o, z_o = point[1], point[0], -point[2]
    norm = math.hypot(x_o, y_o)
    theta = math.atan(z_o / norm)
    rho = sum(coef * theta**i for i, coef in enumerate(ss_inv))
    xp, yp = x_o / norm * rho, y_o / norm * rho
    return xp * c + yp * d + xc_row, xp * e + yp + yc_col


def test_ocamcalib_with_its_affine_part_applied_is_ocamcalibs_world2cam():
    base = load_ocamcalib(builtin("front_left"))
    c, d, e = 1.012, 0.0041, -0.0063
    lens = dataclasses.replace(base, affine=(c, d, e), apply_affine=True)
    cx, cy = base.image_center
    points = directions(np.random.default_rng(18), 200, base.max_field_angle_rad * 0.99)
    uv, valid = lens.project(points)
    assert valid.all()
    for p, (u, v) in zip(points, uv):
        row, col = _ocamcalib_world2cam(p, base.poly_w2c, cy, cx, c, d, e)
        assert abs(u - col) < 1e-9 and abs(v - row) < 1e-9
    rays = lens.unproject(uv)
    np.testing.assert_allclose(rays, points / np.linalg.norm(points, axis=-1, keepdims=True), atol=1e-9)
    half = lens.scaled_to(436, 436)
    np.testing.assert_allclose(half.project(points)[0], (uv + 0.5) * 0.5 - 0.5, atol=1e-9)
    assert lens_from_dict(lens.to_dict()) == lens


# ---- Cycles types against independent maths ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(cycles_lenses()))
def test_cycles_mapping_matches_rederivation(name):
    lens = ALL_LENSES[name]
    rng = np.random.default_rng(9)
    points = directions(rng, 200, lens.max_field_angle_rad) * rng.uniform(0.2, 4.0, (200, 1))
    uv, valid = lens.project(points)
    assert valid.all()
    np.testing.assert_allclose(uv, cycles_pixel(lens, points), rtol=0, atol=1e-9)


def test_equidistant_matches_opencv_fisheye():
    size, fov = SMALL_SIZE, FOV_185
    lens = EquidistantLens(size, size, fov)
    focal_px = size / fov  # r_px = focal * theta reaches size / 2 at theta = fov / 2
    K = np.array([[focal_px, 0.0, size / 2 - 0.5], [0.0, focal_px, size / 2 - 0.5], [0.0, 0.0, 1.0]])
    rng = np.random.default_rng(10)
    points = directions(rng, 300, math.radians(89.0)) * rng.uniform(0.5, 3.0, (300, 1))
    expected, _ = cv2.fisheye.projectPoints(points.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, np.zeros(4))
    uv, valid = lens.project(points)
    assert valid.all()
    np.testing.assert_allclose(uv, expected.reshape(-1, 2), rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["equidistant_square", "equidistant_shift_320x256", "polynomial_872",
                                  "equisolid_square"])
def test_cycles_types_scale_like_pixel_centres(name):
    lens = ALL_LENSES[name]
    s = 0.5
    small = lens.scaled_to(round(lens.width * s), round(lens.height * s))
    points = directions(np.random.default_rng(11), 100, lens.max_field_angle_rad)
    np.testing.assert_allclose(small.project(points)[0], (lens.project(points)[0] + 0.5) * s - 0.5, atol=1e-6)
    assert small.max_field_angle_rad == lens.max_field_angle_rad


# ---- validity and image bounds ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["equidistant_square", "equisolid_vertical_300x260", "polynomial_872",
                                  "ocamcalib_back_left_256", "ocamcalib_front_right_872_render"])
def test_valid_is_the_field_angle(name):
    lens = ALL_LENSES[name]
    limit = lens.max_field_angle_rad
    alpha = np.array([0.0, 0.5 * limit, limit - 1e-6, limit + 1e-6, limit + 0.3])
    points = np.stack([np.sin(alpha), np.zeros_like(alpha), np.cos(alpha)], axis=-1)
    _, valid = lens.project(points)
    np.testing.assert_array_equal(valid, [True, True, True, False, False])
    _, valid_origin = lens.project(np.zeros((1, 3)))
    assert not valid_origin[0]
    _, valid_behind = lens.project(np.array([[0.0, 0.0, -1.0]]))
    assert not valid_behind[0]


def test_in_image_borders():
    lens = EquidistantLens(320, 256, FOV_185)
    eps = 1e-9
    uv = np.array([[-0.5, -0.5], [-0.5 - eps, 0.0], [0.0, -0.5 - eps], [319.5 - eps, 255.5 - eps], [319.5, 0.0],
                   [0.0, 255.5], [160.0, 128.0]])
    np.testing.assert_array_equal(lens.in_image(uv), [True, False, False, True, False, False, True])
    assert lens.in_image(torch.tensor(uv)).tolist() == [True, False, False, True, False, False, True]


# ---- serialisation, loading, errors -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(ALL_LENSES))
def test_to_dict_round_trip(name):
    lens = ALL_LENSES[name]
    d = json.loads(json.dumps(lens.to_dict()))
    assert d["type"] == lens.type
    again = lens_from_dict(d)
    assert again == lens and type(again) is type(lens)
    settings = lens.cycles_settings()
    assert isinstance(settings, CyclesCamera)
    assert json.loads(json.dumps(settings.to_dict()))["panorama_type"] == settings.panorama_type


def test_lens_from_dict_rejects_bad_input():
    with pytest.raises(ValueError, match="type"):
        lens_from_dict({"type": "pinhole"})
    with pytest.raises(ValueError, match="unknown field"):
        lens_from_dict({"type": "equidistant", "width": 8, "height": 8, "fov_rad": 3.0, "focal": 1.0})


def test_builtin_and_file_paths_agree_and_notice_is_shipped():
    data_dir = importlib.resources.files("synth").joinpath("data", "calib", "ego4view")
    notice = data_dir.joinpath("NOTICE").read_text()
    assert "Apache License, Version 2.0" in notice
    for view in VIEWS:
        path = data_dir.joinpath(f"camera_{view}.json")
        assert load_ocamcalib(str(path)) == load_ocamcalib(builtin(view))
    only_width = load_ocamcalib(builtin("front_left"), width=SMALL_SIZE)
    assert (only_width.width, only_width.height) == (SMALL_SIZE, SMALL_SIZE)


def _write(tmp_path, **changes):
    d = calib_json("front_left")
    for key, value in changes.items():
        if value is None:
            del d[key]
        else:
            d[key] = value
    path = tmp_path / "calib.json"
    path.write_text(json.dumps(d))
    return path


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"polynomialW2C": "abc"}, "polynomialW2C"),
        ({"affine": None}, "affine"),
        ({"size": [872.5, 872]}, "size"),
        ({"image_center": [1.0]}, "image_center"),
        ({"imageCircleRadius": -3}, "imageCircleRadius"),
        ({"polynomialW2C": [0.0, -300.0]}, "poly_w2c"),
    ],
)
def test_load_ocamcalib_names_file_and_field(tmp_path, changes, field):
    path = _write(tmp_path, **changes)
    with pytest.raises(AssetError) as info:
        load_ocamcalib(path)
    assert str(path) in str(info.value) and field in str(info.value)


def test_load_ocamcalib_missing_file_and_bad_scaling(tmp_path):
    with pytest.raises(AssetError, match="nope.json"):
        load_ocamcalib(tmp_path / "nope.json")
    with pytest.raises(AssetError, match="not_there.json"):
        load_ocamcalib("builtin:ego4view/not_there.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(AssetError, match="bad.json"):
        load_ocamcalib(tmp_path / "bad.json")
    with pytest.raises(AssetError, match="uniformly"):
        load_ocamcalib(builtin("front_left"), 320, 256)
