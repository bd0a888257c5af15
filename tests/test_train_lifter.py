"""Tests for the 3D lifter and the lens projector that anchors it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from synth.geometry.lenses import EquidistantLens
from train.camera import LensProjector
from train.models.lifter import LifterSettings, PoseLifter, transform_points
from train.models.pipeline import MultiViewPoseNet
from train.models.refiner import RefinerSettings



H = W = 16
C = 8


def _rig(v: int):
    """v downward-looking cameras spread along the device y axis (T_camera_from_device, metres) + lenses."""
    lens = EquidistantLens(width=64, height=64, fov_rad=math.pi)  # 64 / pi px per radian
    T = torch.eye(4, dtype=torch.float64).repeat(v, 1, 1)
    for i in range(v):
        T[i, 1, 3] = -0.1 * i  # camera i sits 0.1 m * i further back: p_cam = p_dev - c
    return LensProjector([lens] * v), T


def test_projector_conventions():
    proj, T = _rig(2)
    pts_dev = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 0.0, -1.0], [0.0, 0.1, 0.5]]], dtype=torch.float64)
    cam = transform_points(T[None], pts_dev)
    uv, valid = proj(cam)
    # On the optical axis: the principal point, pixel centre 31.5 -> normalised (31.5 + 0.5) / 64 = 0.5.
    torch.testing.assert_close(uv[0, 0, 0], torch.tensor([0.5, 0.5], dtype=torch.float64))
    assert valid[0, 0].tolist() == [True, False, True]  # behind the camera: invalid
    # Joint 2 lies on camera 1's axis (0.1 m back).
    torch.testing.assert_close(uv[0, 1, 2], torch.tensor([0.5, 0.5], dtype=torch.float64))
    # Equidistant: a point at 45 degrees lands (64 / pi) * (pi / 4) = 16 px right of the centre.
    uv45, _ = proj(transform_points(T[None], torch.tensor([[[1.0, 0.0, 1.0]]], dtype=torch.float64)))
    assert uv45[0, 0, 0, 0].item() == pytest.approx((31.5 + 16.0 + 0.5) / 64)


@pytest.mark.parametrize("v", [2, 3, 4])
@pytest.mark.parametrize("proposal", ["conv", "avgpool"])
def test_lifter_shapes(v, proposal):
    torch.manual_seed(0)
    s = LifterSettings(num_views=v, feature_dims=C, embed_dims=32, heads=4, points=4, ffn_dims=32, proposal=proposal)
    lifter = PoseLifter(s, (H, W))
    proj, T = _rig(v)
    feats = torch.randn(2, v, C, H, W)
    out = lifter(feats, feats, T[None].float().expand(2, -1, -1, -1), proj)
    assert len(out.poses) == 4
    assert all(tuple(p.shape) == (2, 16, 3) for p in out.poses)
    assert tuple(out.anchors.shape) == (2, v, 16, 2) and tuple(out.valid.shape) == (2, v, 16)
    assert float(out.anchors.min()) >= 0.0 and float(out.anchors.max()) <= 1.0
    sum(p.sum() for p in out.poses).backward()
    assert lifter.value_proj.weight.grad is not None


def test_lifter_anchors_are_projections_of_the_proposal():
    torch.manual_seed(0)
    v = 2
    s = LifterSettings(num_views=v, feature_dims=C, embed_dims=32, heads=4, points=4, ffn_dims=32)
    lifter = PoseLifter(s, (H, W))
    # Force a known proposal (cm): a body 1 m below the device.
    target_cm = torch.zeros(16, 3)
    target_cm[:, 2] = 100.0
    target_cm[:, 0] = torch.linspace(-30, 30, 16)
    with torch.no_grad():
        lifter.proposal_mlp[-1].weight.zero_()
        lifter.proposal_mlp[-1].bias.copy_(target_cm.flatten())
    proj, T = _rig(v)
    feats = torch.randn(1, v, C, H, W)
    out = lifter(feats, feats, T[None].float(), proj)
    torch.testing.assert_close(out.poses[0][0], target_cm)
    uv_ref, valid_ref = proj(transform_points(T[None], target_cm[None].double() / 100.0))
    torch.testing.assert_close(out.anchors.double(), uv_ref, atol=1e-5, rtol=0)
    assert out.valid.all() and valid_ref.all()
    # Later layers regress offsets from the same detached proposal.
    for p in out.poses[1:]:
        assert (p - out.poses[0]).abs().max() < 50.0


def test_full_network_pose3d_stage_gradients():
    torch.manual_seed(0)
    groups = {"front": (0, 1), "back": (2, 3)}
    ref = RefinerSettings(num_views=4, feature_dims=C, embed_dims=64, heads=4, points=4, ffn_dims=32)
    lif = LifterSettings(num_views=4, feature_dims=C, embed_dims=32, heads=4, points=4, ffn_dims=32)
    net = MultiViewPoseNet(groups, (H, W), feature_dims=C, refiner=ref, lifter=lif)
    proj, T = _rig(4)
    out = net(torch.randn(1, 4, 3, 4 * H, 4 * W), stage="pose3d", T_camera_from_device=T[None].float(),
              project_fn=proj)
    out.lifter.poses[-1].sum().backward(retain_graph=True)
    # The final pose trains the encoders through the lifter's value path, not the proposal (detached anchor).
    assert net.estimators["front"].backbone.conv1.weight.grad is not None
    assert net.refiners[0].offset_in[0].weight.grad is None
    out.lifter.poses[0].sum().backward()
    # The proposal's loss trains the refiner's offset features (refined features feed the proposal).
    assert net.refiners[0].offset_in[0].weight.grad is not None
    # ...but not the heatmap heads (their inputs are detached in stage 3).
    assert net.pair_heads["front"].up[-1].weight.grad is None
    assert net.refiners[0].head_up[-1].weight.grad is None


def test_baseline_without_refiner():
    torch.manual_seed(0)
    lif = LifterSettings(num_views=2, feature_dims=C, embed_dims=32, heads=4, points=4, ffn_dims=32)
    net = MultiViewPoseNet({"front": (0, 1)}, (H, W), feature_dims=C, refiner=None, lifter=lif)
    proj, T = _rig(2)
    T_batch = T[None].float().expand(2, -1, -1, -1)
    out = net(torch.randn(2, 2, 3, 4 * H, 4 * W), stage="pose3d", T_camera_from_device=T_batch, project_fn=proj)
    assert out.heatmaps_refined is None and net.pair_heads is None and net.refiners is None
    assert tuple(out.heatmaps_init.shape) == (2, 2, 15, H, W)
    assert tuple(out.lifter.poses[-1].shape) == (2, 16, 3)
    assert np.isfinite(out.lifter.poses[-1].detach().numpy()).all()
