"""The walk family: a curved walking path with planted feet, heel strike, toe off, arm swing and pelvis bob."""

from __future__ import annotations

from typing import Callable

import numpy as np

from synth.motions.procedural.curves import _draw, _lift, _softplus, ease
from synth.motions.procedural.limbs import _foot_pose, _Foot, _solve_legs
from synth.motions.procedural.pose import (
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
    radians_table,
)
from synth.motions.skeleton import ANKLE_HEIGHT_M

#: Drawn parameters, (lo, hi) in table order (degrees, metres, seconds, per second; phase in cycles).
WALK_PARAMS = {
    "step_length_m": (0.50, 0.70),
    "cadence_steps_s": (1.6, 2.1),
    "turn_rate_deg_s": (-40.0, 40.0),
    "step_width_m": (0.14, 0.22),
    "toe_out_deg": (2.0, 10.0),
    "arm_swing_deg": (10.0, 30.0),
    "elbow_deg": (10.0, 30.0),
    "bob_m": (0.01, 0.03),
    "sway_m": (0.01, 0.03),
    "knee_soft_m": (0.0, 0.03),
    "heel_strike_deg": (8.0, 18.0),
    "toe_off_deg": (25.0, 40.0),
    "clearance_m": (0.05, 0.09),
    "gaze_pitch_deg": (-25.0, 5.0),
    "trunk_lean_deg": (0.0, 8.0),
    "pelvis_yaw_deg": (2.0, 8.0),
    "phase": (0.0, 1.0),
}
#: Fixed gait timings (fractions of the two-step cycle or of the stance) and body shares of the walk.
WALK_FIXED = {
    "stance_frac": 0.62,  # share of the cycle a foot is on the floor
    "plant_frac": 0.4,  # point of the stance (share) whose path position and heading a foot is planted at
    "heel_roll_frac": 0.12,  # share of the cycle the foot rolls from heel strike to flat
    "heel_rise_frac": 0.3,  # share of the cycle the heel rises before toe off
    "toe_relax_frac": 0.5,  # share of the swing over which the toes relax back to neutral
    "spine_counter_yaw": 0.8,  # the trunk twists back against this much of the pelvis yaw
    "elbow_swing_gain": 0.5,  # extra elbow bend per radian of forward arm swing
    "gaze_counter_yaw": 0.2,  # the head turns back against this much of the pelvis yaw
}
_RAD = radians_table(SHARED_SHAPE_DEG)


def _walk(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, WALK_PARAMS)
    params.update(p)
    T = 1.0 / p["cadence_steps_s"]
    cycle = 2.0 * T
    v = p["step_length_m"] / T
    omega = np.radians(p["turn_rate_deg_s"])
    stance_frac, plant_frac = WALK_FIXED["stance_frac"], WALK_FIXED["plant_frac"]
    stance = stance_frac * cycle
    heel_s, rise_s = WALK_FIXED["heel_roll_frac"] * cycle, WALK_FIXED["heel_rise_frac"] * cycle
    hs, to = np.radians(p["heel_strike_deg"]), np.radians(p["toe_off_deg"])
    toe_out = np.radians(p["toe_out_deg"])
    s0 = p["phase"] * cycle

    def heading(s):
        return omega * (s - s0)

    def path(s):
        s = np.asarray(s, np.float64)
        if abs(omega) < 1e-6:
            fwd, _ = _dir(np.zeros_like(s))
            return v * (s - s0)[..., None] * fwd
        psi = heading(s)
        return np.stack([v / omega * (1 - np.cos(psi)), -v / omega * np.sin(psi), np.zeros_like(s)], -1)

    s = pose.t + s0
    feet = {}
    for side, offset in (("left", 0.0), ("right", T)):
        k = np.floor((s - offset) / cycle)
        t_hs = offset + k * cycle
        tau = s - t_hs

        def plant(kk):
            """Flat ankle position (F, 3) and foot heading (F,) of this foot's step kk."""
            sm = offset + kk * cycle + plant_frac * stance
            _, left = _dir(heading(sm))
            pos = path(sm) + left * (_SIGN[side] * p["step_width_m"] / 2) + np.array([0, 0, ANKLE_HEIGHT_M])
            return pos, heading(sm) + _SIGN[side] * toe_out

        pos0, head0 = plant(k)
        pos1, head1 = plant(k + 1)
        pitch = np.where(tau < heel_s, -hs * (1 - ease(tau / heel_s)), to * ease((tau - (stance - rise_s)) / rise_s))
        a_st, R_st, toe_st = _foot_pose(pos0, head0, pitch)
        a_off, _, _ = _foot_pose(pos0, head0, np.full(pose.F, to))
        a_hs, _, _ = _foot_pose(pos1, head1, np.full(pose.F, -hs))
        u = np.clip((tau - stance) / (cycle - stance), 0.0, 1.0)
        e = ease(u)[:, None]
        a_sw = a_off + (a_hs - a_off) * e + p["clearance_m"] * _lift(u)[:, None] * _UP
        pitch_sw = to + (-hs - to) * ease(u)
        head_sw = head0 + (head1 - head0) * ease(u)
        _, R_sw, _ = _foot_pose(np.zeros((pose.F, 3)), head_sw, pitch_sw)
        toe_sw = -to * (1.0 - ease(u / WALK_FIXED["toe_relax_frac"]))
        swing = tau >= stance
        ankle = np.where(swing[:, None], a_sw, a_st)
        R = np.where(swing[:, None, None], R_sw, R_st)
        toe = np.where(swing, toe_sw, toe_st)
        fwd, _ = _dir(np.where(swing, head_sw, head0))
        feet[side] = _Foot(ankle, fwd, R, toe)

    phi = s / cycle
    phase_l = plant_frac * stance / cycle
    _, left = _dir(heading(s))
    sway = p["sway_m"] * np.cos(2 * np.pi * (phi - phase_l))
    bob = p["bob_m"] * np.cos(4 * np.pi * (phi - phase_l))  # twice per cycle: once per step
    pose.root_t[:] = path(s) + left * sway[:, None]
    pose.root_t[:, 2] = -p["knee_soft_m"] - p["bob_m"] + bob
    yaw_osc = -np.radians(p["pelvis_yaw_deg"]) * np.cos(2 * np.pi * phi)
    lean = np.radians(p["trunk_lean_deg"])
    pose.root_R = _root_R(heading(s) + yaw_osc, PELVIS_LEAN_SHARE * lean)
    _set_spine(pose, (1.0 - PELVIS_LEAN_SHARE) * lean, 0.0, -WALK_FIXED["spine_counter_yaw"] * yaw_osc)
    swing_arm = np.radians(p["arm_swing_deg"]) * np.cos(2 * np.pi * phi)
    elbow = np.radians(p["elbow_deg"])
    for side, sgn in (("left", -1.0), ("right", 1.0)):
        fl = _RAD["rest_arm_flexion"] + sgn * swing_arm
        bend = WALK_FIXED["elbow_swing_gain"] * _softplus(fl, _RAD["soft_corner"])
        _set_arm(pose, side, fl, _RAD["rest_arm_abduction"], elbow + bend)
    _set_gaze(pose, np.radians(p["gaze_pitch_deg"]), -WALK_FIXED["gaze_counter_yaw"] * yaw_osc)
    _solve_legs(pose, feet)


GENERATORS: dict[str, Callable] = {"walk": _walk}
