"""The trainer on datasets made by the real generator (`synth.run.dataset.label_dataset`, `synth labels`): dataset
contract, learning (refined vs initial heatmaps on held-out frames) and the rig-sweep driver."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
os.environ.setdefault("WARP_CACHE_PATH", str(REPO / ".cache" / "egorig" / "warp"))

from synth.config import load_config as load_render_config  # noqa: E402
from synth.constants import FRONT_VIEWS  # noqa: E402
from synth.dataset.reader import DatasetReader  # noqa: E402
from synth.errors import DatasetError  # noqa: E402
from train.config import config_from_dict  # noqa: E402
from train.data import NativeFrameDataset  # noqa: E402

DEFAULT_RENDER_CONFIG = REPO / "render_configs" / "default.yaml"



#: The motion content the learning criterion was calibrated on: the families of the procedural library drawn
#: uniformly, without the head-gaze overlay (the default config's everyday mix is mostly walking, which changes
#: what the rear views see; the criterion tests the trainer, so its data stays fixed).
LEARNING_MOTION = {"weights": None, "gaze": {"probability": 0.0}, "families": [
    "walk", "look_around", "reach_overhead", "reach_behind", "squat", "lunge", "pick_up", "kick", "arm_swing", "jump",
    "crawl", "sit_floor", "dance", "crouch"]}


def generate(out: Path, clips: int, frames: int, resolution: int = 64, motion: dict | None = None) -> Path:
    """A label-only dataset of the embedded default config (with `motion` overrides), written by the real
    generator."""
    from synth.run.dataset import label_dataset

    cfg = load_render_config(DEFAULT_RENDER_CONFIG, overrides={
        "rig": {"resolution": resolution}, "clips": {"frames": frames}, "labels": {"heatmap_size": 16},
        **({"motion": motion} if motion else {})})
    label_dataset(cfg, out, clips, config_dir=DEFAULT_RENDER_CONFIG.parent, progress=False)
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("gen") / "ds", clips=10, frames=4)


# ----------------------------------------------------------------------------------------------------------------
def test_generated_dataset_feeds_the_trainer(generated):
    reader = DatasetReader(generated)
    meta = json.loads((generated / "dataset.json").read_text())
    identity = {cid: reader.clip_meta(cid)["identity"]["identity_id"] for cid in reader.clip_ids}
    splits = {s: NativeFrameDataset(generated, s, input_size=32, heatmap_size=8) for s in ("train", "val", "test")}
    # Splits are the dataset's identity-disjoint ones, frame for frame.
    for name, ds in splits.items():
        assert ds.clip_ids == sorted(meta["splits"][name])
        assert len(ds) == 4 * len(meta["splits"][name])
    ids = {name: {identity[c] for c in ds.clip_ids} for name, ds in splits.items()}
    assert not (ids["train"] & ids["val"]) and not (ids["train"] & ids["test"]) and not (ids["val"] & ids["test"])
    # Views and lenses come from the dataset's rig, in the requested order.
    ds = NativeFrameDataset(generated, "train", input_size=32, heatmap_size=8, views=["back_right", "front_left"])
    cams = {c["name"]: c for c in meta["rig"]["cameras"]}
    assert [lens.to_dict() for lens in ds.lenses] == [cams["back_right"]["lens"], cams["front_left"]["lens"]]
    s = ds[3]
    cid, frame = ds.samples[3]
    labels = reader.labels(cid)
    row = reader.row(cid, frame)
    assert bool(s["synthetic_image"]) and tuple(s["images"].shape) == (2, 3, 32, 32)
    np.testing.assert_allclose(s["joints3d_device_m"].numpy(), labels["joints3d_device"][row], atol=1e-6)
    # 8 x 8 heatmaps rendered from joints2d peak in the cell of each in-image joint.
    uv = labels["joints2d"][row][[3, 0]]
    vis = labels["visibility"][row][[3, 0]]
    stride = meta["image"]["width"] / 8
    for v in range(2):
        for j in range(15):
            if vis[v, j + 1] and (uv[v, j + 1] >= 0).all() and (uv[v, j + 1] < meta["image"]["width"] - 1).all():
                peak = np.unravel_index(int(np.argmax(s["heatmaps"][v, j].numpy())), (8, 8))
                cell = np.floor((uv[v, j + 1] + 0.5) / stride).astype(int)
                assert abs(peak[0] - cell[1]) <= 1 and abs(peak[1] - cell[0]) <= 1
    with pytest.raises(DatasetError, match="label-only"):
        NativeFrameDataset(generated, "train", input_size=32, heatmap_size=8, images="files")


def test_stand_in_images_show_only_the_joints_the_camera_sees(generated):
    """Label-only datasets draw the visible joints (visibility 2); a self-occluded joint in the image keeps its
    heatmap target but is missing from the picture."""
    from synth.constants import VIS_OCCLUDED, VIS_VISIBLE
    from train.data import IMAGENET_MEAN, IMAGENET_STD
    from train.synthetic_images import joint_colours

    size = 64
    ds = NativeFrameDataset(generated, "train", input_size=size, heatmap_size=16)
    reader = DatasetReader(generated)
    colours = np.array(joint_colours(), dtype=np.float64)
    shown = {VIS_VISIBLE: [], VIS_OCCLUDED: []}
    for i in range(0, len(ds), 3):
        s = ds[i]
        cid, frame = ds.samples[i]
        row = reader.row(cid, frame)
        uv = (reader.labels(cid)["joints2d"][row] + 0.5) * size / reader.image_size[0] - 0.5
        vis = s["visibility"].numpy()
        rgb = (s["images"].numpy() * np.array(IMAGENET_STD)[:, None, None]
               + np.array(IMAGENET_MEAN)[:, None, None]) * 255
        for v in range(len(vis)):
            for j in range(16):
                u, w = np.round(uv[v, j]).astype(int)
                if vis[v, j] in shown and 0 <= u < size and 0 <= w < size:
                    shown[vis[v, j]].append(np.abs(rgb[v, :, w, u] - colours[j]).max() < 8)
    assert len(shown[VIS_OCCLUDED]) >= 10, "no self-occluded joints in the generated frames"
    assert np.mean(shown[VIS_VISIBLE]) > 0.7, np.mean(shown[VIS_VISIBLE])  # the rest hidden under later discs
    assert np.mean(shown[VIS_OCCLUDED]) < 0.15, np.mean(shown[VIS_OCCLUDED])


# ----------------------------------------------------------------------------------------------------------------
# Learning on generated data: stage 1 + the refinement stage, scored on held-out identities (val + test splits).
LEARN_CONFIG = {
    "data": {"input_size": 32, "heatmap_size": 8, "val_split": None},
    "model": {"feature_dims": 32, "refiner": {"embed_dims": 64, "heads": 4, "points": 4, "ffn_dims": 128}},
    "heatmap": {"epochs": 4, "batch_size": 4, "lr": 2e-3, "warmup_iters": 5, "milestones": []},
    "refine": {"epochs": 4, "batch_size": 4, "lr": 2e-3, "warmup_iters": 5, "milestones": []},
    "train": {"device": "cpu", "progress": False, "evaluate": False, "stages": ["heatmap", "refine"], "seed": 0},
}
HELD_OUT = ("val", "test")


def _held_out_mse(cfg, checkpoint: Path) -> dict[str, float]:
    """Frame-weighted heatmap MSE (x1e4) over the held-out splits, plus the MSE of predicting all zeros: initial
    and refined, per view group (front, back) and their mean."""
    from train.engine import evaluate_checkpoint

    totals: dict[str, float] = {}
    frames = 0
    for split in HELD_OUT:
        m = evaluate_checkpoint(cfg, checkpoint, split)
        ds = NativeFrameDataset(cfg.data.root, split, cfg.data.input_size, cfg.data.heatmap_size)
        target = np.stack([ds[i]["heatmaps"].numpy() for i in range(len(ds))])
        m["zero_mse_x1e4"] = float((target.astype(np.float64) ** 2).mean() * 1e4)
        m["initial_mse_x1e4"] = (m["initial_front_mse_x1e4"] + m["initial_back_mse_x1e4"]) / 2
        m["refined_mse_x1e4"] = (m["refined_front_mse_x1e4"] + m["refined_back_mse_x1e4"]) / 2
        for k in ("zero_mse_x1e4", "initial_mse_x1e4", "refined_mse_x1e4", "initial_front_mse_x1e4",
                  "initial_back_mse_x1e4", "refined_front_mse_x1e4", "refined_back_mse_x1e4"):
            totals[k] = totals.get(k, 0.0) + m[k] * len(ds)
        frames += len(ds)
    return {k: v / frames for k, v in totals.items()}


def test_refined_heatmaps_localise_joints_of_unseen_identities(generated, tmp_path):
    """Weak but real: a few dozen iterations per stage take the refined heatmaps of identities never seen in
    training from worse-than-blank (random init) to well below the all-zero prediction's MSE, with the initial
    heatmaps alongside. (Refined beating initial takes longer: the slow test below.)"""
    from train.engine import fit

    cfg = config_from_dict({**LEARN_CONFIG, "data": {**LEARN_CONFIG["data"], "root": str(generated)},
                            "train": {**LEARN_CONFIG["train"], "out_dir": str(tmp_path / "run")}}, "test")
    fit(cfg)
    mse = _held_out_mse(cfg, tmp_path / "run" / "refine" / "checkpoint.pt")
    assert mse["refined_mse_x1e4"] < 0.6 * mse["zero_mse_x1e4"], mse
    assert mse["initial_mse_x1e4"] < 0.6 * mse["zero_mse_x1e4"], mse


#: A longer run where the refinement pays off: 64 px input, 16 x 16 heatmaps, refined path at full resolution
#: (released half-resolution fusion and head cannot resolve 16 x 16 peaks), 60 clips x 8 frames, stage 1 for 4
#: epochs, refinement for 12 (about 15 minutes on one CPU thread).
LONG_LEARN_CONFIG = {
    "data": {"input_size": 64, "heatmap_size": 16, "val_split": None},
    "model": {"feature_dims": 32, "refiner": {"embed_dims": 64, "heads": 4, "points": 4, "ffn_dims": 128,
                                              "half_resolution": False}},
    "heatmap": {"epochs": 4, "batch_size": 4, "lr": 2e-3, "warmup_iters": 5, "milestones": []},
    "refine": {"epochs": 12, "batch_size": 4, "lr": 2e-3, "warmup_iters": 5, "milestones": []},
    "train": {"device": "cpu", "progress": False, "evaluate": False, "stages": ["heatmap", "refine"], "seed": 0,
              "num_threads": 1},
}


@pytest.mark.slow
def test_refined_heatmaps_beat_the_initial_ones_on_held_out_identities(tmp_path_factory):
    """The issue's learning criterion: on a small generated dataset the refined heatmaps have a lower MSE than the
    initial ones on held-out frames (identities never seen in training). The gain comes from the rear views, where
    most joints are self-occluded and the refiner reads the front views (measured: initial 22.4 / 40.8, refined
    25.3 / 28.6 front / back, x1e-4)."""
    from train.engine import fit

    root = generate(tmp_path_factory.mktemp("gen_long") / "ds", clips=60, frames=8, motion=LEARNING_MOTION)
    out = tmp_path_factory.mktemp("long_run")
    cfg = config_from_dict({**LONG_LEARN_CONFIG, "data": {**LONG_LEARN_CONFIG["data"], "root": str(root)},
                            "train": {**LONG_LEARN_CONFIG["train"], "out_dir": str(out)}}, "test")
    fit(cfg)
    mse = _held_out_mse(cfg, out / "refine" / "checkpoint.pt")
    assert mse["refined_mse_x1e4"] < 0.95 * mse["initial_mse_x1e4"], mse
    assert mse["refined_back_mse_x1e4"] < 0.85 * mse["initial_back_mse_x1e4"], mse
    assert mse["initial_mse_x1e4"] < 0.4 * mse["zero_mse_x1e4"], mse


# ----------------------------------------------------------------------------------------------------------------
# The rig-sweep driver on two tiny variants with real generated data.
SWEEP_TRAIN_CONFIG = {
    "data": {"root": "set-by-sweep", "input_size": 32, "heatmap_size": 8},
    "model": {"feature_dims": 16, "refiner": {"embed_dims": 16, "heads": 2, "points": 2, "ffn_dims": 32},
              "lifter": {"embed_dims": 16, "num_layers": 1, "heads": 2, "points": 2, "ffn_dims": 32}},
    "heatmap": {"epochs": 1, "batch_size": 2, "warmup_iters": 1, "max_iters_per_epoch": 1},
    "refine": {"epochs": 1, "batch_size": 2, "warmup_iters": 1, "max_iters_per_epoch": 1},
    "pose3d": {"epochs": 1, "batch_size": 2, "warmup_iters": 1, "max_iters_per_epoch": 1, "milestones": []},
    "train": {"out_dir": "set-by-sweep", "device": "cpu", "progress": False, "evaluate": False},
    # Splits are a fixed function of (seed, identity): with the default seed and these fractions the first 7 clips
    # hold 3 train, 2 val and 2 test identities (fewer clips leave val empty).
    "sweep": {"clips": 7, "render_overrides": {"rig": {"resolution": 32}, "clips": {"frames": 2},
                                                "splits": {"val": 0.25, "test": 0.25}}},
}


def test_sweep_driver_on_generated_variants(tmp_path):
    from train.sweep import run_sweep, synth_labels_in_process

    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"name": "mini", "base": str(DEFAULT_RENDER_CONFIG), "variants": [
        {"name": "near", "overrides": {"rig": {"name": "D-FR 26 cm", "front_to_rear_m": 0.26}}},
        {"name": "default", "overrides": {"rig": {"name": "D-FR 37 cm"}}}]}))
    cfg_path = tmp_path / "train.yaml"
    cfg_path.write_text(yaml.safe_dump(SWEEP_TRAIN_CONFIG))
    out = tmp_path / "out"
    made = []

    def maker(config_path, out_dir, clips):
        made.append(out_dir)
        return synth_labels_in_process(config_path, out_dir, clips)

    rows = run_sweep(sweep, cfg_path, out, maker)
    assert [(r["variant"], r["method"]) for r in rows] == [
        ("near", "baseline"), ("near", "refine"), ("default", "baseline"), ("default", "baseline_front2"),
        ("default", "refine")]
    assert len(made) == 2
    for r in rows:
        assert np.isfinite(r["mpjpe_mm"]) and np.isfinite(r["pa_mpjpe_mm"]) and r["frames"] == 2 * 2
        assert np.isfinite(r["hands_mm"]) and np.isfinite(r["feet_mm"]) and np.isfinite(r["front_mse_x1e4"])
    by = {(r["variant"], r["method"]): r for r in rows}
    assert by["default", "baseline_front2"]["back_mse_x1e4"] is None  # no rear views
    assert by["near", "refine"]["back_mse_x1e4"] == by["near", "refine"]["refined_back_mse_x1e4"]
    assert by["near", "baseline"]["back_mse_x1e4"] == by["near", "baseline"]["initial_back_mse_x1e4"]
    # Each variant's dataset was generated with its own rig, through its render config file.
    for variant, d_fr in (("near", 0.26), ("default", 0.37)):
        meta = json.loads(made[[p.name.split("-")[0] for p in made].index(variant)].joinpath(
            "dataset.json").read_text())
        assert meta["rig"]["front_to_rear_m"] == pytest.approx(d_fr) and meta["image"]["width"] == 32
        assert meta["num_clips"] == 7 and meta["config"]["clips"]["frames"] == 2
    # Baselines reuse the refinement arm's stage-1 models; the front-only baseline sees 2 views.
    assert not (out / "near" / "baseline" / "heatmap_front").exists()
    front2 = json.loads((out / "default" / "baseline_front2" / "config.json").read_text())["config"]
    assert front2["data"]["views"] == list(FRONT_VIEWS) and front2["model"]["refiner"]["enabled"] is False
    table = (out / "report.md").read_text()
    assert "| D-FR 26 cm | baseline |" in table and "| D-FR 37 cm | baseline, 2 front views |" in table
    assert json.loads((out / "report.json").read_text())["seconds"]["total"] > 0

    # Rerun: datasets and complete stages are reused (nothing is generated or trained again).
    stamp = (out / "near" / "refine" / "pose3d" / "checkpoint.pt").stat().st_mtime_ns
    rows2 = run_sweep(sweep, cfg_path, out, lambda *a: pytest.fail("dataset regenerated"))
    assert (out / "near" / "refine" / "pose3d" / "checkpoint.pt").stat().st_mtime_ns == stamp
    assert [r["mpjpe_mm"] for r in rows2] == [r["mpjpe_mm"] for r in rows]


def test_synth_labels_command_errors_are_one_line(tmp_path):
    from train.sweep import synth_labels_dataset

    with pytest.raises(DatasetError, match="missing.yaml"):
        synth_labels_dataset(tmp_path / "missing.yaml", tmp_path / "ds", 1)
