"""Tests for the multi-view heatmap refiner and the assembled multi-view network."""

from __future__ import annotations

import pytest
import torch

from train.models.pipeline import MultiViewPoseNet
from train.models.refiner import HeatmapRefiner, RefinerSettings, heatmap_anchors



H = W = 16  # heatmap / feature size
C = 8  # feature dims
D = 64  # embed dims (8 x 8 token maps)


def _settings(v: int, **kw) -> RefinerSettings:
    base = dict(num_views=v, feature_dims=C, embed_dims=D, heads=4, points=4, ffn_dims=32)
    base.update(kw)
    return RefinerSettings(**base)


def _inputs(v: int, b: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    heatmaps0 = torch.rand(b, v, 15, H, W, generator=g)
    features = torch.randn(b, v, C, H, W, generator=g)
    s32 = torch.randn(b, v, 512, 2, 2, generator=g)
    return heatmaps0, features, s32


@pytest.mark.parametrize("v", [2, 3, 4])
@pytest.mark.parametrize("use_anchors", [True, False])
def test_refiner_shapes(v, use_anchors):
    torch.manual_seed(0)
    refiner = HeatmapRefiner(_settings(v, use_anchors=use_anchors), (H, W))
    heatmaps0, features, s32 = _inputs(v)
    anchors, valid, _ = heatmap_anchors(heatmaps0, 0.5)
    out = refiner(heatmaps0[:, 0], features, 0, anchors, valid, s32[:, 0])
    assert tuple(out.features.shape) == (2, C, H, W)
    assert tuple(out.heatmaps.shape) == (2, 15, H, W)
    out.heatmaps.sum().backward()
    assert refiner.joint_query.weight.grad is not None
    # The initial-feature path is only used detached (released behaviour): it gets no gradient.
    assert refiner.base[0].weight.grad is None


def test_full_resolution_refiner_keeps_the_released_weights_and_the_heatmap_grid():
    torch.manual_seed(0)
    half = HeatmapRefiner(_settings(4), (H, W))
    full = HeatmapRefiner(_settings(4, half_resolution=False), (H, W))
    # Same parameters (only strides differ), so a released-layout checkpoint loads into either.
    assert {k: v.shape for k, v in half.state_dict().items()} == {k: v.shape for k, v in full.state_dict().items()}
    full.load_state_dict(half.state_dict())
    heatmaps0, features, s32 = _inputs(4)
    assert tuple(half.base(features[:, 1]).shape[-2:]) == (H // 2, W // 2)
    assert tuple(full.base(features[:, 1]).shape[-2:]) == (H, W)
    anchors, valid, _ = heatmap_anchors(heatmaps0, 0.5)
    for refiner in (half, full):
        out = refiner(heatmaps0[:, 1], features, 1, anchors, valid, s32[:, 1])
        assert tuple(out.features.shape) == (2, C, H, W) and tuple(out.heatmaps.shape) == (2, 15, H, W)


def test_heatmap_anchors_convention():
    hm = torch.zeros(1, 2, 4, 6)
    hm[0, 0, 3, 5] = 0.9  # row 3, col 5
    hm[0, 1, 1, 2] = 0.3
    anchors, valid, peak = heatmap_anchors(hm, 0.5)
    torch.testing.assert_close(anchors[0, 0], torch.tensor([5 / 6, 3 / 4]))
    torch.testing.assert_close(anchors[0, 1], torch.tensor([2 / 6, 1 / 4]))
    assert valid.tolist() == [[True, False]]
    centred, _, _ = heatmap_anchors(hm, 0.5, cell_centre=True)
    torch.testing.assert_close(centred[0, 0], torch.tensor([5.5 / 6, 3.5 / 4]))


@pytest.mark.parametrize("use_anchors", [True, False])
def test_masked_joint_gets_no_contribution_from_that_view(use_anchors):
    torch.manual_seed(0)
    v = 3
    refiner = HeatmapRefiner(_settings(v, use_anchors=use_anchors), (H, W)).eval()
    heatmaps0, features, s32 = _inputs(v, b=1)
    anchors, _, _ = heatmap_anchors(heatmaps0, 0.5)
    valid = torch.ones(1, v, 15, dtype=torch.bool)
    masked = [0, 4, 9]
    valid[0, 1, masked] = False  # these joints are uncertain in view 1
    layer = refiner.layers[0]
    x = refiner.queries(heatmaps0[:, 0], s32[:, 0])

    def fused(feats):
        with torch.no_grad():
            return layer.cross_view(x, refiner.memory(feats), anchors, valid, (H, W))

    base = fused(features)
    changed = features.clone()
    changed[:, 1] = torch.randn_like(changed[:, 1]) * 5.0
    zeroed = features.clone()
    zeroed[:, 1] = 0.0
    out_changed, out_zeroed = fused(changed), fused(zeroed)
    others = [j for j in range(15) if j not in masked]
    torch.testing.assert_close(out_changed[0, masked], base[0, masked], atol=1e-6, rtol=0)
    torch.testing.assert_close(out_zeroed[0, masked], base[0, masked], atol=1e-6, rtol=0)
    assert (out_changed[0, others] - base[0, others]).abs().amax(-1).min() > 1e-4

    # Whole module: with the mask, the masked joints' refined path is blind to view 1 only through cross-attention;
    # switching the mask off makes view 1 matter for them again.
    refiner_nomask = HeatmapRefiner(_settings(v, use_anchors=use_anchors, use_uncertainty_mask=False), (H, W))
    refiner_nomask.load_state_dict(refiner.state_dict())
    refiner_nomask.eval()
    with torch.no_grad():
        a = refiner_nomask(heatmaps0[:, 0], features, 0, anchors, valid, s32[:, 0]).heatmaps
        b = refiner_nomask(heatmaps0[:, 0], changed, 0, anchors, valid, s32[:, 0]).heatmaps
    assert not torch.allclose(a, b)


def test_query_embedding_switches():
    torch.manual_seed(0)
    heatmaps0, features, s32 = _inputs(2)
    full = HeatmapRefiner(_settings(2), (H, W))
    bare = HeatmapRefiner(_settings(2, use_rgb_embedding=False, use_heatmap_embedding=False), (H, W))
    bare.load_state_dict(full.state_dict())
    q1 = bare.queries(heatmaps0[:, 0], s32[:, 0])
    q2 = bare.queries(heatmaps0[:, 0] * 3.0, s32[:, 0] + 1.0)
    torch.testing.assert_close(q1, q2)  # no input dependence when both embeddings are off
    assert not torch.allclose(full.queries(heatmaps0[:, 0], s32[:, 0]), full.queries(heatmaps0[:, 0] * 3.0, s32[:, 0]))


@pytest.mark.parametrize("groups", [{"front": (0, 1)}, {"front": (0, 1), "back": (2,)},
                                    {"front": (0, 1), "back": (2, 3)}])
def test_multiview_network_refine_stage(groups):
    torch.manual_seed(0)
    v = sum(len(g) for g in groups.values())
    net = MultiViewPoseNet(groups, (H, W), feature_dims=C, refiner=_settings(v))
    images = torch.randn(1, v, 3, 4 * H, 4 * W)
    out = net(images, stage="refine")
    assert tuple(out.heatmaps_init.shape) == (1, v, 15, H, W)
    assert tuple(out.heatmaps_refined.shape) == (1, v, 15, H, W)
    assert tuple(out.features_refined.shape) == (1, v, C, H, W)
    (out.heatmaps_init.sum() + out.heatmaps_refined.sum()).backward()
    assert all(p.grad is None for p in net.encoder_parameters())  # frozen encoders in stage 2
    assert next(iter(net.pair_heads.values())).up[-1].weight.grad is not None
