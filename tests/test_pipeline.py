"""The label pipeline end to end: label-only datasets (round trip, determinism, resume), hands behind the back,
and the visibility sweep command."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from synth.config import load_config
from synth.constants import JOINT_INDEX, OCC_BODY, VIS_OCCLUDED, VIS_VISIBLE
from synth.dataset.reader import DatasetReader
from synth.motions.clip import SMPL22_INDEX, MotionClip
from synth.motions.rotations import matrix_to_axis_angle, rot_x, rot_z, rotation_between
from synth.run.clip import clip_labels
from synth.run.dataset import label_dataset
from synth.scene.sampler import ClipSampler

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "render_configs" / "default.yaml"
SMALL = {"rig": {"resolution": 96}, "clips": {"frames": 4}}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _clip_files(out: Path) -> dict[str, str]:
    files = {}
    for p in sorted((out / "clips").rglob("*")):
        if p.is_file():
            files[str(p.relative_to(out))] = _digest(p)
    return files


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    cfg = load_config(DEFAULT, overrides=SMALL)
    out = tmp_path_factory.mktemp("labels") / "a"
    label_dataset(cfg, out, 3, config_dir=DEFAULT.parent, progress=False)
    return cfg, out


def test_label_only_dataset_round_trips(small_dataset):
    cfg, out = small_dataset
    reader = DatasetReader(out)
    assert reader.clip_ids == ["clip_000000", "clip_000001", "clip_000002"]
    assert reader.views == ["front_left", "front_right", "back_left", "back_right"]
    assert reader.image_path("clip_000000", "front_left", 0) is None  # label-only
    for clip_id in reader.clip_ids:
        labels = reader.labels(clip_id, verify=True)
        assert labels["joints2d"].shape == (4, 4, 16, 2)
        assert labels["visibility"].dtype == np.uint8
        assert reader.heatmaps(clip_id).shape == (4, 4, 15, 64, 64)
        # 3D joints are consistent across frames: device = inverse(T_world_from_device) @ world.
        T = labels["T_world_from_device"]
        world_h = np.concatenate([labels["joints3d_world"], np.ones((4, 16, 1))], axis=-1)
        device = np.einsum("fij,fkj->fki", np.linalg.inv(T), world_h)[..., :3]
        np.testing.assert_allclose(device, labels["joints3d_device"], atol=1e-9)
        meta = reader.clip_meta(clip_id)
        assert meta["d_fr_m"] == pytest.approx(0.37)
        assert 0.0 < meta["d_rh_m"] < 0.2
    # Splits are identity-disjoint and cover every clip.
    splits = reader.splits
    identity = {c: reader.clip_meta(c)["identity"]["identity_id"] for c in reader.clip_ids}
    seen = {}
    for name, clips in splits.items():
        for clip in clips:
            assert seen.setdefault(identity[clip], name) == name
    assert sorted(sum(splits.values(), [])) == reader.clip_ids


def test_same_seed_gives_identical_bytes_and_resume_skips(small_dataset, tmp_path):
    cfg, out_a = small_dataset
    out_b = tmp_path / "b"
    label_dataset(cfg, out_b, 2, config_dir=DEFAULT.parent, progress=False)
    files_b = _clip_files(out_b)
    files_a = {k: v for k, v in _clip_files(out_a).items() if "clip_000002" not in k}
    assert files_a == files_b and len(files_b) == 8  # clip.json, labels, heatmaps, files.json per clip
    # Resume: asking for 3 clips writes only the third; the first two are untouched.
    index_before = (out_b / "index.jsonl").read_text().splitlines()
    label_dataset(cfg, out_b, 3, config_dir=DEFAULT.parent, progress=False)
    index_after = (out_b / "index.jsonl").read_text().splitlines()
    assert index_after[:2] == index_before and len(index_after) == 3
    assert _clip_files(out_b) == _clip_files(out_a)
    # A different seed gives different data.
    other = load_config(DEFAULT, overrides={**SMALL, "seed": 1})
    out_c = tmp_path / "c"
    label_dataset(other, out_c, 1, config_dir=DEFAULT.parent, progress=False)
    assert _digest(out_c / "clips/clip_000000/labels.npz") != _digest(out_a / "clips/clip_000000/labels.npz")


def _hands_behind_back_clip(num_frames: int = 2) -> MotionClip:
    """Both arms down and back, elbows bent so the forearms cross behind the lower back (SMPL body axes:
    x = body's left, y = up, z = forward)."""
    body_pose = np.zeros((num_frames, 21, 3))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        # T-pose arm along sign * x -> down (-y) -> swung 35 degrees backward.
        R_shoulder = rot_x(np.radians(35.0)) @ rot_z(-sign * np.radians(90.0))
        # Forearm towards the midline and slightly back, behind the buttocks.
        want = np.array([-sign, 0.15, -0.35])
        want /= np.linalg.norm(want)
        R_elbow = rotation_between(np.array([sign, 0.0, 0.0]), R_shoulder.T @ want)
        body_pose[:, SMPL22_INDEX[f"{side}_shoulder"] - 1] = matrix_to_axis_angle(R_shoulder)
        body_pose[:, SMPL22_INDEX[f"{side}_elbow"] - 1] = matrix_to_axis_angle(R_elbow)
    return MotionClip(
        name="hands_behind_back", family="test", fps=10.0, root_orient=np.zeros((num_frames, 3)),
        body_pose=body_pose, root_transl=np.zeros((num_frames, 3)), grounded=np.ones(num_frames, dtype=bool),
    )


def test_hands_held_behind_the_back_are_occluded_in_the_front_views():
    cfg = load_config(DEFAULT, overrides={"appearance": {"loose_garment_probability": 0.0}})
    gen = ClipSampler(cfg, DEFAULT.parent)
    content = gen.sample(0)[0]
    posed = gen.backend.pose(content.identity, _hands_behind_back_clip())
    from synth.scene.sampler import remount

    unmounted = replace(content, posed=posed, garments=(),
                        T_world_from_device=np.eye(4)[None].repeat(posed.num_frames, 0))
    content = remount(unmounted, gen.rig)
    joints = posed.joints_ego16[0]
    pelvis = (joints[JOINT_INDEX["left_thigh"]] + joints[JOINT_INDEX["right_thigh"]]) / 2
    for hand in ("left_hand", "right_hand"):
        # The body faces -Y: behind the back is +Y.
        assert joints[JOINT_INDEX[hand], 1] > pelvis[1] + 0.08, "the test pose must put the hands behind the back"
    labels, _ = clip_labels(gen, content)
    for v, view in enumerate(gen.rig.views):
        for hand in ("left_hand", "right_hand"):
            j = JOINT_INDEX[hand]
            if view.startswith("front"):
                assert (labels.visibility[:, v, j] == VIS_OCCLUDED).all(), (view, hand)
                assert (labels.occluder[:, v, j] == OCC_BODY).all(), (view, hand)
    # The rear cameras, behind the head, see at least one of the hands.
    back = [v for v, name in enumerate(gen.rig.views) if name.startswith("back")]
    hands = [JOINT_INDEX["left_hand"], JOINT_INDEX["right_hand"]]
    assert (labels.visibility[:, back][:, :, hands] == VIS_VISIBLE).any()


def test_visibility_sweep_command(tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        f"name: two\nbase: {DEFAULT}\nvariants:\n"
        "  - {name: near, overrides: {rig: {name: near, front_to_rear_m: 0.37}}}\n"
        "  - {name: far, overrides: {rig: {name: far, front_to_rear_m: 0.48}}}\n"
    )
    out = tmp_path / "vis"
    proc = subprocess.run(
        [sys.executable, "-m", "synth.cli", "visibility", "--sweep", str(sweep), "--clips", "2", "--out", str(out)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    rows = (out / "visibility.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert {"rig", "view", "joint", "frames"} <= set(header)
    rigs = {r.split(",")[header.index("rig")] for r in rows[1:]}
    assert rigs == {"near", "far"}
    assert len(rows) - 1 == 2 * 4 * 16
    md = (out / "visibility.md").read_text()
    assert "near" in md and "far" in md and "D-RH" in md
    assert (out / "visibility.png").stat().st_size > 10_000
    # Same clips for both rigs: the front cameras do not move, so their rows agree exactly.
    by_rig = {}
    for line in rows[1:]:
        cells = dict(zip(header, line.split(",")))
        by_rig.setdefault(cells["rig"], {})[(cells["view"], cells["joint"])] = line.split(",", 1)[1]
    fronts = [k for k in by_rig["near"] if k[0].startswith("front")]
    assert all(by_rig["near"][k] == by_rig["far"][k] for k in fronts)
