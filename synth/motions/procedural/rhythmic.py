"""The rhythmic standing families: arm_swing (pendulum, circles, crossing arms) and dance (beat-driven noise)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from synth.motions.procedural.curves import _choice, _draw, _noise, _softplus
from synth.motions.procedural.limbs import _ankle_rise, _planted_feet, _solve_legs, _stance_feet
from synth.motions.procedural.pose import (
    _SIDES,
    SHARED_SHAPE_DEG,
    _arm_dir_R,
    _Pose,
    _root_R,
    _set_arm,
    _set_gaze,
    _set_spine,
    _side_R,
    radians_table,
)
from synth.motions.procedural.standing import _stand_base
from synth.motions.rotations import rot_y, rot_z

# ---- parameter tables: drawn (lo, hi) ranges in draw order, then fixed values (degrees, metres, seconds, Hz) ----
SWING_PARAMS = {
    "freq_hz": (0.5, 1.3),
    "amplitude_deg": (30.0, 70.0),
    "center_deg": (0.0, 25.0),
    "cone_deg": (35.0, 65.0),
    "cross_elevation_deg": (0.0, 25.0),
    "elbow_deg": (5.0, 30.0),
    "bounce_m": (0.0, 0.03),
}
SWING_RANGES = {"gaze_noise_hz": (0.2, 0.5)}  # frequency band of the gaze noise curve
SWING_SHAPE_DEG = {
    "swing_trunk_twist": 8.0,
    "swing_gaze_noise": 5.0,
    "cross_swing_open": -25.0,  # horizontal arm angle when the arms open (behind the frontal plane)
    "cross_swing_close": 105.0,  # ... and when they cross in front of the chest
}
SWING_FIXED = {
    "pendulum_elbow_gain": 0.3,  # extra elbow bend per radian of forward pendulum swing
    "collar_raise_share": 0.25,  # of the arm elevation above horizontal taken by the collar
    "gaze_counter_twist": 0.5,  # the head turns back against this much of the trunk twist
}
DANCE_PARAMS = {
    "beat_hz": (1.5, 2.5),
    "bounce_m": (0.02, 0.07),
    "sway_m": (0.02, 0.06),
    "hip_yaw_deg": (5.0, 20.0),
    "heel_raise_deg": (0.0, 20.0),
    "stance_half_width_m": (0.12, 0.22),
    "arm_energy": (0.4, 1.0),
    "spine_energy": (0.3, 1.0),
}
#: Frequency bands (Hz, or "per_beat": multiples of beat_hz) of dance's noise curves, in the order drawn.
DANCE_RANGES = {
    "sway_noise_hz": (0.2, 0.6),
    "hip_yaw_noise_per_beat": (0.3, 0.6),
    "spine_flex_noise_hz": (0.3, 1.2),
    "spine_side_noise_hz": (0.3, 1.0),
    "spine_twist_noise_hz": (0.3, 1.0),
    "gaze_pitch_noise_hz": (0.2, 1.0),
    "gaze_yaw_noise_hz": (0.2, 0.8),
    "gaze_roll_noise_hz": (0.3, 1.0),
    "arm_noise_per_beat": (0.25, 0.75),  # arm flexion and abduction
    "elbow_noise_per_beat": (0.3, 1.0),
    "wrist_noise_hz": (0.3, 1.0),
    "arm_twist_noise_hz": (0.2, 0.8),
}
DANCE_SHAPE_DEG = {
    "dance_toe_out": 8.0,
    "dance_pelvis_tilt": 3.0,
    "dance_roll": 5.0,
    "dance_spine_flex": 10.0,  # noise amplitudes, scaled by spine_energy
    "dance_spine_side": 6.0,
    "dance_spine_twist": 15.0,
    "dance_gaze_pitch": 15.0,
    "dance_gaze_yaw": 25.0,
    "dance_gaze_roll": 8.0,
    "dance_arm_flexion": 55.0,  # centre of the arm flexion noise ...
    "dance_arm_flexion_amp": 90.0,  # ... and its amplitude (scaled by arm_energy)
    "dance_arm_abduction": 45.0,
    "dance_arm_abduction_amp": 45.0,
    "dance_elbow": 60.0,
    "dance_elbow_amp": 55.0,
    "dance_wrist_amp": 25.0,
    "dance_arm_twist_amp": 40.0,
    "shoulder_level": 90.0,  # arm flexion above which the collar starts to rise
}
DANCE_FIXED = {
    "sway_per_beat": 0.5,  # side sway, heel rolls and pelvis roll run at half the beat (one cycle per two beats)
    "sway_noise_share": 0.3,  # of sway_m added as noise
    "knee_soft_m": 0.02,  # pelvis lowered by this much on top of the bounce
    "spine_counter_roll": 0.8,  # the spine bends back against this much of the pelvis roll ...
    "spine_counter_yaw": 0.7,  # ... and twists back against this much of the hip yaw
    "collar_raise_share": 0.2,  # of the arm flexion above shoulder level taken by the collar
}
_RAD = radians_table(SHARED_SHAPE_DEG, SWING_SHAPE_DEG, DANCE_SHAPE_DEG)


def _arm_swing(rng, pose: _Pose, params: dict) -> None:
    base, stance = _stand_base(rng, pose, params)
    p = _draw(rng, SWING_PARAMS)
    mode = _choice(rng, ("pendulum", "circles", "cross"))
    pattern = _choice(rng, ("together", "alternate"))
    backwards = bool(rng.integers(2))
    params.update(p, mode=mode, pattern=pattern, backwards=backwards)
    t = pose.t
    F = pose.F
    fx = SWING_FIXED
    omega = 2 * np.pi * p["freq_hz"]
    ph0 = float(rng.uniform(0, 2 * np.pi))
    A = np.radians(p["amplitude_deg"])
    elbow = np.radians(p["elbow_deg"])
    for side in _SIDES:
        ph = ph0 + (np.pi if (pattern == "alternate" and side == "right") else 0.0)
        theta = omega * t + ph
        if mode == "pendulum":
            fl = np.radians(p["center_deg"]) + A * np.sin(theta)
            bend = fx["pendulum_elbow_gain"] * _softplus(fl, _RAD["soft_corner"])
            _set_arm(pose, side, fl, _RAD["rest_arm_abduction"], elbow + bend)
            continue
        if mode == "circles":
            cone = np.radians(p["cone_deg"])
            th = -theta if backwards else theta
            d = np.stack([np.full(F, np.cos(cone)), -np.sin(cone) * np.cos(th), np.sin(cone) * np.sin(th)], -1)
        else:
            el = np.radians(p["cross_elevation_deg"])
            h0, h1 = _RAD["cross_swing_open"], _RAD["cross_swing_close"]
            h = h0 + (h1 - h0) * 0.5 * (1 + np.sin(theta))
            d = np.stack([np.cos(el) * np.cos(h), np.full(F, -np.sin(el)), np.cos(el) * np.sin(h)], -1)
        collar = fx["collar_raise_share"] * _softplus(np.arcsin(d[:, 1]), _RAD["soft_corner"])
        pose.set(f"{side}_collar", _side_R(side, rot_z(collar)))
        pose.set(f"{side}_shoulder", _side_R(side, _arm_dir_R(d)))
        pose.set(f"{side}_elbow", _side_R(side, rot_y(-np.full(F, elbow))))
    bounce = p["bounce_m"] * 0.5 * (1 - np.cos(2 * omega * t))  # twice per swing
    pose.root_t[:, 2] -= bounce
    twisting = mode == "cross" or pattern == "alternate"
    twist = _RAD["swing_trunk_twist"] * np.sin(omega * t + ph0) * twisting
    _set_spine(pose, 0.0, 0.0, twist)
    gaze_pitch = _RAD["swing_gaze_noise"] * _noise(rng, t, SWING_RANGES["gaze_noise_hz"])
    _set_gaze(pose, gaze_pitch, -fx["gaze_counter_twist"] * twist)
    _solve_legs(pose, _planted_feet(stance))


def _dance(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, DANCE_PARAMS)
    params.update(p)
    t = pose.t
    F = pose.F
    fx, hz = DANCE_FIXED, DANCE_RANGES

    def per_beat(band):
        return (band[0] * p["beat_hz"], band[1] * p["beat_hz"])

    beat = 2 * np.pi * p["beat_hz"]
    half_beat = fx["sway_per_beat"] * beat
    ph = float(rng.uniform(0, 2 * np.pi))
    stance = _stance_feet(F, p["stance_half_width_m"], _RAD["dance_toe_out"])
    bounce = p["bounce_m"] * 0.5 * (1 - np.cos(beat * t + ph))
    sway = p["sway_m"] * np.sin(half_beat * t + ph) + fx["sway_noise_share"] * p["sway_m"] * _noise(
        rng, t, hz["sway_noise_hz"])
    heel = np.radians(p["heel_raise_deg"])
    heel_l = heel * 0.5 * (1 + np.sin(half_beat * t + ph))
    heel_r = heel * 0.5 * (1 - np.sin(half_beat * t + ph))
    pose.root_t[:, 0] = sway
    rise = 0.5 * np.array([_ankle_rise(a) + _ankle_rise(b) for a, b in zip(heel_l, heel_r)])
    pose.root_t[:, 2] = -bounce - fx["knee_soft_m"] + rise
    hip_yaw = np.radians(p["hip_yaw_deg"]) * _noise(rng, t, per_beat(hz["hip_yaw_noise_per_beat"]))
    roll = _RAD["dance_roll"] * np.sin(half_beat * t + ph)
    pose.root_R = _root_R(hip_yaw, _RAD["dance_pelvis_tilt"], roll)
    se = p["spine_energy"]
    flex = se * _RAD["dance_spine_flex"] * _noise(rng, t, hz["spine_flex_noise_hz"])
    side_bend = -fx["spine_counter_roll"] * roll + se * _RAD["dance_spine_side"] * _noise(
        rng, t, hz["spine_side_noise_hz"])
    twist = -fx["spine_counter_yaw"] * hip_yaw + se * _RAD["dance_spine_twist"] * _noise(
        rng, t, hz["spine_twist_noise_hz"])
    _set_spine(pose, flex, side_bend, twist)
    gaze_pitch = _RAD["dance_gaze_pitch"] * _noise(rng, t, hz["gaze_pitch_noise_hz"])
    gaze_yaw = _RAD["dance_gaze_yaw"] * _noise(rng, t, hz["gaze_yaw_noise_hz"])
    _set_gaze(pose, gaze_pitch, gaze_yaw, _RAD["dance_gaze_roll"] * _noise(rng, t, hz["gaze_roll_noise_hz"]))
    ae = p["arm_energy"]
    arm_hz = per_beat(hz["arm_noise_per_beat"])
    for side in _SIDES:
        fl = _RAD["dance_arm_flexion"] + ae * _RAD["dance_arm_flexion_amp"] * _noise(rng, t, arm_hz)
        ab = _RAD["dance_arm_abduction"] + ae * _RAD["dance_arm_abduction_amp"] * _noise(rng, t, arm_hz)
        el = _RAD["dance_elbow"] + ae * _RAD["dance_elbow_amp"] * _noise(rng, t, per_beat(hz["elbow_noise_per_beat"]))
        wr = _RAD["dance_wrist_amp"] * _noise(rng, t, hz["wrist_noise_hz"])
        tw = _RAD["dance_arm_twist_amp"] * _noise(rng, t, hz["arm_twist_noise_hz"])
        raise_ = fx["collar_raise_share"] * _softplus(fl - _RAD["shoulder_level"], _RAD["soft_corner"])
        _set_arm(pose, side, fl, ab, el, tw, raise_, wr)
    _solve_legs(pose, _planted_feet(stance, {"left": heel_l, "right": heel_r}))


GENERATORS: dict[str, Callable] = {"arm_swing": _arm_swing, "dance": _dance}
