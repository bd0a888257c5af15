"""Moving hair (synth/appearance/hair_dynamics.py) on a real Anny scalp: a still upright head keeps a short cut's
style, a bowed head lets long hair hang along gravity, a head that starts moving leaves the tips behind; guides keep
their length and stay outside the body; strands keep their roots and their segment lengths and stay clear of the
cameras, also when the clip is worn with another rig (exactly as if sampled with it); hair lies over a hood; the motion is
seeded; buns and buzz cuts stay rigid; the config switch and clip.json. (The labels' per-frame hair
BVH and a real render of moving hair are checked in tests/test_hair.py.)"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from synth.appearance.hair import CAMERA_KEEP_OUT_M, HAIR_STYLES, NO_HAIR, HairStyle, grow_on_body
from synth.appearance.hair_dynamics import animate_on_body, simulate_hair
from synth.config import load_config
from synth.geometry.transforms import apply_T, invert_T, make_T
from tests.test_hair import _signed_depth

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "render_configs" / "default.yaml"
FPS = 10.0
#: Head frame (x right, y back, z down) upright in the world (z up).
R_UPRIGHT = np.diag([1.0, -1.0, -1.0])


def _only(style: str, dynamics: bool = True) -> dict:
    return {"styles": {s: float(s == style) for s in (NO_HAIR, *HAIR_STYLES)}, "dynamics": dynamics}


@pytest.fixture(scope="module")
def walk():
    """A sampled walking clip with moving long hair."""
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    from synth.scene.sampler import ClipSampler

    cfg = load_config(DEFAULT, overrides={"clips": {"frames": 8}, "motion": {"families": ["walk"], "weights": None},
                                          "appearance": {"hair": _only("long")}})
    return ClipSampler(cfg, REPO / "render_configs").sample(0)[0]


def _style(name: str, length: float) -> HairStyle:
    return HairStyle(style=name, length_m=length, num_strands=400, root_radius_m=0.0004, tip_radius_m=0.00016,
                     volume_m=0.01, clumps=16, clumping=0.3, curl_radius_m=0.0, curl_period_m=0.04, frizz_m=0.001,
                     melanin=0.5, melanin_redness=0.2, roughness=0.3, seed=3)


def _still(walk, R: np.ndarray, frames: int = 4, shift_x_m=None):
    """The walk's first-frame body and head held still (optionally translated along world x per frame) with the
    head turned to R_world_from_head: (T_world_from_head (F, 4, 4), body (F, V, 3) world m)."""
    body_head = apply_T(invert_T(walk.posed.T_world_from_head[0]), walk.posed.vertices[0].astype(np.float64))
    shift = np.zeros(frames) if shift_x_m is None else np.asarray(shift_x_m, dtype=np.float64)
    T = np.stack([make_T(R, [s, 0.0, 1.6]) for s in shift])
    body = np.stack([apply_T(T[f], body_head) for f in range(frames)]).astype(np.float32)
    return T, body


def _tip_cos_to_gravity(points_head: np.ndarray, R: np.ndarray) -> float:
    """Median cosine between root->tip (head frame) and world gravity seen in the head frame."""
    d = points_head[:, -1] - points_head[:, 0]
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    return float(np.median(d @ (R.T @ np.array([0.0, 0.0, -1.0]))))


def test_a_short_cut_keeps_its_style_and_long_hair_hangs_when_the_head_bows(walk):
    bowed = R_UPRIGHT @ np.array([[1.0, 0.0, 0.0], [0.0, np.cos(1.0), -np.sin(1.0)], [0.0, np.sin(1.0), np.cos(1.0)]])
    short = grow_on_body(_style("short", 0.06), walk.posed)
    T, body = _still(walk, R_UPRIGHT)
    moved = simulate_hair(short, T, body, walk.posed.faces, FPS)
    assert moved.moves
    assert np.abs(moved.points_at(3) - short.points_head_m).max() < 0.006  # a short cut barely settles
    long = grow_on_body(_style("long", 0.4), walk.posed)
    T, body = _still(walk, bowed)
    hanging = simulate_hair(long, T, body, walk.posed.faces, FPS).points_at(3)
    rigid = _tip_cos_to_gravity(long.points_head_m, bowed)
    assert _tip_cos_to_gravity(hanging, bowed) > max(0.93, rigid + 0.1), (rigid, _tip_cos_to_gravity(hanging, bowed))
    assert np.array_equal(hanging[:, 0], long.points_head_m[:, 0])  # the roots stay on the scalp


def test_tips_lag_behind_a_head_that_starts_moving(walk):
    """A still head that starts moving at 1 m/s along world x leaves the tips behind (inertia): in the head frame
    the tips move towards -x on the first moving frame; with the head still they stay put."""
    long = grow_on_body(_style("long", 0.4), walk.posed)
    shift = np.array([0.0, 0.0, 0.1, 0.2])
    T, body = _still(walk, R_UPRIGHT, shift_x_m=shift)
    moving = simulate_hair(long, T, body, walk.posed.faces, FPS)
    T0, body0 = _still(walk, R_UPRIGHT)
    still = simulate_hair(long, T0, body0, walk.posed.faces, FPS)
    lag = moving.points_at(2)[:, -1, 0] - still.points_at(2)[:, -1, 0]  # head x = world x here
    assert np.median(lag) < -0.01, np.median(lag)
    assert np.array_equal(moving.points_at(1), still.points_at(1))  # before the move nothing differs


def test_guides_keep_their_length_and_stay_outside_the_body_and_strands_keep_their_shape(walk):
    from synth.scene.spec import camera_centres_head

    hair, motion = walk.hair, walk.hair.motion
    assert hair.moves and motion.num_frames == walk.num_frames
    rest = hair.points_head_m.astype(np.float64)
    rest_seg = np.linalg.norm(np.diff(rest, axis=1), axis=-1)
    cams = camera_centres_head(walk.mount, walk.rig)
    faces = walk.posed.faces.astype(np.int64)
    T = walk.posed.T_world_from_head
    for f in range(walk.num_frames):
        guides = motion.guide_points_head_m[f].astype(np.float64)
        seg = np.linalg.norm(np.diff(guides, axis=1), axis=-1)
        stretch = np.abs(seg / rest_seg[motion.guides] - 1.0)  # the push out of the body comes after the lengths
        assert np.median(stretch) < 0.001 and np.quantile(stretch, 0.99) < 0.03, np.quantile(stretch, [0.99, 1.0])
        body_head = apply_T(invert_T(T[f]), walk.posed.vertices[f].astype(np.float64))
        depth = _signed_depth(guides[:, 1:].reshape(-1, 3), body_head, faces)
        assert np.quantile(depth, 0.01) > 0.0 and depth.min() > -0.005
        strands = hair.points_at(f).astype(np.float64)
        gaps = np.linalg.norm(strands.reshape(-1, 1, 3) - cams[None], axis=-1)
        assert gaps.min() > CAMERA_KEEP_OUT_M - 1e-5
        assert np.array_equal(strands[:, 0], rest[:, 0])
        ratio = np.linalg.norm(np.diff(strands, axis=1), axis=-1) / rest_seg
        assert np.mean((ratio > 0.67) & (ratio < 1.5)) > 0.95
    # The walk moves the hair: the last frame is not the rest shape.
    assert np.abs(hair.points_at(walk.num_frames - 1) - hair.points_head_m).max() > 0.02


def test_worn_with_another_rig_the_hair_moves_as_if_sampled_with_it(walk):
    """A clip re-worn with a rig whose rear cameras sit 12 cm further back (as placement studies re-wear clips)
    has exactly the hair of the same clip sampled with that rig, clear of its cameras at every frame."""
    from synth.scene.sampler import ClipSampler
    from synth.scene.spec import camera_centres_head

    overrides = {"clips": {"frames": 8}, "motion": {"families": ["walk"], "weights": None},
                 "appearance": {"hair": _only("long")}, "rig": {"front_to_rear_m": 0.49}}
    direct = ClipSampler(load_config(DEFAULT, overrides=overrides), REPO / "render_configs").sample(0)[0]
    worn = walk.worn_with(direct.rig)
    # One grown and moved hair serves every rig: re-wearing only holds it off the new cameras.
    assert worn.hair.motion is walk.hair.motion and worn.hair.points_head_m is walk.hair.points_head_m
    cams = camera_centres_head(worn.mount, worn.rig)
    assert not np.allclose(cams, camera_centres_head(walk.mount, walk.rig), atol=0.05)
    for f in range(worn.num_frames):
        pts = worn.hair.points_at(f)
        assert np.array_equal(pts, direct.hair.points_at(f))
        gaps = np.linalg.norm(pts.astype(np.float64).reshape(-1, 1, 3) - cams[None], axis=-1)
        assert gaps.min() > CAMERA_KEEP_OUT_M - 1e-5


def test_the_motion_is_seeded_and_buns_and_buzz_cuts_stay_rigid(walk):
    still = dataclasses.replace(walk.hair, motion=None)
    again = animate_on_body(still, walk.posed)
    assert np.array_equal(again.motion.guide_points_head_m, walk.hair.motion.guide_points_head_m)
    for name, length in (("bun", 0.2), ("buzz", 0.01)):
        hair = grow_on_body(_style(name, length), walk.posed)
        assert not animate_on_body(hair, walk.posed).moves


def test_the_config_switch_and_clip_json(walk):
    from synth.dataset.meta import clip_meta
    from synth.scene.sampler import ClipSampler

    assert walk.hair.moves
    cfg = load_config(DEFAULT, overrides={"clips": {"frames": 2}, "motion": {"families": ["walk"], "weights": None},
                                          "appearance": {"hair": _only("long", dynamics=False)}})
    rigid = ClipSampler(cfg, REPO / "render_configs").sample(0)[0]
    assert rigid.hair is not None and not rigid.hair.moves
    assert np.array_equal(rigid.hair.points_at(1), rigid.hair.points_at(None))
    assert clip_meta(walk, 0, [])["hair"]["moves"] is True and clip_meta(rigid, 0, [])["hair"]["moves"] is False
    assert load_config(DEFAULT).appearance.hair.dynamics is True


def test_moving_hair_lies_over_a_hood_not_under_it():
    """A walking clip in a skirt and a hoodie whose hood lies on the upper back: long hair simulated over the loose
    garments leaves far fewer of its guide points under a garment (within 3 cm of a garment vertex and nearer the
    body than that vertex is) than the same hair simulated against the body alone."""
    from scipy.spatial import cKDTree

    from synth.scene.sampler import ClipSampler
    from synth.scene.spec import camera_centres_head

    cfg = load_config(DEFAULT, overrides={
        "clips": {"frames": 8}, "motion": {"families": ["walk"], "weights": None},
        "appearance": {"loose_garment_probability": 1.0, "hood_probability": 1.0, "hair": _only("long")}})
    spec = ClipSampler(cfg, REPO / "render_configs").sample(3)[0]
    assert "hood" in [g.kind for g in spec.garments]
    T = spec.posed.T_world_from_head

    def share_under(hair) -> float:
        shares = []
        for f in range(spec.num_frames):
            guides = hair.motion.guide_points_head_m[f].astype(np.float64).reshape(-1, 3)
            world = apply_T(T[f], guides)
            cloth = np.concatenate([g.vertices[f] for g in spec.garments]).astype(np.float64)
            body = cKDTree(spec.posed.vertices[f].astype(np.float64))
            gap, nearest = cKDTree(cloth).query(world)
            point_depth, cloth_depth = body.query(world)[0], body.query(cloth[nearest])[0]
            shares.append(np.mean((gap < 0.03) & (point_depth < cloth_depth - 0.002)))
        return float(np.mean(shares))

    over = share_under(animate_on_body(spec.hair, spec.posed, spec.garments))
    through = share_under(animate_on_body(spec.hair, spec.posed))
    assert spec.hair.moves and share_under(spec.hair) == over  # the sampler simulates over the garments
    assert through > 0.01 and over < 0.3 * through, (over, through)
