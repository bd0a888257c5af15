"""Learning tests: every stage's loss falls by at least 90% when it overfits one fixed tiny batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from train.config import config_from_dict
from train.data import NativeFrameDataset
from train.engine import HeatmapTask, PoseTask, RefineTask, build_network, view_groups
from train.fixtures import write_fixture_dataset



TINY = {
    "data": {"root": "unused", "input_size": 32, "heatmap_size": 8, "views": ["front_left", "front_right"]},
    "model": {"feature_dims": 32, "refiner": {"embed_dims": 16, "heads": 4, "points": 4, "ffn_dims": 64},
              "lifter": {"embed_dims": 32, "num_layers": 2, "heads": 4, "points": 4, "ffn_dims": 64}},
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = write_fixture_dataset(tmp_path_factory.mktemp("ds"), np.random.default_rng(0), identities=1, frames=2,
                                 image_size=64)
    cfg = config_from_dict({**TINY, "data": {**TINY["data"], "root": str(root)}}, "test")
    ds = NativeFrameDataset(root, "train", 32, 8, views=cfg.data.views)
    batch = torch.utils.data.default_collate([ds[0]])
    return cfg, ds, batch, view_groups(ds.views, None)


def _overfit(task, model, batch, steps: int, lr: float) -> float:
    torch.manual_seed(0)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)
    task.train_mode(model)
    losses = []
    for _ in range(steps):
        loss, _ = task.loss(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return min(losses[-5:]) / losses[0]


def test_heatmap_stage_overfits(setup):
    cfg, ds, batch, groups = setup
    ratio = _overfit(HeatmapTask("front", groups["front"], cfg.heatmap), build_network(cfg, "heatmap", groups),
                     batch, steps=40, lr=1e-3)
    assert ratio <= 0.1


def test_refine_stage_overfits(setup):
    cfg, ds, batch, groups = setup
    model = build_network(cfg, "refine", groups)
    for p in model.estimators.parameters():
        p.requires_grad_(False)
    ratio = _overfit(RefineTask(groups, cfg.refine, True), model, batch, steps=100, lr=3e-3)
    assert ratio <= 0.1


def test_pose3d_stage_overfits(setup):
    cfg, ds, batch, groups = setup
    task = PoseTask(groups, cfg.pose3d, ds.projector(), cfg.model.lifter.units_per_metre)
    ratio = _overfit(task, build_network(cfg, "pose3d", groups), batch, steps=70, lr=5e-3)
    assert ratio <= 0.1
