"""The gait families on a curved path with planted feet, heel strike, toe off, arm swing and pelvis bob: walk
(arms swinging, clasped behind the back, in the pockets or holding a phone) and run (a flight phase between
short stances, the pelvis lowest at mid-stance, bent swinging arms)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from synth.motions.procedural.curves import _draw, _lift, _softplus, ease
from synth.motions.procedural.limbs import _arm_ik, _foot_pose, _Foot, _solve_legs
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
    radians_table,
)
from synth.motions.limits import joint_angles_deg
from synth.motions.rotations import rot_x
from synth.motions.skeleton import ANKLE_HEIGHT_M, C_WORLD_FROM_BODY, PELVIS_REST_WORLD_M

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
    "bob_sign": 1.0,  # + the pelvis is highest at mid-stance (walking), - lowest (running)
}
#: Drawn parameters of the run, as WALK_PARAMS (jogging: 1.9-2.6 m/s).
RUN_PARAMS = {
    "step_length_m": (0.80, 0.95),
    "cadence_steps_s": (2.4, 2.65),
    "turn_rate_deg_s": (-25.0, 25.0),
    "step_width_m": (0.06, 0.14),
    "toe_out_deg": (0.0, 8.0),
    "arm_swing_deg": (25.0, 45.0),
    "elbow_deg": (70.0, 100.0),
    "bob_m": (0.02, 0.05),
    "sway_m": (0.005, 0.02),
    "knee_soft_m": (0.04, 0.08),
    "heel_strike_deg": (4.0, 12.0),
    "toe_off_deg": (28.0, 40.0),
    "clearance_m": (0.10, 0.15),
    "gaze_pitch_deg": (-20.0, 5.0),
    "trunk_lean_deg": (5.0, 14.0),
    "pelvis_yaw_deg": (3.0, 10.0),
    "phase": (0.0, 1.0),
}
#: Fixed timings of the run: a short stance (under half the cycle: both feet leave the floor between steps).
#: Strongest dorsiflexion (toes up, deg) the run's swinging foot keeps relative to its shin.
RUN_MAX_DORSIFLEXION_DEG = 35.0
RUN_FIXED = {**WALK_FIXED, "stance_frac": 0.36, "plant_frac": 0.5, "heel_roll_frac": 0.06, "heel_rise_frac": 0.16,
             "elbow_swing_gain": 0.3, "bob_sign": -1.0}
#: What the arms do while walking, and how often: swinging; hands clasped behind the back; in the trouser
#: pockets; holding a phone in front of the chest (and looking down at it).
WALK_ARMS: dict[str, float] = {"swing": 0.55, "behind": 0.15, "pockets": 0.15, "phone": 0.15}
#: Wrist goals of the held arm styles in pelvis body axes (x = left, mirrored for the right arm; y up; z forwards),
#: metres, and the elbow pole direction there.
WALK_ARM_GOALS = {
    "behind": ((0.03, 0.03, -0.17), (0.5, 0.3, -0.8)),
    "pockets": ((0.16, -0.07, 0.07), (0.7, 0.0, -0.7)),
    "phone": ((0.07, 0.30, 0.30), (0.6, -1.0, 0.0)),
}
#: Looking down at the phone, degrees (negative: down).
WALK_PHONE_GAZE_DEG = (-45.0, -25.0)
_RAD = radians_table(SHARED_SHAPE_DEG)


def _walk(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, WALK_PARAMS)
    styles = tuple(WALK_ARMS)
    arms = styles[int(rng.choice(len(styles), p=np.array(list(WALK_ARMS.values())) / sum(WALK_ARMS.values())))]
    if arms == "phone":
        p["gaze_pitch_deg"] = float(rng.uniform(*WALK_PHONE_GAZE_DEG))
    params.update(p, arms=arms)
    _gait(pose, p, WALK_FIXED, arms)


def _run(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, RUN_PARAMS)
    params.update(p)
    _gait(pose, p, RUN_FIXED, "swing")
    for side in _SIDES:  # a foot kept level while the shin swings far back would bend past its range
        j = _J[f"{side}_ankle"] - 1
        toes_down = joint_angles_deg(pose.local[:, j], f"{side}_ankle")["swing_x"]
        lift = _softplus(-RUN_MAX_DORSIFLEXION_DEG - toes_down, SHARED_SHAPE_DEG["soft_corner"])  # smooth max(., 0)
        pose.local[:, j] = pose.local[:, j] @ rot_x(np.radians(lift))


def _gait(pose: _Pose, p: dict, fixed: dict, arms: str) -> None:
    """The gait of drawn parameters p (WALK_PARAMS keys) with the timings `fixed` (WALK_FIXED keys)."""
    T = 1.0 / p["cadence_steps_s"]
    cycle = 2.0 * T
    v = p["step_length_m"] / T
    omega = np.radians(p["turn_rate_deg_s"])
    stance_frac, plant_frac = fixed["stance_frac"], fixed["plant_frac"]
    stance = stance_frac * cycle
    heel_s, rise_s = fixed["heel_roll_frac"] * cycle, fixed["heel_rise_frac"] * cycle
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
        toe_sw = -to * (1.0 - ease(u / fixed["toe_relax_frac"]))
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
    bob = fixed["bob_sign"] * p["bob_m"] * np.cos(4 * np.pi * (phi - phase_l))  # twice per cycle: once per step
    pose.root_t[:] = path(s) + left * sway[:, None]
    pose.root_t[:, 2] = -p["knee_soft_m"] - p["bob_m"] + bob
    yaw_osc = -np.radians(p["pelvis_yaw_deg"]) * np.cos(2 * np.pi * phi)
    lean = np.radians(p["trunk_lean_deg"])
    pose.root_R = _root_R(heading(s) + yaw_osc, PELVIS_LEAN_SHARE * lean)
    _set_spine(pose, (1.0 - PELVIS_LEAN_SHARE) * lean, 0.0, -fixed["spine_counter_yaw"] * yaw_osc)
    swing_arm = np.radians(p["arm_swing_deg"]) * np.cos(2 * np.pi * phi)
    elbow = np.radians(p["elbow_deg"])
    for side, sgn in (("left", -1.0), ("right", 1.0)):
        fl = _RAD["rest_arm_flexion"] + sgn * swing_arm
        bend = fixed["elbow_swing_gain"] * _softplus(fl, _RAD["soft_corner"])
        _set_arm(pose, side, fl, _RAD["rest_arm_abduction"], elbow + bend)
    _set_gaze(pose, np.radians(p["gaze_pitch_deg"]), -fixed["gaze_counter_yaw"] * yaw_osc)
    _solve_legs(pose, feet)
    if arms != "swing":
        _hold_arms(pose, arms)


def _hold_arms(pose: _Pose, style: str) -> None:
    """Put both wrists on the WALK_ARM_GOALS of `style`, which move with the pelvis (two-bone IK)."""
    goal_body, pole_body = (np.array(v) for v in WALK_ARM_GOALS[style])
    G = pose.root_R @ C_WORLD_FROM_BODY
    pelvis = PELVIS_REST_WORLD_M + pose.root_t
    mirror = np.array([-1.0, 1.0, 1.0])
    for side in _SIDES:
        flip = 1.0 if side == "left" else mirror
        goal = pelvis + np.einsum("fij,j->fi", G, goal_body * flip)
        pole = np.einsum("fij,j->fi", G, pole_body * flip)
        _arm_ik(pose, side, goal, pole)


GENERATORS: dict[str, Callable] = {"walk": _walk, "run": _run}
