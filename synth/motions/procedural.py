"""The procedural motion library: randomised, smooth, grounded SMPL-22 motion families on the reference skeleton.

Every family is a function of continuous time evaluated at the clip's frame times, so clips are independent of
the frame rate and C1 (curves are built from quintic eases, cubic Hermite segments and sinusoids). Feet, knees,
hands and the seat that carry weight are placed by analytic two-bone IK (synth/motions/ik.py) at fixed floor
positions, so contacts do not slide; the pelvis is lowered just enough for every planted limb to reach.
All randomness comes from the explicit `rng`; parameter ranges live in the *_PARAMS tables below (angles in
degrees, lengths in metres, times in seconds, rates per second) and every drawn value is recorded in
`MotionClip.params`. Each clip is finally turned by a random heading about the vertical through the pelvis.
root_transl is in metres of the reference skeleton (synth/motions/skeleton.py, hip height HIP_HEIGHT_M); a body
of another size keeps its planted feet still when it scales root_transl by its own hip height / HIP_HEIGHT_M.
"""

from __future__ import annotations

import hashlib
import json
from typing import Callable

import numpy as np

from synth.errors import ConfigError
from synth.motions.clip import SMPL22_INDEX, MotionClip
from synth.motions.ik import end_rotation, split_twist, two_bone_ik
from synth.motions.rotations import (
    matrix_to_axis_angle,
    matrix_to_quaternion,
    mirror_left_right,
    quaternion_to_matrix,
    rot_x,
    rot_y,
    rot_z,
    rotation_between,
    slerp,
)
from synth.motions.skeleton import (
    ANKLE_HEIGHT_M,
    C_WORLD_FROM_BODY,
    FOREARM_M,
    GROUND_CONTACT_TOL_M,
    HAND_M,
    HEEL_BACK_M,
    JOINT_OFFSETS_BODY_M,
    KNEECAP_OFFSET_M,
    PALM_M,
    PALM_THICKNESS_M,
    PELVIS_HEIGHT_M,
    PELVIS_REST_WORLD_M,
    SEAT_OFFSET_M,
    SHIN_M,
    THIGH_M,
    UPPER_ARM_M,
    Kinematics,
    forward_kinematics,
    lowest_point_height,
)

FAMILIES: tuple[str, ...] = (
    "walk",
    "look_around",
    "reach_overhead",
    "reach_behind",
    "squat",
    "lunge",
    "pick_up",
    "kick",
    "arm_swing",
    "jump",
    "crawl",
    "sit_floor",
    "dance",
    "crouch",
)

GRAVITY_M_S2 = 9.81
#: Fraction of the full leg length (thigh + shin) the pelvis height is limited to (keeps knees soft).
LEG_REACH_FRACTION = 0.997
#: Smoothness (m) of the soft minimum that lowers the pelvis when a planted foot would be out of reach.
PELVIS_SOFTMIN_M = 0.006
#: Fraction of the full arm length arm IK may use.
ARM_REACH_FRACTION = 0.995
#: Width (m) of the smooth saturation of arm reach (elbows straighten without a kink in their speed).
ARM_REACH_SOFTNESS_M = 0.01
#: Knee-joint height above the floor when kneeling on a horizontal shin (the kneecap contact offset).
KNEEL_KNEE_HEIGHT_M = KNEECAP_OFFSET_M[2]
#: Ankle-joint height (m) of a leg stretched out on the floor: the heel (about 8 cm along the foot and 5.5 cm
#: under the ankle axis when the foot points up) rests on the floor.
LONG_SIT_ANKLE_HEIGHT_M = 0.09
#: Fastest whole-body turn (deg/s) in a turning jump.
MAX_TURN_RATE_DEG_S = 600.0

_SIDES = ("left", "right")
_SIGN = {"left": 1.0, "right": -1.0}
_J = SMPL22_INDEX
_UP = np.array([0.0, 0.0, 1.0])
_HEEL_OFFSET = np.array([0.0, -ANKLE_HEIGHT_M, -HEEL_BACK_M])  # heel sole point from the ankle, body axes
_BALL_OFFSET = JOINT_OFFSETS_BODY_M[_J["left_foot"]]  # ball joint from the ankle, body axes

# ---- parameter tables (degrees, metres, seconds, Hz) ---------------------------------------------------------
COMMON_PARAMS = {"heading_deg": (-180.0, 180.0)}
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
SWING_PARAMS = {
    "freq_hz": (0.5, 1.3),
    "amplitude_deg": (30.0, 70.0),
    "center_deg": (0.0, 25.0),
    "cone_deg": (35.0, 65.0),
    "cross_elevation_deg": (0.0, 25.0),
    "elbow_deg": (5.0, 30.0),
    "bounce_m": (0.0, 0.03),
}
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
CRAWL_PARAMS = {
    "knee_half_width_m": (0.08, 0.14),
    "hand_half_width_m": (0.14, 0.22),
    "hand_ahead_m": (0.08, 0.15),
    "shoulder_reach": (0.95, 0.985),
    "shin_lift_deg": (3.0, 6.0),
    "ankle_deg": (52.0, 62.0),
    "rock_m": (0.02, 0.06),
    "rock_hz": (0.3, 0.8),
    "sway_m": (0.0, 0.04),
    "gaze_up_deg": (20.0, 55.0),
    "look_yaw_deg": (0.0, 35.0),
    "reach_elevation_deg": (-35.0, 15.0),
    "reach_extent": (0.80, 0.95),
    "move_s": (0.5, 0.9),
    "hold_s": (0.1, 0.5),
    "rest_s": (0.2, 0.6),
}
SIT_PARAMS = {
    "pelvis_tilt_back_deg": (5.0, 20.0),
    "long_reach": (0.96, 0.99),
    "long_ankle_deg": (10.0, 30.0),
    "knees_up_foot_m": (0.52, 0.62),
    "cross_ankle_side_m": (0.0, 0.08),
    "cross_ankle_forward_m": (0.33, 0.43),
    "cross_ankle_height_m": (0.07, 0.09),
    "cross_knee_up": (0.5, 0.7),
    "lean_deg": (0.0, 20.0),
    "move_s": (0.5, 1.0),
    "hold_s": (0.1, 0.6),
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

#: Fixed shape angles of the families (degrees), converted once into _RAD; names say where they are used.
SHAPE_DEG: dict[str, float] = {
    "rest_arm_flexion": 8.0,  # relaxed hanging arms, slightly forwards
    "rest_arm_abduction": 10.0,  # ... and slightly away from the body
    "rest_elbow": 15.0,  # relaxed elbow bend
    "soft_corner": 5.0,  # rounding width of smooth max(angle, 0)
    "stance_toe_out": 6.0,  # feet turned out in lunges and kicks
    "look_roll": 6.0,  # head roll noise while looking around
    "look_arm_sway": 6.0,  # arm sway noise while looking around
    "behind_far_gaze_down": 10.0,  # looking down over the shoulder in a far reach behind
    "squat_relaxed_arm": 15.0,  # arm flexion at the bottom of a squat with relaxed arms
    "lunge_arm_raise": 25.0,  # arms come forwards as the pelvis drops in a lunge
    "lunge_arm_abduction": 12.0,
    "lunge_elbow": 20.0,
    "pick_toe_out": 10.0,
    "pick_gaze_up": 20.0,  # head lifted against the bent trunk to look at the object
    "kick_lean_back": 8.0,  # trunk leaning back during a front kick
    "kick_support_arm": 30.0,  # support-side arm raised forwards for balance
    "kick_arm_spread": 35.0,  # arms spread while a leg is in the air
    "kick_elbow_bend": 40.0,
    "side_kick_min_chamber": 60.0,  # knee raised at least this much before a side kick
    "back_kick_point": 10.0,  # foot pointing during a back kick
    "swing_trunk_twist": 8.0,
    "swing_gaze_noise": 5.0,
    "cross_swing_open": -25.0,  # horizontal arm angle when the arms open (behind the frontal plane)
    "cross_swing_close": 105.0,  # ... and when they cross in front of the chest
    "jump_toe_out": 5.0,
    "jump_dip_lean": 25.0,  # trunk lean at the bottom of the counter-movement
    "jump_land_lean": 20.0,  # trunk lean while absorbing the landing
    "jump_arm_rest": 10.0,
    "jump_arm_back": -35.0,  # arms swung back during the dip
    "jump_arm_after": 70.0,  # arms coming down at touch-down
    "jump_arm_land": 25.0,
    "jump_arm_abduction": 12.0,
    "jump_elbow": 20.0,
    "sit_lean": 8.0,  # seated trunk flexion at rest
    "sit_lean_noise": 5.0,
    "sit_side_bend": 8.0,  # towards a side reach
    "sit_twist": 10.0,  # towards a side reach
    "sit_gaze_pitch": 10.0,  # looking up/down at reach goals
    "sit_gaze_yaw": 20.0,
    "cross_ankle_plantar": 15.0,  # cross-legged: foot relaxed on its outer edge
    "cross_ankle_inversion": 20.0,
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
    "crouch_gaze_down": 25.0,  # looking at the touching hand
}
_RAD: dict[str, float] = {k: float(np.radians(v)) for k, v in SHAPE_DEG.items()}


# ---- small helpers -------------------------------------------------------------------------------------------
def _draw(rng: np.random.Generator, table: dict[str, tuple[float, float]]) -> dict[str, float]:
    """One uniform draw per table entry, in table order."""
    return {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in table.items()}


def _choice(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def ease(x) -> np.ndarray:
    """Quintic smoothstep on [0, 1] (zero velocity and acceleration at both ends), clamped outside."""
    x = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    return x * x * x * (10.0 + x * (-15.0 + 6.0 * x))


def _keys(t: np.ndarray, times, values) -> np.ndarray:
    """Pose-to-pose curve: eased between consecutive keys (K times, (K,) or (K, D) values), held outside."""
    times = np.asarray(times, np.float64)
    values = np.asarray(values, np.float64)
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
    j = np.minimum(i + 1, len(times) - 1)
    span = np.where(j > i, times[j] - times[i], 1.0)
    w = ease(np.where(j > i, (t - times[i]) / span, 0.0))
    if values.ndim > 1:
        w = w[:, None]
    return values[i] + (values[j] - values[i]) * w


def _hermite(u, p0, m0, p1, m1) -> np.ndarray:
    """Cubic Hermite on u in [0, 1] with end values p0, p1 and end slopes m0, m1 (per unit u)."""
    u2, u3 = u * u, u * u * u
    return (2 * u3 - 3 * u2 + 1) * p0 + (u3 - 2 * u2 + u) * m0 + (-2 * u3 + 3 * u2) * p1 + (u3 - u2) * m1


def _bump(x) -> np.ndarray:
    """sin^2(pi x) on [0, 1], 0 outside: a lift with zero slope at both ends."""
    x = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    return np.sin(np.pi * x) ** 2


def _lift(x) -> np.ndarray:
    """Foot lift profile of a step with linear progress x in [0, 1]: rises over the first 35 % of the step,
    holds, and lowers over the last 35 %, so the foot leaves and meets the floor nearly vertically (C2)."""
    x = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    return np.where(x < 0.5, ease(x / 0.35), ease((1.0 - x) / 0.35))


def _noise(rng: np.random.Generator, t: np.ndarray, freq_hz: tuple[float, float], terms: int = 3) -> np.ndarray:
    """Smooth random curve in [-1, 1]: a normalised sum of `terms` sinusoids with random frequencies/phases."""
    f = rng.uniform(freq_hz[0], freq_hz[1], terms)
    ph = rng.uniform(0.0, 2 * np.pi, terms)
    a = rng.uniform(0.5, 1.0, terms)
    return (a[None] * np.sin(2 * np.pi * f[None] * t[:, None] + ph[None])).sum(-1) / a.sum()


def _schedule(rng, t, duration, move_s, hold_s, rest_s, start_s=(0.0, 0.25), min_move_s=0.45):
    """Repeated rest -> goal -> rest actions filling the clip.

    Returns (w (F,) in [0, 1] eased action weight, rep (F,) int index of the current repetition, count).
    The first repetition is compressed (down to min_move_s per move) to fit short clips; a clip shorter still
    ends during the action.
    """
    starts, ups, holds, downs = [], [], [], []
    a = float(rng.uniform(*start_s))
    while True:
        up, hold, down, rest = (float(rng.uniform(*r)) for r in (move_s, hold_s, move_s, rest_s))
        if not starts:
            total = up + hold + down
            room = 0.97 * duration - a
            if total > room:
                scale = max(room / total, min_move_s / min(up, down))
                up, hold, down = up * scale, hold * scale, down * scale
        starts.append(a)
        ups.append(up)
        holds.append(hold)
        downs.append(down)
        a = a + up + hold + down + rest
        if a >= duration:
            break
    w = np.zeros_like(t)
    for a, up, hold, down in zip(starts, ups, holds, downs):
        rise = ease((t - a) / up)
        fall = ease((t - (a + up + hold)) / down)
        w = np.maximum(w, np.where(t < a + up + hold, rise, 1.0 - fall))
    rep = np.clip(np.searchsorted(np.asarray(starts), t, side="right") - 1, 0, len(starts) - 1)
    return w, rep, len(starts)


def _softplus(x, width: float) -> np.ndarray:
    """Smooth max(x, 0) with a rounded corner of the given width (same unit as x)."""
    return width * np.logaddexp(0.0, np.asarray(x, np.float64) / width)


def _softmin(values: np.ndarray, k: float) -> np.ndarray:
    """Smooth minimum over the last axis (never above the true minimum)."""
    m = values.min(axis=-1, keepdims=True)
    return m[..., 0] - k * np.log(np.exp(-(values - m) / k).sum(-1))


def _side_R(side: str, R_left: np.ndarray) -> np.ndarray:
    return R_left if side == "left" else mirror_left_right(R_left)


def _dir(heading: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World forward and left unit vectors (F, 3) of headings (F,) rad (0 = facing -Y)."""
    s, c = np.sin(heading), np.cos(heading)
    z = np.zeros_like(heading)
    return np.stack([s, -c, z], -1), np.stack([c, s, z], -1)


def _root_R(yaw, pitch_fwd=0.0, roll=0.0, F: int | None = None) -> np.ndarray:
    """World pelvis rotation (F, 3, 3): heading yaw about +Z, then in body axes forward pitch and side roll (rad)."""
    yaw, pitch_fwd, roll = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (yaw, pitch_fwd, roll)))
    body = rot_x(pitch_fwd) @ rot_z(roll)
    return rot_z(yaw) @ C_WORLD_FROM_BODY @ body @ C_WORLD_FROM_BODY.T


def _slerp_R(Ra: np.ndarray, Rb: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-frame slerp between rotation matrices (F, 3, 3) with weights w (F,)."""
    return quaternion_to_matrix(slerp(matrix_to_quaternion(Ra), matrix_to_quaternion(Rb), w))


class _Pose:
    """A clip under construction: time samples, root rotation/translation and local joint rotations."""

    def __init__(self, num_frames: int, fps: float):
        self.t = np.arange(num_frames) / float(fps)
        self.F = num_frames
        self.duration = num_frames / float(fps)  # nominal length (s): equal for the same clip at any frame rate
        self.root_R = np.broadcast_to(np.eye(3), (num_frames, 3, 3)).copy()
        self.root_t = np.zeros((num_frames, 3))
        self.local = np.broadcast_to(np.eye(3), (num_frames, 21, 3, 3)).copy()

    def set(self, joint: str, R: np.ndarray) -> None:
        self.local[:, _J[joint] - 1] = R

    def kin(self) -> Kinematics:
        return forward_kinematics(self.root_R, self.root_t, self.local)

    def hip_world(self, side: str) -> np.ndarray:
        G = self.root_R @ C_WORLD_FROM_BODY
        return PELVIS_REST_WORLD_M + self.root_t + G @ JOINT_OFFSETS_BODY_M[_J[f"{side}_hip"]]


# ---- body-part setters (left-side conventions; right side mirrored) ---------------------------------------
def _arm_R(flexion, abduction, twist=0.0) -> np.ndarray:
    """Left shoulder rotation putting the upper arm along d = Rx(-flexion) Rz(abduction) (0, -1, 0).

    flexion: arm raised forwards from hanging (rad, 90 deg = horizontal forwards, 180 = overhead);
    abduction: arm raised sideways from hanging (rad, 90 deg = T-pose); twist about the arm (rad).
    """
    fl, ab, tw = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (flexion, abduction, twist)))
    d = np.stack([np.sin(ab), -np.cos(ab) * np.cos(fl), np.cos(ab) * np.sin(fl)], -1)
    return rotation_between(np.array([1.0, 0.0, 0.0]), d) @ rot_x(tw)


def _arm_dir_R(d: np.ndarray, twist=0.0) -> np.ndarray:
    """Left shoulder rotation putting the upper arm along unit direction d (F, 3) (collar axes)."""
    return rotation_between(np.array([1.0, 0.0, 0.0]), d) @ rot_x(np.asarray(twist, np.float64))


def _set_arm(pose: _Pose, side: str, flexion, abduction, elbow, twist=0.0, collar_raise=0.0, wrist=0.0):
    F = pose.F
    full = lambda v: np.broadcast_to(np.asarray(v, np.float64), (F,))  # noqa: E731
    pose.set(f"{side}_collar", _side_R(side, rot_z(full(collar_raise))))
    pose.set(f"{side}_shoulder", _side_R(side, _arm_R(full(flexion), full(abduction), full(twist))))
    pose.set(f"{side}_elbow", _side_R(side, rot_y(-full(elbow))))
    pose.set(f"{side}_wrist", _side_R(side, rot_z(full(wrist))))


def _set_spine(pose: _Pose, flex=0.0, lateral=0.0, twist=0.0, weights=(0.4, 0.3, 0.3)):
    """Distribute trunk flexion (+ forwards), lateral bend (+ towards the right) and twist (+ to the left)."""
    F = pose.F
    fl, la, tw = (np.broadcast_to(np.asarray(v, np.float64), (F,)) for v in (flex, lateral, twist))
    for joint, w in zip(("spine1", "spine2", "spine3"), weights):
        pose.set(joint, rot_x(w * fl) @ rot_z(w * la) @ rot_y(w * tw))


def _set_gaze(pose: _Pose, pitch_up=0.0, yaw_left=0.0, roll=0.0, neck_share=0.45):
    F = pose.F
    p, y, r = (np.broadcast_to(np.asarray(v, np.float64), (F,)) for v in (pitch_up, yaw_left, roll))
    pose.set("neck", rot_x(-neck_share * p) @ rot_z(neck_share * r) @ rot_y(neck_share * y))
    h = 1.0 - neck_share
    pose.set("head", rot_x(-h * p) @ rot_z(h * r) @ rot_y(h * y))


def _foot_pose(flat_ankle: np.ndarray, heading: np.ndarray, pitch: np.ndarray):
    """Ankle position (F, 3), world foot rotation (F, 3, 3) and toe angle (F,) of a planted foot.

    flat_ankle: (F, 3) ankle position of the flat foot; heading (F,) rad; pitch (F,) rad in body axes
    (+ = heel raised, rolling about the ball joint with the toes kept flat; - = toes raised, rolling about the
    heel).
    """
    R_flat = rot_z(heading) @ C_WORLD_FROM_BODY
    R = R_flat @ rot_x(pitch)
    off = np.where((pitch >= 0)[:, None], _BALL_OFFSET, _HEEL_OFFSET)
    pivot = flat_ankle + np.einsum("fij,fj->fi", R_flat, off)
    ankle = pivot - np.einsum("fij,fj->fi", R, off)
    return ankle, R, -np.maximum(pitch, 0.0)


def _ankle_rise(pitch: float) -> float:
    """How much a heel raise of `pitch` rad (rolling on the ball) lifts the ankle (m)."""
    a, _, _ = _foot_pose(np.zeros((1, 3)), np.zeros(1), np.array([pitch]))
    return float(a[0, 2])


def _flat_hand_R(side: str, fwd: np.ndarray) -> np.ndarray:
    """World rotation (F, 3, 3) of a hand lying palm down with the fingers along fwd (F, 3)."""
    x = fwd if side == "left" else -fwd  # the hand's x axis runs along the fingers on the left, back on the right
    up = np.broadcast_to(_UP, x.shape)
    return np.stack([x, up, np.cross(x, up)], -1)


class _Foot:
    """IK goal of one leg: ankle target (F, 3), world foot rotation (F, 3, 3) or local ankle rotation, knee pole
    (F, 3) world direction and toe angle (F,) rad."""

    def __init__(self, ankle, pole, R_world=None, toe=None, ankle_local=None):
        self.ankle, self.pole, self.R_world, self.ankle_local = ankle, pole, R_world, ankle_local
        self.toe = np.zeros(len(ankle)) if toe is None else toe


def _clamp_pelvis(pose: _Pose, feet: dict[str, _Foot], reach=LEG_REACH_FRACTION) -> None:
    """Lower the pelvis (root z) softly where a leg could not reach its ankle target."""
    r = reach * (THIGH_M + SHIN_M)
    slack = [np.zeros(pose.F)]
    for side, foot in feet.items():
        hip = pose.hip_world(side)
        horiz = np.linalg.norm((foot.ankle - hip)[:, :2], axis=-1)
        allowed = foot.ankle[:, 2] + np.sqrt(np.maximum(r * r - horiz * horiz, 0.0))
        slack.append(allowed - hip[:, 2])
    pose.root_t[:, 2] += _softmin(np.stack(slack, -1), PELVIS_SOFTMIN_M)


def _solve_legs(pose: _Pose, feet: dict[str, _Foot], clamp: bool = True) -> None:
    """Place the legs on their IK goals (after lowering the pelvis as needed when clamp is True)."""
    if clamp:
        _clamp_pelvis(pose, feet)
    G_pelvis = pose.root_R @ C_WORLD_FROM_BODY
    for side, foot in feet.items():
        hip = pose.hip_world(side)
        R_hip, R_knee, _ = two_bone_ik(
            G_pelvis, hip, JOINT_OFFSETS_BODY_M[_J[f"{side}_knee"]], JOINT_OFFSETS_BODY_M[_J[f"{side}_ankle"]],
            np.array([1.0, 0.0, 0.0]), foot.ankle, foot.pole,
        )
        pose.set(f"{side}_hip", R_hip)
        pose.set(f"{side}_knee", R_knee)
        if foot.R_world is not None:
            ankle_R = end_rotation(G_pelvis @ R_hip @ R_knee, foot.R_world)
        else:
            ankle_R = foot.ankle_local
        pose.set(f"{side}_ankle", ankle_R)
        pose.set(f"{side}_foot", rot_x(foot.toe))


def _arm_ik(pose: _Pose, side: str, target: np.ndarray, pole: np.ndarray, hand_R: np.ndarray | None = None,
            wrist_local: np.ndarray | None = None, hand_weight: np.ndarray | None = None) -> None:
    """Put the wrist on target (F, 3) with the elbow bulging towards pole (F, 3); optionally orient the hand.

    With hand_R (F, 3, 3 world), the twist about the forearm goes to the elbow (pronation/supination) and the rest
    to the wrist; hand_weight (F,) in [0, 1] blends from a neutral wrist (0) to that orientation (1).
    """
    kin = pose.kin()
    G_collar = kin.rotations[:, _J[f"{side}_collar"]]
    shoulder = kin.positions[:, _J[f"{side}_shoulder"]]
    bend = np.array([0.0, -_SIGN[side], 0.0])
    R_sh, R_el, _ = two_bone_ik(
        G_collar, shoulder, JOINT_OFFSETS_BODY_M[_J[f"{side}_elbow"]], JOINT_OFFSETS_BODY_M[_J[f"{side}_wrist"]],
        bend, target, pole, ARM_REACH_FRACTION, ARM_REACH_SOFTNESS_M,
    )
    pose.set(f"{side}_shoulder", R_sh)
    if hand_R is not None:
        R_w = end_rotation(G_collar @ R_sh @ R_el, hand_R)
        swing, twist = split_twist(R_w, np.array([1.0, 0.0, 0.0]))
        R_elbow, R_wrist = R_el @ rot_x(twist), rot_x(-twist) @ swing @ rot_x(twist)
        if hand_weight is not None:
            R_elbow = _slerp_R(R_el, R_elbow, hand_weight)
            R_wrist = _slerp_R(np.broadcast_to(np.eye(3), R_wrist.shape), R_wrist, hand_weight)
        pose.set(f"{side}_elbow", R_elbow)
        pose.set(f"{side}_wrist", R_wrist)
    else:
        pose.set(f"{side}_elbow", R_el)
        if wrist_local is not None:
            pose.set(f"{side}_wrist", wrist_local)


def _natural_pole(pose: _Pose, side: str, target: np.ndarray) -> np.ndarray:
    """World direction (F, 3) the elbow points to when the upper arm swings straight from the T-pose towards
    target (F, 3) without twisting: backwards for a hanging or raised arm, outwards for a forward reach."""
    kin = pose.kin()
    G = kin.rotations[:, _J[f"{side}_collar"]]
    d = np.einsum("fji,fj->fi", G, target - kin.positions[:, _J[f"{side}_shoulder"]])
    rest = np.array([_SIGN[side], 0.0, 0.0])
    pole_local = rotation_between(rest, d) @ np.array([0.0, 0.0, -1.0])
    return np.einsum("fij,fj->fi", G, pole_local)


def _arc_blend(origin: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Blend targets a -> b (F, 3) by w (F,) around origin (F, 3) (the shoulder): the direction is slerped and
    the distance interpolated, so a hand never cuts through the shoulder on its way."""
    ra, rb = a - origin, b - origin
    la, lb = np.linalg.norm(ra, axis=-1), np.linalg.norm(rb, axis=-1)
    ua, ub = ra / la[:, None], rb / lb[:, None]
    cos = np.clip(np.sum(ua * ub, -1), -1.0, 1.0)
    ang = np.arccos(cos)
    sin = np.sin(ang)
    near = sin < 1e-6
    safe = np.where(near, 1.0, sin)
    ka = np.where(near, 1.0 - w, np.sin((1.0 - w) * ang) / safe)
    kb = np.where(near, w, np.sin(w * ang) / safe)
    u = ka[:, None] * ua + kb[:, None] * ub
    u /= np.linalg.norm(u, axis=-1, keepdims=True)
    return origin + u * (la + (lb - la) * w)[:, None]


def _hanging_wrists(pose: _Pose, abduction: float, elbow: float) -> dict[str, np.ndarray]:
    """World wrist positions (F, 3) of relaxed hanging arms on the current trunk (arms set as a side effect)."""
    for side in _SIDES:
        _set_arm(pose, side, _RAD["rest_arm_flexion"], abduction, elbow)
    kin = pose.kin()
    return {side: kin.positions[:, _J[f"{side}_wrist"]].copy() for side in _SIDES}


def _torso_dirs(pose: _Pose, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World (outward, up, forward) unit axes (F, 3) of the upper trunk (spine3) for a body side."""
    G = pose.kin().rotations[:, _J["spine3"]]
    return _SIGN[side] * G[:, :, 0], G[:, :, 1], G[:, :, 2]


def _stance_feet(F: int, half_width: float, toe_out: float, heading: float = 0.0, centre=(0.0, 0.0)):
    """Flat ankle positions (F, 3) and headings (F,) of both feet standing around centre (world x, y)."""
    fwd, left = _dir(np.full(F, heading))
    out = {}
    for side in _SIDES:
        pos = np.array([centre[0], centre[1], ANKLE_HEIGHT_M]) + _SIGN[side] * half_width * left
        out[side] = (pos, np.full(F, heading + _SIGN[side] * toe_out))
    return out


def _planted_feet(stance, pitch=None) -> dict[str, _Foot]:
    feet = {}
    for side, (pos, heading) in stance.items():
        p = np.zeros(len(heading)) if pitch is None else pitch[side]
        ankle, R, toe = _foot_pose(pos, heading, p)
        fwd, _ = _dir(heading)
        feet[side] = _Foot(ankle, fwd, R, toe)
    return feet


# ---- families ------------------------------------------------------------------------------------------------
def _walk(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, WALK_PARAMS)
    params.update(p)
    T = 1.0 / p["cadence_steps_s"]
    cycle = 2.0 * T
    v = p["step_length_m"] / T
    omega = np.radians(p["turn_rate_deg_s"])
    stance_frac, plant_frac = 0.62, 0.4
    stance = stance_frac * cycle
    heel_s, rise_s = 0.12 * cycle, 0.3 * cycle
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
        toe_sw = -to * (1.0 - ease(u / 0.5))  # toes relax back to neutral in the first half of the swing
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
    bob = p["bob_m"] * np.cos(4 * np.pi * (phi - phase_l))
    pose.root_t[:] = path(s) + left * sway[:, None]
    pose.root_t[:, 2] = -p["knee_soft_m"] - p["bob_m"] + bob
    yaw_osc = -np.radians(p["pelvis_yaw_deg"]) * np.cos(2 * np.pi * phi)
    lean = np.radians(p["trunk_lean_deg"])
    pose.root_R = _root_R(heading(s) + yaw_osc, 0.5 * lean)
    _set_spine(pose, 0.5 * lean, 0.0, -0.8 * yaw_osc)
    swing_arm = np.radians(p["arm_swing_deg"]) * np.cos(2 * np.pi * phi)
    elbow = np.radians(p["elbow_deg"])
    for side, sgn in (("left", -1.0), ("right", 1.0)):
        fl = _RAD["rest_arm_flexion"] + sgn * swing_arm
        _set_arm(pose, side, fl, _RAD["rest_arm_abduction"], elbow + 0.5 * _softplus(fl, _RAD["soft_corner"]))
    _set_gaze(pose, np.radians(p["gaze_pitch_deg"]), -0.2 * yaw_osc)
    _solve_legs(pose, feet)


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
    # Gaze keys: alternate up and down so the head really pitches both ways, random yaw.
    times, yaw, pitch = [0.0], [0.0], [0.0]
    first_up = bool(rng.integers(2))
    k = 0
    while times[-1] < duration:
        move = float(rng.uniform(*LOOK_PARAMS["move_s"]))
        hold = float(rng.uniform(*LOOK_PARAMS["hold_s"]))
        if k == 0:
            move = min(move, max(0.3, 0.6 * duration))
        up = (k % 2 == 0) == first_up
        amount = p["pitch_up_deg"] if up else -p["pitch_down_deg"]
        times += [times[-1] + move, times[-1] + move + hold]
        pitch += [amount * float(rng.uniform(0.85, 1.0))] * 2
        yaw += [float(rng.uniform(-1, 1)) * p["yaw_max_deg"]] * 2
        k += 1
    gaze_pitch = np.radians(_keys(t, times, pitch))
    gaze_yaw = np.radians(_keys(t, times, yaw))
    roll = _RAD["look_roll"] * _noise(rng, t, (0.2, 0.6))
    shift = p["weight_shift_m"] * _noise(rng, t, (0.15, 0.4))
    pose.root_t[:, 0] += shift
    pose.root_R = _root_R(0.15 * gaze_yaw)
    # The trunk helps a quarter of a downward look and a tenth of an upward one (smoothly blended at 0).
    eps = _RAD["soft_corner"]
    spine_pitch = -0.175 * gaze_pitch + 0.075 * (np.sqrt(gaze_pitch**2 + eps**2) - eps)
    _set_spine(pose, spine_pitch, 0.0, 0.25 * gaze_yaw)
    rest = gaze_pitch + spine_pitch  # what the neck and head still have to do
    _set_gaze(pose, rest, 0.6 * gaze_yaw, roll, neck_share=0.5)
    for side in _SIDES:
        sway = _RAD["look_arm_sway"] * _noise(rng, t, (0.2, 0.5))
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
    _set_gaze(pose, np.radians(p["gaze_up_deg"]) * w + 0.5 * lean)
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
    w, _, _ = _schedule(rng, t, pose.duration, BEHIND_PARAMS["move_s"], BEHIND_PARAMS["hold_s"], BEHIND_PARAMS["rest_s"])
    twist = 0.0 * w
    if style == "far":
        twist = _SIGN[arms] * np.radians(p["trunk_twist_deg"]) * w
    pose.root_R = _root_R(0.3 * twist)
    _set_spine(pose, 0.0, 0.0, 0.7 * twist)
    _set_gaze(pose, -_RAD["behind_far_gaze_down"] * w * (style == "far"), 1.2 * twist)
    rest = _hanging_wrists(pose, np.radians(base["arm_abduction_deg"]), np.radians(base["elbow_deg"]))
    G = pose.root_R @ C_WORLD_FROM_BODY
    pelvis = PELVIS_REST_WORLD_M + pose.root_t
    for side in _SIDES:
        if arms not in ("both", side):
            continue
        sgn = _SIGN[side]
        if style == "lower_back":
            goal_body = np.array([sgn * p["target_side_m"], p["target_height_m"], -p["target_back_m"]])
            pole_body = np.array([sgn * 0.5, 0.3, -0.8])
        else:
            goal_body = np.array([sgn * p["far_side_m"], p["far_height_m"], -p["far_back_m"]])
            pole_body = np.array([sgn * 0.2, -0.2, -1.0])
        goal = pelvis + np.einsum("fij,j->fi", G, goal_body)
        out, up, fwd = _torso_dirs(pose, side)
        rest_pole = 0.4 * out - fwd
        goal_pole = np.einsum("fij,j->fi", G, pole_body)
        sh = pose.kin().positions[:, _J[f"{side}_shoulder"]]
        target = _arc_blend(sh, rest[side], goal, w)
        pole = rest_pole + (goal_pole - rest_pole) * w[:, None]
        _arm_ik(pose, side, target, pole)
    _solve_legs(pose, _planted_feet(stance))


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
    pose.root_R = _root_R(0.0, 0.5 * lean)
    _set_spine(pose, 0.5 * lean)
    _set_gaze(pose, 0.7 * lean)
    arm_fl = np.radians(p["arm_forward_deg"]) if arm_style == "forward" else _RAD["squat_relaxed_arm"]
    fl0 = _RAD["rest_arm_flexion"]
    for side in _SIDES:
        _set_arm(pose, side, fl0 + (arm_fl - fl0) * w, _RAD["rest_arm_abduction"], _RAD["rest_elbow"])
    feet = _planted_feet(stance)
    for side in _SIDES:
        _, left = _dir(np.zeros(pose.F))
        feet[side].pole = feet[side].pole + 0.3 * _SIGN[side] * left
    _solve_legs(pose, feet)


def _lunge(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, LUNGE_PARAMS)
    direction = _choice(rng, ("forward", "backward", "side"))
    leg = _choice(rng, _SIDES)
    params.update(p, direction=direction, leg=leg)
    t = pose.t
    F = pose.F
    duration = pose.duration
    half = float(rng.uniform(0.10, 0.14))
    stance = _stance_feet(F, half, _RAD["stance_toe_out"])
    # Timeline of one repetition: step out, drop, hold, rise, step back, rest.
    step_s, drop_s, hold_s = p["step_s"], p["drop_s"], p["hold_s"]
    rep = 2 * step_s + 2 * drop_s + hold_s
    start = float(rng.uniform(0.0, 0.2))
    if start + rep > 0.97 * duration:
        scale = max((0.97 * duration - start) / rep, 0.6)
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
        a = f + float(rng.uniform(0.2, 0.6))
    fwd, left = _dir(np.zeros(F))
    other = "right" if leg == "left" else "left"
    if direction == "side":
        move = _SIGN[leg] * p["side_step_m"] * left
    else:
        move = (1.0 if direction == "forward" else -1.0) * p["step_m"] * fwd
    pos0, head = stance[leg]
    pos = pos0 + move * w_step[:, None] + p["clearance_m"] * _lift(x_step)[:, None] * _UP
    back_leg = {"forward": other, "backward": leg, "side": None}[direction]
    heel = np.radians(p["back_heel_deg"]) * (0.5 * w_step + 0.5 * w_drop)
    pitch = {s: (heel if s == back_leg else np.zeros(F)) for s in _SIDES}
    # The moving foot is in the air between plants: keep it flat, lift via the clearance bump.
    feet = _planted_feet({leg: (pos, head), other: stance[other]}, pitch)
    centre = 0.5 * move * w_step[:, None]
    pose.root_t[:] = centre
    depth = p["depth_m"] * (0.75 if direction == "side" else 1.0)
    pose.root_t[:, 2] = -depth * w_drop + 0.5 * np.array([_ankle_rise(h) for h in heel])
    if direction == "side":  # sit over the bent leg, hips back
        pose.root_t[:, :2] += (0.1 * move * w_drop[:, None] - 0.12 * fwd * w_drop[:, None])[:, :2]
    lean = np.radians(p["lean_deg"]) * w_drop
    pose.root_R = _root_R(0.0, 0.5 * lean)
    _set_spine(pose, 0.5 * lean)
    _set_gaze(pose, 0.5 * lean)
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
    half = float(rng.uniform(0.11, 0.2))
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
        goal = obj + np.array([_SIGN[side] * (0.10 if hands == "both" else 0.0), 0.0, 0.0])
        out, up, fwd = _torso_dirs(pose, side)
        sh = pose.kin().positions[:, _J[f"{side}_shoulder"]]
        target = _arc_blend(sh, rest[side], goal, w)
        _arm_ik(pose, side, target, _natural_pole(pose, side, target) + 0.3 * out)


def _kick(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, KICK_PARAMS)
    kind = _choice(rng, ("front", "side", "back"))
    leg = _choice(rng, _SIDES)
    params.update(p, kind=kind, leg=leg)
    t = pose.t
    F = pose.F
    duration = pose.duration
    support = "right" if leg == "left" else "left"
    half = float(rng.uniform(0.10, 0.14))
    stance = _stance_feet(F, half, _RAD["stance_toe_out"])
    sh, li, ex, ho = p["shift_s"], p["lift_s"], p["extend_s"], p["hold_s"]
    if kind == "back":  # the knee folds further on the way up: give it more time
        li *= 1.3
    rep = 2 * sh + 2 * li + 2 * ex + ho
    start = float(rng.uniform(0.0, 0.15))
    if start + rep > 0.97 * duration:
        scale = max((0.97 * duration - start) / rep, 0.9)
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
        a = h + float(rng.uniform(0.2, 0.5))
    fwd, left = _dir(np.zeros(F))
    sgn = _SIGN[leg]
    shift = _SIGN[support] * (half - 0.02) * w_shift
    pose.root_t[:, 0] = shift
    pose.root_t[:, 2] = -0.02 * w_shift
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
    _set_spine(pose, -0.5 * pitch, -0.5 * roll)
    _set_gaze(pose, 0.5 * pitch)
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
        a_ch = 0.8 * H
        chamber = L1 * (np.sin(a_ch) * fwd + np.cos(a_ch) * down) + L2 * (
            np.sin(a_ch - chamber_knee) * fwd + np.cos(a_ch - chamber_knee) * down)
        extended = 0.97 * (L1 + L2) * (np.sin(H) * fwd + np.cos(H) * down)
        pole = fwd + 0.5 * _UP
    elif kind == "side":
        A = np.radians(p["side_abduction_deg"])
        lat = sgn * left
        a_ch = max(A, _RAD["side_kick_min_chamber"])  # knee raised forwards-outwards, shin hanging
        shin = (down - 0.3 * lat) / np.linalg.norm(down - 0.3 * lat, axis=-1, keepdims=True)
        chamber = L1 * (np.sin(a_ch) * (0.5 * fwd + 0.87 * lat) + np.cos(a_ch) * down) + L2 * shin
        extended = 0.97 * (L1 + L2) * (np.sin(A) * lat + np.cos(A) * down)
        pole = fwd + 0.5 * _UP
    else:
        B = -np.radians(p["back_hip_deg"])
        k_ext = 0.75 * chamber_knee
        chamber = L1 * (np.sin(0.3 * B) * fwd + np.cos(0.3 * B) * down) + L2 * (
            np.sin(0.3 * B - chamber_knee) * fwd + np.cos(0.3 * B - chamber_knee) * down)
        extended = L1 * (np.sin(B) * fwd + np.cos(B) * down) + L2 * (
            np.sin(B - k_ext) * fwd + np.cos(B - k_ext) * down)
        pole = fwd - 0.5 * _UP
    planted = _planted_feet(stance)
    rel_air = chamber + (extended - chamber) * w_ext[:, None]
    air_target = hip + rel_air
    planted_foot = planted[leg]
    # The foot leaves (and meets) the floor mostly vertically: height follows a faster weight than the rest.
    w_up = 1.0 - (1.0 - w_air) ** 4
    kick_target = planted_foot.ankle + (air_target - planted_foot.ankle) * (w_air**2)[:, None]
    kick_target[:, 2] = planted_foot.ankle[:, 2] + (air_target[:, 2] - planted_foot.ankle[:, 2]) * w_up
    pole_k = planted_foot.pole + (pole - planted_foot.pole) * w_air[:, None]
    point = np.radians(p["point_toes_deg"]) if kind != "back" else _RAD["back_kick_point"]
    # The kicking foot stays parallel to the floor as it leaves and meets it, and points in the air.
    _solve_legs(pose, planted)
    _solve_legs(pose, {leg: _Foot(kick_target, pole_k, planted_foot.R_world)}, clamp=False)
    flat_local = pose.local[:, _J[f"{leg}_ankle"] - 1].copy()
    # A back kick bends the knee early, so its foot must start pointing sooner to stay within the ankle's range.
    point_rate = 2.5 if kind == "back" else 1.0
    pointing = ease(np.minimum(1.0, point_rate * w_air))
    pose.set(f"{leg}_ankle", _slerp_R(flat_local, rot_x(np.full(F, point)), pointing))


def _arm_swing(rng, pose: _Pose, params: dict) -> None:
    base, stance = _stand_base(rng, pose, params)
    p = _draw(rng, SWING_PARAMS)
    mode = _choice(rng, ("pendulum", "circles", "cross"))
    pattern = _choice(rng, ("together", "alternate"))
    backwards = bool(rng.integers(2))
    params.update(p, mode=mode, pattern=pattern, backwards=backwards)
    t = pose.t
    F = pose.F
    omega = 2 * np.pi * p["freq_hz"]
    ph0 = float(rng.uniform(0, 2 * np.pi))
    A = np.radians(p["amplitude_deg"])
    elbow = np.radians(p["elbow_deg"])
    for side in _SIDES:
        ph = ph0 + (np.pi if (pattern == "alternate" and side == "right") else 0.0)
        theta = omega * t + ph
        if mode == "pendulum":
            fl = np.radians(p["center_deg"]) + A * np.sin(theta)
            _set_arm(pose, side, fl, _RAD["rest_arm_abduction"], elbow + 0.3 * _softplus(fl, _RAD["soft_corner"]))
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
        pose.set(f"{side}_collar", _side_R(side, rot_z(0.25 * _softplus(np.arcsin(d[:, 1]), _RAD["soft_corner"]))))
        pose.set(f"{side}_shoulder", _side_R(side, _arm_dir_R(d)))
        pose.set(f"{side}_elbow", _side_R(side, rot_y(-np.full(F, elbow))))
    bounce = p["bounce_m"] * 0.5 * (1 - np.cos(2 * omega * t))
    pose.root_t[:, 2] -= bounce
    twisting = mode == "cross" or pattern == "alternate"
    twist = _RAD["swing_trunk_twist"] * np.sin(omega * t + ph0) * twisting
    _set_spine(pose, 0.0, 0.0, twist)
    _set_gaze(pose, _RAD["swing_gaze_noise"] * _noise(rng, t, (0.2, 0.5)), -0.5 * twist)
    _solve_legs(pose, _planted_feet(stance))


def _jump(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, JUMP_PARAMS)
    kind = _choice(rng, ("vertical", "forward", "turn"))
    params.update(p, kind=kind)
    t = pose.t
    F = pose.F
    duration = pose.duration
    g = GRAVITY_M_S2
    half = float(rng.uniform(0.10, 0.15))
    release_s = 0.06  # feet accelerate off (and decelerate onto) the floor over this time, keeping C1
    v0 = np.sqrt(2 * g * p["height_m"])
    flight = 2 * v0 / g
    p_to = np.radians(p["heel_raise_deg"])
    rise = _ankle_rise(p_to)
    lat = max(half - 0.09, 0.0)
    d_to = LEG_REACH_FRACTION * (THIGH_M + SHIN_M) - 0.02 - v0 * release_s / 2
    z_to = ANKLE_HEIGHT_M + rise + np.sqrt(d_to**2 - lat**2) + 0.06 - PELVIS_HEIGHT_M  # root z at take-off
    c, a_abs = p["counter_m"], p["absorb_m"]
    Tc, Tl, Tr = p["counter_s"], p["land_s"], p["rise_s"]
    Tp = min(p["push_s"], 2.5 * (z_to + c) / v0)
    D = p["distance_m"] if kind == "forward" else 0.0
    vx = D / (Tp / 2 + flight + Tl / 2)
    turn_sign = 1.0 if rng.integers(2) else -1.0
    # The eased turn peaks at 1.875 x its mean rate; keep that under MAX_TURN_RATE_DEG_S.
    turn_deg = min(p["turn_deg"], MAX_TURN_RATE_DEG_S * flight / 1.875) if kind == "turn" else 0.0
    params["turn_deg"] = turn_deg * turn_sign
    Y = np.radians(turn_deg) * turn_sign
    seq = Tc + Tp + flight + Tl + Tr
    pre = p["pre_s"]
    if pre + seq > duration:
        # Show at least the flight: start the clip later into the sequence.
        pre = -min(max(0.0, pre + seq - duration), Tc * 0.8)
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
        hb[m] = 0.4 * c * ease((t[m] - t1) / Tc)  # hips back in the dip
        lean[m] = _RAD["jump_dip_lean"] * ease((t[m] - t1) / Tc)
        m = (t >= t2) & (t < t3)
        u = (t[m] - t2) / Tp
        z[m] = _hermite(u, -c, 0.0, z_to, v0 * Tp)
        xf[m] = x_base + (vx * Tp / 2) * u * u
        hb[m] = 0.4 * c * (1 - ease(u))
        heel[m] = p_to * ease((u - 0.4) / 0.6)
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
        hb[m] = 0.4 * a_abs * ease(u)
        heel[m] = p_to * (1 - ease(u / 0.5))
        lean[m] = _RAD["jump_land_lean"] * _bump(u * 0.5)
        yaw[m] = yaw_base + Y
        plant_shift[m] = x_base + D
        m = (t >= t5) & (t < t6)
        z[m] = -a_abs * (1 - ease((t[m] - t5) / Tr))
        hb[m] = 0.4 * a_abs * (1 - ease((t[m] - t5) / Tr))
        lean[m] = _RAD["jump_land_lean"] * (1 - ease((t[m] - t5) / Tr))
        x_base += D
        yaw_base += Y
        m = t >= t5
        xf[m] = x_base
        yaw[m] = yaw_base
        plant_shift[m] = x_base
        arm_keys_t += [t1, t1 + 0.6 * Tc, t3 + 0.3 * flight, t4, t5, t6]
        arm_keys_v += [SHAPE_DEG["jump_arm_rest"], SHAPE_DEG["jump_arm_back"], p["arm_up_deg"],
                       SHAPE_DEG["jump_arm_after"], SHAPE_DEG["jump_arm_land"], SHAPE_DEG["jump_arm_rest"]]
        t1 = t6 + float(rng.uniform(0.2, 0.5))
    # Feet: planted (take-off plants) before each flight, carried with the pelvis in the air, planted after.
    order = np.argsort(arm_keys_t, kind="stable")
    arm_fl = np.radians(_keys(t, np.asarray(arm_keys_t)[order], np.asarray(arm_keys_v)[order]))
    fwd0, _ = _dir(np.zeros(F))
    pelvis_h = xf[:, None] * fwd0
    pose.root_t[:] = pelvis_h - hb[:, None] * _dir(yaw)[0]
    pose.root_t[:, 2] = z
    pose.root_R = _root_R(yaw, 0.5 * lean)
    _set_spine(pose, 0.5 * lean)
    _set_gaze(pose, 0.6 * lean)
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


def _crawl(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, CRAWL_PARAMS)
    reach_arm = _choice(rng, ("none", "left", "right"))
    params.update(p, reach_arm=reach_arm)
    t = pose.t
    F = pose.F
    fwd, left = _dir(np.zeros(F))
    rock = p["rock_m"] * np.sin(2 * np.pi * p["rock_hz"] * t + float(rng.uniform(0, 2 * np.pi)))
    sway = p["sway_m"] * _noise(rng, t, (0.15, 0.4))
    # Trunk pitch chosen so the shoulders sit at the wanted height above the hands.
    shoulder_target = p["shoulder_reach"] * ARM_REACH_FRACTION * (UPPER_ARM_M + FOREARM_M) + PALM_THICKNESS_M
    probe = _Pose(61, 30.0)
    pitches = np.radians(np.linspace(60.0, 100.0, 61))
    probe.root_R = _root_R(0.0, pitches)
    hip_rel = probe.hip_world("left")[:, 2] - PELVIS_HEIGHT_M
    kin = probe.kin()
    sh_rel = kin.positions[:, _J["left_shoulder"], 2] - PELVIS_HEIGHT_M
    hip_z = KNEEL_KNEE_HEIGHT_M + THIGH_M
    sh_z = hip_z - hip_rel + sh_rel
    pitch = float(pitches[int(np.argmin(np.abs(sh_z - shoulder_target)))])
    params["trunk_pitch_deg"] = float(np.degrees(pitch))
    pose.root_R = _root_R(0.0, np.full(F, pitch))
    # Knee plants under the hips at rest; pelvis rocks above them.
    rest_hips = {s: pose.hip_world(s)[0] for s in _SIDES}
    pose.root_t[:] = rock[:, None] * fwd + sway[:, None] * left
    knees = {}
    need = []
    for side in _SIDES:
        kp = rest_hips[side].copy()
        kp[0] = _SIGN[side] * p["knee_half_width_m"]
        kp[2] = KNEEL_KNEE_HEIGHT_M
        knees[side] = kp
        hip = pose.hip_world(side)
        horiz = np.linalg.norm((kp - hip)[:, :2], axis=-1)
        need.append(kp[2] + np.sqrt(np.maximum(THIGH_M**2 - horiz**2, 0.0)) - hip[:, 2])
    pose.root_t[:, 2] -= _softmin(-np.stack(need, -1), 0.003)  # soft max: no kneecap below the floor
    feet = {}
    lift = np.radians(p["shin_lift_deg"])
    ankle_local = rot_x(np.full(F, np.radians(p["ankle_deg"])))
    for side in _SIDES:
        shin_dir = -fwd * np.cos(lift) + _UP * np.sin(lift)
        ankle = knees[side] + SHIN_M * shin_dir
        pole = knees[side] - pose.hip_world(side)
        feet[side] = _Foot(ankle, pole, None, np.zeros(F), ankle_local=ankle_local)
    _solve_legs(pose, feet, clamp=False)
    gaze_yaw = np.radians(p["look_yaw_deg"]) * _noise(rng, t, (0.15, 0.5))
    _set_spine(pose, 0.0, 0.0, 0.3 * gaze_yaw)
    _set_gaze(pose, np.radians(p["gaze_up_deg"]) * np.ones(F), 0.7 * gaze_yaw)
    kin = pose.kin()
    w, _, _ = _schedule(rng, t, pose.duration, CRAWL_PARAMS["move_s"], CRAWL_PARAMS["hold_s"], CRAWL_PARAMS["rest_s"])
    for side in _SIDES:
        sh0 = kin.positions[0, _J[f"{side}_shoulder"]]
        palm = np.array([_SIGN[side] * p["hand_half_width_m"], sh0[1] - p["hand_ahead_m"], 0.0])
        hand_R = _flat_hand_R(side, fwd)
        palm_off = np.array([_SIGN[side] * PALM_M, -PALM_THICKNESS_M, 0.0])
        wrist = palm - np.einsum("fij,j->fi", hand_R, palm_off)
        out = _SIGN[side] * left
        pole = out - fwd  # elbows out and back
        hand_weight = None
        if reach_arm == side:
            sh = kin.positions[:, _J[f"{side}_shoulder"]]
            el = np.radians(p["reach_elevation_deg"])
            arm = p["reach_extent"] * (UPPER_ARM_M + FOREARM_M)
            goal = sh + arm * (np.cos(el) * fwd + np.sin(el) * _UP)
            wrist = wrist + (goal - wrist) * w[:, None] + 0.05 * _bump(w)[:, None] * _UP
            hand_weight = 1.0 - w  # the hand relaxes in the air
        _arm_ik(pose, side, wrist, pole, hand_R=hand_R, hand_weight=hand_weight)


def _sit_floor(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, SIT_PARAMS)
    legs = _choice(rng, ("long", "knees_up", "cross"))
    params.update(p, legs=legs)
    t = pose.t
    F = pose.F
    fwd, left = _dir(np.zeros(F))
    tilt = -np.radians(p["pelvis_tilt_back_deg"])
    w, rep, n = _schedule(rng, t, pose.duration, SIT_PARAMS["move_s"], SIT_PARAMS["hold_s"], (0.1, 0.4))
    goals = [_choice(rng, ("forward", "side", "up", "face")) for _ in range(n)]
    arms = [_choice(rng, ("both", "left", "right")) for _ in range(n)]
    params["actions"] = [f"{a}:{g}" for a, g in zip(arms, goals)]
    goal_f = np.array([goals[r] == "forward" for r in rep], float)
    lean = _RAD["sit_lean"] + np.radians(p["lean_deg"]) * w * goal_f
    lean = lean + _RAD["sit_lean_noise"] * _noise(rng, t, (0.1, 0.3))
    pose.root_R = _root_R(0.0, np.full(F, tilt))
    # Anchor the seat (mid-point of the two seat contacts) on the floor at the origin.
    seat_mid = np.array([0.0, SEAT_OFFSET_M[1], SEAT_OFFSET_M[2]])
    G = pose.root_R @ C_WORLD_FROM_BODY
    pose.root_t[:] = -PELVIS_REST_WORLD_M - np.einsum("fij,j->fi", G, seat_mid)
    if legs == "cross":
        feet = {}
        front = _choice(rng, _SIDES)  # whose ankle lies in front
        for side in _SIDES:
            ankle = np.zeros((F, 3))
            ankle[:, 0] = -_SIGN[side] * p["cross_ankle_side_m"]
            ankle[:, 1] = -(p["cross_ankle_forward_m"] + (0.06 if side == front else 0.0))
            ankle[:, 2] = p["cross_ankle_height_m"]
            out = _SIGN[side] * left
            relaxed = rot_x(np.full(F, _RAD["cross_ankle_plantar"])) @ rot_z(np.full(F, -_RAD["cross_ankle_inversion"]))
            ankle_local = _side_R(side, relaxed)
            feet[side] = _Foot(ankle, out + p["cross_knee_up"] * _UP + 0.2 * fwd, None, ankle_local=ankle_local)
        _solve_legs(pose, feet, clamp=False)
    else:
        feet = {}
        for side in _SIDES:
            hip = pose.hip_world(side)
            if legs == "long":
                reach = p["long_reach"] * (THIGH_M + SHIN_M)
                dz = LONG_SIT_ANKLE_HEIGHT_M - hip[:, 2]
                ahead = np.sqrt(np.maximum(reach**2 - dz**2, 0.0))
                ankle = hip + ahead[:, None] * fwd + dz[:, None] * _UP
                ankle[:, 0] += _SIGN[side] * 0.03
                feet[side] = _Foot(ankle, np.broadcast_to(_UP, (F, 3)).copy(), None,
                                   ankle_local=rot_x(np.full(F, np.radians(p["long_ankle_deg"]))))
            else:  # knees up, feet flat
                flat = hip + p["knees_up_foot_m"] * fwd
                flat[:, 2] = ANKLE_HEIGHT_M
                flat[:, 0] += _SIGN[side] * 0.04
                ankle, R, toe = _foot_pose(flat, np.zeros(F), np.zeros(F))
                feet[side] = _Foot(ankle, _UP + fwd, R, toe)
        _solve_legs(pose, feet, clamp=False)
    gf = lambda name: np.array([g == name for g in goals], float)[rep]  # noqa: E731
    active = {s: np.array([a in ("both", s) for a in arms], float)[rep] * w for s in _SIDES}
    to_left = (active["left"] - active["right"]) * gf("side")  # + when reaching to the left side
    _set_spine(pose, lean, -_RAD["sit_side_bend"] * to_left, _RAD["sit_twist"] * to_left)
    _set_gaze(pose, _RAD["sit_gaze_pitch"] * w * (gf("up") - gf("forward")), _RAD["sit_gaze_yaw"] * to_left)
    kin = pose.kin()
    for side in _SIDES:
        out, up, tf = _torso_dirs(pose, side)
        sh = kin.positions[:, _J[f"{side}_shoulder"]]
        knee = kin.positions[:, _J[f"{side}_knee"]]
        hip = kin.positions[:, _J[f"{side}_hip"]]
        rest = 0.5 * (knee + hip) + 0.08 * _UP + (0.02 if legs == "cross" else 0.0) * _UP
        # Goal wrist positions and the direction the elbow points for each goal (natural arm twists).
        goal_by = {
            "forward": (sh + 0.45 * fwd - 0.15 * _UP, out - _UP),
            "side": (sh + 0.45 * out - 0.05 * _UP + 0.1 * fwd, -tf - _UP),
            "up": (sh + 0.50 * _UP + 0.05 * fwd, out - tf),
            "face": (kin.positions[:, _J["head"]] + 0.12 * tf - 0.02 * _UP - 0.12 * out, 0.6 * out - up + 0.3 * tf),
        }
        goal = np.zeros((F, 3))
        goal_pole = np.zeros((F, 3))
        for name, (gpos, gpole) in goal_by.items():
            goal += gf(name)[:, None] * gpos
            goal_pole += gf(name)[:, None] * gpole
        a = active[side][:, None]
        target = _arc_blend(sh, rest, np.where(a > 0, goal, rest), active[side])
        pole = _natural_pole(pose, side, target) + 0.5 * out + 0.5 * goal_pole * a
        _arm_ik(pose, side, target, pole)


def _dance(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, DANCE_PARAMS)
    params.update(p)
    t = pose.t
    F = pose.F
    beat = 2 * np.pi * p["beat_hz"]
    ph = float(rng.uniform(0, 2 * np.pi))
    stance = _stance_feet(F, p["stance_half_width_m"], _RAD["dance_toe_out"])
    bounce = p["bounce_m"] * 0.5 * (1 - np.cos(beat * t + ph))
    sway = p["sway_m"] * np.sin(0.5 * beat * t + ph) + 0.3 * p["sway_m"] * _noise(rng, t, (0.2, 0.6))
    heel = np.radians(p["heel_raise_deg"])
    heel_l = heel * 0.5 * (1 + np.sin(0.5 * beat * t + ph))
    heel_r = heel * 0.5 * (1 - np.sin(0.5 * beat * t + ph))
    pose.root_t[:, 0] = sway
    rise = 0.5 * np.array([_ankle_rise(a) + _ankle_rise(b) for a, b in zip(heel_l, heel_r)])
    pose.root_t[:, 2] = -bounce - 0.02 + rise
    hip_yaw = np.radians(p["hip_yaw_deg"]) * _noise(rng, t, (0.3 * p["beat_hz"], 0.6 * p["beat_hz"]))
    roll = _RAD["dance_roll"] * np.sin(0.5 * beat * t + ph)
    pose.root_R = _root_R(hip_yaw, _RAD["dance_pelvis_tilt"], roll)
    se = p["spine_energy"]
    flex = se * _RAD["dance_spine_flex"] * _noise(rng, t, (0.3, 1.2))
    side_bend = -0.8 * roll + se * _RAD["dance_spine_side"] * _noise(rng, t, (0.3, 1.0))
    twist = -0.7 * hip_yaw + se * _RAD["dance_spine_twist"] * _noise(rng, t, (0.3, 1.0))
    _set_spine(pose, flex, side_bend, twist)
    gaze_pitch = _RAD["dance_gaze_pitch"] * _noise(rng, t, (0.2, 1.0))
    gaze_yaw = _RAD["dance_gaze_yaw"] * _noise(rng, t, (0.2, 0.8))
    _set_gaze(pose, gaze_pitch, gaze_yaw, _RAD["dance_gaze_roll"] * _noise(rng, t, (0.3, 1.0)))
    ae = p["arm_energy"]
    arm_hz = (0.25 * p["beat_hz"], 0.75 * p["beat_hz"])
    for side in _SIDES:
        fl = _RAD["dance_arm_flexion"] + ae * _RAD["dance_arm_flexion_amp"] * _noise(rng, t, arm_hz)
        ab = _RAD["dance_arm_abduction"] + ae * _RAD["dance_arm_abduction_amp"] * _noise(rng, t, arm_hz)
        el = _RAD["dance_elbow"] + ae * _RAD["dance_elbow_amp"] * _noise(rng, t, (0.3 * p["beat_hz"], p["beat_hz"]))
        wr = _RAD["dance_wrist_amp"] * _noise(rng, t, (0.3, 1.0))
        tw = _RAD["dance_arm_twist_amp"] * _noise(rng, t, (0.2, 0.8))
        raise_ = 0.2 * _softplus(fl - _RAD["shoulder_level"], _RAD["soft_corner"])
        _set_arm(pose, side, fl, ab, el, tw, raise_, wr)
    _solve_legs(pose, _planted_feet(stance, {"left": heel_l, "right": heel_r}))


def _crouch(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, CROUCH_PARAMS)
    hand = _choice(rng, ("left", "right"))
    params.update(p, hand=hand)
    t = pose.t
    F = pose.F
    stance = _stance_feet(F, p["stance_half_width_m"], np.radians(p["toe_out_deg"]))
    heel = np.full(F, np.radians(p["heel_raise_deg"]))
    pose.root_t[:, 1] = p["back_m"]
    pose.root_t[:, 2] = -p["drop_m"] + _ankle_rise(heel[0])
    lean = np.radians(p["lean_deg"])
    look = np.radians(p["look_yaw_deg"]) * _noise(rng, t, (0.15, 0.5))
    shift = 0.03 * _noise(rng, t, (0.15, 0.4))
    pose.root_t[:, 0] += shift
    pose.root_R = _root_R(0.0, np.full(F, 0.5 * lean))
    _set_spine(pose, np.full(F, 0.5 * lean), 0.0, 0.3 * look)
    w, _, _ = _schedule(rng, t, pose.duration, CROUCH_PARAMS["move_s"], CROUCH_PARAMS["hold_s"], CROUCH_PARAMS["rest_s"])
    _set_gaze(pose, 0.8 * lean - _RAD["crouch_gaze_down"] * w, 0.7 * look * (1 - w))
    feet = _planted_feet(stance, {"left": heel, "right": heel})
    fwd, left = _dir(np.zeros(F))
    for side in _SIDES:
        feet[side].pole = feet[side].pole + 0.3 * _SIGN[side] * left
    _solve_legs(pose, feet)
    rest = {}
    kin = pose.kin()
    for side in _SIDES:
        knee = kin.positions[:, _J[f"{side}_knee"]]
        rest[side] = knee + 0.10 * _UP + 0.05 * fwd
    for side in _SIDES:
        out, up, tf = _torso_dirs(pose, side)
        target = rest[side]
        pole = -tf + 0.6 * out
        if side == hand:
            palm = np.array([_SIGN[side] * 0.15, -p["touch_forward_m"], 0.0])
            hand_R = _flat_hand_R(side, fwd)
            palm_off = np.array([_SIGN[side] * PALM_M, -PALM_THICKNESS_M, 0.0])
            goal = palm - np.einsum("fij,j->fi", hand_R, palm_off)
            sh = kin.positions[:, _J[f"{side}_shoulder"]]
            target = _arc_blend(sh, rest[side], goal, w)
        _arm_ik(pose, side, target, pole)


_GENERATORS: dict[str, Callable] = {
    "walk": _walk,
    "look_around": _look_around,
    "reach_overhead": _reach_overhead,
    "reach_behind": _reach_behind,
    "squat": _squat,
    "lunge": _lunge,
    "pick_up": _pick_up,
    "kick": _kick,
    "arm_swing": _arm_swing,
    "jump": _jump,
    "crawl": _crawl,
    "sit_floor": _sit_floor,
    "dance": _dance,
    "crouch": _crouch,
}


# ---- public API ----------------------------------------------------------------------------------------------
def _check_families(families) -> tuple[str, ...]:
    names = tuple(families)
    for name in names:
        if name not in _GENERATORS:
            raise ConfigError(
                file="<config>", field="motion.families",
                problem=f"unknown family {name!r}; allowed: {', '.join(FAMILIES)}",
            )
    if not names:
        raise ConfigError(
            file="<config>", field="motion.families", problem=f"empty list; allowed: {', '.join(FAMILIES)}"
        )
    return names


def _jsonable(value):
    if isinstance(value, (np.floating, float)):
        return round(float(value), 6)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def generate(family: str, rng: np.random.Generator, num_frames: int, fps: float) -> MotionClip:
    """One clip of `family` with num_frames frames at fps, all randomness drawn from rng.

    The clip's params hold every drawn parameter (units in the key names, angles in degrees) plus
    num_frames and fps; its name is f"{family}_{10 hex digits}" derived from the parameters and the arrays.
    """
    _check_families((family,))
    if num_frames < 1 or not fps > 0:
        raise ConfigError(
            file="<config>", field="clips", problem=f"need frames >= 1 and fps > 0, got {num_frames} and {fps}"
        )
    pose = _Pose(int(num_frames), float(fps))
    params: dict = {}
    params.update(_draw(rng, COMMON_PARAMS))
    _GENERATORS[family](rng, pose, params)
    heading = np.radians(params["heading_deg"])
    Rh = rot_z(heading)
    root_R = Rh @ pose.root_R
    root_t = pose.root_t @ Rh.T
    kin = forward_kinematics(root_R, root_t, pose.local)
    grounded = lowest_point_height(kin) <= GROUND_CONTACT_TOL_M
    root_orient = matrix_to_axis_angle(root_R)
    body_pose = matrix_to_axis_angle(pose.local)
    params = {k: _jsonable(v) for k, v in params.items()}
    params.update(num_frames=int(num_frames), fps=float(fps))
    digest = hashlib.sha1(json.dumps(params, sort_keys=True).encode())
    for arr in (root_orient, body_pose, root_t):
        digest.update(np.ascontiguousarray(arr).tobytes())
    return MotionClip(
        name=f"{family}_{digest.hexdigest()[:10]}",
        family=family,
        fps=float(fps),
        root_orient=root_orient,
        body_pose=body_pose,
        root_transl=root_t,
        grounded=grounded,
        params=params,
    )


def sample_motion(rng: np.random.Generator, num_frames: int, fps: float, families=None) -> MotionClip:
    """A clip of a family drawn uniformly from `families` (default: all FAMILIES)."""
    names = FAMILIES if families is None else _check_families(families)
    family = names[int(rng.integers(len(names)))]
    return generate(family, rng, num_frames, fps)


__all__ = ["FAMILIES", "generate", "sample_motion", "ease"]
