"""The everyday motion mix: family weights in the config, the head-gaze overlay, sitting on a chair that exists in
the scene with a table that hides the legs (fitted to the posed body, never passed through)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from synth.config import GazeConfig, load_config
from synth.constants import OCC_SCENE
from synth.errors import ConfigError
from synth.motions.clip import SMPL22_INDEX
from synth.motions.plausibility import check_clip
from synth.motions.procedural import FAMILIES, family_weights, generate, sample_motion
from synth.motions.skeleton import clip_kinematics

REPO = Path(__file__).resolve().parents[1]
FPS = 30.0


def test_weights_set_how_often_each_family_is_drawn():
    rng = np.random.default_rng(0)
    draws = [sample_motion(rng, 2, FPS, weights={"walk": 3.0, "squat": 1.0, "jump": 0.0}).family for _ in range(1500)]
    share = draws.count("walk") / len(draws)
    assert set(draws) == {"walk", "squat"}  # a zero weight is never drawn
    assert abs(share - 0.75) < 0.04, share  # binomial standard deviation 0.011


def test_families_restrict_the_weights_and_names_are_checked():
    names, p = family_weights(("walk", "squat"), {"walk": 1.0, "jump": 3.0})
    assert names == ("walk",) and p.tolist() == [1.0]  # jump is not drawn from; squat has no weight
    assert family_weights(None, None) == (FAMILIES, None)
    for families, weights, needle in ((None, {"moonwalk": 1.0}, "unknown family 'moonwalk'"),
                                      (None, {"walk": 0.0}, "no positive weight"),
                                      (None, {"walk": -1.0, "squat": 2.0}, ">= 0"),
                                      (("squat",), {"jump": 1.0}, "no positive weight for the families drawn from")):
        with pytest.raises(ConfigError) as err:
            family_weights(families, weights)
        assert err.value.field == "motion.weights" and needle in err.value.problem


def test_gaze_overlay_turns_the_head_both_ways_within_the_joint_limits():
    gaze = GazeConfig(probability=1.0, pitch_down_deg=40.0, pitch_up_deg=25.0, yaw_deg=50.0)
    pitch, yaw = [], []
    for seed in range(12):
        plain = generate("walk", np.random.default_rng([5, seed]), 60, FPS)
        clip = generate("walk", np.random.default_rng([5, seed]), 60, FPS, gaze=gaze)
        assert clip.params["gaze"] is True and check_clip(clip) == []
        # The overlay changes only the neck and head: the rest of the body is the plain clip's.
        others = [j - 1 for name, j in SMPL22_INDEX.items() if name not in ("pelvis", "neck", "head")]
        assert np.allclose(clip.body_pose[:, others], plain.body_pose[:, others])
        k0, k1 = clip_kinematics(plain), clip_kinematics(clip)
        h = SMPL22_INDEX["head"]
        f0, f1 = k0.rotations[:, h, :, 2], k1.rotations[:, h, :, 2]  # head forward axis, world
        pitch.append(np.degrees(np.arcsin(np.clip(f1[:, 2], -1, 1)) - np.arcsin(np.clip(f0[:, 2], -1, 1))))
        yaw.append(np.degrees(np.arctan2(np.cross(f0[:, :2], f1[:, :2]), (f0[:, :2] * f1[:, :2]).sum(-1))))
    pitch, yaw = np.concatenate(pitch), np.concatenate(yaw)
    assert pitch.min() < -25 and pitch.max() > 15, (pitch.min(), pitch.max())
    # 50 deg of yaw at most; measured in the horizontal projection of a pitched head it reads a little larger.
    assert yaw.min() < -30 and yaw.max() > 30 and np.abs(yaw).max() < 55, (yaw.min(), yaw.max())


def test_gaze_probability_zero_leaves_clips_as_they_were_and_every_family_stays_plausible():
    off = GazeConfig(probability=0.0)
    strong = GazeConfig(probability=1.0, pitch_down_deg=80.0, pitch_up_deg=80.0, yaw_deg=90.0)
    for family in FAMILIES:
        a = generate(family, np.random.default_rng(3), 24, FPS)
        b = generate(family, np.random.default_rng(3), 24, FPS, gaze=off)
        assert a.name == b.name and np.array_equal(a.body_pose, b.body_pose)
        assert check_clip(generate(family, np.random.default_rng(3), 24, FPS, gaze=strong)) == [], family


def test_sit_chair_sits_at_seat_height_with_feet_on_the_floor():
    for seed in range(5):
        clip = generate("sit_chair", np.random.default_rng([9, seed]), 30, FPS)
        assert check_clip(clip) == [] and clip.params["prop"] == "chair"
        pos = clip_kinematics(clip).positions
        hips = pos[:, [SMPL22_INDEX["left_hip"], SMPL22_INDEX["right_hip"]], 2].mean(axis=1)
        assert np.all(np.abs(hips - clip.params["seat_height_m"] - 0.06) < 0.06)  # hips just above the seat
        ankles = pos[:, [SMPL22_INDEX["left_ankle"], SMPL22_INDEX["right_ankle"]], 2]
        assert np.all(ankles < 0.1)


def _inside_box(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """(N,) True for points strictly inside the box whose 8 corners were written by synth.scene.props._box."""
    o = corners[0]
    inside = np.ones(len(points), bool)
    for k in (1, 2, 4):
        e = corners[k] - o
        s = (points - o) @ e / (e @ e)
        inside &= (s > 0) & (s < 1)
    return inside


@pytest.fixture(scope="module")
def chair_clips():
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    from synth.run.clip import clip_labels
    from synth.scene.sampler import ClipSampler

    cfg = load_config(REPO / "render_configs" / "default.yaml", overrides={
        "clips": {"frames": 8}, "motion": {"families": ["sit_chair"], "weights": None},
        "appearance": {"surroundings": None}})  # the motion's own furniture only (rooms: tests/test_surroundings.py)
    sampler = ClipSampler(cfg, REPO / "render_configs")
    out = []
    for index in range(6):
        spec, _ = sampler.sample(index)
        out.append((spec, clip_labels(sampler, spec)[0]))
    return out


def test_the_chair_carries_the_body_and_no_furniture_passes_through_it(chair_clips):
    for spec, _ in chair_clips:
        chair, *table = spec.environment.occluders
        assert chair.name == "chair" and [t.name for t in table] in ([], ["table"])
        assert all(m.code == OCC_SCENE and m.surface is not None for m in spec.environment.occluders)
        verts = spec.posed.vertices.astype(np.float64)
        seat, back = chair.vertices[:8], chair.vertices[8:16]
        boards = [seat, back] + [t.vertices[:8] for t in table]
        for f in range(spec.num_frames):
            assert not any(_inside_box(verts[f], board).any() for board in boards)
        # The body rests on the seat: its lowest point above the seat board is within 1 cm of the seat's top.
        top = seat[:, 2].max()
        lo, hi = seat.min(axis=0), seat.max(axis=0)
        over = (verts[..., 0] > lo[0]) & (verts[..., 0] < hi[0]) & (verts[..., 1] > lo[1]) & (verts[..., 1] < hi[1])
        over &= verts[..., 2] > top
        assert 0.0 < verts[..., 2][over].min() - top < 0.01
        assert spec.environment.to_json()["occluders"][0]["name"] == "chair"



def test_the_table_hides_legs_from_the_front_cameras(chair_clips):
    """Knees and feet under a table are occluded by the scene in the front views (occluder code 3)."""
    from synth.constants import JOINT_INDEX

    with_table = [(s, lab) for s, lab in chair_clips if len(s.environment.occluders) == 2]
    assert with_table, "no clip drew a table (TABLE_PROBABILITY 0.6)"
    legs = [JOINT_INDEX[j] for j in ("left_calf", "right_calf", "left_foot", "right_foot")]
    hidden = [(lab.occluder[:, :2][..., legs] == OCC_SCENE).mean() for _, lab in with_table]
    assert max(hidden) > 0.2, hidden
    without = [lab for s, lab in chair_clips if len(s.environment.occluders) == 1]
    assert all((lab.occluder[:, :2][..., legs] != OCC_SCENE).all() for lab in without)
