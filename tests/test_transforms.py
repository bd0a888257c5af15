"""Tests for synth.geometry.transforms: rotations, rigid transforms and the Blender <-> OpenCV camera conversion."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from synth.geometry.transforms import (
    T_cvcam_from_blcam,
    apply_T,
    axis_angle_to_matrix,
    blender_camera_to_opencv,
    euler_xyz_deg_to_matrix,
    invert_T,
    make_T,
    matrix_to_axis_angle,
    opencv_camera_to_blender,
)


def _random_rotvecs(rng, n):
    axes = rng.normal(size=(n, 3))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    angles = rng.uniform(0.0, np.pi, size=n)
    angles[:4] = [0.0, 1e-10, np.pi - 1e-7, np.pi]  # the numerically delicate ends
    return axes * angles[:, None]


def test_axis_angle_matches_scipy_and_round_trips():
    rng = np.random.default_rng(0)
    rotvecs = _random_rotvecs(rng, 200)
    R = axis_angle_to_matrix(rotvecs)
    np.testing.assert_allclose(R, Rotation.from_rotvec(rotvecs).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    back = matrix_to_axis_angle(R)
    # Angle pi has two equal rotation vectors (v and -v): compare the rotations they produce.
    np.testing.assert_allclose(axis_angle_to_matrix(back), R, atol=1e-9)
    regular = np.linalg.norm(rotvecs, axis=-1) < np.pi - 1e-3
    np.testing.assert_allclose(back[regular], rotvecs[regular], atol=1e-9)


def test_axis_angle_quarter_turn_about_z():
    R = axis_angle_to_matrix([0.0, 0.0, np.pi / 2])
    np.testing.assert_allclose(R @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-15)


def test_euler_xyz_is_extrinsic_x_then_y_then_z():
    rng = np.random.default_rng(1)
    angles = rng.uniform(-180.0, 180.0, size=(50, 3))
    expected = Rotation.from_euler("xyz", angles, degrees=True).as_matrix()  # lowercase: extrinsic
    np.testing.assert_allclose(euler_xyz_deg_to_matrix(angles), expected, atol=1e-12)
    # By hand: rotate 90 deg about x (y -> z), then 90 deg about z (x -> y): y ends on z, x ends on y.
    R = euler_xyz_deg_to_matrix([90.0, 0.0, 90.0])
    np.testing.assert_allclose(R @ [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(R @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)


def test_make_invert_apply_batched():
    rng = np.random.default_rng(2)
    F, J = 5, 16
    T_b_from_a = make_T(axis_angle_to_matrix(_random_rotvecs(rng, F)), rng.normal(size=(F, 3)))
    assert T_b_from_a.shape == (F, 4, 4)
    np.testing.assert_allclose(T_b_from_a @ invert_T(T_b_from_a), np.broadcast_to(np.eye(4), (F, 4, 4)), atol=1e-12)
    points_a = rng.normal(size=(F, J, 3))
    points_b = apply_T(T_b_from_a[:, None], points_a)
    homog = np.concatenate([points_a, np.ones((F, J, 1))], axis=-1)
    expected = np.einsum("fij,fkj->fki", T_b_from_a, homog)[..., :3]
    np.testing.assert_allclose(points_b, expected, atol=1e-12)
    np.testing.assert_allclose(apply_T(invert_T(T_b_from_a)[:, None], points_b), points_a, atol=1e-12)
    # A single transform applies to any batch of points.
    assert apply_T(T_b_from_a[0], points_a).shape == (F, J, 3)


def test_apply_T_torch_matches_numpy_and_is_differentiable():
    rng = np.random.default_rng(3)
    T = make_T(axis_angle_to_matrix(rng.normal(size=3)), rng.normal(size=3))
    points = rng.normal(size=(7, 3))
    pts_t = torch.tensor(points, requires_grad=True)
    out = apply_T(T, pts_t)
    np.testing.assert_allclose(out.detach().numpy(), apply_T(T, points), atol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(pts_t.grad.numpy(), np.broadcast_to(T[:3, :3].sum(axis=0), (7, 3)), atol=1e-12)


def test_cvcam_from_blcam_constant():
    np.testing.assert_array_equal(T_cvcam_from_blcam, np.diag([1.0, -1.0, -1.0, 1.0]))
    with pytest.raises(ValueError):
        T_cvcam_from_blcam[0, 0] = 2.0


def test_point_in_front_of_blender_camera_has_positive_opencv_depth():
    rng = np.random.default_rng(4)
    T_world_from_blcam = make_T(euler_xyz_deg_to_matrix([70.0, -20.0, 135.0]), [1.0, -2.0, 1.6])
    # Blender camera local frame: looks down -Z, +Y is image up, +X image right.
    p_blcam = np.array([0.3, 0.2, -2.0])
    p_world = apply_T(T_world_from_blcam, p_blcam)
    T_world_from_cvcam = blender_camera_to_opencv(T_world_from_blcam)
    p_cv = apply_T(invert_T(T_world_from_cvcam), p_world)
    np.testing.assert_allclose(p_cv, [0.3, -0.2, 2.0], atol=1e-12)  # in front: z > 0; above: y < 0 (image up)
    # Same camera centre, and the round trip is the identity (batched too).
    np.testing.assert_allclose(T_world_from_cvcam[:3, 3], T_world_from_blcam[:3, 3])
    np.testing.assert_allclose(opencv_camera_to_blender(T_world_from_cvcam), T_world_from_blcam, atol=1e-15)
    poses = make_T(axis_angle_to_matrix(_random_rotvecs(rng, 6)), rng.normal(size=(6, 3)))
    np.testing.assert_allclose(opencv_camera_to_blender(blender_camera_to_opencv(poses)), poses, atol=1e-15)
    np.testing.assert_allclose(blender_camera_to_opencv(opencv_camera_to_blender(poses)), poses, atol=1e-15)


def test_unrotated_blender_camera_looks_down_world_minus_z():
    T_world_from_cvcam = blender_camera_to_opencv(np.eye(4))
    p_cv = apply_T(invert_T(T_world_from_cvcam), [0.0, 0.0, -5.0])
    np.testing.assert_allclose(p_cv, [0.0, 0.0, 5.0], atol=1e-15)
