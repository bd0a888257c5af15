"""The standing families on planted feet: look_around, reach_overhead and reach_behind (and the shared stance)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from synth.motions.procedural.curves import _choice, _draw, _keys, _noise, _schedule
from synth.motions.procedural.limbs import (
    _ankle_rise,
    _arc_blend,
    _arm_ik,
    _hanging_wrists,
    _planted_feet,
    _solve_legs,
    _stance_feet,
)
from synth.motions.procedural.pose import (
    _J,
    _SIDES,
    _SIGN,
    SHARED_SHAPE_DEG,
    _Pose,
    _root_R,
    _set_arm,
    _set_gaze,
    _set_spine,
    _torso_dirs,
    radians_table,
)
from synth.motions.skeleton import C_WORLD_FROM_BODY, PELVIS_REST_WORLD_M

# ---- parameter tables: drawn (lo, hi) ranges in draw order, then fixed values (degrees, metres, seconds, Hz) ----
STAND_PARAMS = {
    "stance_half_width_m": (0.10, 0.17),
    "toe_out_deg": (0.0, 12.0),
    "knee_soft_m": (0.0, 0.03),
    "arm_abduction_deg": (6.0, 15.0),
    "elbow_deg": (8.0, 25.0),
}
LOOK_PARAMS = {
    "yaw_max_deg": (40.0, 75.0),
    "pitch_up_deg": (45.0, 60.0),
    "pitch_down_deg": (45.0, 60.0),
    "move_s": (0.35, 0.8),
    "hold_s": (0.1, 0.6),
    "weight_shift_m": (0.0, 0.03),
}
#: Ranges look_around draws in its body (per gaze key, then the noise curves' frequency bands).
LOOK_RANGES = {
    "pitch_fraction": (0.85, 1.0),  # of pitch_up_deg / pitch_down_deg reached by each gaze key
    "roll_noise_hz": (0.2, 0.6),
    "shift_noise_hz": (0.15, 0.4),
    "arm_sway_noise_hz": (0.2, 0.5),
}
LOOK_SHAPE_DEG = {
    "look_roll": 6.0,  # head roll noise while looking around
    "look_arm_sway": 6.0,  # arm sway noise while looking around
}
LOOK_FIXED = {
    "first_move_min_s": 0.3,  # the first gaze move is squeezed to fit short clips, but not below this ...
    "first_move_clip_frac": 0.6,  # ... from at most this share of the clip
    "pelvis_yaw_share": 0.15,  # shares of the gaze yaw: pelvis, spine, neck + head
    "spine_yaw_share": 0.25,
    "head_yaw_share": 0.6,
    # The trunk takes a quarter of a downward look and a tenth of an upward one, smoothly blended at 0:
    # spine pitch = -mean * gaze + asymmetry * |gaze| with mean = (1/4 + 1/10) / 2, asymmetry = (1/4 - 1/10) / 2.
    "spine_pitch_mean": 0.175,
    "spine_pitch_asymmetry": 0.075,
    "neck_share": 0.5,  # of what the neck and head still turn
}
OVERHEAD_PARAMS = {
    "arm_flexion_deg": (145.0, 172.0),
    "arm_abduction_deg": (0.0, 35.0),
    "elbow_deg": (0.0, 20.0),
    "collar_raise_deg": (10.0, 25.0),
    "heel_raise_deg": (0.0, 30.0),
    "lean_back_deg": (0.0, 12.0),
    "gaze_up_deg": (15.0, 40.0),
    "move_s": (0.45, 0.9),
    "hold_s": (0.1, 0.7),
    "rest_s": (0.1, 0.5),
}
OVERHEAD_FIXED = {"gaze_lean_share": 0.5}  # the head follows this much of the backward lean
BEHIND_PARAMS = {
    "target_height_m": (-0.02, 0.08),
    "target_back_m": (0.16, 0.19),
    "target_side_m": (-0.04, 0.08),
    "far_side_m": (0.12, 0.32),
    "far_back_m": (0.26, 0.36),
    "far_height_m": (-0.25, 0.05),
    "trunk_twist_deg": (10.0, 35.0),
    "move_s": (0.5, 0.9),
    "hold_s": (0.1, 0.6),
    "rest_s": (0.1, 0.4),
}
BEHIND_SHAPE_DEG = {
    "behind_far_gaze_down": 10.0,  # looking down over the shoulder in a far reach behind
}
BEHIND_FIXED = {
    "pelvis_twist_share": 0.3,  # shares of the trunk twist of a far reach: pelvis and spine
    "spine_twist_share": 0.7,
    "gaze_twist_gain": 1.2,  # the head turns further than the trunk, over the shoulder
    "rest_pole_out": 0.4,  # elbow pole of the hanging arm: outwards (this much) and backwards
    "lower_back_pole": (0.5, 0.3, -0.8),  # elbow pole at the goal, pelvis body axes (x mirrored for the right)
    "far_pole": (0.2, -0.2, -1.0),
}
_RAD = radians_table(SHARED_SHAPE_DEG, LOOK_SHAPE_DEG, BEHIND_SHAPE_DEG)


def _stand_base(rng, pose: _Pose, params: dict):
    """Relaxed standing parameters shared by the standing families; returns (params, stance)."""
    p = _draw(rng, STAND_PARAMS)
    params.update(p)
    stance = _stance_feet(pose.F, p["stance_half_width_m"], np.radians(p["toe_out_deg"]))
    pose.root_t[:, 2] = -p["knee_soft_m"]
    return p, stance


def _look_around(rng, pose: _Pose, params: dict) -> None:
    base, stance = _stand_base(rng, pose, params)
    p = _draw(rng, LOOK_PARAMS)
    params.update(p)
    t = pose.t
    duration = pose.duration
    fx = LOOK_FIXED
    # Gaze keys: alternate up and down so the head really pitches both ways, random yaw.
    times, yaw, pitch = [0.0], [0.0], [0.0]
    first_up = bool(rng.integers(2))
    k = 0
    while times[-1] < duration:
        move = float(rng.uniform(*LOOK_PARAMS["move_s"]))
        hold = float(rng.uniform(*LOOK_PARAMS["hold_s"]))
        if k == 0:
            move = min(move, max(fx["first_move_min_s"], fx["first_move_clip_frac"] * duration))
        up = (k % 2 == 0) == first_up
        amount = p["pitch_up_deg"] if up else -p["pitch_down_deg"]
        times += [times[-1] + move, times[-1] + move + hold]
        pitch += [amount * float(rng.uniform(*LOOK_RANGES["pitch_fraction"]))] * 2
        yaw += [float(rng.uniform(-1, 1)) * p["yaw_max_deg"]] * 2
        k += 1
    gaze_pitch = np.radians(_keys(t, times, pitch))
    gaze_yaw = np.radians(_keys(t, times, yaw))
    roll = _RAD["look_roll"] * _noise(rng, t, LOOK_RANGES["roll_noise_hz"])
    shift = p["weight_shift_m"] * _noise(rng, t, LOOK_RANGES["shift_noise_hz"])
    pose.root_t[:, 0] += shift
    pose.root_R = _root_R(fx["pelvis_yaw_share"] * gaze_yaw)
    eps = _RAD["soft_corner"]
    spine_pitch = -fx["spine_pitch_mean"] * gaze_pitch + fx["spine_pitch_asymmetry"] * (
        np.sqrt(gaze_pitch**2 + eps**2) - eps)
    _set_spine(pose, spine_pitch, 0.0, fx["spine_yaw_share"] * gaze_yaw)
    rest = gaze_pitch + spine_pitch  # what the neck and head still have to do
    _set_gaze(pose, rest, fx["head_yaw_share"] * gaze_yaw, roll, neck_share=fx["neck_share"])
    for side in _SIDES:
        sway = _RAD["look_arm_sway"] * _noise(rng, t, LOOK_RANGES["arm_sway_noise_hz"])
        abduction, elbow = np.radians(base["arm_abduction_deg"]), np.radians(base["elbow_deg"])
        _set_arm(pose, side, _RAD["rest_arm_flexion"] + sway, abduction, elbow)
    _solve_legs(pose, _planted_feet(stance))


def _reach_overhead(rng, pose: _Pose, params: dict) -> None:
    base, stance = _stand_base(rng, pose, params)
    p = _draw(rng, OVERHEAD_PARAMS)
    arms = _choice(rng, ("both", "left", "right"))
    params.update(p, arms=arms)
    t = pose.t
    w, _, _ = _schedule(rng, t, pose.duration, OVERHEAD_PARAMS["move_s"], OVERHEAD_PARAMS["hold_s"],
                        OVERHEAD_PARAMS["rest_s"])
    heel = np.radians(p["heel_raise_deg"]) * w
    pose.root_t[:, 2] += np.array([_ankle_rise(h) for h in heel])
    lean = -np.radians(p["lean_back_deg"]) * w
    _set_spine(pose, lean)
    _set_gaze(pose, np.radians(p["gaze_up_deg"]) * w + OVERHEAD_FIXED["gaze_lean_share"] * lean)
    for side in _SIDES:
        active = arms in ("both", side)
        ww = w if active else 0.0 * w
        fl0, ab0, el0 = _RAD["rest_arm_flexion"], np.radians(base["arm_abduction_deg"]), np.radians(base["elbow_deg"])
        fl = fl0 + (np.radians(p["arm_flexion_deg"]) - fl0) * ww
        ab = ab0 + (np.radians(p["arm_abduction_deg"]) - ab0) * ww
        el = el0 + (np.radians(p["elbow_deg"]) - el0) * ww
        _set_arm(pose, side, fl, ab, el, collar_raise=np.radians(p["collar_raise_deg"]) * ww)
    _solve_legs(pose, _planted_feet(stance, {s: heel for s in _SIDES}))


def _reach_behind(rng, pose: _Pose, params: dict) -> None:
    base, stance = _stand_base(rng, pose, params)
    p = _draw(rng, BEHIND_PARAMS)
    arms = _choice(rng, ("both", "left", "right"))
    style = "lower_back" if arms == "both" else _choice(rng, ("lower_back", "far"))
    params.update(p, arms=arms, style=style)
    t = pose.t
    fx = BEHIND_FIXED
    w, _, _ = _schedule(rng, t, pose.duration, BEHIND_PARAMS["move_s"], BEHIND_PARAMS["hold_s"],
                        BEHIND_PARAMS["rest_s"])
    twist = 0.0 * w
    if style == "far":
        twist = _SIGN[arms] * np.radians(p["trunk_twist_deg"]) * w
    pose.root_R = _root_R(fx["pelvis_twist_share"] * twist)
    _set_spine(pose, 0.0, 0.0, fx["spine_twist_share"] * twist)
    _set_gaze(pose, -_RAD["behind_far_gaze_down"] * w * (style == "far"), fx["gaze_twist_gain"] * twist)
    rest = _hanging_wrists(pose, np.radians(base["arm_abduction_deg"]), np.radians(base["elbow_deg"]))
    G = pose.root_R @ C_WORLD_FROM_BODY
    pelvis = PELVIS_REST_WORLD_M + pose.root_t
    for side in _SIDES:
        if arms not in ("both", side):
            continue
        sgn = _SIGN[side]
        if style == "lower_back":
            goal_body = np.array([sgn * p["target_side_m"], p["target_height_m"], -p["target_back_m"]])
            px, py, pz = fx["lower_back_pole"]
        else:
            goal_body = np.array([sgn * p["far_side_m"], p["far_height_m"], -p["far_back_m"]])
            px, py, pz = fx["far_pole"]
        pole_body = np.array([sgn * px, py, pz])
        goal = pelvis + np.einsum("fij,j->fi", G, goal_body)
        out, up, fwd = _torso_dirs(pose, side)
        rest_pole = fx["rest_pole_out"] * out - fwd
        goal_pole = np.einsum("fij,j->fi", G, pole_body)
        sh = pose.kin().positions[:, _J[f"{side}_shoulder"]]
        target = _arc_blend(sh, rest[side], goal, w)
        pole = rest_pole + (goal_pole - rest_pole) * w[:, None]
        _arm_ik(pose, side, target, pole)
    _solve_legs(pose, _planted_feet(stance))


GENERATORS: dict[str, Callable] = {
    "look_around": _look_around,
    "reach_overhead": _reach_overhead,
    "reach_behind": _reach_behind,
}
