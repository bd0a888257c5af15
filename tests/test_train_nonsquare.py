"""The trainer on NON-SQUARE datasets written by the real generator (640 x 480 sensors rendered at 128 x 96 px,
64 x 48 stored heatmaps): input / heatmap grids, sample shapes, the 2D pixel read-out, anchors, a short training
run through the refiner and the lifter, and the one-line refusals."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
os.environ.setdefault("WARP_CACHE_PATH", str(REPO / ".cache" / "egorig" / "warp"))

from synth.constants import VIS_VISIBLE  # noqa: E402
from synth.dataset.reader import DatasetReader  # noqa: E402
from synth.errors import ConfigError, DatasetError  # noqa: E402
from train.config import config_from_dict, load_config  # noqa: E402
from train.data import IMAGENET_MEAN, IMAGENET_STD, NativeFrameDataset  # noqa: E402
from train.engine import OTHER_GROUP, build_network, evaluate_checkpoint, fit, heatmap_hw, view_groups  # noqa: E402
from train.grids import heatmap_grid, input_grid, nearest_multiple  # noqa: E402
from train.metrics import HeatmapMetrics  # noqa: E402
from train.models.refiner import heatmap_anchors  # noqa: E402
from train.readout import heatmap_peaks, heatmaps_to_image_px  # noqa: E402

IMAGE_W, IMAGE_H = 128, 96  # the 640 x 480 sensors at rig resolution 128
IMAGE_W_H = (IMAGE_W, IMAGE_H)
STORED_W, STORED_H = 64, 48  # heatmap size 64 on the longer side


def _lens(cx: float = 319.5) -> dict:
    return {"type": "opencv_fisheye", "width": 640, "height": 480, "fx": 160, "fy": 160, "cx": cx, "cy": 239.5,
            "k": [0.0, 0.0, 0.0, 0.0], "fov_deg": 190}


def _generate(out: Path, names: tuple[str, str], clips: int, frames: int) -> Path:
    """A label-only dataset of a custom two-camera 4:3 rig, made by `synth labels`."""
    from synth.cli import main as synth_main

    config = {
        "base": str(REPO / "render_configs" / "default.yaml"),
        "clips": {"count": clips, "frames": frames},
        "rig": {"preset": "custom", "resolution": IMAGE_W, "cameras": [
            {"name": names[0], "position_m": [-0.06, 0.0, 0.0], "rotation_deg": [0, 0, 0], "lens": _lens()},
            {"name": names[1], "position_m": [0.06, 0.0, 0.0], "rotation_deg": [0, 0, 0], "lens": _lens()},
        ]},
    }
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(config))
    assert synth_main(["labels", str(path), "--out", str(out), "--clips", str(clips), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return _generate(tmp_path_factory.mktemp("nonsquare") / "ds", ("front_left", "front_right"), clips=2, frames=4)


TINY = {
    "data": {"input_size": 128, "heatmap_size": 32, "val_split": "train", "test_split": None},
    "model": {"feature_dims": 16, "refiner": {"embed_dims": 16, "heads": 2, "points": 2, "ffn_dims": 32},
              "lifter": {"embed_dims": 16, "num_layers": 2, "heads": 2, "points": 2, "ffn_dims": 32}},
    "heatmap": {"epochs": 1, "batch_size": 2, "warmup_iters": 1, "max_iters_per_epoch": 2},
    "refine": {"epochs": 1, "batch_size": 2, "warmup_iters": 1, "max_iters_per_epoch": 2},
    "pose3d": {"epochs": 1, "batch_size": 2, "warmup_iters": 1, "max_iters_per_epoch": 2},
    "train": {"device": "cpu", "progress": False, "log_every": 1},
}


def _config(root: Path, out_dir: Path, **data) -> dict:
    cfg = json.loads(json.dumps(TINY))
    cfg["data"].update(root=str(root), **data)
    cfg["train"]["out_dir"] = str(out_dir)
    return cfg


# ----------------------------------------------------------------------------------------------------------------
# Grids and config
def test_input_and_heatmap_grids():
    assert input_grid(256, (640, 480)) == (256, 192)
    assert input_grid(256, (480, 640)) == (192, 256)  # portrait: the height is the longer side
    assert input_grid(256, (752, 480)) == (256, 160)  # 163.4 px rounded to a multiple of 32
    assert input_grid(64, (64, 64)) == (64, 64) and input_grid(48, (200, 200)) == (48, 48)  # square: as before
    assert input_grid((128, 64), (640, 480)) == (128, 64)  # explicit: as given
    assert nearest_multiple(10, 32) == 32 and nearest_multiple(144, 32) == 160 and nearest_multiple(140, 32) == 128
    # The heatmaps are the input grid / 4 when the longer sides agree (every trainer config) ...
    assert heatmap_grid(64, (752, 480), (256, 160)) == (64, 40)
    assert heatmap_grid(16, (64, 64), (64, 64)) == (16, 16)
    # ... else synth's aspect-ratio rule (64 x 41 for 752 x 480 images), or an explicit (w, h).
    assert heatmap_grid(64, (752, 480), (64, 64)) == (64, 41)
    assert heatmap_grid((32, 16), (640, 480), (128, 64)) == (32, 16)


def test_square_configs_are_unchanged():
    """Square configs validate to the same values and hash as before non-square support (checkpoints written
    with them still resume): pinned hashes of two configs."""
    cfg = config_from_dict({"data": {"root": "/data/x", "input_size": 32, "heatmap_size": 8},
                            "model": {"feature_dims": 16}}, "t")
    assert cfg.data.input_size == 32 and cfg.data.heatmap_size == 8
    assert cfg.hash() == "1ba085dd84ac2d08"
    assert config_from_dict({"data": {"root": "r"}}, "t").hash() == "ad92fd75a3e6adec"
    explicit = config_from_dict({"data": {"root": "r", "input_size": [128, 96], "heatmap_size": [32, 24]}}, "t")
    assert explicit.data.input_size == (128, 96) and explicit.data.heatmap_size == (32, 24)


def test_bad_sizes_are_refused_in_one_line_naming_the_field(tmp_path, capsys):
    from train.cli import main

    def refused(data: dict) -> str:
        path = tmp_path / "cfg.yaml"
        path.write_text(yaml.safe_dump(_config(tmp_path / "nowhere", tmp_path / "run", **data)))
        with pytest.raises(ConfigError) as err:
            load_config(path)
        text = str(err.value)
        assert "\n" not in text and str(path) in text
        return text

    text = refused({"input_size": [128, 100], "heatmap_size": [32, 25]})
    assert "data.input_size" in text and "multiple of 32" in text and "[128, 96] or [128, 128]" in text
    assert "data.heatmap_size" in refused({"input_size": [128, 96], "heatmap_size": [32, 25, 1]})
    assert "input_size" in refused({"input_size": [128, 96], "heatmap_size": [32, 16]})  # not input / 4
    assert "data.input_size" in refused({"input_size": True})
    # The command line: exit code 2, one line on stderr naming the field, nothing written.
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(_config(tmp_path / "nowhere", tmp_path / "run", input_size=[100, 96],
                                           heatmap_size=[25, 24])))
    assert main(["fit", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "data.input_size" in err[0]
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------------------------------------------
# The dataset
def test_generated_dataset_is_non_square(dataset):
    meta = json.loads((dataset / "dataset.json").read_text())
    assert (meta["image"]["width"], meta["image"]["height"]) == (IMAGE_W, IMAGE_H)
    assert (meta["heatmap"]["width"], meta["heatmap"]["height"], meta["heatmap"]["size"]) == (STORED_W, STORED_H, 64)
    reader = DatasetReader(dataset)
    assert reader.image_size == (IMAGE_W, IMAGE_H) and reader.heatmap_shape == (STORED_W, STORED_H)

    ds = NativeFrameDataset(dataset, "train", input_size=128, heatmap_size=32)
    assert ds.input_wh == (128, 96) and ds.heatmap_wh == (32, 24) and ds.heatmap_hw == (24, 32)
    s = ds[1]
    assert tuple(s["images"].shape) == (2, 3, 96, 128) and tuple(s["heatmaps"].shape) == (2, 15, 24, 32)
    assert tuple(s["joints2d_px"].shape) == (2, 16, 2) and s["image_size_px"].tolist() == [IMAGE_W, IMAGE_H]
    cid, frame = ds.samples[1]
    np.testing.assert_allclose(s["joints2d_px"].numpy(), reader.labels(cid)["joints2d"][reader.row(cid, frame)],
                               atol=1e-4)
    # At the stored grid (input 256 x 192, heatmaps 64 x 48) the targets are the stored maps.
    stored = reader.heatmaps(cid, frame).astype(np.float32)
    assert stored.shape == (2, 15, STORED_H, STORED_W)
    full = NativeFrameDataset(dataset, "train", input_size=256, heatmap_size=64)
    assert full.input_wh == (256, 192) and tuple(full[1]["images"].shape) == (2, 3, 192, 256)
    np.testing.assert_allclose(full[1]["heatmaps"].numpy(), stored, atol=2e-3)
    stored_ds = NativeFrameDataset(dataset, "train", input_size=256, heatmap_size=64, heatmaps="stored")
    np.testing.assert_array_equal(stored_ds[1]["heatmaps"].numpy(), stored)
    with pytest.raises(DatasetError, match="64 x 48 cells.*32 x 24.*use heatmaps: render"):
        NativeFrameDataset(dataset, "train", input_size=128, heatmap_size=32, heatmaps="stored")


def _in_image(visibility: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Joints inside the image whose Gaussian peak (1.0) is on the map."""
    return (visibility[..., 1:] != 0) & (peak > 0.99)


def test_heatmap_peaks_read_back_onto_the_labels(dataset):
    """The stored 64 x 48 maps and maps rendered at a grid with unequal strides (32 x 16 cells: 4 and 6 px) peak,
    read back through the trainer's pixel conversion, within half a cell's stride of joints2d on each axis."""
    reader = DatasetReader(dataset)
    checked = 0
    for cid in reader.clip_ids:
        labels = reader.labels(cid)
        stored = reader.heatmaps(cid).astype(np.float32)  # (F, V, 15, 48, 64)
        px, peak = heatmaps_to_image_px(stored, reader.image_size)
        ok = _in_image(labels["visibility"], peak)
        err = np.abs(px - labels["joints2d"][:, :, 1:])[ok]
        assert (err <= np.array([IMAGE_W / STORED_W, IMAGE_H / STORED_H]) / 2 + 1e-6).all(), err.max(axis=0)
        checked += int(ok.sum())
    assert checked > 100

    ds = NativeFrameDataset(dataset, "train", input_size=(128, 64), heatmap_size=(32, 16))
    metrics = HeatmapMetrics({"front": [0, 1]})
    stride = np.array([IMAGE_W / 32, IMAGE_H / 16])
    for i in range(len(ds)):
        s = ds[i]
        hm = s["heatmaps"].numpy()
        assert hm.shape == (2, 15, 16, 32)
        px, peak = heatmaps_to_image_px(hm, IMAGE_W_H)
        ok = _in_image(s["visibility"].numpy(), peak)
        err = np.abs(px - s["joints2d_px"].numpy()[:, 1:])[ok]
        assert ok.sum() > 10 and (err <= stride / 2 + 1e-4).all(), err.max(axis=0)
        metrics.update("initial", hm[None], hm[None], s["joints2d_px"].numpy()[None], s["visibility"].numpy()[None],
                       s["image_size_px"].numpy()[None])
    summary = metrics.summary()
    assert summary["initial_front_mse_x1e4"] == 0.0
    assert 0.0 < summary["initial_front_err2d_px"] <= float(np.linalg.norm(stride / 2)) + 0.5  # joints at the border


def test_stand_in_images_are_scaled_per_axis(dataset):
    """The skeleton drawing of a 128 x 96 px view at a 128 x 64 input puts each joint's colour where its label
    lands after scaling x by 1 and y by 2/3."""
    from train.synthetic_images import joint_colours

    ds = NativeFrameDataset(dataset, "train", input_size=(128, 64), heatmap_size=(32, 16))
    colours = np.array(joint_colours(), dtype=np.float64)
    hits = []
    for i in range(len(ds)):
        s = ds[i]
        rgb = (s["images"].numpy() * np.array(IMAGENET_STD)[:, None, None]
               + np.array(IMAGENET_MEAN)[:, None, None]) * 255
        assert rgb.shape == (2, 3, 64, 128)
        uv = (s["joints2d_px"].numpy() + 0.5) * np.array([128 / IMAGE_W, 64 / IMAGE_H]) - 0.5
        vis = s["visibility"].numpy()
        for v in range(2):
            j = max((j for j in range(16) if vis[v, j] == VIS_VISIBLE), default=None)  # the last-drawn disc
            if j is None:
                continue
            u, w = np.round(uv[v, j]).astype(int)
            if 0 <= u < 128 and 0 <= w < 64:
                hits.append(np.abs(rgb[v, :, w, u] - colours[j]).max() < 8)
    assert len(hits) >= 4 and all(hits)


def test_heatmap_anchors_match_projected_joints(dataset):
    """Argmax anchors of the 32 x 24 targets (col / w, row / h) and the lens projections of the camera-frame
    joints ((u + 0.5) / W, (v + 0.5) / H), the two anchor sources of the refiner and the lifter, agree within half
    a cell on each axis."""
    ds = NativeFrameDataset(dataset, "train", input_size=128, heatmap_size=32)
    reader = DatasetReader(dataset)
    checked = 0
    for i in range(len(ds)):
        s = ds[i]
        cid, frame = ds.samples[i]
        cam = reader.labels(cid)["joints3d_camera"][reader.row(cid, frame)]
        uv, valid = ds.projector()(torch.from_numpy(cam[None]).double())
        anchors, _, peak = heatmap_anchors(s["heatmaps"][None].double())
        ok = (_in_image(s["visibility"].numpy(), peak[0].numpy())) & valid[0, :, 1:].numpy()
        err = (anchors[0] - uv[0, :, 1:]).abs().numpy()[ok]
        assert (err <= np.array([0.5 / 32, 0.5 / 24]) + 1e-9).all(), err.max(axis=0)
        checked += int(ok.sum())
    assert checked > 50


# ----------------------------------------------------------------------------------------------------------------
# Read-out and attention on non-square maps (pure)
def test_soft_argmax_and_pixel_conversion_on_non_square_maps():
    h, w = 7, 12
    ys, xs = np.mgrid[0:h, 0:w]
    centre = np.array([8.3, 2.6])  # (x, y) cells
    maps = np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / 2.0)[None]
    xy, peak = heatmap_peaks(maps)
    assert xy[0].tolist() == [8.0, 3.0] and peak[0] == pytest.approx(maps.max())
    soft, _ = heatmap_peaks(maps, soft_radius=2)
    np.testing.assert_allclose(soft[0], centre, atol=0.05)
    # Image of 96 x 35 px: strides 8 (x) and 5 (y).
    px, _ = heatmaps_to_image_px(maps, (96, 35))
    np.testing.assert_allclose(px[0], [8 * 8 - 0.5, 3 * 5 - 0.5])


def test_deformable_offsets_are_per_axis_feature_pixels():
    """On a 6 x 8 (h x w) map, a one-pixel offset in x moves one column and in y one row."""
    from train.models.deform_attn import MSDeformAttn

    h, w, d = 6, 8, 3
    img = np.random.default_rng(0).normal(size=(d, h, w))
    m = MSDeformAttn(d_model=d, n_heads=1, n_levels=1, n_points=1).double()
    value = torch.from_numpy(img).reshape(d, h * w).T[None]
    ref = torch.tensor([[(2.5 / w, 3.5 / h)]], dtype=torch.float64)  # the centre of row 3, column 2
    for offset, (row, col) in (((1.0, 0.0), (3, 3)), ((0.0, 1.0), (4, 2)), ((-2.0, -3.0), (0, 0))):
        with torch.no_grad():
            m.sampling_offsets.weight.zero_()
            m.sampling_offsets.bias.copy_(torch.tensor(offset, dtype=torch.float64))
            for lin in (m.value_proj, m.output_proj):
                lin.weight.copy_(torch.eye(d, dtype=torch.float64))
                lin.bias.zero_()
        out = m(torch.zeros(1, 1, d, dtype=torch.float64), ref, value, [(h, w)])[0, 0].detach().numpy()
        np.testing.assert_allclose(out, img[:, row, col], atol=1e-12)


# ----------------------------------------------------------------------------------------------------------------
# Training and evaluation
def _state(model: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items() if k.startswith(prefix)}


def test_short_training_run_and_evaluation(dataset, tmp_path):
    cfg = config_from_dict(_config(dataset, tmp_path / "run"), "test")
    results = fit(cfg)
    run = tmp_path / "run"
    assert set(results) == {"heatmap_front", "refine", "pose3d"}  # front_left + front_right: one front group
    pose = results["pose3d"]
    for key in ("mpjpe_mm", "pa_mpjpe_mm", "pck150", "proposal_mpjpe_mm", "initial_front_mse_x1e4",
                "refined_front_mse_x1e4", "initial_front_err2d_px", "refined_front_err2d_px"):
        assert math.isfinite(pose[key]), key
    assert pose["frames"] == 8
    assert 0.0 < pose["refined_front_err2d_px"] < math.hypot(IMAGE_W, IMAGE_H)
    assert math.isfinite(results["heatmap_front"]["initial_front_err2d_px"])

    # The networks were built for 24 x 32 heatmaps, and the refine and 3D stages changed the refiner and lifter.
    groups = view_groups(["front_left", "front_right"], None)
    fresh = build_network(cfg, "pose3d", groups, (24, 32))
    refine = torch.load(run / "refine" / "checkpoint.pt", weights_only=False)["model"]
    final = torch.load(run / "pose3d" / "checkpoint.pt", weights_only=False)["model"]
    assert tuple(final["refiners.0.pos_embed"].shape) == (1, 2, 24 * 32, 16)
    assert tuple(final["refiners.1.heatmap_embed.0.weight"].shape) == (16, 24 * 32)
    init_refiner, init_lifter = _state(fresh, "refiners."), _state(fresh, "lifter.")
    assert any(not torch.equal(refine[k], v) for k, v in init_refiner.items())
    assert any(not torch.equal(final[k], v) for k, v in init_lifter.items())

    metrics = evaluate_checkpoint(cfg, run / "pose3d" / "checkpoint.pt", "train")
    assert metrics["frames"] == 8 and math.isfinite(metrics["mpjpe_mm"])
    assert metrics["refined_front_err2d_px"] == pytest.approx(pose["refined_front_err2d_px"])


def test_mixed_sizes_that_disagree_with_the_aspect_ratio_are_refused(dataset, tmp_path):
    """input_size 128 gives a 128 x 96 grid for 4:3 images; heatmaps of 32 x 32 cells cannot be its quarter."""
    cfg = config_from_dict(_config(dataset, tmp_path / "run", heatmap_size=[32, 32]), "test")
    with pytest.raises(ConfigError, match=r"data\.heatmap_size.*set heatmap_size: \[32, 24\]"):
        fit(cfg)
    assert not (tmp_path / "run").exists()
    ok = config_from_dict(_config(dataset, tmp_path / "run", heatmap_size=[32, 24]), "test")
    from train.engine import build_dataset

    assert heatmap_hw(ok, build_dataset(ok, "train")) == (24, 32)


def test_custom_view_names_share_one_group(tmp_path):
    """A custom rig whose cameras are named neither as the front nor as the back views: one camera group (one
    encoder) by default; data.groups naming a view the dataset lacks is refused naming the field."""
    root = _generate(tmp_path / "custom", ("cam_left", "cam_right"), clips=1, frames=2)
    cfg = config_from_dict(_config(root, tmp_path / "run"), "test")
    from train.engine import build_dataset

    ds = build_dataset(cfg, "train")
    assert ds.views == ["cam_left", "cam_right"]
    groups = view_groups(ds.views, cfg.data.groups)
    assert groups == {OTHER_GROUP: (0, 1)}
    assert view_groups(["front_left", "front_right", "cam_top"], None) == {"front": (0, 1), OTHER_GROUP: (2,)}
    net = build_network(cfg, "refine", groups, heatmap_hw(cfg, ds))
    batch = torch.utils.data.default_collate([ds[0]])
    out = net(batch["images"], stage="refine")
    assert tuple(out.heatmaps_refined.shape) == (1, 2, 15, 24, 32)
    with pytest.raises(ConfigError, match=r"data\.groups\.front.*not among"):
        view_groups(ds.views, {"front": ("front_left", "front_right")})
    explicit = view_groups(ds.views, {"left": ("cam_left",), "right": ("cam_right",)})
    assert explicit == {"left": (0,), "right": (1,)}


def test_ego4view_layout_refuses_non_square_sizes(tmp_path):
    from train.ego4view import Ego4ViewSynDataset

    with pytest.raises(ConfigError, match=r"data\.input_size.*square") as err:
        Ego4ViewSynDataset(tmp_path, "train", input_size=(256, 192), heatmap_size=(64, 48))
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=r"data\.heatmap_size"):
        Ego4ViewSynDataset(tmp_path, "train", input_size=(256, 256), heatmap_size=(64, 48))
    with pytest.raises(DatasetError, match="train.txt"):  # square sizes get as far as the layout
        Ego4ViewSynDataset(tmp_path, "train", input_size=(256, 256), heatmap_size=64)
