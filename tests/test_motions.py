"""Tests of the procedural motion library and its helpers: rotations, resampling, skeleton, limits, plausibility."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp

from synth.errors import ConfigError
from synth.motions import rotations as rot
from synth.motions.clip import SMPL22_INDEX, MotionClip
from synth.motions.limits import check_limits
from synth.motions.plausibility import check_clip, contact_report
from synth.motions.procedural import FAMILIES, generate, sample_motion
from synth.motions.resample import resample, take_frames, trim
from synth.motions.skeleton import (
    CONTACT_NAMES, PELVIS_HEIGHT_M, clip_kinematics, contact_points, lowest_point_height, rest_kinematics,
)

DEG = np.pi / 180.0
FPS = 30.0
FRAMES = 48
SEEDS = range(5)
REQUIRED = {
    "walk", "look_around", "reach_overhead", "reach_behind", "squat", "lunge", "pick_up", "kick", "arm_swing",
    "jump", "crawl", "sit_floor", "dance", "crouch", "sit_chair", "run", "kneel",
}


def _gen(family: str, seed: int, frames: int = FRAMES, fps: float = FPS) -> MotionClip:
    return generate(family, np.random.default_rng([2024, seed]), frames, fps)


@pytest.fixture(scope="module")
def clips() -> dict[tuple[str, int], MotionClip]:
    return {(f, s): _gen(f, s) for f in FAMILIES for s in SEEDS}


def make_clip(frames: int = 2, joints: dict | None = None, root_transl=None, grounded=None) -> MotionClip:
    """A hand-made clip: the same SMPL rotvecs (radians) on every frame, standing at rest otherwise."""
    body_pose = np.zeros((frames, 21, 3))
    for name, rotvec in (joints or {}).items():
        body_pose[:, SMPL22_INDEX[name] - 1] = rotvec
    return MotionClip(
        name="hand_made",
        family="test",
        fps=FPS,
        root_orient=np.zeros((frames, 3)),
        body_pose=body_pose,
        root_transl=np.zeros((frames, 3)) if root_transl is None else root_transl,
        grounded=np.ones(frames, bool) if grounded is None else grounded,
    )


def _forward_world(kin, joint: str) -> np.ndarray:
    """(F, 3) world direction of a joint's body-forward axis (SMPL +z)."""
    return kin.rotations[:, SMPL22_INDEX[joint], :, 2]


# ---- the library ---------------------------------------------------------------------------------------------
def test_library_covers_the_required_families():
    assert len(FAMILIES) >= 12
    assert REQUIRED <= set(FAMILIES)


def test_every_family_and_seed_passes_the_plausibility_checks(clips):
    problems = [p for clip in clips.values() for p in check_clip(clip)]
    assert problems == []


def test_shapes_dtypes_names_and_params(clips):
    for (family, _), clip in clips.items():
        assert clip.family == family and clip.name.startswith(f"{family}_") and len(clip.name) > len(family) + 6
        assert clip.fps == FPS and clip.num_frames == FRAMES
        assert clip.root_orient.shape == (FRAMES, 3) and clip.root_orient.dtype == np.float64
        assert clip.body_pose.shape == (FRAMES, 21, 3) and clip.body_pose.dtype == np.float64
        assert clip.root_transl.shape == (FRAMES, 3) and clip.root_transl.dtype == np.float64
        assert clip.grounded.shape == (FRAMES,) and clip.grounded.dtype == bool
        assert clip.params["num_frames"] == FRAMES and clip.params["fps"] == FPS
        json.dumps(clip.params)


def test_same_seed_gives_identical_clips_and_different_seeds_differ(clips):
    for family in FAMILIES:
        again = _gen(family, 0)
        first = clips[(family, 0)]
        assert again.name == first.name and again.params == first.params
        for key in ("root_orient", "body_pose", "root_transl", "grounded"):
            assert np.array_equal(getattr(again, key), getattr(first, key)), (family, key)
        other = clips[(family, 1)]
        assert other.name != first.name
        assert not np.allclose(other.body_pose, first.body_pose), family


def test_clips_start_on_the_floor_and_only_jumps_and_runs_leave_it(clips):
    for (family, _), clip in clips.items():
        lowest = lowest_point_height(clip_kinematics(clip))
        if family != "run":  # a run may start in its flight phase
            assert abs(lowest[0]) < 0.01, family
        if family not in ("jump", "run"):
            assert clip.grounded.all(), family


def test_kneeling_puts_a_kneecap_on_the_floor_and_keeps_the_pelvis_low(clips):
    for s in SEEDS:
        clip = clips[("kneel", s)]
        kin = clip_kinematics(clip)
        pelvis = kin.positions[:, SMPL22_INDEX["pelvis"], 2]
        assert pelvis.max() < PELVIS_HEIGHT_M - 0.35, clip.params["knees"]
        knees = [i for i, name in enumerate(CONTACT_NAMES) if name.endswith("kneecap")]
        assert contact_points(kin)[:, knees, 2].min(axis=1).max() < 0.01


def test_runs_have_a_flight_phase_and_move_at_jogging_speed(clips):
    for s in SEEDS:
        clip = clips[("run", s)]
        assert (~clip.grounded).any() and clip.grounded.any()
        speed = np.linalg.norm(np.diff(clip.root_transl[:, :2], axis=0), axis=1).mean() * FPS
        assert 1.7 < speed < 2.9, speed


def test_sitting_and_crawling_keep_the_pelvis_low_and_grounded(clips):
    for s in SEEDS:
        sit, crawl = clips[("sit_floor", s)], clips[("crawl", s)]
        assert sit.root_transl[:, 2].max() < -0.7 and sit.grounded.all()
        assert crawl.root_transl[:, 2].max() < -0.35 and crawl.grounded.all()


def test_look_around_pitches_the_head_beyond_30_degrees(clips):
    for s in SEEDS:
        fwd = _forward_world(clip_kinematics(clips[("look_around", s)]), "head")
        pitch_deg = np.degrees(np.arcsin(np.clip(fwd[:, 2], -1, 1)))
        assert np.abs(pitch_deg).max() > 30.0


def test_reach_behind_puts_a_wrist_behind_the_pelvis(clips):
    for s in SEEDS:
        kin = clip_kinematics(clips[("reach_behind", s)])
        # The body's backward direction: +Y for a body facing -Y; the clip's heading turns it.
        back = -_forward_world(kin, "pelvis")
        back[:, 2] = 0.0
        back /= np.linalg.norm(back, axis=-1, keepdims=True)
        pelvis = kin.positions[:, SMPL22_INDEX["pelvis"]]
        behind = [
            np.sum((kin.positions[:, SMPL22_INDEX[w]] - pelvis) * back, axis=-1).max()
            for w in ("left_wrist", "right_wrist")
        ]
        assert max(behind) > 0.08


def test_reach_overhead_lifts_a_wrist_above_the_head(clips):
    for s in SEEDS:
        pos = clip_kinematics(clips[("reach_overhead", s)]).positions
        above = np.maximum(pos[:, SMPL22_INDEX["left_wrist"], 2], pos[:, SMPL22_INDEX["right_wrist"], 2])
        assert (above - pos[:, SMPL22_INDEX["head"], 2]).max() > 0.2


def test_squat_lowers_the_pelvis_by_more_than_25_cm(clips):
    for s in SEEDS:
        assert clips[("squat", s)].root_transl[:, 2].min() < -0.25


def test_jump_has_rising_flight_frames(clips):
    for s in SEEDS:
        clip = clips[("jump", s)]
        flight = np.flatnonzero(~clip.grounded)
        assert flight.size >= 5
        lowest = lowest_point_height(clip_kinematics(clip))
        assert lowest[flight].max() > 0.05
        rise = np.diff(clip.root_transl[:, 2])[flight[:-1]]
        assert (rise > 0).any()


def test_walking_advances_the_pelvis_more_than_half_a_metre_in_two_seconds():
    for s in SEEDS:
        clip = _gen("walk", s, frames=61)
        assert np.linalg.norm(clip.root_transl[-1, :2] - clip.root_transl[0, :2]) > 0.5


def test_walking_feet_do_not_skate(clips):
    for s in SEEDS:
        assert contact_report(clips[("walk", s)])["skate"].max() < 0.03


def test_kick_raises_a_foot_above_30_cm():
    for s in SEEDS:
        pos = clip_kinematics(_gen("kick", s, frames=64)).positions
        ankles = pos[:, [SMPL22_INDEX["left_ankle"], SMPL22_INDEX["right_ankle"]], 2]
        assert ankles.max() > 0.30


def test_motions_are_c1_in_time():
    """Velocity jumps between frames shrink ~4x from 120 to 480 fps for C1 curves; a kink keeps them constant."""

    def max_velocity_jump(clip: MotionClip) -> float:
        R = rot.axis_angle_to_matrix(np.concatenate([clip.root_orient[:, None], clip.body_pose], 1))
        vel = rot.matrix_to_axis_angle(np.swapaxes(R[:-1], -1, -2) @ R[1:]) * clip.fps
        return float(np.linalg.norm(np.diff(vel, axis=0), axis=-1).max())

    for family in FAMILIES:
        coarse = generate(family, np.random.default_rng(7), 240, 120.0)
        fine = generate(family, np.random.default_rng(7), 960, 480.0)
        # The same motion at both rates: every 4th fine frame is a coarse frame.
        assert np.allclose(rot.axis_angle_to_matrix(coarse.body_pose), rot.axis_angle_to_matrix(fine.body_pose[::4]))
        assert max_velocity_jump(fine) < max_velocity_jump(coarse) / 2.5 + 1e-3, family


def test_generating_a_64_frame_clip_takes_well_under_50_ms():
    for family in FAMILIES:
        best = min(_timed(family) for _ in range(3))
        assert best < 0.05, (family, best)


def _timed(family: str) -> float:
    t0 = time.perf_counter()
    generate(family, np.random.default_rng(3), 64, FPS)
    return time.perf_counter() - t0


def test_unknown_family_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        generate("moonwalk", np.random.default_rng(0), 8, FPS)
    assert err.value.field == "motion.families" and "unknown family 'moonwalk'" in err.value.problem
    assert "walk" in err.value.problem
    with pytest.raises(ConfigError):
        sample_motion(np.random.default_rng(0), 8, FPS, families=["walk", "nope"])


def test_sample_motion_draws_from_the_given_families():
    rng = np.random.default_rng(5)
    seen = {sample_motion(rng, 8, FPS, families=("squat", "walk")).family for _ in range(12)}
    assert seen == {"squat", "walk"}
    assert sample_motion(np.random.default_rng(1), 8, FPS).family in FAMILIES


# ---- rotations ------------------------------------------------------------------------------------------------
def test_rotation_conversions_match_scipy():
    rng = np.random.default_rng(0)
    rv = rng.normal(size=(200, 3)) * 1.2
    rv[0] = 0.0
    rv[1] = [np.pi, 0.0, 0.0]
    R = rot.axis_angle_to_matrix(rv)
    assert np.allclose(R, Rotation.from_rotvec(rv).as_matrix(), atol=1e-12)
    assert np.allclose(rot.axis_angle_to_matrix(rot.matrix_to_axis_angle(R)), R, atol=1e-12)
    q = rot.matrix_to_quaternion(R)
    ref = Rotation.from_matrix(R).as_quat()[:, [3, 0, 1, 2]]
    assert np.allclose(np.abs(np.sum(q * ref, -1)), 1.0)
    assert np.allclose(rot.quaternion_to_matrix(q), R, atol=1e-12)
    assert np.allclose(rot.rot_z(0.3), Rotation.from_rotvec([0, 0, 0.3]).as_matrix())


def test_slerp_of_a_known_rotation():
    q0 = np.array([1.0, 0.0, 0.0, 0.0])
    q90 = np.array([np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)])  # 90 deg about z
    for t, angle_deg in ((0.5, 45.0), (0.25, 22.5), (1.0, 90.0)):
        R = rot.quaternion_to_matrix(rot.slerp(q0, q90, t))
        c, s = np.cos(angle_deg * DEG), np.sin(angle_deg * DEG)
        assert np.allclose(R, [[c, -s, 0], [s, c, 0], [0, 0, 1]])
    # The shorter arc is taken even when the second quaternion has the opposite sign.
    assert np.allclose(rot.slerp(q0, -q90, 0.5), rot.slerp(q0, q90, 0.5))


def test_swing_twist_recomposes():
    rng = np.random.default_rng(1)
    R = rot.axis_angle_to_matrix(rng.normal(size=(50, 3)))
    swing, twist = rot.swing_twist(R, np.array([0.0, 1.0, 0.0]))
    assert np.allclose(swing[:, 1], 0.0, atol=1e-12)
    assert np.allclose(rot.axis_angle_to_matrix(swing) @ rot.rot_y(twist), R, atol=1e-12)


# ---- resampling -----------------------------------------------------------------------------------------------
def test_resample_keeps_start_and_end_and_divides_the_frame_count():
    clip = _gen("dance", 0, frames=61)
    R = rot.axis_angle_to_matrix(clip.body_pose)
    for fps, frames, step in ((10.0, 21, 3), (15.0, 31, 2)):
        out = resample(clip, fps)
        assert out.fps == fps and out.num_frames == frames
        Ro = rot.axis_angle_to_matrix(out.body_pose)
        assert np.allclose(Ro[0], R[0]) and np.allclose(Ro[-1], R[-1])
        assert np.allclose(Ro, R[::step], atol=1e-9)
        assert np.allclose(out.root_transl, clip.root_transl[::step])
        assert np.array_equal(out.grounded, clip.grounded[::step])
    assert resample(clip, FPS) is clip


def test_resample_interpolates_between_frames_like_scipy_slerp():
    clip = _gen("arm_swing", 1, frames=31)
    out = resample(clip, 20.0)  # output frame k sits at source frame 1.5 k
    assert out.num_frames == 21
    j = SMPL22_INDEX["left_shoulder"] - 1
    ref = Slerp(np.arange(31) / FPS, Rotation.from_rotvec(clip.body_pose[:, j]))(np.arange(21) / 20.0)
    assert np.allclose(rot.axis_angle_to_matrix(out.body_pose[:, j]), ref.as_matrix(), atol=1e-9)
    mid = 0.5 * (clip.root_transl[1] + clip.root_transl[2])
    assert np.allclose(out.root_transl[1], mid)


def test_take_frames_and_trim():
    clip = _gen("squat", 0, frames=20)
    part = take_frames(clip, 5, 10)
    assert part.num_frames == 10 and np.array_equal(part.body_pose, clip.body_pose[5:15])
    padded = take_frames(clip, 15, 10)
    assert padded.num_frames == 10 and padded.params["padded_frames"] == 5
    assert np.array_equal(padded.body_pose[-1], clip.body_pose[-1])
    assert trim(clip, 2, 7).num_frames == 5
    with pytest.raises(ValueError):
        trim(clip, 30, 40)


# ---- reference skeleton (sign conventions of docs research/anny.md section 3.3) --------------------------------
def _posed(joints: dict) -> object:
    return clip_kinematics(make_clip(1, joints)).positions[0]


def test_rest_skeleton_stands_on_the_floor_facing_minus_y():
    kin = rest_kinematics()
    pos = kin.positions[0]
    assert abs(lowest_point_height(kin)[0]) < 1e-9
    assert np.isclose(pos[SMPL22_INDEX["pelvis"], 2], PELVIS_HEIGHT_M)
    assert 1.5 < pos[SMPL22_INDEX["head"], 2] < 1.7
    assert pos[SMPL22_INDEX["left_wrist"], 0] > 0.6  # the body's left is +X
    assert pos[SMPL22_INDEX["left_foot"], 1] < pos[SMPL22_INDEX["left_ankle"], 1] - 0.1  # toes towards -Y


def test_skeleton_follows_the_smpl_sign_conventions():
    j = SMPL22_INDEX
    up = _posed({"left_shoulder": (0, 0, 90 * DEG)})
    assert up[j["left_wrist"], 2] > up[j["left_shoulder"], 2] + 0.5
    fore = _posed({"left_elbow": (0, -90 * DEG, 0)})
    assert fore[j["left_wrist"], 1] < fore[j["left_elbow"], 1] - 0.2  # forearm forwards (-Y)
    knee = _posed({"right_knee": (90 * DEG, 0, 0)})
    assert knee[j["right_ankle"], 1] > knee[j["right_knee"], 1] + 0.35  # shin backwards (+Y)
    hip = _posed({"left_hip": (-90 * DEG, 0, 0)})
    assert hip[j["left_knee"], 1] < -0.35 and abs(hip[j["left_knee"], 2] - hip[j["left_hip"], 2]) < 0.05
    bend = _posed({"spine1": (25 * DEG, 0, 0), "spine2": (25 * DEG, 0, 0), "spine3": (25 * DEG, 0, 0)})
    assert bend[j["head"], 1] < -0.3
    look_up = clip_kinematics(make_clip(1, {"head": (-40 * DEG, 0, 0)}))
    assert np.isclose(np.degrees(np.arcsin(_forward_world(look_up, "head")[0, 2])), 40.0)
    turn = clip_kinematics(make_clip(1, {"neck": (0, 45 * DEG, 0)}))
    assert _forward_world(turn, "head")[0, 0] > 0.6  # towards the body's left (+X)


# ---- limits and plausibility on hand-made clips ------------------------------------------------------------------
def test_a_standing_rest_clip_has_no_problems():
    assert check_clip(make_clip(4)) == []


def test_knee_bent_backwards_is_reported():
    clip = make_clip(3, {"left_knee": (-40 * DEG, 0, 0)})
    limits = check_limits(clip)
    assert len(limits) == 1 and "left_knee" in limits[0]
    assert any("left_knee" in p for p in check_clip(clip))
    mirrored = make_clip(3, {"right_knee": (-40 * DEG, 0, 0)})
    assert any("right_knee" in p for p in check_limits(mirrored))


def test_pop_floating_and_penetration_are_reported():
    pose = np.zeros((6, 21, 3))
    pose[3:, SMPL22_INDEX["left_elbow"] - 1] = (0, -80 * DEG, 0)  # 80 deg in one frame at 30 fps
    popping = MotionClip("pop", "test", FPS, np.zeros((6, 3)), pose, np.zeros((6, 3)), np.ones(6, bool))
    assert any("pop" in p and "left_elbow" in p for p in check_clip(popping))
    floating = make_clip(4, root_transl=np.tile([0.0, 0.0, 0.1], (4, 1)))
    assert any("grounded frame" in p for p in check_clip(floating))
    sunk = make_clip(4, root_transl=np.tile([0.0, 0.0, -0.1], (4, 1)), grounded=np.zeros(4, bool))
    assert any("below the floor" in p for p in check_clip(sunk))
    nan = make_clip(2, root_transl=np.full((2, 3), np.nan))
    assert check_clip(nan) and "non-finite" in check_clip(nan)[0]


def test_sliding_planted_feet_are_reported():
    slide = np.zeros((10, 3))
    slide[:, 0] = np.linspace(0.0, 0.3, 10)  # the whole standing body glides 30 cm
    problems = check_clip(make_clip(10, root_transl=slide))
    assert any("slides" in p for p in problems)


def test_reference_pelvis_height_matches_the_reference_skeleton():
    from synth.motions.clip import REFERENCE_PELVIS_HEIGHT_M
    from synth.motions.skeleton import PELVIS_HEIGHT_M

    assert REFERENCE_PELVIS_HEIGHT_M == pytest.approx(PELVIS_HEIGHT_M)
