"""The bent-leg families: squat, lunge (forward, backward, side), pick_up (stoop or squat) and crouch."""

from __future__ import annotations

from typing import Callable

import numpy as np

from synth.motions.procedural.curves import CLIP_FIT_FRACTION, _choice, _draw, _lift, _noise, _schedule, ease
from synth.motions.procedural.limbs import (
    _ankle_rise,
    _arc_blend,
    _arm_ik,
    _flat_hand_R,
    _hanging_wrists,
    _natural_pole,
    _planted_feet,
    _solve_legs,
    _stance_feet,
)
from synth.motions.procedural.pose import (
    _J,
    _SIDES,
    _SIGN,
    _UP,
    PELVIS_LEAN_SHARE,
    SHARED_SHAPE_DEG,
    _dir,
    _Pose,
    _root_R,
    _set_arm,
    _set_gaze,
    _set_spine,
    _torso_dirs,
    radians_table,
)
from synth.motions.skeleton import HAND_M, PALM_M, PALM_THICKNESS_M

# ---- parameter tables: drawn (lo, hi) ranges in draw order, then fixed values (degrees, metres, seconds) -------
SQUAT_PARAMS = {
    "stance_half_width_m": (0.13, 0.24),
    "toe_out_deg": (5.0, 25.0),
    "depth_m": (0.30, 0.48),
    "back_ratio": (0.40, 0.60),
    "lean_deg": (15.0, 40.0),
    "arm_forward_deg": (0.0, 90.0),
    "move_s": (0.45, 1.0),
    "hold_s": (0.0, 0.5),
    "rest_s": (0.1, 0.6),
}
SQUAT_SHAPE_DEG = {"squat_relaxed_arm": 15.0}  # arm flexion at the bottom of a squat with relaxed arms
SQUAT_FIXED = {
    "gaze_lean_share": 0.7,  # the head lifts against this much of the trunk lean
    "knee_out": 0.3,  # knee poles turned outwards (knees track over the toes)
}
LUNGE_PARAMS = {
    "step_m": (0.60, 0.90),
    "side_step_m": (0.35, 0.48),
    "depth_m": (0.20, 0.36),
    "back_heel_deg": (40.0, 62.0),
    "lean_deg": (-5.0, 12.0),
    "clearance_m": (0.04, 0.08),
    "step_s": (0.40, 0.70),
    "drop_s": (0.40, 0.80),
    "hold_s": (0.0, 0.4),
}
#: Ranges lunge draws in its body: the stance, the first start and the rest after each repetition.
LUNGE_RANGES = {"stance_half_width_m": (0.10, 0.14), "start_s": (0.0, 0.2), "rest_s": (0.2, 0.6)}
LUNGE_SHAPE_DEG = {
    "lunge_arm_raise": 25.0,  # arms come forwards as the pelvis drops in a lunge
    "lunge_arm_abduction": 12.0,
    "lunge_elbow": 20.0,
}
LUNGE_FIXED = {
    "min_time_scale": 0.6,  # a repetition is squeezed to fit short clips, down to this share of its timing
    "heel_step_share": 0.5,  # the back heel rises with the step (this share) and the drop (the rest)
    "pelvis_step_share": 0.5,  # the pelvis moves this much of the step
    "side_depth_scale": 0.75,  # a side lunge drops less deep
    "heel_rise_share": 0.5,  # of the back foot's ankle rise that lifts the pelvis
    "side_sit_over": 0.1,  # a side lunge sits this much of the step further over the bent leg ...
    "side_hips_back_m": 0.12,  # ... with the hips back
    "gaze_lean_share": 0.5,
}
PICK_PARAMS = {
    "target_forward_m": (0.25, 0.45),
    "target_side_m": (-0.15, 0.15),
    "stoop_drop_m": (0.10, 0.22),
    "stoop_back_m": (0.08, 0.16),
    "stoop_tilt_deg": (45.0, 65.0),
    "stoop_spine_deg": (35.0, 60.0),
    "squat_drop_m": (0.36, 0.48),
    "squat_back_m": (0.16, 0.26),
    "squat_tilt_deg": (25.0, 40.0),
    "squat_spine_deg": (30.0, 50.0),
    "fingertip_clearance_m": (0.0, 0.04),
    "move_s": (0.6, 1.1),
    "hold_s": (0.2, 0.6),
    "rest_s": (0.1, 0.4),
}
PICK_RANGES = {"stance_half_width_m": (0.11, 0.2)}
PICK_SHAPE_DEG = {
    "pick_toe_out": 10.0,
    "pick_gaze_up": 20.0,  # head lifted against the bent trunk to look at the object
}
PICK_FIXED = {
    "two_hand_half_gap_m": 0.10,  # each hand this far to its side of the object when both hands pick it up
    "elbow_out": 0.3,  # elbow pole pushed outwards from the natural one
}
CROUCH_PARAMS = {
    "stance_half_width_m": (0.12, 0.22),
    "toe_out_deg": (5.0, 20.0),
    "heel_raise_deg": (25.0, 45.0),
    "drop_m": (0.42, 0.52),
    "back_m": (0.02, 0.10),
    "lean_deg": (15.0, 35.0),
    "touch_forward_m": (0.20, 0.40),
    "look_yaw_deg": (20.0, 60.0),
    "move_s": (0.5, 0.9),
    "hold_s": (0.1, 0.5),
    "rest_s": (0.2, 0.5),
}
CROUCH_RANGES = {"look_noise_hz": (0.15, 0.5), "shift_noise_hz": (0.15, 0.4)}
CROUCH_SHAPE_DEG = {"crouch_gaze_down": 25.0}  # looking at the touching hand
CROUCH_FIXED = {
    "weight_shift_m": 0.03,  # amplitude of the sideways weight-shift noise
    "spine_look_share": 0.3,  # of the look yaw taken by the spine ...
    "head_look_share": 0.7,  # ... and by the neck and head
    "gaze_lean_share": 0.8,  # the head lifts against this much of the trunk lean
    "knee_out": 0.3,  # knee poles turned outwards
    "hand_rest_up_m": 0.10,  # resting hands above ...
    "hand_rest_forward_m": 0.05,  # ... and in front of the knees
    "elbow_out": 0.6,  # elbow pole: backwards and this much outwards
    "touch_side_m": 0.15,  # the touching palm's distance to the side of the body centre
}
_RAD = radians_table(SHARED_SHAPE_DEG, SQUAT_SHAPE_DEG, LUNGE_SHAPE_DEG, PICK_SHAPE_DEG,
                     CROUCH_SHAPE_DEG)


def _squat(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, SQUAT_PARAMS)
    arm_style = _choice(rng, ("forward", "relaxed"))
    params.update(p, arm_style=arm_style)
    t = pose.t
    stance = _stance_feet(pose.F, p["stance_half_width_m"], np.radians(p["toe_out_deg"]))
    w, _, _ = _schedule(rng, t, pose.duration, SQUAT_PARAMS["move_s"], SQUAT_PARAMS["hold_s"], SQUAT_PARAMS["rest_s"])
    depth = p["depth_m"] * w
    pose.root_t[:, 1] = p["back_ratio"] * depth  # +Y = backwards at heading 0
    pose.root_t[:, 2] = -depth
    lean = np.radians(p["lean_deg"]) * w
    pose.root_R = _root_R(0.0, PELVIS_LEAN_SHARE * lean)
    _set_spine(pose, (1.0 - PELVIS_LEAN_SHARE) * lean)
    _set_gaze(pose, SQUAT_FIXED["gaze_lean_share"] * lean)
    arm_fl = np.radians(p["arm_forward_deg"]) if arm_style == "forward" else _RAD["squat_relaxed_arm"]
    fl0 = _RAD["rest_arm_flexion"]
    for side in _SIDES:
        _set_arm(pose, side, fl0 + (arm_fl - fl0) * w, _RAD["rest_arm_abduction"], _RAD["rest_elbow"])
    feet = _planted_feet(stance)
    for side in _SIDES:
        _, left = _dir(np.zeros(pose.F))
        feet[side].pole = feet[side].pole + SQUAT_FIXED["knee_out"] * _SIGN[side] * left
    _solve_legs(pose, feet)


def _lunge(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, LUNGE_PARAMS)
    direction = _choice(rng, ("forward", "backward", "side"))
    leg = _choice(rng, _SIDES)
    params.update(p, direction=direction, leg=leg)
    t = pose.t
    F = pose.F
    duration = pose.duration
    fx = LUNGE_FIXED
    half = float(rng.uniform(*LUNGE_RANGES["stance_half_width_m"]))
    stance = _stance_feet(F, half, _RAD["stance_toe_out"])
    # Timeline of one repetition: step out, drop, hold, rise, step back, rest.
    step_s, drop_s, hold_s = p["step_s"], p["drop_s"], p["hold_s"]
    rep = 2 * step_s + 2 * drop_s + hold_s
    start = float(rng.uniform(*LUNGE_RANGES["start_s"]))
    if start + rep > CLIP_FIT_FRACTION * duration:
        scale = max((CLIP_FIT_FRACTION * duration - start) / rep, fx["min_time_scale"])
        step_s, drop_s, hold_s = step_s * scale, drop_s * scale, hold_s * scale
    w_step = np.zeros(F)
    w_drop = np.zeros(F)
    x_step = np.zeros(F)  # linear progress of the current step (out or back), for the foot lift
    a = start
    while a < duration:
        b = a + step_s
        c = b + drop_s
        d = c + hold_s
        e = d + drop_s
        f = e + step_s
        x_rep = np.where(t < e, np.clip((t - a) / step_s, 0, 1), 1 - np.clip((t - e) / step_s, 0, 1))
        x_step = np.maximum(x_step, x_rep)
        w_step = np.maximum(w_step, ease(x_rep))
        w_drop = np.maximum(w_drop, np.where(t < d, ease((t - b) / drop_s), 1 - ease((t - d) / drop_s)))
        a = f + float(rng.uniform(*LUNGE_RANGES["rest_s"]))
    fwd, left = _dir(np.zeros(F))
    other = "right" if leg == "left" else "left"
    if direction == "side":
        move = _SIGN[leg] * p["side_step_m"] * left
    else:
        move = (1.0 if direction == "forward" else -1.0) * p["step_m"] * fwd
    pos0, head = stance[leg]
    pos = pos0 + move * w_step[:, None] + p["clearance_m"] * _lift(x_step)[:, None] * _UP
    back_leg = {"forward": other, "backward": leg, "side": None}[direction]
    heel_w = fx["heel_step_share"] * w_step + (1.0 - fx["heel_step_share"]) * w_drop
    heel = np.radians(p["back_heel_deg"]) * heel_w
    pitch = {s: (heel if s == back_leg else np.zeros(F)) for s in _SIDES}
    # The moving foot is in the air between plants: keep it flat, lift via the clearance bump.
    feet = _planted_feet({leg: (pos, head), other: stance[other]}, pitch)
    centre = fx["pelvis_step_share"] * move * w_step[:, None]
    pose.root_t[:] = centre
    depth = p["depth_m"] * (fx["side_depth_scale"] if direction == "side" else 1.0)
    pose.root_t[:, 2] = -depth * w_drop + fx["heel_rise_share"] * np.array([_ankle_rise(h) for h in heel])
    if direction == "side":  # sit over the bent leg, hips back
        over = fx["side_sit_over"] * move * w_drop[:, None] - fx["side_hips_back_m"] * fwd * w_drop[:, None]
        pose.root_t[:, :2] += over[:, :2]
    lean = np.radians(p["lean_deg"]) * w_drop
    pose.root_R = _root_R(0.0, PELVIS_LEAN_SHARE * lean)
    _set_spine(pose, (1.0 - PELVIS_LEAN_SHARE) * lean)
    _set_gaze(pose, fx["gaze_lean_share"] * lean)
    for side in _SIDES:
        fl = _RAD["rest_arm_flexion"] + _RAD["lunge_arm_raise"] * w_drop
        _set_arm(pose, side, fl, _RAD["lunge_arm_abduction"], _RAD["lunge_elbow"])
    _solve_legs(pose, feet)


def _pick_up(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, PICK_PARAMS)
    style = _choice(rng, ("stoop", "squat"))
    hands = _choice(rng, ("both", "left", "right"))
    params.update(p, style=style, hands=hands)
    t = pose.t
    half = float(rng.uniform(*PICK_RANGES["stance_half_width_m"]))
    stance = _stance_feet(pose.F, half, _RAD["pick_toe_out"])
    w, _, _ = _schedule(rng, t, pose.duration, PICK_PARAMS["move_s"], PICK_PARAMS["hold_s"], PICK_PARAMS["rest_s"])
    drop, back, tilt, spine = (p[f"{style}_{k}"] for k in ("drop_m", "back_m", "tilt_deg", "spine_deg"))
    pose.root_t[:, 1] = back * w
    pose.root_t[:, 2] = -drop * w
    pose.root_R = _root_R(0.0, np.radians(tilt) * w)
    _set_spine(pose, np.radians(spine) * w)
    _set_gaze(pose, _RAD["pick_gaze_up"] * w)
    _solve_legs(pose, _planted_feet(stance))
    rest = _hanging_wrists(pose, _RAD["rest_arm_abduction"], _RAD["rest_elbow"])
    obj = np.array([p["target_side_m"], -p["target_forward_m"], HAND_M + p["fingertip_clearance_m"]])
    for side in _SIDES:
        if hands not in ("both", side):
            continue
        gap = PICK_FIXED["two_hand_half_gap_m"] if hands == "both" else 0.0
        goal = obj + np.array([_SIGN[side] * gap, 0.0, 0.0])
        out, up, fwd = _torso_dirs(pose, side)
        sh = pose.kin().positions[:, _J[f"{side}_shoulder"]]
        target = _arc_blend(sh, rest[side], goal, w)
        _arm_ik(pose, side, target, _natural_pole(pose, side, target) + PICK_FIXED["elbow_out"] * out)


def _crouch(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, CROUCH_PARAMS)
    hand = _choice(rng, ("left", "right"))
    params.update(p, hand=hand)
    t = pose.t
    F = pose.F
    fx = CROUCH_FIXED
    stance = _stance_feet(F, p["stance_half_width_m"], np.radians(p["toe_out_deg"]))
    heel = np.full(F, np.radians(p["heel_raise_deg"]))
    pose.root_t[:, 1] = p["back_m"]
    pose.root_t[:, 2] = -p["drop_m"] + _ankle_rise(heel[0])
    lean = np.radians(p["lean_deg"])
    look = np.radians(p["look_yaw_deg"]) * _noise(rng, t, CROUCH_RANGES["look_noise_hz"])
    shift = fx["weight_shift_m"] * _noise(rng, t, CROUCH_RANGES["shift_noise_hz"])
    pose.root_t[:, 0] += shift
    pose.root_R = _root_R(0.0, np.full(F, PELVIS_LEAN_SHARE * lean))
    _set_spine(pose, np.full(F, (1.0 - PELVIS_LEAN_SHARE) * lean), 0.0, fx["spine_look_share"] * look)
    w, _, _ = _schedule(rng, t, pose.duration, CROUCH_PARAMS["move_s"], CROUCH_PARAMS["hold_s"],
                        CROUCH_PARAMS["rest_s"])
    _set_gaze(pose, fx["gaze_lean_share"] * lean - _RAD["crouch_gaze_down"] * w, fx["head_look_share"] * look * (1 - w))
    feet = _planted_feet(stance, {"left": heel, "right": heel})
    fwd, left = _dir(np.zeros(F))
    for side in _SIDES:
        feet[side].pole = feet[side].pole + fx["knee_out"] * _SIGN[side] * left
    _solve_legs(pose, feet)
    rest = {}
    kin = pose.kin()
    for side in _SIDES:
        knee = kin.positions[:, _J[f"{side}_knee"]]
        rest[side] = knee + fx["hand_rest_up_m"] * _UP + fx["hand_rest_forward_m"] * fwd
    for side in _SIDES:
        out, up, tf = _torso_dirs(pose, side)
        target = rest[side]
        pole = -tf + fx["elbow_out"] * out
        if side == hand:
            palm = np.array([_SIGN[side] * fx["touch_side_m"], -p["touch_forward_m"], 0.0])
            hand_R = _flat_hand_R(side, fwd)
            palm_off = np.array([_SIGN[side] * PALM_M, -PALM_THICKNESS_M, 0.0])
            goal = palm - np.einsum("fij,j->fi", hand_R, palm_off)
            sh = kin.positions[:, _J[f"{side}_shoulder"]]
            target = _arc_blend(sh, rest[side], goal, w)
        _arm_ik(pose, side, target, pole)


GENERATORS: dict[str, Callable] = {"squat": _squat, "lunge": _lunge, "pick_up": _pick_up, "crouch": _crouch}
