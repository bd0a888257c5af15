"""The kick family: a front, side or back kick from a weight shift onto the support leg, chambered and extended."""

from __future__ import annotations

from typing import Callable

import numpy as np

from synth.motions.procedural.curves import CLIP_FIT_FRACTION, _choice, _draw, ease
from synth.motions.procedural.limbs import _Foot, _planted_feet, _solve_legs, _stance_feet
from synth.motions.procedural.pose import (
    _J,
    _SIDES,
    _SIGN,
    _UP,
    SHARED_SHAPE_DEG,
    _dir,
    _Pose,
    _root_R,
    _set_arm,
    _set_gaze,
    _set_spine,
    _slerp_R,
    radians_table,
)
from synth.motions.rotations import rot_x
from synth.motions.skeleton import SHIN_M, THIGH_M

#: Drawn parameters, (lo, hi) in table order (degrees, seconds).
KICK_PARAMS = {
    "front_hip_deg": (55.0, 95.0),
    "side_abduction_deg": (52.0, 68.0),
    "side_lean_deg": (10.0, 25.0),
    "back_hip_deg": (20.0, 35.0),
    "back_lean_deg": (10.0, 25.0),
    "chamber_knee_deg": (80.0, 115.0),
    "point_toes_deg": (15.0, 45.0),
    "shift_s": (0.25, 0.45),
    "lift_s": (0.28, 0.40),
    "extend_s": (0.25, 0.40),
    "hold_s": (0.0, 0.2),
}
#: Ranges kick draws in its body: the stance, the first start and the rest after each repetition.
KICK_RANGES = {"stance_half_width_m": (0.10, 0.14), "start_s": (0.0, 0.15), "rest_s": (0.2, 0.5)}
#: Fixed shape angles (degrees).
KICK_SHAPE_DEG = {
    "kick_lean_back": 8.0,  # trunk leaning back during a front kick
    "kick_support_arm": 30.0,  # support-side arm raised forwards for balance
    "kick_arm_spread": 35.0,  # arms spread while a leg is in the air
    "kick_elbow_bend": 40.0,
    "side_kick_min_chamber": 60.0,  # knee raised at least this much before a side kick
    "back_kick_point": 10.0,  # foot pointing during a back kick
}
#: Fixed timings, shares and leg shapes.
KICK_FIXED = {
    "back_lift_scale": 1.3,  # the knee folds further on the way up in a back kick: give it more time
    "min_time_scale": 0.9,  # a repetition is squeezed to fit short clips, down to this share of its timing
    "shift_inside_m": 0.02,  # the pelvis stops this far inside the support foot ...
    "shift_drop_m": 0.02,  # ... and lowers this much
    "spine_counter_share": 0.5,  # the spine bends back against this much of the pelvis pitch and roll
    "gaze_pitch_share": 0.5,  # the head follows this much of the pelvis pitch
    "front_chamber_share": 0.8,  # hip flexion of the front chamber, share of front_hip_deg
    "extension_reach": 0.97,  # extended leg length, share of thigh + shin (front and side kicks)
    "knee_pole_up": 0.5,  # knee pole: forwards and this much up (down in a back kick)
    "side_shin_in": 0.3,  # the chambered shin of a side kick hangs this much inwards
    "side_chamber_forward": 0.5,  # direction of the side chamber's knee: forwards ...
    "side_chamber_out": 0.87,  # ... and outwards
    "back_chamber_share": 0.3,  # hip extension of the back chamber, share of back_hip_deg
    "back_extend_knee_share": 0.75,  # knee bend of the extended back kick, share of chamber_knee_deg
    "lift_power": 4,  # the foot height follows 1 - (1 - w)^lift_power of the air weight w ...
    "reach_power": 2,  # ... the horizontal position w^reach_power (leaves and meets the floor vertically)
    "back_point_rate": 2.5,  # a back kick points its foot this much sooner (its knee bends early)
}
_RAD = radians_table(SHARED_SHAPE_DEG, KICK_SHAPE_DEG)


def _kick(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, KICK_PARAMS)
    kind = _choice(rng, ("front", "side", "back"))
    leg = _choice(rng, _SIDES)
    params.update(p, kind=kind, leg=leg)
    t = pose.t
    F = pose.F
    duration = pose.duration
    fx = KICK_FIXED
    support = "right" if leg == "left" else "left"
    half = float(rng.uniform(*KICK_RANGES["stance_half_width_m"]))
    stance = _stance_feet(F, half, _RAD["stance_toe_out"])
    sh, li, ex, ho = p["shift_s"], p["lift_s"], p["extend_s"], p["hold_s"]
    if kind == "back":
        li *= fx["back_lift_scale"]
    rep = 2 * sh + 2 * li + 2 * ex + ho
    start = float(rng.uniform(*KICK_RANGES["start_s"]))
    if start + rep > CLIP_FIT_FRACTION * duration:
        scale = max((CLIP_FIT_FRACTION * duration - start) / rep, fx["min_time_scale"])
        sh, li, ex, ho = sh * scale, li * scale, ex * scale, ho * scale
    w_shift, w_air, w_ext = np.zeros(F), np.zeros(F), np.zeros(F)
    a = start
    while a < duration:
        b = a + sh  # weight over the support foot
        c = b + li  # chambered
        d = c + ex  # extended
        e = d + ho  # end of hold
        f = e + ex  # re-chambered
        g = f + li  # foot down
        h = g + sh  # weight back
        w_shift = np.maximum(w_shift, np.where(t < g, ease((t - a) / sh), 1 - ease((t - g) / sh)))
        w_air = np.maximum(w_air, np.where(t < f, ease((t - b) / li), 1 - ease((t - f) / li)))
        w_ext = np.maximum(w_ext, np.where(t < e, ease((t - c) / ex), 1 - ease((t - e) / ex)))
        a = h + float(rng.uniform(*KICK_RANGES["rest_s"]))
    fwd, left = _dir(np.zeros(F))
    sgn = _SIGN[leg]
    shift = _SIGN[support] * (half - fx["shift_inside_m"]) * w_shift
    pose.root_t[:, 0] = shift
    pose.root_t[:, 2] = -fx["shift_drop_m"] * w_shift
    if kind == "side":
        roll = sgn * np.radians(p["side_lean_deg"]) * w_air  # lean away from the kicking leg
        pitch = 0.0 * w_air
    elif kind == "back":
        roll = 0.0 * w_air
        pitch = np.radians(p["back_lean_deg"]) * w_air
    else:
        roll = 0.0 * w_air
        pitch = -_RAD["kick_lean_back"] * w_air
    pose.root_R = _root_R(0.0, pitch, roll)
    _set_spine(pose, -fx["spine_counter_share"] * pitch, -fx["spine_counter_share"] * roll)
    _set_gaze(pose, fx["gaze_pitch_share"] * pitch)
    for side in _SIDES:
        fl = _RAD["rest_arm_flexion"] + _RAD["kick_support_arm"] * w_air * (side == support)
        ab = _RAD["rest_arm_abduction"] + _RAD["kick_arm_spread"] * w_air
        _set_arm(pose, side, fl, ab, _RAD["rest_elbow"] + _RAD["kick_elbow_bend"] * w_air)
    hip = pose.hip_world(leg)
    L1, L2 = THIGH_M, SHIN_M
    down = -_UP
    chamber_knee = np.radians(p["chamber_knee_deg"])
    if kind == "front":
        H = np.radians(p["front_hip_deg"])
        a_ch = fx["front_chamber_share"] * H
        chamber = L1 * (np.sin(a_ch) * fwd + np.cos(a_ch) * down) + L2 * (
            np.sin(a_ch - chamber_knee) * fwd + np.cos(a_ch - chamber_knee) * down)
        extended = fx["extension_reach"] * (L1 + L2) * (np.sin(H) * fwd + np.cos(H) * down)
        pole = fwd + fx["knee_pole_up"] * _UP
    elif kind == "side":
        A = np.radians(p["side_abduction_deg"])
        lat = sgn * left
        a_ch = max(A, _RAD["side_kick_min_chamber"])  # knee raised forwards-outwards, shin hanging
        shin_in = down - fx["side_shin_in"] * lat
        shin = shin_in / np.linalg.norm(shin_in, axis=-1, keepdims=True)
        knee_dir = fx["side_chamber_forward"] * fwd + fx["side_chamber_out"] * lat
        chamber = L1 * (np.sin(a_ch) * knee_dir + np.cos(a_ch) * down) + L2 * shin
        extended = fx["extension_reach"] * (L1 + L2) * (np.sin(A) * lat + np.cos(A) * down)
        pole = fwd + fx["knee_pole_up"] * _UP
    else:
        B = -np.radians(p["back_hip_deg"])
        B_ch = fx["back_chamber_share"] * B
        k_ext = fx["back_extend_knee_share"] * chamber_knee
        chamber = L1 * (np.sin(B_ch) * fwd + np.cos(B_ch) * down) + L2 * (
            np.sin(B_ch - chamber_knee) * fwd + np.cos(B_ch - chamber_knee) * down)
        extended = L1 * (np.sin(B) * fwd + np.cos(B) * down) + L2 * (
            np.sin(B - k_ext) * fwd + np.cos(B - k_ext) * down)
        pole = fwd - fx["knee_pole_up"] * _UP
    planted = _planted_feet(stance)
    rel_air = chamber + (extended - chamber) * w_ext[:, None]
    air_target = hip + rel_air
    planted_foot = planted[leg]
    # The foot leaves (and meets) the floor mostly vertically: height follows a faster weight than the rest.
    w_up = 1.0 - (1.0 - w_air) ** fx["lift_power"]
    kick_target = planted_foot.ankle + (air_target - planted_foot.ankle) * (w_air ** fx["reach_power"])[:, None]
    kick_target[:, 2] = planted_foot.ankle[:, 2] + (air_target[:, 2] - planted_foot.ankle[:, 2]) * w_up
    pole_k = planted_foot.pole + (pole - planted_foot.pole) * w_air[:, None]
    point = np.radians(p["point_toes_deg"]) if kind != "back" else _RAD["back_kick_point"]
    # The kicking foot stays parallel to the floor as it leaves and meets it, and points in the air.
    _solve_legs(pose, planted)
    _solve_legs(pose, {leg: _Foot(kick_target, pole_k, planted_foot.R_world)}, clamp=False)
    flat_local = pose.local[:, _J[f"{leg}_ankle"] - 1].copy()
    # A back kick bends the knee early, so its foot must start pointing sooner to stay within the ankle's range.
    point_rate = fx["back_point_rate"] if kind == "back" else 1.0
    pointing = ease(np.minimum(1.0, point_rate * w_air))
    pose.set(f"{leg}_ankle", _slerp_R(flat_local, rot_x(np.full(F, point)), pointing))


GENERATORS: dict[str, Callable] = {"kick": _kick}
