"""Tests for the trainer's datasets: native format, synthetic images, splits, heatmap sources, Ego4View-Syn."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from synth.constants import EGO4VIEW_JOINT_NAMES, M_TO_CM, VIEWS
from synth.dataset.reader import DatasetReader
from synth.errors import DatasetError
from train.data import IMAGENET_MEAN, IMAGENET_STD, NativeFrameDataset, make_loader
from train.ego4view import Ego4ViewSynDataset
from train.fixtures import write_fixture_dataset
from train.synthetic_images import joint_colours


@pytest.fixture(scope="module")
def label_only(tmp_path_factory):
    return write_fixture_dataset(tmp_path_factory.mktemp("lo"), np.random.default_rng(1), identities=3, frames=3,
                                 image_size=64)


@pytest.fixture(scope="module")
def with_images(tmp_path_factory):
    return write_fixture_dataset(tmp_path_factory.mktemp("img"), np.random.default_rng(2), identities=3, frames=2,
                                 image_size=48, image_format="png")


def test_native_sample_matches_labels(label_only):
    ds = NativeFrameDataset(label_only, "train", input_size=64)
    reader = DatasetReader(label_only)
    assert ds.synthetic_images  # label-only dataset -> flagged stand-in images
    s = ds[1]
    cid, frame = ds.samples[1]
    labels = reader.labels(cid)
    assert tuple(s["images"].shape) == (4, 3, 64, 64) and s["images"].dtype == torch.float32
    assert tuple(s["heatmaps"].shape) == (4, 15, 64, 64)
    assert bool(s["synthetic_image"])
    np.testing.assert_allclose(s["joints3d_device_m"].numpy(), labels["joints3d_device"][frame], atol=1e-6)
    # T_camera_from_device maps device joints onto the stored camera-frame joints.
    T = s["T_camera_from_device"].double().numpy()
    cam = np.einsum("vij,nj->vni", T[:, :3, :3], labels["joints3d_device"][frame]) + T[:, None, :3, 3]
    np.testing.assert_allclose(cam, labels["joints3d_camera"][frame], atol=1e-5)
    stored = reader.heatmaps(cid, frame).astype(np.float32)
    np.testing.assert_allclose(s["heatmaps"].numpy(), stored, atol=2e-3)
    stored_ds = NativeFrameDataset(label_only, "train", input_size=64, heatmaps="stored")
    np.testing.assert_array_equal(stored_ds[1]["heatmaps"].numpy(), stored)


def test_smaller_heatmaps_peak_where_the_joint_is(label_only):
    ds = NativeFrameDataset(label_only, "train", input_size=64, heatmap_size=16)
    reader = DatasetReader(label_only)
    s = ds[0]
    cid, frame = ds.samples[0]
    uv = reader.labels(cid)["joints2d"][frame]  # (V, 16, 2) px of a 64 px image
    hm = s["heatmaps"].numpy()
    stride = 64 / 16
    for v in range(4):
        for j in range(15):
            want = np.floor((uv[v, j + 1] + 0.5) / stride + 0.5).astype(int)
            if (want >= 0).all() and (want < 16).all():
                row, col = np.unravel_index(hm[v, j].argmax(), hm[v, j].shape)
                assert (col, row) == tuple(want) and hm[v, j].max() == pytest.approx(1.0)


def test_synthetic_image_draws_joint_colours(label_only):
    ds = NativeFrameDataset(label_only, "train", input_size=64)
    reader = DatasetReader(label_only)
    cid, frame = ds.samples[0]
    uv = reader.labels(cid)["joints2d"][frame, 0]
    img = ds[0]["images"][0].numpy()
    rgb = img * np.array(IMAGENET_STD)[:, None, None] + np.array(IMAGENET_MEAN)[:, None, None]
    # The last-drawn joint (right ball) shows its own colour at its position; a far corner stays black.
    u, v = np.round(uv[15]).astype(int)
    np.testing.assert_allclose(rgb[:, v, u] * 255, joint_colours()[15], atol=2)
    corner = rgb[:, 0, 0] * 255
    assert corner.max() < 2


def test_image_files_and_view_subset(with_images):
    ds = NativeFrameDataset(with_images, "train", input_size=32, heatmap_size=8,
                            views=["front_left", "front_right", "back_left"])
    s = ds[0]
    assert not ds.synthetic_images and not bool(s["synthetic_image"])
    assert tuple(s["images"].shape) == (3, 3, 32, 32) and tuple(s["heatmaps"].shape) == (3, 15, 8, 8)
    assert len(ds.lenses) == 3
    assert s["images"].abs().max() > 0.5
    with pytest.raises(DatasetError, match="not in the dataset"):
        NativeFrameDataset(with_images, "train", views=["top"])


def test_splits_are_identity_disjoint(label_only):
    reader = DatasetReader(label_only)
    ids = {}
    for split in ("train", "val", "test"):
        ds = NativeFrameDataset(label_only, split, input_size=32, heatmap_size=8)
        ids[split] = {reader.clip_meta(c)["identity"]["identity_id"] for c in ds.clip_ids}
    assert ids["train"] and ids["val"] and ids["test"]
    assert not (ids["train"] & ids["val"]) and not (ids["train"] & ids["test"]) and not (ids["val"] & ids["test"])


def test_loader_with_workers(label_only):
    ds = NativeFrameDataset(label_only, "train", input_size=32, heatmap_size=8)
    batches = list(make_loader(ds, batch_size=2, shuffle=True, num_workers=2, seed=0))
    assert sum(b["images"].shape[0] for b in batches) == len(ds)
    assert tuple(batches[0]["heatmaps"].shape[1:]) == (4, 15, 8, 8)


def test_ego4view_syn_reader(label_only, tmp_path):
    from PIL import Image

    reader = DatasetReader(label_only)
    labels = reader.labels(reader.splits["train"][0])
    root = tmp_path / "Ego4View_syn"
    seq = root / "rp_test_char" / "1001"
    root.mkdir()
    (root / "train.txt").write_text("rp_test_char\n")
    for f in range(2):
        joints = {}
        for j, name in enumerate(EGO4VIEW_JOINT_NAMES):
            entry = {"device_pts3d": (labels["joints3d_device"][f, j] * M_TO_CM).tolist()}
            for v, view in enumerate(VIEWS):
                entry[f"camera_{view}_pts3d"] = (labels["joints3d_camera"][f, v, j] * M_TO_CM).tolist()
                entry[f"camera_{view}_pts2d"] = labels["joints2d"][f, v, j].tolist()
            joints[name] = entry
        (seq / "json_smplx_gendered").mkdir(parents=True, exist_ok=True)
        (seq / "json_smplx_gendered" / f"{f:05d}.json").write_text(json.dumps({"joints": joints}))
        for view in VIEWS:
            d = seq / "fisheye_rgb" / f"camera_{view}"
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(d / f"{f:05d}.jpg")
    hm = np.random.default_rng(0).random((16, 64, 64)).astype(np.float32)
    (seq / "fisheye_hm" / "camera_front_left").mkdir(parents=True)
    np.save(seq / "fisheye_hm" / "camera_front_left" / "00001.npy", hm)

    ds = Ego4ViewSynDataset(root, "train", input_size=64, heatmap_size=64)
    assert len(ds) == 2
    s = ds[1]
    np.testing.assert_allclose(s["joints3d_device_m"].numpy(), labels["joints3d_device"][1], atol=1e-5)
    T = s["T_camera_from_device"].double().numpy()
    cam = np.einsum("vij,nj->vni", T[:, :3, :3], labels["joints3d_device"][1]) + T[:, None, :3, 3]
    np.testing.assert_allclose(cam, labels["joints3d_camera"][1], atol=1e-5)
    np.testing.assert_allclose(s["heatmaps"][0].numpy(), hm[1:])  # Head channel dropped
    assert float(s["heatmaps"][1].max()) == pytest.approx(1.0)  # no npy: rendered from pts2d
    with pytest.raises(DatasetError, match="validation.txt"):
        Ego4ViewSynDataset(root, "val")
