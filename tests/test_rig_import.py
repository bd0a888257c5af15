"""`synth rig import` through the real command line, on hand-written calibration files (tests/data/calib/) of each
format: the written config loads, its rig builds, intrinsics land in the right fields, calibrated poses survive, and
each imported lens projects like an independent implementation (OpenCV's cv2, projectaria_tools, OCamCalib's
world2cam and Kalibr's ds / eucm formulas transcribed here). Bad input ends with exit code 2, one `error:` line
naming the culprit, and nothing written. Also the rotation helpers added for it to synth/geometry/transforms.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.spatial.transform import Rotation

from synth.cli import main
from synth.config import load_config
from synth.geometry.rig import calibration_lens, config_rig
from synth.geometry.transforms import (axis_angle_to_matrix, euler_xyz_deg_to_matrix, invert_T, make_T,
                                       matrix_to_euler_xyz_deg, quaternion_wxyz_to_matrix)
from synth.rig_import import DEFAULT_BASE_CONFIG

REPO = Path(__file__).resolve().parents[1]

CALIB = Path(__file__).resolve().parent / "data" / "calib"
KALIBR_CHAIN = CALIB / "kalibr_camchain_equidistant.yaml"
KALIBR_OMNI = CALIB / "kalibr_omni_radtan.yaml"
KALIBR_DS_EUCM = CALIB / "kalibr_ds_eucm.yaml"
OPENCV_YAML = CALIB / "opencv_rational.yml"
OPENCV_JSON = CALIB / "opencv_fisheye.json"
OCAM_TXT = CALIB / "calib_results.txt"
ARIA_JSON = CALIB / "aria_device_calibration.json"
EGO4VIEW_JSON = REPO / "synth" / "data" / "calib" / "ego4view" / "camera_front_left.json"

#: Agreement asked of the imported lenses against the reference implementations (px).
REFERENCE_TOL_PX = 1e-6
#: Agreement with the transcribed OCamCalib world2cam (px): the same arithmetic, so only rounding differs.
OCAM_TOL_PX = 1e-9
#: Agreement of imported poses with the calibration's own chain.
POSE_TOL = 1e-9


# ---------------------------------------------------------------------------------------------------- helpers
def run(capsys, *argv) -> tuple[int, str, str]:
    """`synth rig import ARGV` in this process: (exit code, stdout, stderr)."""
    try:
        code = main(["rig", "import", *map(str, argv)])
    except SystemExit as exc:  # argparse refuses a flag value before the command runs
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def imported(capsys, out: Path, *argv):
    """Import, then load the written config and build its rig: (config, rig)."""
    code, stdout, stderr = run(capsys, *argv, "--out", out)
    assert code == 0, stderr
    assert f"wrote {out}" in stdout
    cfg = load_config(out)
    return cfg, config_rig(cfg, out.parent)


def lens_of(cfg, i: int):
    """The calibration model of camera i, at its calibrated size."""
    return calibration_lens(cfg.rig.cameras[i].lens, None)


def points_within(lens, rng: np.random.Generator, n: int = 400, max_angle_rad: float | None = None) -> np.ndarray:
    """(n, 3) random points in the OpenCV camera frame within 0.97 of the lens' valid field angle (or
    max_angle_rad), at 0.2 to 4 m."""
    limit = 0.97 * min(lens.max_field_angle_rad, max_angle_rad if max_angle_rad is not None else math.pi)
    alpha = np.arccos(1.0 - rng.random(n) * (1.0 - math.cos(limit)))
    phi = rng.random(n) * 2.0 * math.pi
    d = np.stack([np.sin(alpha) * np.cos(phi), np.sin(alpha) * np.sin(phi), np.cos(alpha)], axis=-1)
    return d * rng.uniform(0.2, 4.0, (n, 1))


def error_line(code: int, stderr: str) -> str:
    """The one `error:` line of a refused command (exit code 2, nothing else on stderr)."""
    lines = stderr.strip().splitlines()
    assert code == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def kalibr_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


# ---------------------------------------------------------------------------------------------------- rotations
def test_matrix_to_euler_inverts_euler_and_matches_scipy():
    rng = np.random.default_rng(0)
    angles = np.stack([rng.uniform(-180, 180, 500), rng.uniform(-90, 90, 500), rng.uniform(-180, 180, 500)], -1)
    angles[:6] = [[10, 90, 20], [-30, -90, 40], [5, 90 - 1e-7, -7], [0, -90 + 1e-9, 0], [0, 0, 0], [180, 0, -90]]
    R = euler_xyz_deg_to_matrix(angles)
    back = matrix_to_euler_xyz_deg(R)
    np.testing.assert_allclose(euler_xyz_deg_to_matrix(back), R, rtol=0, atol=1e-14)  # also at the gimbal lock
    assert np.all(np.abs(back[:, 1]) <= 90.0) and np.all(np.abs(back[:, [0, 2]]) <= 180.0)
    regular = np.abs(np.abs(angles[:, 1]) - 90.0) > 1e-3
    np.testing.assert_allclose(back[regular], angles[regular], atol=1e-9)
    # scipy's lower-case 'xyz' is extrinsic x, then y, then z: the same convention.
    np.testing.assert_allclose(back[6:], Rotation.from_matrix(R[6:]).as_euler("xyz", degrees=True), atol=1e-9)
    assert matrix_to_euler_xyz_deg(np.eye(3)).tolist() == [0.0, 0.0, 0.0]


def test_quaternion_to_matrix_matches_scipy_and_axis_angle():
    rng = np.random.default_rng(1)
    q = rng.normal(size=(300, 4))  # not normalised: the function normalises
    R = quaternion_wxyz_to_matrix(q)
    np.testing.assert_allclose(R, Rotation.from_quat(q[:, [1, 2, 3, 0]]).as_matrix(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(quaternion_wxyz_to_matrix(-q), R, rtol=0, atol=1e-14)
    axis, angle = np.array([0.3, -0.2, 0.9]) / np.linalg.norm([0.3, -0.2, 0.9]), 1.2
    q_axis = np.concatenate([[math.cos(angle / 2)], math.sin(angle / 2) * axis])
    np.testing.assert_allclose(quaternion_wxyz_to_matrix(q_axis), axis_angle_to_matrix(axis * angle), rtol=0,
                               atol=1e-14)
    with pytest.raises(ValueError, match="norm 0"):
        quaternion_wxyz_to_matrix([0.0, 0.0, 0.0, 0.0])


# ---------------------------------------------------------------------------------------------------- Kalibr
def test_kalibr_equidistant_chain_keeps_intrinsics_pose_and_projects_like_cv2_fisheye(capsys, tmp_path):
    cv2 = pytest.importorskip("cv2")
    out = tmp_path / "rig.yaml"
    cfg, rig = imported(capsys, out, KALIBR_CHAIN, "--format", "kalibr", "--position-m=-0.06,0.02,0.01",
                        "--rotation-deg", "12,-5,3")
    chain = kalibr_yaml(KALIBR_CHAIN)
    assert cfg.rig.preset == "custom" and cfg.rig.resolution is None and rig.image_size == (512, 512)
    assert [c.name for c in cfg.rig.cameras] == ["cam0", "cam1"]
    for i, cam_cfg in enumerate(cfg.rig.cameras):
        src, lens = chain[f"cam{i}"], cam_cfg.lens
        assert lens.type == "opencv_fisheye"
        assert (lens.width, lens.height) == tuple(src["resolution"])
        assert [lens.fx, lens.fy, lens.cx, lens.cy] == src["intrinsics"]
        assert list(lens.k) == src["distortion_coeffs"]
    # The first camera sits where the flags put it; the second keeps Kalibr's T_c1_c0 relative to it.
    T0 = make_T(euler_xyz_deg_to_matrix([12.0, -5.0, 3.0]), [-0.06, 0.02, 0.01])
    T_c1_c0 = np.array(chain["cam1"]["T_cn_cnm1"])
    np.testing.assert_allclose(rig.cameras[0].T_device_from_camera, T0, rtol=0, atol=POSE_TOL)
    np.testing.assert_allclose(rig.cameras[1].T_device_from_camera, T0 @ np.linalg.inv(T_c1_c0), rtol=0,
                               atol=POSE_TOL)
    rng = np.random.default_rng(2)
    for i in range(2):
        lens = lens_of(cfg, i)
        pts = points_within(lens, rng, max_angle_rad=math.radians(89.0))  # cv2.fisheye takes z > 0 only
        uv, valid = lens.project(pts)
        K = np.array([[lens.fx, 0, lens.cx], [0, lens.fy, lens.cy], [0, 0, 1]])
        ref, _ = cv2.fisheye.projectPoints(pts[:, None, :], np.zeros(3), np.zeros(3), K, np.array(lens.k))
        assert valid.all()
        assert np.abs(uv - ref[:, 0]).max() < REFERENCE_TOL_PX


def test_kalibr_omni_radtan_projects_like_cv2_omnidir(capsys, tmp_path):
    cv2 = pytest.importorskip("cv2")
    cfg, rig = imported(capsys, tmp_path / "omni.yaml", KALIBR_OMNI, "--format", "kalibr")
    src = kalibr_yaml(KALIBR_OMNI)["cam0"]
    lens_cfg = cfg.rig.cameras[0].lens
    xi, fu, fv, pu, pv = src["intrinsics"]
    assert lens_cfg.type == "unified" and (lens_cfg.xi, lens_cfg.fx, lens_cfg.fy, lens_cfg.cx, lens_cfg.cy) == (
        xi, fu, fv, pu, pv)
    assert list(lens_cfg.k) + list(lens_cfg.p) == src["distortion_coeffs"]
    assert rig.image_size == (752, 480)
    np.testing.assert_array_equal(rig.cameras[0].T_device_from_camera, np.eye(4))  # default: origin, looking down
    lens = lens_of(cfg, 0)
    pts = points_within(lens, np.random.default_rng(3))
    uv, valid = lens.project(pts)
    K = np.array([[fu, 0.0, pu], [0.0, fv, pv], [0.0, 0.0, 1.0]])
    ref, _ = cv2.omnidir.projectPoints(pts[:, None, :], np.zeros(3), np.zeros(3), K, xi,
                                       np.array(src["distortion_coeffs"]))
    assert valid.all()
    assert np.abs(uv - ref[:, 0]).max() < REFERENCE_TOL_PX


def _kalibr_ds(p: np.ndarray, xi: float, alpha: float, fu: float, fv: float, pu: float, pv: float) -> np.ndarray:
    """Kalibr's DoubleSphereProjection::euclideanToKeypoint."""
    x, y, z = p.T
    d1 = np.sqrt(x * x + y * y + z * z)
    k = xi * d1 + z
    d2 = np.sqrt(x * x + y * y + k * k)
    norm = alpha * d2 + (1.0 - alpha) * k
    return np.stack([fu * x / norm + pu, fv * y / norm + pv], axis=-1)


def _kalibr_eucm(p: np.ndarray, alpha: float, beta: float, fu: float, fv: float, pu: float, pv: float) -> np.ndarray:
    """Kalibr's ExtendedUnifiedProjection::euclideanToKeypoint."""
    x, y, z = p.T
    d = np.sqrt(beta * (x * x + y * y) + z * z)
    norm = alpha * d + (1.0 - alpha) * z
    return np.stack([fu * x / norm + pu, fv * y / norm + pv], axis=-1)


def test_kalibr_ds_and_eucm_project_like_kalibr(capsys, tmp_path):
    cfg, rig = imported(capsys, tmp_path / "ds.yaml", KALIBR_DS_EUCM, "--format", "kalibr", "--rotation-deg",
                        "0,0,180")
    chain = kalibr_yaml(KALIBR_DS_EUCM)
    ds, eucm = cfg.rig.cameras[0].lens, cfg.rig.cameras[1].lens
    xi, alpha, fu, fv, pu, pv = chain["cam0"]["intrinsics"]
    assert ds.type == "double_sphere" and (ds.xi, ds.alpha, ds.fx, ds.fy, ds.cx, ds.cy) == (xi, alpha, fu, fv, pu,
                                                                                            pv)
    a, b, fu1, fv1, pu1, pv1 = chain["cam1"]["intrinsics"]
    assert eucm.type == "eucm" and (eucm.alpha, eucm.beta, eucm.fx, eucm.fy, eucm.cx, eucm.cy) == (a, b, fu1, fv1,
                                                                                                   pu1, pv1)
    T0 = make_T(euler_xyz_deg_to_matrix([0.0, 0.0, 180.0]), np.zeros(3))
    T1 = T0 @ invert_T(np.array(chain["cam1"]["T_cn_cnm1"]))
    np.testing.assert_allclose(rig.cameras[1].T_device_from_camera, T1, rtol=0, atol=POSE_TOL)
    rng = np.random.default_rng(4)
    for i, reference in ((0, lambda p: _kalibr_ds(p, xi, alpha, fu, fv, pu, pv)),
                         (1, lambda p: _kalibr_eucm(p, a, b, fu1, fv1, pu1, pv1))):
        lens = lens_of(cfg, i)
        pts = points_within(lens, rng)
        uv, valid = lens.project(pts)
        assert valid.all()
        assert np.abs(uv - reference(pts)).max() < REFERENCE_TOL_PX


# ---------------------------------------------------------------------------------------------------- OpenCV
def test_opencv_filestorage_yaml_rational_matches_cv2(capsys, tmp_path):
    cv2 = pytest.importorskip("cv2")
    cfg, rig = imported(capsys, tmp_path / "pinhole.yaml", OPENCV_YAML, "--format", "opencv", "--fov-deg", "120")
    storage = cv2.FileStorage(str(OPENCV_YAML), cv2.FILE_STORAGE_READ)  # OpenCV reads the fixture as we do
    K, D = storage.getNode("camera_matrix").mat(), storage.getNode("distortion_coefficients").mat().ravel()
    size = (int(storage.getNode("image_width").real()), int(storage.getNode("image_height").real()))
    storage.release()
    lens_cfg = cfg.rig.cameras[0].lens
    assert cfg.rig.cameras[0].name == "opencv_rational" and lens_cfg.type == "opencv_pinhole"
    assert (lens_cfg.width, lens_cfg.height) == size and rig.image_size == size
    assert (lens_cfg.fx, lens_cfg.fy, lens_cfg.cx, lens_cfg.cy) == (K[0, 0], K[1, 1], K[0, 2], K[1, 2])
    k1, k2, p1, p2, k3, k4, k5, k6 = D
    assert list(lens_cfg.k) == [k1, k2, k3, k4, k5, k6] and list(lens_cfg.p) == [p1, p2]
    assert lens_cfg.fov_deg == 120.0
    lens = lens_of(cfg, 0)
    pts = points_within(lens, np.random.default_rng(5))
    uv, valid = lens.project(pts)
    ref, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), K, D)
    assert valid.all()
    assert np.abs(uv - ref[:, 0]).max() < REFERENCE_TOL_PX


def test_opencv_json_fisheye_with_model_flag_matches_cv2_fisheye(capsys, tmp_path):
    cv2 = pytest.importorskip("cv2")
    cfg, _ = imported(capsys, tmp_path / "fisheye.yaml", OPENCV_JSON, "--format", "opencv", "--model",
                      "opencv_fisheye")
    storage = cv2.FileStorage(str(OPENCV_JSON), cv2.FILE_STORAGE_READ)
    K, D = storage.getNode("camera_matrix").mat(), storage.getNode("distortion_coefficients").mat().ravel()
    storage.release()
    lens_cfg = cfg.rig.cameras[0].lens
    assert lens_cfg.type == "opencv_fisheye" and list(lens_cfg.k) == D.tolist()
    assert (lens_cfg.fx, lens_cfg.fy, lens_cfg.cx, lens_cfg.cy) == (K[0, 0], K[1, 1], K[0, 2], K[1, 2])
    lens = lens_of(cfg, 0)
    pts = points_within(lens, np.random.default_rng(6), max_angle_rad=math.radians(89.0))
    uv, valid = lens.project(pts)
    ref, _ = cv2.fisheye.projectPoints(pts[:, None, :], np.zeros(3), np.zeros(3), K, D)
    assert valid.all()
    assert np.abs(uv - ref[:, 0]).max() < REFERENCE_TOL_PX


def test_opencv_model_keys_and_coefficient_counts(capsys, tmp_path):
    base = json.loads(OPENCV_JSON.read_text())

    def variant(name: str, coeffs: list[float], **keys) -> Path:
        data = {**base, **keys}
        data["distortion_coefficients"] = {**base["distortion_coefficients"], "cols": len(coeffs), "data": coeffs}
        path = tmp_path / name
        path.write_text(json.dumps(data))
        return path

    cfg, _ = imported(capsys, tmp_path / "a.yaml", variant("a.json", [0.01, 0.02, 0.03, 0.04], fisheye_model=1),
                      "--format", "opencv")
    assert cfg.rig.cameras[0].lens.type == "opencv_fisheye"
    cfg, _ = imported(capsys, tmp_path / "b.yaml", variant("b.json", [0.01, 0.02, 0.001, 0.002],
                                                           distortion_model="plumb_bob"), "--format", "opencv")
    lens = cfg.rig.cameras[0].lens
    assert lens.type == "opencv_pinhole" and list(lens.k) == [0.01, 0.02] and list(lens.p) == [0.001, 0.002]
    cfg, _ = imported(capsys, tmp_path / "c.yaml", variant("c.json", [0.1, -0.2, 0.001, 0.002, 0.03]),
                      "--format", "opencv")
    lens = cfg.rig.cameras[0].lens
    assert list(lens.k) == [0.1, -0.2, 0.03] and list(lens.p) == [0.001, 0.002]
    # A model value egorig does not know defers to --model, and is refused without it.
    odd = variant("odd.json", [0.01, 0.02, 0.03, 0.04], camera_model="Acme FE-185")
    cfg, _ = imported(capsys, tmp_path / "odd.yaml", odd, "--format", "opencv", "--model", "opencv_fisheye")
    assert cfg.rig.cameras[0].lens.type == "opencv_fisheye"
    code, _, err = run(capsys, odd, "--format", "opencv", "--out", tmp_path / "odd2.yaml")
    assert "odd.json: camera_model: unknown model 'Acme FE-185'" in error_line(code, err) and "--model" in err
    # A model key that disagrees with --model, and 12 (thin prism) coefficients, are refused.
    code, _, err = run(capsys, variant("d.json", [0.0] * 4, model="pinhole"), "--format", "opencv", "--model",
                       "opencv_fisheye", "--out", tmp_path / "d.yaml")
    assert "d.json: model:" in error_line(code, err)
    code, _, err = run(capsys, variant("e.json", [0.0] * 12), "--format", "opencv", "--out", tmp_path / "e.yaml")
    line = error_line(code, err)
    assert "e.json: distortion_coefficients: 12 coefficients (thin prism terms) are not supported" in line
    assert not (tmp_path / "d.yaml").exists() and not (tmp_path / "e.yaml").exists()


def test_one_camera_files_are_placed_per_file_and_named(capsys, tmp_path):
    cfg, rig = imported(capsys, tmp_path / "pair.yaml", OPENCV_JSON, OPENCV_JSON, "--format", "opencv", "--model",
                        "opencv_fisheye", "--names", "front_left,front_right", "--position-m=-0.06,0,0",
                        "--position-m", "0.06,0,0", "--rotation-deg", "20,0,0", "--resolution", "320",
                        "--rig-name", "my headset")
    assert rig.views == ("front_left", "front_right") and rig.label == "my headset"
    assert rig.image_size == (320, 240)  # the longer side at --resolution, the aspect ratio kept
    first = make_T(euler_xyz_deg_to_matrix([20.0, 0.0, 0.0]), [-0.06, 0.0, 0.0])
    np.testing.assert_allclose(rig.cameras[0].T_device_from_camera, first, rtol=0, atol=1e-12)
    second = make_T(np.eye(3), [0.06, 0.0, 0.0])  # no --rotation-deg for the second file: looking down
    np.testing.assert_allclose(rig.cameras[1].T_device_from_camera, second, rtol=0, atol=1e-12)
    # Same file twice without --names: the stems collide.
    code, _, err = run(capsys, OPENCV_JSON, OPENCV_JSON, "--format", "opencv", "--model", "opencv_fisheye",
                       "--out", tmp_path / "twice.yaml")
    assert "camera name 'opencv_fisheye'" in error_line(code, err) and "--names" in err


# ---------------------------------------------------------------------------------------------------- OCamCalib
def _ocam_world2cam(p_ocam: np.ndarray, invpol: list[float], xc: float, yc: float, c: float, d: float,
                    e: float) -> np.ndarray:
    """OCamCalib's world2cam (ocam_functions.cpp): point (..., 3) in its camera frame -> (row, column) px."""
    norm = np.sqrt(p_ocam[:, 0] ** 2 + p_ocam[:, 1] ** 2)
    theta = np.arctan(p_ocam[:, 2] / norm)
    rho = np.zeros_like(theta)
    t_i = np.ones_like(theta)
    for coeff in invpol:
        rho += t_i * coeff
        t_i = t_i * theta
    x = p_ocam[:, 0] / norm * rho
    y = p_ocam[:, 1] / norm * rho
    return np.stack([x * c + y * d + xc, x * e + y + yc], axis=-1)


def _ocam_txt_values(path: Path) -> list[list[float]]:
    rows = [line.split() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return [[float(v) for v in row] for row in rows]


def test_ocamcalib_txt_projects_like_ocamcalib_world2cam(capsys, tmp_path):
    cfg, rig = imported(capsys, tmp_path / "ocam.yaml", OCAM_TXT, "--format", "ocamcalib", "--fov-deg", "190")
    ss, invpol, (row_c, col_c), (c, d, e), (height, width) = _ocam_txt_values(OCAM_TXT)
    ss, invpol = ss[1:], invpol[1:]  # after their counts
    lens_cfg = cfg.rig.cameras[0].lens
    assert lens_cfg.type == "ocamcalib" and lens_cfg.file is None and lens_cfg.apply_affine is True
    assert (lens_cfg.width, lens_cfg.height) == (width, height) and rig.image_size == (width, height)
    assert tuple(lens_cfg.image_center) == (col_c, row_c)  # OCamCalib's (row, column) is our (v, u)
    assert list(lens_cfg.poly_w2c) == invpol and list(lens_cfg.poly_c2w) == ss
    assert tuple(lens_cfg.affine) == (c, d, e) and lens_cfg.fov_deg == 190.0
    assert lens_cfg.image_circle_radius_px == 0.5 * math.hypot(width, height)  # where OCamCalib fits invpol
    lens = lens_of(cfg, 0)
    pts = points_within(lens, np.random.default_rng(7), n=1000)
    uv, valid = lens.project(pts)
    # OCamCalib's camera frame: x along the image rows (our y), y along the columns (our x), z = -optical axis.
    row_col = _ocam_world2cam(np.stack([pts[:, 1], pts[:, 0], -pts[:, 2]], -1), invpol, row_c, col_c, c, d, e)
    assert valid.all()
    assert np.abs(uv - row_col[:, ::-1]).max() < OCAM_TOL_PX
    assert lens.max_field_angle_rad > math.radians(85.0)  # the half-diagonal circle does not cut the field short


def test_ocamcalib_json_is_referenced_relative_to_the_output(capsys, tmp_path):
    from synth.geometry.lenses import load_ocamcalib

    out = tmp_path / "configs" / "ego.yaml"
    cfg, rig = imported(capsys, out, EGO4VIEW_JSON, "--format", "ocamcalib", "--resolution", "256")
    written = yaml.safe_load(out.read_text())
    ref = written["rig"]["cameras"][0]["lens"]["file"]
    assert not Path(ref).is_absolute() and (out.parent / ref).resolve() == EGO4VIEW_JSON.resolve()
    assert not Path(written["base"]).is_absolute()
    assert (out.parent / written["base"]).resolve() == DEFAULT_BASE_CONFIG.resolve()
    assert rig.image_size == (256, 256)
    direct = load_ocamcalib(EGO4VIEW_JSON)
    pts = points_within(direct, np.random.default_rng(8))
    np.testing.assert_allclose(lens_of(cfg, 0).project(pts)[0], direct.project(pts)[0], rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------------- Project Aria
def test_aria_cameras_match_projectaria_tools(capsys, tmp_path):
    calibration = pytest.importorskip("projectaria_tools.core.calibration")
    device = calibration.device_calibration_from_json(str(ARIA_JSON))
    labels = ["camera-slam-right", "camera-slam-left"]  # --cameras sets the order; the first one is placed
    cfg, rig = imported(capsys, tmp_path / "aria.yaml", ARIA_JSON, "--format", "aria", "--cameras", ",".join(labels),
                        "--position-m", "0.07,-0.01,0.02", "--rotation-deg=-30,10,5")
    assert rig.views == ("camera_slam_right", "camera_slam_left")
    T_first = make_T(euler_xyz_deg_to_matrix([-30.0, 10.0, 5.0]), [0.07, -0.01, 0.02])
    T_aria_first = device.get_camera_calib(labels[0]).get_transform_device_camera().to_matrix()
    rng = np.random.default_rng(9)
    for i, label in enumerate(labels):
        camera = device.get_camera_calib(label)
        T_aria = camera.get_transform_device_camera().to_matrix()
        np.testing.assert_allclose(rig.cameras[i].T_device_from_camera, T_first @ np.linalg.inv(T_aria_first) @ T_aria,
                                   rtol=0, atol=POSE_TOL)
        lens = lens_of(cfg, i)
        assert lens.type == "fisheye624" and (lens.width, lens.height) == tuple(camera.get_image_size())
        pts = points_within(lens, rng, n=200, max_angle_rad=math.radians(89.0))
        uv, valid = lens.project(pts)
        ref = np.array([camera.project_no_checks(p) for p in pts])
        assert valid.all()
        assert np.abs(uv - ref).max() < REFERENCE_TOL_PX


def test_aria_sizes_and_kannala_brandt(capsys, tmp_path):
    calibration = pytest.importorskip("projectaria_tools.core.calibration")
    # Every camera by default: the RGB camera's 2880 x 2880 calibration does not share the SLAM cameras' size.
    code, _, err = run(capsys, ARIA_JSON, "--format", "aria", "--out", tmp_path / "all.yaml")
    line = error_line(code, err)
    assert "camera_rgb 2880x2880" in line and "--cameras" in line and not (tmp_path / "all.yaml").exists()
    cfg, rig = imported(capsys, tmp_path / "rgb.yaml", ARIA_JSON, "--format", "aria", "--cameras", "camera-rgb",
                        "--size", "1408x1408")
    assert rig.image_size == (1408, 1408)
    # A KannalaBrandtK3 camera becomes an OpenCV fisheye lens that projects like projectaria_tools'.
    data = json.loads(ARIA_JSON.read_text())
    rgb = next(c for c in data["CameraCalibrations"] if c["Label"] == "camera-rgb")
    rgb["Projection"] = {"Name": "KannalaBrandtK3", "Params": [1220.1, 1221.3, 1440.7, 1438.2, 0.38, -0.41, 0.18,
                                                                -0.032]}
    path = tmp_path / "kb3.json"
    path.write_text(json.dumps(data))
    cfg, rig = imported(capsys, tmp_path / "kb3.yaml", path, "--format", "aria", "--cameras", "camera-rgb")
    camera = calibration.device_calibration_from_json(str(path)).get_camera_calib("camera-rgb")
    lens = lens_of(cfg, 0)
    assert lens.type == "opencv_fisheye" and (lens.width, lens.height) == tuple(camera.get_image_size())
    pts = points_within(lens, np.random.default_rng(10), n=200, max_angle_rad=math.radians(89.0))
    ref = np.array([camera.project_no_checks(p) for p in pts])
    assert np.abs(lens.project(pts)[0] - ref).max() < REFERENCE_TOL_PX
    # An unknown projection names the camera and the field.
    rgb["Projection"] = {"Name": "Spherical", "Params": [1.0, 2.0, 3.0, 4.0]}
    path.write_text(json.dumps(data))
    code, _, err = run(capsys, path, "--format", "aria", "--cameras", "camera-rgb", "--out", tmp_path / "x.yaml")
    assert "(camera-rgb).Projection.Name: 'Spherical' is not supported" in error_line(code, err)


# ---------------------------------------------------------------------------------------------------- refusals
def _edited(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text()
    assert old in text
    path = tmp_path / f"edited{source.suffix}"
    path.write_text(text.replace(old, new, 1))
    return path


#: Refused imports: (file, (old, new) edit of it or None, flags, strings the error line must hold).
REFUSALS = {
    "kalibr_fov": (KALIBR_CHAIN, ("distortion_model: equidistant", "distortion_model: fov"), ["--format", "kalibr"],
                   ["edited.yaml", "cam0.distortion_model", "'fov'", "pinhole-radtan"]),
    "kalibr_omni_equidistant": (KALIBR_OMNI, ("distortion_model: radtan", "distortion_model: equidistant"),
                                ["--format", "kalibr"], ["cam0.distortion_model", "'equidistant'", "omni-radtan"]),
    "kalibr_no_intrinsics": (KALIBR_CHAIN, ("  intrinsics: [190.66, 190.61, 256.48, 255.71]\n", ""),
                             ["--format", "kalibr"], ["edited.yaml", "cam1.intrinsics", "missing"]),
    "kalibr_no_chain": (KALIBR_CHAIN, ("T_cn_cnm1", "T_cam_imu"), ["--format", "kalibr"],
                        ["edited.yaml", "cam1.T_cn_cnm1", "missing"]),
    "kalibr_not_rigid": (KALIBR_CHAIN, ("[0.9584, -0.096,", "[0.9, -0.096,"), ["--format", "kalibr"],
                         ["edited.yaml", "cam1.T_cn_cnm1", "not a rotation"]),
    "kalibr_bad_yaml": (KALIBR_CHAIN, ("resolution: [512, 512]", "resolution: [512,"), ["--format", "kalibr"],
                        ["edited.yaml", "line", "YAML syntax error"]),
    "kalibr_value_out_of_range": (KALIBR_DS_EUCM, ("[-0.1812, 0.5874,", "[-0.1812, 1.5874,"), ["--format", "kalibr"],
                                  ["edited.yaml: camera cam0", "rig.cameras[0].lens.alpha", "not written"]),
    "opencv_ambiguous": (OPENCV_JSON, None, ["--format", "opencv"],
                         ["opencv_fisheye.json", "distortion_coefficients", "--model opencv_fisheye"]),
    "opencv_no_matrix": (OPENCV_JSON, ('"camera_matrix"', '"camera"'), ["--format", "opencv"],
                         ["edited.json", "camera_matrix", "missing"]),
    "opencv_bad_json": (OPENCV_JSON, ('"image_width": 640,', '"image_width": 640'), ["--format", "opencv"],
                        ["edited.json", "not valid JSON"]),
    "ocam_short": (OCAM_TXT, ("960 1280", ""), ["--format", "ocamcalib"], ["edited.txt", "5 lines of numbers"]),
    "aria_unknown_label": (ARIA_JSON, None, ["--format", "aria", "--cameras", "camera-left"],
                           ["aria_device_calibration.json", "'camera-left'", "camera-slam-left"]),
    "missing_file": (Path("no_such_file.yaml"), None, ["--format", "kalibr"], ["no_such_file.yaml", "cannot read"]),
    "wrong_format_flag": (KALIBR_CHAIN, None, ["--format", "kalibr", "--model", "opencv_pinhole"],
                          ["--model", "--format opencv"]),
    "too_many_positions": (KALIBR_CHAIN, None, ["--format", "kalibr", "--position-m", "0,0,0", "--position-m",
                                                "0,0,0"], ["--position-m", "at most once per file"]),
    "bad_position": (KALIBR_CHAIN, None, ["--format", "kalibr", "--position-m", "0,0"],
                     ["--position-m", "three comma-separated numbers"]),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_bad_input_is_one_line_and_writes_nothing(capsys, tmp_path, case):
    source, edit, flags, culprits = REFUSALS[case]
    path = _edited(tmp_path, source, *edit) if edit else (source if source.is_absolute() else tmp_path / source)
    out = tmp_path / "out" / "rig.yaml"
    code, stdout, err = run(capsys, path, *flags, "--out", out)
    line = error_line(code, err)
    for culprit in culprits:
        assert culprit in line, line
    assert stdout == "" and not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())  # no staging file left behind


def test_existing_output_needs_overwrite_and_survives_a_failed_import(capsys, tmp_path):
    out = tmp_path / "rig.yaml"
    out.write_text("# mine\n")
    code, _, err = run(capsys, KALIBR_CHAIN, "--format", "kalibr", "--out", out)
    assert "rig.yaml: already exists; pass --overwrite" in error_line(code, err)
    assert out.read_text() == "# mine\n"
    bad = _edited(tmp_path, KALIBR_DS_EUCM, "[-0.1812, 0.5874,", "[-0.1812, 1.5874,")
    code, _, err = run(capsys, bad, "--format", "kalibr", "--out", out, "--overwrite")
    error_line(code, err)
    assert out.read_text() == "# mine\n" and sorted(p.name for p in tmp_path.iterdir()) == ["edited.yaml", "rig.yaml"]
    cfg, _ = imported(capsys, out, KALIBR_CHAIN, "--format", "kalibr", "--overwrite")
    assert len(cfg.rig.cameras) == 2


def test_base_with_per_view_lenses_and_header(capsys, tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(f"base: {DEFAULT_BASE_CONFIG}\nname: mine\nrig:\n  lenses:\n"
                    f"    front_left: {{type: equidistant, fov_deg: 180}}\n")
    out = tmp_path / "rig.yaml"
    cfg, _ = imported(capsys, out, KALIBR_OMNI, "--format", "kalibr", "--base", base)
    text = out.read_text()
    assert text.startswith("# Render config written by `synth rig import --format kalibr` from:\n")
    assert str(KALIBR_OMNI.resolve()) in text.splitlines()[1]
    written = yaml.safe_load(text)
    assert written["base"] == "base.yaml" and written["rig"]["lenses"] is None
    assert cfg.name == "mine" and cfg.rig.lenses is None and cfg.rig.cameras[0].name == "cam0"
