"""The clip under construction (_Pose) and the setters of its root, trunk, head and arm joint angles.

Setters follow left-side conventions; the right side is mirrored. Angles are in radians, world axes are Z up with
heading 0 facing -Y (synth/motions/skeleton.py). The underscore names are shared inside synth.motions.procedural.
"""

from __future__ import annotations

import numpy as np

from synth.motions.clip import SMPL22_INDEX
from synth.motions.rotations import (
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
    C_WORLD_FROM_BODY,
    JOINT_OFFSETS_BODY_M,
    PELVIS_REST_WORLD_M,
    Kinematics,
    forward_kinematics,
)

_SIDES = ("left", "right")
_SIGN = {"left": 1.0, "right": -1.0}
_J = SMPL22_INDEX
_UP = np.array([0.0, 0.0, 1.0])

#: Fixed shape angles (degrees) shared by several families; each family module converts its tables once into
#: radians with radians_table.
SHARED_SHAPE_DEG: dict[str, float] = {
    "rest_arm_flexion": 8.0,  # relaxed hanging arms, slightly forwards
    "rest_arm_abduction": 10.0,  # ... and slightly away from the body
    "rest_elbow": 15.0,  # relaxed elbow bend
    "soft_corner": 5.0,  # rounding width of smooth max(angle, 0)
    "stance_toe_out": 6.0,  # feet turned out in lunges and kicks
}
#: Share of a whole-trunk forward lean taken at the hips (pelvis pitch); the spine bends the rest.
PELVIS_LEAN_SHARE = 0.5
#: How _set_spine shares trunk angles between spine1, spine2 and spine3.
SPINE_WEIGHTS = (0.4, 0.3, 0.3)
#: Share of a gaze rotation the neck takes in _set_gaze; the head takes the rest.
NECK_SHARE = 0.45


def radians_table(*tables: dict[str, float]) -> dict[str, float]:
    """The entries of degree tables in radians (python floats), merged in order."""
    return {k: float(np.radians(v)) for table in tables for k, v in table.items()}


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


def _set_spine(pose: _Pose, flex=0.0, lateral=0.0, twist=0.0, weights=SPINE_WEIGHTS):
    """Distribute trunk flexion (+ forwards), lateral bend (+ towards the right) and twist (+ to the left)."""
    F = pose.F
    fl, la, tw = (np.broadcast_to(np.asarray(v, np.float64), (F,)) for v in (flex, lateral, twist))
    for joint, w in zip(("spine1", "spine2", "spine3"), weights):
        pose.set(joint, rot_x(w * fl) @ rot_z(w * la) @ rot_y(w * tw))


def _set_gaze(pose: _Pose, pitch_up=0.0, yaw_left=0.0, roll=0.0, neck_share=NECK_SHARE):
    F = pose.F
    p, y, r = (np.broadcast_to(np.asarray(v, np.float64), (F,)) for v in (pitch_up, yaw_left, roll))
    pose.set("neck", rot_x(-neck_share * p) @ rot_z(neck_share * r) @ rot_y(neck_share * y))
    h = 1.0 - neck_share
    pose.set("head", rot_x(-h * p) @ rot_z(h * r) @ rot_y(h * y))


def _torso_dirs(pose: _Pose, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World (outward, up, forward) unit axes (F, 3) of the upper trunk (spine3) for a body side."""
    G = pose.kin().rotations[:, _J["spine3"]]
    return _SIGN[side] * G[:, :, 0], G[:, :, 1], G[:, :, 2]
