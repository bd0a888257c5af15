"""Tests for the pose and heatmap metrics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from synth.constants import JOINT_GROUPS
from train.metrics import (HeatmapMetrics, PoseMetrics, group_mpjpe_mm, mpjpe_mm, pa_mpjpe_mm, pck_auc,
                           procrustes_transform)


def _poses(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=0.4, size=(n, 16, 3))


def test_mpjpe_known_offset():
    gt = _poses(3)
    pred = gt + np.array([0.03, -0.04, 0.0])  # 5 cm everywhere
    np.testing.assert_allclose(mpjpe_mm(pred, gt), 50.0, atol=1e-9)
    pred2 = gt.copy()
    pred2[:, 6] += [0.0, 0.0, 0.16]  # one joint off by 160 mm
    np.testing.assert_allclose(mpjpe_mm(pred2, gt), 10.0, atol=1e-9)


def test_pa_mpjpe_zero_for_similarity_transforms():
    gt = _poses(8, seed=1)
    rots = Rotation.random(8, random_state=2).as_matrix()
    scales = np.random.default_rng(3).uniform(0.3, 3.0, size=8)
    shifts = np.random.default_rng(4).normal(size=(8, 3))
    pred = scales[:, None, None] * np.einsum("nij,nkj->nki", rots, gt) + shifts[:, None]
    assert mpjpe_mm(pred, gt).min() > 10.0
    np.testing.assert_allclose(pa_mpjpe_mm(pred, gt), 0.0, atol=1e-7)
    s, r, t = procrustes_transform(pred, gt)
    np.testing.assert_allclose(s, 1.0 / scales, rtol=1e-9)
    np.testing.assert_allclose(r, rots.transpose(0, 2, 1), atol=1e-9)


def test_pa_uses_proper_rotation_for_reflected_input():
    gt = _poses(5, seed=5)
    pred = gt * np.array([-1.0, 1.0, 1.0])  # mirror image
    _, r, _ = procrustes_transform(pred, gt)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-9)
    assert pa_mpjpe_mm(pred, gt).min() > 1.0  # a mirror cannot be undone by a rotation


def test_group_mpjpe_and_pck():
    err = np.zeros((2, 16))
    err[:, 6:8] = 100.0  # hands
    err[:, 14:16] = 200.0  # toes
    groups = group_mpjpe_mm(err)
    assert set(groups) == set(JOINT_GROUPS)
    assert groups["hands"] == pytest.approx(100.0)
    assert groups["toes"] == pytest.approx(200.0)
    assert groups["upper_body"] == pytest.approx(200.0 / 8)
    assert groups["all"] == pytest.approx(600.0 / 16)
    pck, auc = pck_auc(err)
    assert pck == pytest.approx(14 / 16 * 100)
    # Thresholds 0, 5, ..., 150: 12 joints are within all 31, hands within the 11 thresholds >= 100.
    assert auc == pytest.approx((12 * 31 + 2 * 11) / (16 * 31) * 100)


def test_accumulators():
    gt = _poses(4)
    m = PoseMetrics()
    m.update(gt[:2] + [0.01, 0, 0], gt[:2])
    m.update(gt[2:] + [0.03, 0, 0], gt[2:])
    out = m.summary()
    assert out["mpjpe_mm"] == pytest.approx(20.0)
    assert out["pa_mpjpe_mm"] == pytest.approx(0.0, abs=1e-6)
    assert out["frames"] == 4
    h = HeatmapMetrics({"front": [0, 1], "back": [2]})
    gt_hm = np.zeros((1, 3, 15, 4, 4))
    pred = gt_hm.copy()
    pred[:, 2] = 0.01  # back view off by 0.01 everywhere
    h.update("initial", pred, gt_hm)
    out = h.summary()
    assert out["initial_front_mse_x1e4"] == 0.0
    assert out["initial_back_mse_x1e4"] == pytest.approx(1.0)
