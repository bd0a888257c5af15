"""The jump family: counter-movement, push-off, ballistic flight (vertical, forward or turning) and landing."""

from __future__ import annotations

from typing import Callable

import numpy as np

from synth.motions.procedural.curves import EASE_PEAK_RATE, _bump, _choice, _draw, _hermite, _keys, ease
from synth.motions.procedural.limbs import LEG_REACH_FRACTION, _ankle_rise, _foot_pose, _Foot, _solve_legs
from synth.motions.procedural.pose import (
    _SIDES,
    _SIGN,
    PELVIS_LEAN_SHARE,
    _dir,
    _Pose,
    _root_R,
    _set_arm,
    _set_gaze,
    _set_spine,
    radians_table,
)
from synth.motions.skeleton import (
    ANKLE_HEIGHT_M,
    HIP_HALF_WIDTH_M,
    PELVIS_ABOVE_HIPS_M,
    PELVIS_HEIGHT_M,
    SHIN_M,
    THIGH_M,
)

GRAVITY_M_S2 = 9.81
#: Fastest whole-body turn (deg/s) in a turning jump.
MAX_TURN_RATE_DEG_S = 600.0

# ---- parameter tables: drawn (lo, hi) ranges in draw order, then fixed values (degrees, metres, seconds) -------
JUMP_PARAMS = {
    "height_m": (0.10, 0.28),
    "counter_m": (0.12, 0.25),
    "absorb_m": (0.08, 0.20),
    "distance_m": (0.2, 0.6),
    "turn_deg": (45.0, 180.0),
    "heel_raise_deg": (30.0, 45.0),
    "tuck_m": (0.0, 0.14),
    "pre_s": (0.05, 0.3),
    "counter_s": (0.30, 0.45),
    "push_s": (0.20, 0.30),
    "land_s": (0.25, 0.40),
    "rise_s": (0.35, 0.60),
    "arm_up_deg": (110.0, 160.0),
}
#: Ranges jump draws in its body: the stance, and the rest after each jump.
JUMP_RANGES = {"stance_half_width_m": (0.10, 0.15), "rest_s": (0.2, 0.5)}
#: Fixed shape angles (degrees); the arm flexion keys are used in degrees.
JUMP_SHAPE_DEG = {
    "jump_toe_out": 5.0,
    "jump_dip_lean": 25.0,  # trunk lean at the bottom of the counter-movement
    "jump_land_lean": 20.0,  # trunk lean while absorbing the landing
    "jump_arm_rest": 10.0,
    "jump_arm_back": -35.0,  # arms swung back during the dip
    "jump_arm_after": 70.0,  # arms coming down at touch-down
    "jump_arm_land": 25.0,
    "jump_arm_abduction": 12.0,
    "jump_elbow": 20.0,
}
#: Fixed timings and shares.
JUMP_FIXED = {
    "release_s": 0.06,  # feet accelerate off (and decelerate onto) the floor over this time, keeping C1
    "takeoff_knee_slack_m": 0.02,  # the take-off leg stops this much short of its reach
    "push_time_factor": 2.5,  # push lasts at most this x (rise / take-off speed): the pelvis rises monotonically
    "max_skipped_counter": 0.8,  # a short clip starts at most this share into the counter-movement
    "hips_back_ratio": 0.4,  # hips pushed back by this much of the dip (or absorb) depth
    "heel_rise_start": 0.4,  # the heels rise over the push after this share of it
    "heel_down_share": 0.5,  # the heels are down after this share of the landing
    "arm_back_at": 0.6,  # arms furthest back at this share of the dip ...
    "arm_up_at": 0.3,  # ... and highest at this share of the flight
    "gaze_lean_share": 0.6,  # the head lifts against this much of the trunk lean
}
_RAD = radians_table(JUMP_SHAPE_DEG)


def _jump(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, JUMP_PARAMS)
    kind = _choice(rng, ("vertical", "forward", "turn"))
    params.update(p, kind=kind)
    t = pose.t
    F = pose.F
    duration = pose.duration
    g = GRAVITY_M_S2
    fx = JUMP_FIXED
    half = float(rng.uniform(*JUMP_RANGES["stance_half_width_m"]))
    release_s = fx["release_s"]
    v0 = np.sqrt(2 * g * p["height_m"])
    flight = 2 * v0 / g
    p_to = np.radians(p["heel_raise_deg"])
    rise = _ankle_rise(p_to)
    lat = max(half - HIP_HALF_WIDTH_M, 0.0)  # feet wider than the hips: legs lean out
    d_to = LEG_REACH_FRACTION * (THIGH_M + SHIN_M) - fx["takeoff_knee_slack_m"] - v0 * release_s / 2
    # Root z at take-off: the stretched leg stands on the raised heel.
    z_to = ANKLE_HEIGHT_M + rise + np.sqrt(d_to**2 - lat**2) + PELVIS_ABOVE_HIPS_M - PELVIS_HEIGHT_M
    c, a_abs = p["counter_m"], p["absorb_m"]
    Tc, Tl, Tr = p["counter_s"], p["land_s"], p["rise_s"]
    Tp = min(p["push_s"], fx["push_time_factor"] * (z_to + c) / v0)
    D = p["distance_m"] if kind == "forward" else 0.0
    vx = D / (Tp / 2 + flight + Tl / 2)
    turn_sign = 1.0 if rng.integers(2) else -1.0
    # The eased turn peaks at EASE_PEAK_RATE x its mean rate; keep that under MAX_TURN_RATE_DEG_S.
    turn_deg = min(p["turn_deg"], MAX_TURN_RATE_DEG_S * flight / EASE_PEAK_RATE) if kind == "turn" else 0.0
    params["turn_deg"] = turn_deg * turn_sign
    Y = np.radians(turn_deg) * turn_sign
    seq = Tc + Tp + flight + Tl + Tr
    pre = p["pre_s"]
    if pre + seq > duration:
        # Show at least the flight: start the clip later into the sequence.
        pre = -min(max(0.0, pre + seq - duration), Tc * fx["max_skipped_counter"])
    t1 = pre
    # Per-frame state; repeated jumps with rests.
    z = np.zeros(F)
    xf = np.zeros(F)
    hb = np.zeros(F)  # hips pushed back (m) along the current facing while dipping and absorbing
    yaw = np.zeros(F)
    heel = np.zeros(F)
    air = np.zeros(F, bool)
    foot_rel_fwd = np.zeros(F)  # feet forward of their plant-relative place, only in flight
    foot_lift = np.zeros(F)
    lean = np.zeros(F)
    plant_shift = np.zeros(F)  # forward offset of the feet plants (m) after previous landings
    yaw_base = 0.0
    x_base = 0.0
    arm_keys_t, arm_keys_v = [], []
    while t1 < duration:
        t2, t3 = t1 + Tc, t1 + Tc + Tp
        t4 = t3 + flight
        t5, t6 = t4 + Tl, t4 + Tl + Tr
        m = (t >= t1) & (t < t2)
        z[m] = -c * ease((t[m] - t1) / Tc)
        xf[m] = x_base
        hb[m] = fx["hips_back_ratio"] * c * ease((t[m] - t1) / Tc)  # hips back in the dip
        lean[m] = _RAD["jump_dip_lean"] * ease((t[m] - t1) / Tc)
        m = (t >= t2) & (t < t3)
        u = (t[m] - t2) / Tp
        z[m] = _hermite(u, -c, 0.0, z_to, v0 * Tp)
        xf[m] = x_base + (vx * Tp / 2) * u * u
        hb[m] = fx["hips_back_ratio"] * c * (1 - ease(u))
        heel[m] = p_to * ease((u - fx["heel_rise_start"]) / (1.0 - fx["heel_rise_start"]))
        lean[m] = _RAD["jump_dip_lean"] * (1 - ease(u))
        m = (t >= t3) & (t < t4)
        tau = t[m] - t3
        z[m] = z_to + v0 * tau - 0.5 * g * tau**2
        xf[m] = x_base + vx * Tp / 2 + vx * tau
        heel[m] = p_to
        air[m] = True
        uu = tau / flight
        yaw[m] = yaw_base + Y * ease(uu)
        foot_rel_fwd[m] = _hermite(uu, -vx * Tp / 2, -vx * flight, vx * Tl / 2, -vx * flight)
        e1 = np.minimum(tau, release_s)
        e2 = np.minimum(flight - tau, release_s)
        ext = lambda x: v0 * x - v0 * x * x / (2 * release_s)  # noqa: E731
        foot_lift[m] = -np.minimum(ext(e1), ext(e2)) + p["tuck_m"] * _bump(uu)
        m = (t >= t4) & (t < t5)
        u = (t[m] - t4) / Tl
        z[m] = _hermite(u, z_to, -v0 * Tl, -a_abs, 0.0)
        xf[m] = x_base + vx * (Tp / 2 + flight) + vx * Tl / 2 * (2 * u - u * u)
        hb[m] = fx["hips_back_ratio"] * a_abs * ease(u)
        heel[m] = p_to * (1 - ease(u / fx["heel_down_share"]))
        lean[m] = _RAD["jump_land_lean"] * _bump(u * 0.5)
        yaw[m] = yaw_base + Y
        plant_shift[m] = x_base + D
        m = (t >= t5) & (t < t6)
        z[m] = -a_abs * (1 - ease((t[m] - t5) / Tr))
        hb[m] = fx["hips_back_ratio"] * a_abs * (1 - ease((t[m] - t5) / Tr))
        lean[m] = _RAD["jump_land_lean"] * (1 - ease((t[m] - t5) / Tr))
        x_base += D
        yaw_base += Y
        m = t >= t5
        xf[m] = x_base
        yaw[m] = yaw_base
        plant_shift[m] = x_base
        arm_keys_t += [t1, t1 + fx["arm_back_at"] * Tc, t3 + fx["arm_up_at"] * flight, t4, t5, t6]
        deg = JUMP_SHAPE_DEG
        arm_keys_v += [deg["jump_arm_rest"], deg["jump_arm_back"], p["arm_up_deg"], deg["jump_arm_after"],
                       deg["jump_arm_land"], deg["jump_arm_rest"]]
        t1 = t6 + float(rng.uniform(*JUMP_RANGES["rest_s"]))
    # Feet: planted (take-off plants) before each flight, carried with the pelvis in the air, planted after.
    order = np.argsort(arm_keys_t, kind="stable")
    arm_fl = np.radians(_keys(t, np.asarray(arm_keys_t)[order], np.asarray(arm_keys_v)[order]))
    fwd0, _ = _dir(np.zeros(F))
    pelvis_h = xf[:, None] * fwd0
    pose.root_t[:] = pelvis_h - hb[:, None] * _dir(yaw)[0]
    pose.root_t[:, 2] = z
    pose.root_R = _root_R(yaw, PELVIS_LEAN_SHARE * lean)
    _set_spine(pose, (1.0 - PELVIS_LEAN_SHARE) * lean)
    _set_gaze(pose, fx["gaze_lean_share"] * lean)
    for side in _SIDES:
        _set_arm(pose, side, arm_fl, _RAD["jump_arm_abduction"], _RAD["jump_elbow"])
    feet = {}
    for side in _SIDES:
        fwd, left = _dir(yaw)
        plant_flat = plant_shift[:, None] * fwd0 + _SIGN[side] * half * left + np.array([0, 0, ANKLE_HEIGHT_M])
        heading = yaw + _SIGN[side] * _RAD["jump_toe_out"]
        ankle, R, toe = _foot_pose(plant_flat, heading, heel)
        # In the air: same pelvis-relative place as at take-off, moved forward/up as planned.
        air_flat = pelvis_h + _SIGN[side] * half * left + np.array([0, 0, ANKLE_HEIGHT_M])
        air_flat = air_flat + foot_rel_fwd[:, None] * fwd
        ankle_air, R_air, toe_air = _foot_pose(air_flat, heading, heel)
        ankle_air[:, 2] += (z - z_to) + foot_lift
        ankle = np.where(air[:, None], ankle_air, ankle)
        R = np.where(air[:, None, None], R_air, R)
        toe = np.where(air, toe_air, toe)
        feet[side] = _Foot(ankle, fwd, R, toe)
    _solve_legs(pose, feet)


GENERATORS: dict[str, Callable] = {"jump": _jump}
