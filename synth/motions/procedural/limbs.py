"""Feet and hands of the families: planted-foot poses, stances, and the two-bone IK that puts legs and arms on goals.

Planted feet, knees, hands and seats are placed by analytic two-bone IK (synth/motions/ik.py) at fixed floor
positions, so contacts do not slide; the pelvis is lowered just enough for every planted limb to reach.
The underscore names are shared inside synth.motions.procedural.
"""

from __future__ import annotations

import numpy as np

from synth.motions.ik import end_rotation, split_twist, two_bone_ik
from synth.motions.procedural.curves import _softmin
from synth.motions.procedural.pose import (
    _J,
    _SIDES,
    _SIGN,
    _UP,
    SHARED_SHAPE_DEG,
    _dir,
    _Pose,
    _set_arm,
    _slerp_R,
    radians_table,
)
from synth.motions.rotations import rot_x, rot_z, rotation_between
from synth.motions.skeleton import (
    ANKLE_HEIGHT_M,
    C_WORLD_FROM_BODY,
    HEEL_BACK_M,
    JOINT_OFFSETS_BODY_M,
    SHIN_M,
    THIGH_M,
)

#: Fraction of the full leg length (thigh + shin) the pelvis height is limited to (keeps knees soft).
LEG_REACH_FRACTION = 0.997
#: Smoothness (m) of the soft minimum that lowers the pelvis when a planted foot would be out of reach.
PELVIS_SOFTMIN_M = 0.006
#: Fraction of the full arm length arm IK may use.
ARM_REACH_FRACTION = 0.995
#: Width (m) of the smooth saturation of arm reach (elbows straighten without a kink in their speed).
ARM_REACH_SOFTNESS_M = 0.01

_HEEL_OFFSET = np.array([0.0, -ANKLE_HEIGHT_M, -HEEL_BACK_M])  # heel sole point from the ankle, body axes
_BALL_OFFSET = JOINT_OFFSETS_BODY_M[_J["left_foot"]]  # ball joint from the ankle, body axes
_RAD = radians_table(SHARED_SHAPE_DEG)


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
