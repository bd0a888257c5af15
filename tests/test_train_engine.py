"""Tests for the trainer config, schedule, optimiser groups, fit/resume/eval and the CLI (the sweep driver is
tested on generated data in test_train_generated.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from synth.errors import ConfigError
from train.cli import main
from train.config import StageConfig, load_config
from train.engine import evaluate_checkpoint, fit, lr_at, param_groups
from train.fixtures import write_fixture_dataset
from train.models.transformer import CrossViewLayer



REPO = Path(__file__).resolve().parents[1]
TINY = {
    "data": {"input_size": 32, "heatmap_size": 8},
    "model": {"feature_dims": 16, "refiner": {"embed_dims": 16, "heads": 2, "points": 2, "ffn_dims": 32},
              "lifter": {"embed_dims": 16, "num_layers": 2, "heads": 2, "points": 2, "ffn_dims": 32}},
    "heatmap": {"epochs": 1, "batch_size": 2, "warmup_iters": 1, "max_iters_per_epoch": 2},
    "refine": {"epochs": 1, "batch_size": 2, "warmup_iters": 1, "max_iters_per_epoch": 2},
    "pose3d": {"epochs": 2, "batch_size": 2, "warmup_iters": 1, "max_iters_per_epoch": 2, "milestones": [1]},
    "train": {"device": "cpu", "progress": False, "log_every": 1},
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_fixture_dataset(tmp_path_factory.mktemp("ds"), np.random.default_rng(0), identities=3, frames=4,
                                 image_size=32)


def _config_file(tmp_path: Path, dataset: Path, **extra) -> Path:
    data = json.loads(json.dumps(TINY))
    data["data"]["root"] = str(dataset)
    data["train"]["out_dir"] = str(tmp_path / "run")
    for k, v in extra.items():
        data.setdefault(k, {}).update(v)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_configs_load():
    paper = load_config(REPO / "train_configs" / "paper.yaml")
    assert paper.data.input_size == 256 and paper.data.heatmap_size == 64
    assert paper.heatmap.batch_size == 64 and paper.refine.batch_size == 64 and paper.pose3d.batch_size == 32
    assert paper.pose3d.milestones == (8, 10) and paper.pose3d.warmup_iters == 500 and paper.pose3d.grad_clip == 5.0
    assert paper.model.refiner.points == 16 and paper.model.lifter.num_layers == 3
    tiny = load_config(REPO / "train_configs" / "tiny_cpu.yaml")
    assert tiny.data.input_size <= 128
    sweep = load_config(REPO / "train_configs" / "tiny_sweep.yaml")
    assert sweep.sweep.clips and sweep.sweep.render_overrides["rig"]["resolution"] <= 128
    assert sweep.train.num_threads == 1 and sweep.sweep.front_only_baseline


def test_config_errors_name_file_and_field(tmp_path, dataset):
    path = _config_file(tmp_path, dataset, model={"refiner": {"embed_dims": 16, "colour": 1}})
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and "model.refiner.colour" in str(err.value)
    path = _config_file(tmp_path, dataset, data={"input_size": 64, "heatmap_size": 8})
    with pytest.raises(ConfigError, match="4 x heatmap_size"):
        load_config(path)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_learning_rate_schedule():
    s = StageConfig(lr=1e-3, warmup_iters=500, milestones=(8, 10), gamma=0.1)
    assert lr_at(s, 0, 0) == pytest.approx(1e-3 / 500)  # the first step is warmed up too
    assert lr_at(s, 0, 249) == pytest.approx(0.5e-3)
    assert lr_at(s, 3, 5000) == pytest.approx(1e-3)
    assert lr_at(s, 8, 9000) == pytest.approx(1e-4)
    assert lr_at(s, 11, 9999) == pytest.approx(1e-5)


def test_no_decay_groups_by_module_type():
    layer = CrossViewLayer(2, 8, heads=2, points=2, ffn_dims=16)
    decay, no_decay = param_groups(layer, StageConfig(weight_decay=5e-4, no_decay_norm_bias=True))
    ids = {id(p) for p in no_decay["params"]}
    assert no_decay["weight_decay"] == 0.0 and decay["weight_decay"] == 5e-4
    assert id(layer.norm1.weight) in ids and id(layer.fuse.bias) in ids and id(layer.fuse.weight) not in ids
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(layer.parameters()))


def test_fit_resume_eval_and_cli(tmp_path, dataset):
    cfg_path = _config_file(tmp_path, dataset)
    cfg = load_config(cfg_path)
    results = fit(cfg)
    run = tmp_path / "run"
    assert set(results) == {"heatmap_front", "heatmap_back", "refine", "pose3d"}
    for stage in ("heatmap_front", "heatmap_back", "refine", "pose3d"):
        ckpt = torch.load(run / stage / "checkpoint.pt", weights_only=False)
        assert ckpt["complete"] and ckpt["config_hash"] == cfg.hash() and ckpt["config"]["data"]["root"]
        assert (run / stage / "curves.png").stat().st_size > 0
    assert not list(run.rglob("*.tmp"))
    records = [json.loads(x) for x in (run / "pose3d" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if r["split"] == "val"] == [0, 1]
    assert np.isfinite(results["pose3d"]["mpjpe_mm"])

    # Resume: mark the 3D stage as interrupted after its first epoch; only epoch 2 is redone.
    ckpt_path = run / "pose3d" / "checkpoint.pt"
    ckpt = torch.load(ckpt_path, weights_only=False)
    ckpt.update(complete=False, epoch=1, global_step=2)
    torch.save(ckpt, ckpt_path)
    before = (run / "refine" / "checkpoint.pt").stat().st_mtime_ns
    fit(cfg)
    assert (run / "refine" / "checkpoint.pt").stat().st_mtime_ns == before  # complete stages are skipped
    records = [json.loads(x) for x in (run / "pose3d" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if r["split"] == "val"] == [0, 1, 1]
    assert torch.load(ckpt_path, weights_only=False)["global_step"] == 4

    metrics = evaluate_checkpoint(cfg, ckpt_path, "test")
    assert metrics["frames"] == 4 and metrics["mpjpe_mm"] > 0 and "refined_back_mse_x1e4" in metrics
    out = tmp_path / "eval.json"
    assert main(["eval", str(cfg_path), "--checkpoint", str(run / "refine" / "checkpoint.pt"), "--split", "val",
                 "--out", str(out)]) == 0
    assert "refined_front_mse_x1e4" in json.loads(out.read_text())


def test_cli_reports_errors_in_one_line(tmp_path, capsys):
    assert main(["fit", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.yaml" in err[0]
    assert main(["sweep", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--sweep" in err[0]

