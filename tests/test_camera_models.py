"""The calibration models of synth/geometry/camera_models.py against independent implementations (OpenCV's
cv::fisheye, cv::projectPoints and cv::omnidir; projectaria_tools' Fisheye624), plus round trips, torch gradients
and validity cones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synth.geometry.camera_models import (CAMERA_MODELS, DoubleSphereLens, EUCMLens, Fisheye624Lens,
                                          OpenCVFisheyeLens, OpenCVPinholeLens, UnifiedLens)
from tests.camera_fixtures import ALL, ARIA, FISHEYE, PINHOLE, UNIFIED

cv2 = pytest.importorskip("cv2")

#: Agreement asked of egorig against OpenCV (px).
OPENCV_TOL_PX = 1e-6


def _rays(lens, n: int, rng: np.random.Generator, margin: float = 0.98) -> np.ndarray:
    """(n, 3) random points in front of the lens within margin x its valid field angle, at 0.2-5 m."""
    alpha = np.arccos(1.0 - rng.random(n) * (1.0 - math.cos(margin * lens.max_field_angle_rad)))
    phi = rng.random(n) * 2.0 * math.pi
    d = np.stack([np.sin(alpha) * np.cos(phi), np.sin(alpha) * np.sin(phi), np.cos(alpha)], axis=-1)
    return d * rng.uniform(0.2, 5.0, (n, 1))


def test_opencv_fisheye_matches_cv2_fisheye():
    rng = np.random.default_rng(0)
    lens = dataclass_replace(FISHEYE, fov_rad=math.radians(178.0))  # cv2.fisheye needs z > 0
    pts = _rays(lens, 5000, rng)
    uv, valid = lens.project(pts)
    K = np.array([[lens.fx, 0, lens.cx], [0, lens.fy, lens.cy], [0, 0, 1]])
    ref, _ = cv2.fisheye.projectPoints(pts[:, None, :], np.zeros(3), np.zeros(3), K, np.array(lens.k))
    assert valid.all()
    assert np.abs(uv - ref[:, 0]).max() < OPENCV_TOL_PX


@pytest.mark.parametrize("name", ["opencv_pinhole", "rational"])
def test_opencv_pinhole_matches_cv2_project_points(name):
    lens = ALL[name]
    rng = np.random.default_rng(1)
    pts = _rays(lens, 5000, rng)
    uv, valid = lens.project(pts)
    K = np.array([[lens.fx, 0, lens.cx], [0, lens.fy, lens.cy], [0, 0, 1]])
    k1, k2, k3, k4, k5, k6 = lens.k
    dist = np.array([k1, k2, *lens.p, k3, k4, k5, k6])
    ref, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), K, dist)
    assert valid.all()
    assert np.abs(uv - ref[:, 0]).max() < OPENCV_TOL_PX


def test_opencv_pinhole_undistortion_matches_cv2_undistort_points():
    """Within 60 % of the valid cone, where OpenCV's fixed-point undistortion converges (further out, towards the
    fold of this strong barrel distortion, it does not; the round-trip test below covers the whole cone)."""
    lens = PINHOLE
    rng = np.random.default_rng(2)
    uv, _ = lens.project(_rays(lens, 2000, rng, margin=0.6))
    K = np.array([[lens.fx, 0, lens.cx], [0, lens.fy, lens.cy], [0, 0, 1]])
    dist = np.array([lens.k[0], lens.k[1], *lens.p, lens.k[2]])
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)
    ref = cv2.undistortPointsIter(uv[:, None, :], K, dist, None, None, crit)[:, 0]
    rays = lens.unproject(uv)
    assert np.abs(rays[:, :2] / rays[:, 2:] - ref).max() < 1e-9


@pytest.mark.skipif(not hasattr(cv2, "omnidir"), reason="cv2.omnidir is in opencv-contrib")
def test_unified_matches_cv2_omnidir():
    lens = UNIFIED
    rng = np.random.default_rng(3)
    pts = _rays(lens, 5000, rng)
    uv, valid = lens.project(pts)
    K = np.array([[lens.fx, 0, lens.cx], [0, lens.fy, lens.cy], [0, 0, 1]])
    D = np.array([[*lens.k, *lens.p]])
    ref, _ = cv2.omnidir.projectPoints(pts[:, None, :], np.zeros(3), np.zeros(3), K, lens.xi, D)
    assert valid.all()
    assert np.abs(uv - ref[:, 0]).max() < OPENCV_TOL_PX


def test_double_sphere_with_xi_zero_is_the_unified_model():
    """DS(xi = 0, alpha) = Mei(xi = alpha / (1 - alpha)) with focal lengths f / (1 - alpha): the unified model is
    checked against OpenCV above, so this ties DS to an independent implementation."""
    a = 0.58
    ds = DoubleSphereLens(width=640, height=480, fx=200.0, fy=201.0, cx=320.5, cy=239.5, xi=0.0, alpha=a)
    mei = UnifiedLens(width=640, height=480, fx=200.0 / (1 - a), fy=201.0 / (1 - a), cx=320.5, cy=239.5,
                      xi=a / (1 - a))
    pts = _rays(ds, 3000, np.random.default_rng(4))
    uv_ds, v_ds = ds.project(pts)
    uv_mei, v_mei = mei.project(pts)
    assert v_ds.all() and v_mei.all() and np.abs(uv_ds - uv_mei).max() < 1e-9


@pytest.mark.skipif(not hasattr(cv2, "omnidir"), reason="cv2.omnidir is in opencv-contrib")
def test_eucm_with_beta_one_matches_cv2_omnidir():
    """EUCM(alpha, beta = 1) = Mei(xi = alpha / (1 - alpha)) with focal lengths f / (1 - alpha), checked against
    OpenCV's omnidir directly; beta != 1 is covered by the round-trip, gradient and cone tests."""
    a = 0.61
    eucm = EUCMLens(width=752, height=480, fx=300.0, fy=301.0, cx=370.5, cy=241.5, alpha=a, beta=1.0)
    pts = _rays(eucm, 3000, np.random.default_rng(14))
    uv, valid = eucm.project(pts)
    K = np.array([[300.0 / (1 - a), 0, 370.5], [0, 301.0 / (1 - a), 241.5], [0, 0, 1]])
    ref, _ = cv2.omnidir.projectPoints(pts[:, None, :], np.zeros(3), np.zeros(3), K, a / (1 - a), np.zeros((1, 4)))
    assert valid.all()
    assert np.abs(uv - ref[:, 0]).max() < OPENCV_TOL_PX


def test_eucm_cone_ends_where_the_radius_stops_increasing():
    """For alpha > 0.5 the EUCM radius r(theta) peaks where (2 alpha - 1) beta r^2 = 1 (its unprojection's domain)."""
    lens = EUCMLens(width=640, height=480, fx=200.0, fy=200.0, cx=320.0, cy=240.0, alpha=0.8, beta=1.5)
    t = lens.max_field_angle_rad
    s, c = math.sin(t), math.cos(t)
    r = s / (0.8 * math.sqrt(1.5 * s * s + c * c) + 0.2 * c)
    assert abs((2 * 0.8 - 1) * 1.5 * r * r - 1.0) < 1e-3
    beyond = np.array([math.sin(t + 0.02), 0.0, math.cos(t + 0.02)])
    assert not lens.project(beyond)[1]


def test_native_fit_of_a_calibration_model_reports_what_cycles_cannot_hold():
    """render.camera native: Cycles' radial polynomial fits an undistorted Kannala-Brandt lens (an equidistant
    fisheye) to well under a pixel, while fx != fy, which no radial polynomial holds, shows in the residual."""
    exact = OpenCVFisheyeLens(width=256, height=192, fx=76.0, fy=76.0, cx=127.5, cy=95.5, k=(0.0, 0.0, 0.0, 0.0),
                              fov_rad=math.radians(190.0))
    assert exact.max_fit_residual_px < 0.01
    fitted = exact.render_lens()
    pts = _rays(exact, 500, np.random.default_rng(15), margin=0.8)
    assert np.abs(fitted.project(pts)[0] - exact.project(pts)[0]).max() <= exact.max_fit_residual_px + 1e-9
    squashed = dataclass_replace(exact, fy=74.0)
    # At the image's corners (~120 px from the centre) a 2.6 % focal mismatch is ~1.5 px either way of a mean fit.
    assert 0.5 < squashed.max_fit_residual_px < 3.0
    assert exact.cycles_settings().max_fit_residual_px == exact.max_fit_residual_px


def test_fisheye624_without_tangential_and_prism_is_opencv_fisheye():
    k4 = (0.0034, 0.0407, -0.0432, 0.0097)
    aria = Fisheye624Lens(width=640, height=480, fx=190.0, fy=191.0, cx=318.0, cy=242.0, k=k4 + (0.0, 0.0))
    kb = OpenCVFisheyeLens(width=640, height=480, fx=190.0, fy=191.0, cx=318.0, cy=242.0, k=k4)
    pts = _rays(kb, 3000, np.random.default_rng(5))
    assert np.abs(aria.project(pts)[0] - kb.project(pts)[0]).max() < 1e-9


def test_fisheye624_matches_projectaria_tools():
    calibration = pytest.importorskip("projectaria_tools.core.calibration")
    lens = ARIA
    params = np.array([lens.fx, lens.cx, lens.cy, *lens.k, *lens.p, *lens.s])  # single focal length
    cam = calibration.CameraCalibration("cam", calibration.CameraModelType.FISHEYE624, params,
                                        _identity_se3(), lens.width, lens.height, None, math.pi, "")
    pts = _rays(lens, 2000, np.random.default_rng(6), margin=0.95)
    uv, _ = lens.project(pts)
    ref = np.array([cam.project_no_checks(p) for p in pts])
    assert np.abs(uv - ref).max() < OPENCV_TOL_PX


def _identity_se3():
    from projectaria_tools.core.sophus import SE3

    return SE3.from_matrix(np.eye(4))


@pytest.mark.parametrize("name", list(ALL))
def test_unproject_inverts_project(name):
    lens = ALL[name]
    pts = _rays(lens, 4000, np.random.default_rng(7))
    uv, valid = lens.project(pts)
    rays = lens.unproject(uv)
    unit = pts / np.linalg.norm(pts, axis=-1, keepdims=True)
    assert valid.all()
    assert np.abs(rays - unit).max() < 1e-9
    assert np.abs(np.linalg.norm(rays, axis=-1) - 1.0).max() < 1e-12


@pytest.mark.parametrize("name", list(ALL))
def test_torch_matches_numpy_and_gradients_are_the_jacobian(name):
    torch = pytest.importorskip("torch")
    lens = ALL[name]
    pts = _rays(lens, 64, np.random.default_rng(8), margin=0.9)
    uv_np, valid_np = lens.project(pts)
    p = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
    uv_t, valid_t = lens.project(p)
    assert np.abs(uv_t.detach().numpy() - uv_np).max() < 1e-9 and (valid_t.numpy() == valid_np).all()
    # d uv / d p by autograd equals central differences of the numpy projection.
    grad = torch.autograd.functional.jacobian(lambda q: lens.project(q)[0].sum(0), p)  # (2, N, 3)
    eps = 1e-6
    for axis in range(3):
        step = np.zeros(3)
        step[axis] = eps
        fd = (lens.project(pts + step)[0] - lens.project(pts - step)[0]) / (2 * eps)
        assert np.abs(grad[:, :, axis].numpy().T - fd).max() < 1e-4 * (1 + np.abs(fd).max())
    # And through the iterative inverse: unproject(project(p)) has the gradient of p / |p|.
    q = torch.tensor(uv_np, dtype=torch.float64, requires_grad=True)
    rays = lens.unproject(q)
    rays.sum().backward()
    fd = np.zeros_like(uv_np)
    for axis in range(2):
        step = np.zeros(2)
        step[axis] = eps
        fd[:, axis] = (lens.unproject(uv_np + step).sum(-1) - lens.unproject(uv_np - step).sum(-1)) / (2 * eps)
    assert np.abs(q.grad.numpy() - fd).max() < 1e-5


@pytest.mark.parametrize("name", list(ALL))
def test_points_beyond_the_valid_cone_are_reported_not_wrapped(name):
    lens = ALL[name]
    limit = lens.max_field_angle_rad
    beyond = min(limit + math.radians(2.0), math.pi)
    phis = np.linspace(0, 2 * math.pi, 16, endpoint=False)
    inside = np.stack([np.sin(0.99 * limit) * np.cos(phis), np.sin(0.99 * limit) * np.sin(phis),
                       np.full(16, np.cos(0.99 * limit))], axis=-1)
    outside = np.stack([np.sin(beyond) * np.cos(phis), np.sin(beyond) * np.sin(phis), np.full(16, np.cos(beyond))],
                       axis=-1)
    assert lens.project(inside)[1].all()
    assert not lens.project(outside)[1].any()
    assert not lens.project(np.array([[0.0, 0.0, -1.0]]))[1].any() or limit >= math.pi
    assert not lens.project(np.zeros((1, 3)))[1].any()


def test_a_distortion_that_folds_back_limits_the_cone():
    # k1 < 0 strongly: r (1 + k1 r^2) peaks at r = 1 / sqrt(3 |k1|), i.e. 30 deg for k1 = -1.
    lens = OpenCVPinholeLens(width=640, height=480, fx=300, fy=300, cx=320, cy=240, k=(-1.0, 0.0))
    assert abs(lens.max_field_angle_rad - math.atan(1 / math.sqrt(3.0))) < 1e-3
    fold = OpenCVFisheyeLens(width=640, height=480, fx=300, fy=300, cx=320, cy=240, k=(-0.3, 0.0, 0.0, 0.0))
    # theta (1 - 0.3 theta^2) peaks at theta = 1 / sqrt(0.9).
    assert abs(fold.max_field_angle_rad - 1 / math.sqrt(0.9)) < 1e-3


def test_scaling_keeps_the_pixel_centre_convention():
    small = FISHEYE.scaled_to(320, 240)
    pts = _rays(FISHEYE, 100, np.random.default_rng(9))
    big_uv, _ = FISHEYE.project(pts)
    small_uv, _ = small.project(pts)
    assert np.abs((big_uv + 0.5) * 0.5 - 0.5 - small_uv).max() < 1e-9


@pytest.mark.parametrize("bad, field", [
    (dict(fx=-1.0), "fx"), (dict(cy=float("nan")), "cy"), (dict(k=(0.1, 0.2)), "k"), (dict(width=0), "width"),
])
def test_bad_parameters_name_the_field(bad, field):
    args = dict(width=640, height=480, fx=190.0, fy=190.0, cx=320.0, cy=240.0, k=(0.0, 0.0, 0.0, 0.0))
    args.update(bad)
    with pytest.raises(ValueError, match=field):
        OpenCVFisheyeLens(**args)


def test_every_model_is_registered_and_round_trips_its_dict():
    for lens in ALL.values():
        d = lens.to_dict()
        cls = CAMERA_MODELS[d.pop("type")]
        assert cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}) == lens


def dataclass_replace(lens, **changes):
    import dataclasses

    return dataclasses.replace(lens, **changes)
