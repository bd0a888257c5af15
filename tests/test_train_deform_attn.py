"""Tests for the pure-PyTorch multi-scale deformable attention."""

from __future__ import annotations

import numpy as np
import torch

from train.models.deform_attn import MSDeformAttn, deformable_sample


def _bilinear_zero_pad(img: np.ndarray, x_norm: float, y_norm: float) -> np.ndarray:
    """Reference bilinear lookup of img (C, H, W) at a normalised point, pixel centres at (i + 0.5) / W."""
    c, h, w = img.shape
    px, py = x_norm * w - 0.5, y_norm * h - 0.5
    x0, y0 = int(np.floor(px)), int(np.floor(py))
    out = np.zeros(c)
    for dx in (0, 1):
        for dy in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            wx = 1.0 - abs(px - xi)
            wy = 1.0 - abs(py - yi)
            if 0 <= xi < w and 0 <= yi < h:
                out += wx * wy * img[:, yi, xi]
    return out


def _identity_module(d: int) -> MSDeformAttn:
    m = MSDeformAttn(d_model=d, n_heads=1, n_levels=1, n_points=1).double()
    with torch.no_grad():
        m.sampling_offsets.weight.zero_()
        m.sampling_offsets.bias.zero_()
        for lin in (m.value_proj, m.output_proj):
            lin.weight.copy_(torch.eye(d, dtype=torch.float64))
            lin.bias.zero_()
    return m


def _run(m: MSDeformAttn, img: np.ndarray, anchors: list[tuple[float, float]]) -> np.ndarray:
    c, h, w = img.shape
    value = torch.from_numpy(img).reshape(c, h * w).T[None]  # (1, S, C)
    ref = torch.tensor(anchors, dtype=torch.float64)[None]  # (1, Lq, 2)
    query = torch.randn(1, len(anchors), c, dtype=torch.float64)
    return m(query, ref, value, [(h, w)])[0].detach().numpy()


def test_zero_offsets_single_point_is_bilinear_lookup():
    rng = np.random.default_rng(0)
    img = rng.normal(size=(4, 5, 7))
    anchors = [(0.31, 0.42), (0.77, 0.13), (0.5, 0.5), (0.05, 0.93)]
    out = _run(_identity_module(4), img, anchors)
    for k, (x, y) in enumerate(anchors):
        np.testing.assert_allclose(out[k], _bilinear_zero_pad(img, x, y), atol=1e-12)


def test_cell_centre_anchor_returns_that_cell():
    rng = np.random.default_rng(1)
    img = rng.normal(size=(3, 6, 8))
    out = _run(_identity_module(3), img, [((2 + 0.5) / 8, (4 + 0.5) / 6), ((7 + 0.5) / 8, (0 + 0.5) / 6)])
    np.testing.assert_allclose(out[0], img[:, 4, 2], atol=1e-12)
    np.testing.assert_allclose(out[1], img[:, 0, 7], atol=1e-12)


def test_out_of_range_samples_contribute_zero():
    img = np.ones((2, 4, 4))
    out = _run(_identity_module(2), img, [(-0.6, 0.5), (0.5, 1.7), (0.0, 0.0)])
    np.testing.assert_allclose(out[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(out[1], 0.0, atol=1e-12)
    # The image corner sits half a pixel away from the first centre: only 1/4 of that cell is read.
    np.testing.assert_allclose(out[2], 0.25, atol=1e-12)


def test_init_directions_and_uniform_weights():
    m = MSDeformAttn(d_model=16, n_heads=4, n_levels=1, n_points=16)
    bias = m.sampling_offsets.bias.view(4, 1, 16, 2)
    steps = torch.arange(1, 17, dtype=torch.float32)
    torch.testing.assert_close(bias[0, 0], torch.stack([steps, torch.zeros(16)], -1), atol=1e-6, rtol=0)
    torch.testing.assert_close(bias[1, 0], torch.stack([torch.zeros(16), steps], -1), atol=1e-6, rtol=0)
    torch.testing.assert_close(bias[2, 0], torch.stack([-steps, torch.zeros(16)], -1), atol=1e-6, rtol=0)
    torch.testing.assert_close(bias[3, 0], torch.stack([torch.zeros(16), -steps], -1), atol=1e-6, rtol=0)
    assert torch.count_nonzero(m.sampling_offsets.weight) == 0
    assert torch.count_nonzero(m.attention_weights.weight) == 0
    assert torch.count_nonzero(m.attention_weights.bias) == 0
    assert torch.count_nonzero(m.value_proj.bias) == 0


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(0)
    shapes = [(3, 4), (2, 2)]
    s = sum(h * w for h, w in shapes)
    value = torch.randn(1, s, 2, 3, dtype=torch.float64, generator=g, requires_grad=True)
    # Keep sample points away from integer pixel positions, where bilinear is not differentiable.
    loc = (0.1 + 0.8 * torch.rand(1, 2, 2, 2, 2, 2, dtype=torch.float64, generator=g)).requires_grad_(True)
    weights = torch.rand(1, 2, 2, 2, 2, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v, l, w: deformable_sample(v, shapes, l, w), (value, loc, weights))


def test_module_gradcheck_and_value_mask():
    torch.manual_seed(0)
    m = MSDeformAttn(d_model=4, n_heads=2, n_levels=1, n_points=2).double()
    value = torch.randn(1, 9, 4, dtype=torch.float64, requires_grad=True)
    query = torch.randn(1, 2, 4, dtype=torch.float64, requires_grad=True)
    ref = torch.tensor([[[0.37, 0.41], [0.62, 0.28]]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda q, v: m(q, ref, v, [(3, 3)]), (query, value))
    mask = torch.zeros(1, 9, dtype=torch.bool)
    out = m(query, ref, value, [(3, 3)], value_mask=mask)
    torch.testing.assert_close(out, m.output_proj.bias.expand_as(out))
