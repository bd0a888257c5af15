"""A reference adult SMPL-22 skeleton with batched forward kinematics and a floor-contact point model.

The skeleton is approximate and generic: joint offsets were set from textbook segment proportions of a
1.75 m adult (hip height ~0.53 stature, knee ~0.29, ankle ~0.045, shoulder ~0.82, upper arm ~0.17, forearm
~0.14 of stature), rounded to centimetres. It is not any body model's skeleton; it only lets the procedural
library and the plausibility checks reason about feet, hands, knees and the seat without a mesh.

Frames:
- body axes (SMPL): x = body's left, y = up, z = forward; all offsets below are in these axes, metres, in the
  T-pose rest (arms along +-x, palms down, legs straight down, feet forward).
- world: Z up, metres; the rest body stands on z = 0 facing -Y with its left at +X. The body axes map to the
  world by C_WORLD_FROM_BODY = Rx(+90 deg) (x -> X, y -> Z, z -> -Y).
A MotionClip is placed in the world as: pelvis rotation R_world_from_pelvis = R(root_orient) @ C_WORLD_FROM_BODY,
pelvis position = PELVIS_REST_WORLD_M + root_transl.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.motions.clip import SMPL22_INDEX, SMPL22_JOINTS, SMPL22_PARENTS, MotionClip
from synth.motions.rotations import axis_angle_to_matrix, rot_x

#: World-from-body-axes rotation: SMPL body x (left) -> world +X, y (up) -> +Z, z (forward) -> -Y.
C_WORLD_FROM_BODY: np.ndarray = rot_x(np.pi / 2)

# ---- segment dimensions (metres, reference 1.75 m adult) ------------------------------------------------------
STATURE_M = 1.75
HIP_HEIGHT_M = 0.92  # hip joint centres above the floor when standing
PELVIS_ABOVE_HIPS_M = 0.06  # the pelvis (root) joint sits this far above the hip joint centres
HIP_HALF_WIDTH_M = 0.09  # lateral offset of each hip joint centre from the pelvis joint
THIGH_M = 0.42  # hip -> knee
SHIN_M = 0.42  # knee -> ankle
ANKLE_HEIGHT_M = 0.08  # ankle joint above the sole (heel and ball lie on the floor when standing)
BALL_FORWARD_M = 0.135  # ankle -> ball (metatarsophalangeal) joint, forward
BALL_HEIGHT_M = 0.025  # ball joint above the sole
HEEL_BACK_M = 0.055  # back of the heel behind the ankle
TOE_LENGTH_M = 0.06  # ball joint -> toe tip
FOOT_HALF_WIDTH_M = 0.04  # half-width of the forefoot at the ball
UPPER_ARM_M = 0.29  # shoulder -> elbow
FOREARM_M = 0.25  # elbow -> wrist
PALM_M = 0.08  # wrist -> palm centre (along the hand)
HAND_M = 0.18  # wrist -> finger tips
PALM_THICKNESS_M = 0.025  # wrist axis above the palm surface

#: Left ischial tuberosity (seat contact) from the pelvis joint, body axes (m); the right one is mirrored.
SEAT_OFFSET_M: tuple[float, float, float] = (0.07, -0.11, -0.04)
#: Kneecap contact point from the knee joint in the shin's axes (m): below the joint and in front of it.
KNEECAP_OFFSET_M: tuple[float, float, float] = (0.0, -0.05, 0.055)

#: Standing height of the pelvis joint above the floor; PELVIS_REST_WORLD_M is where root_transl = 0 puts it.
PELVIS_HEIGHT_M = HIP_HEIGHT_M + PELVIS_ABOVE_HIPS_M
PELVIS_REST_WORLD_M: np.ndarray = np.array([0.0, 0.0, PELVIS_HEIGHT_M])

#: Offset of each SMPL-22 joint from its parent (SMPL body axes, metres, T-pose). Row 0 (pelvis) is unused.
JOINT_OFFSETS_BODY_M: np.ndarray = np.array(
    [
        [0.0, 0.0, 0.0],  # pelvis (root)
        [HIP_HALF_WIDTH_M, -PELVIS_ABOVE_HIPS_M, 0.0],  # left_hip
        [-HIP_HALF_WIDTH_M, -PELVIS_ABOVE_HIPS_M, 0.0],  # right_hip
        [0.0, 0.11, -0.01],  # spine1 (lumbar)
        [0.0, -THIGH_M, 0.0],  # left_knee
        [0.0, -THIGH_M, 0.0],  # right_knee
        [0.0, 0.13, 0.0],  # spine2 (lower thoracic)
        [0.0, -SHIN_M, 0.0],  # left_ankle
        [0.0, -SHIN_M, 0.0],  # right_ankle
        [0.0, 0.06, 0.01],  # spine3 (upper thoracic)
        [0.0, BALL_HEIGHT_M - ANKLE_HEIGHT_M, BALL_FORWARD_M],  # left_foot (ball)
        [0.0, BALL_HEIGHT_M - ANKLE_HEIGHT_M, BALL_FORWARD_M],  # right_foot (ball)
        [0.0, 0.21, -0.01],  # neck (base, C7)
        [0.075, 0.15, 0.0],  # left_collar (sternoclavicular)
        [-0.075, 0.15, 0.0],  # right_collar
        [0.0, 0.10, 0.01],  # head (skull base)
        [0.11, 0.01, -0.01],  # left_shoulder (glenohumeral)
        [-0.11, 0.01, -0.01],  # right_shoulder
        [UPPER_ARM_M, 0.0, 0.0],  # left_elbow
        [-UPPER_ARM_M, 0.0, 0.0],  # right_elbow
        [FOREARM_M, 0.0, 0.0],  # left_wrist
        [-FOREARM_M, 0.0, 0.0],  # right_wrist
    ]
)

#: Head top above the head joint (body axes), for reference and eye-level reasoning.
HEAD_TOP_OFFSET_M: np.ndarray = np.array([0.0, 0.16, 0.0])

# ---- contact point model --------------------------------------------------------------------------------------
#: Body surface points that can touch the floor: (name, SMPL-22 joint carrying it, offset in that joint's
#: body axes, metres). "Lowest body point" everywhere in this package means the lowest of these.
CONTACT_POINTS: tuple[tuple[str, str, tuple[float, float, float]], ...] = tuple(
    item
    for side, sx in (("left", 1.0), ("right", -1.0))
    for item in (
        (f"{side}_heel", f"{side}_ankle", (0.0, -ANKLE_HEIGHT_M, -HEEL_BACK_M)),
        (f"{side}_ball_inner", f"{side}_foot", (-sx * FOOT_HALF_WIDTH_M, -BALL_HEIGHT_M, 0.0)),
        (f"{side}_ball_outer", f"{side}_foot", (sx * FOOT_HALF_WIDTH_M, -BALL_HEIGHT_M, 0.0)),
        (f"{side}_toe_tip", f"{side}_foot", (0.0, -BALL_HEIGHT_M, TOE_LENGTH_M)),
        (f"{side}_kneecap", f"{side}_knee", KNEECAP_OFFSET_M),
        (f"{side}_shin", f"{side}_knee", (0.0, -0.22, 0.045)),
        (f"{side}_seat", "pelvis", (sx * SEAT_OFFSET_M[0], SEAT_OFFSET_M[1], SEAT_OFFSET_M[2])),
        (f"{side}_palm", f"{side}_wrist", (sx * PALM_M, -PALM_THICKNESS_M, 0.0)),
        (f"{side}_fingertips", f"{side}_wrist", (sx * HAND_M, -0.01, 0.0)),
    )
)
CONTACT_NAMES: tuple[str, ...] = tuple(c[0] for c in CONTACT_POINTS)
CONTACT_INDEX: dict[str, int] = {n: i for i, n in enumerate(CONTACT_NAMES)}
_CONTACT_JOINTS = np.array([SMPL22_INDEX[c[1]] for c in CONTACT_POINTS])
_CONTACT_OFFSETS = np.array([c[2] for c in CONTACT_POINTS], dtype=np.float64)
#: Indices of the foot contact points (heels, balls, toe tips) of each foot.
FOOT_CONTACTS: dict[str, tuple[int, ...]] = {
    side: tuple(CONTACT_INDEX[f"{side}_{p}"] for p in ("heel", "ball_inner", "ball_outer", "toe_tip"))
    for side in ("left", "right")
}

#: A frame counts as touching the floor when its lowest contact point is at most this high (m).
GROUND_CONTACT_TOL_M = 0.01


@dataclass(frozen=True)
class Kinematics:
    """Posed reference skeleton.

    rotations: (F, 22, 3, 3) float64, world-from-joint rotations (the joint's body axes in the world).
    positions: (F, 22, 3) float64, world joint positions, metres (SMPL22_JOINTS order).
    """

    rotations: np.ndarray
    positions: np.ndarray


def forward_kinematics(root_R_world: np.ndarray, root_transl_m: np.ndarray, local_R: np.ndarray) -> Kinematics:
    """SMPL chain rule on the reference skeleton.

    root_R_world: (F, 3, 3) pelvis rotation in the world relative to the canonical standing body;
    root_transl_m: (F, 3) world metres; local_R: (F, 21, 3, 3) joints 1..21 in their parents' frames.
    """
    f = root_R_world.shape[0]
    rotations = np.empty((f, 22, 3, 3))
    positions = np.empty((f, 22, 3))
    rotations[:, 0] = root_R_world @ C_WORLD_FROM_BODY
    positions[:, 0] = PELVIS_REST_WORLD_M + root_transl_m
    for j in range(1, 22):
        p = SMPL22_PARENTS[j]
        rotations[:, j] = rotations[:, p] @ local_R[:, j - 1]
        positions[:, j] = positions[:, p] + rotations[:, p] @ JOINT_OFFSETS_BODY_M[j]
    return Kinematics(rotations, positions)


def clip_kinematics(clip: MotionClip) -> Kinematics:
    """Forward kinematics of a MotionClip on the reference skeleton."""
    return forward_kinematics(
        axis_angle_to_matrix(clip.root_orient), np.asarray(clip.root_transl, np.float64),
        axis_angle_to_matrix(clip.body_pose),
    )


def joint_positions(clip: MotionClip) -> np.ndarray:
    """(F, 22, 3) float64 world joint positions (m) of the clip on the reference skeleton."""
    return clip_kinematics(clip).positions


def contact_points(kin: Kinematics) -> np.ndarray:
    """(F, K, 3) float64 world positions (m) of CONTACT_POINTS."""
    rot = kin.rotations[:, _CONTACT_JOINTS]  # (F, K, 3, 3)
    return kin.positions[:, _CONTACT_JOINTS] + np.einsum("fkij,kj->fki", rot, _CONTACT_OFFSETS)


def lowest_point_height(kin: Kinematics) -> np.ndarray:
    """(F,) float64 height (m, world z) of the lowest contact point on each frame."""
    return contact_points(kin)[..., 2].min(axis=1)


def grounding_shift(lowest_z_m: np.ndarray, grounded: np.ndarray) -> np.ndarray:
    """The backend grounding rule as a vertical shift per frame (F,) metres.

    Grounded frames are shifted so their lowest point is at z = 0; frames between two grounded frames get the
    linear interpolation of their shifts; frames before the first (after the last) grounded frame take its shift;
    a clip with no grounded frame is not shifted.
    """
    g = np.asarray(grounded, bool)
    f = len(g)
    if not g.any():
        return np.zeros(f)
    idx = np.flatnonzero(g)
    return np.interp(np.arange(f), idx, -np.asarray(lowest_z_m, np.float64)[idx])


def rest_kinematics(frames: int = 1) -> Kinematics:
    """The T-pose standing at the origin (F frames)."""
    eye = np.broadcast_to(np.eye(3), (frames, 21, 3, 3)).copy()
    return forward_kinematics(np.broadcast_to(np.eye(3), (frames, 3, 3)).copy(), np.zeros((frames, 3)), eye)


__all__ = [
    "ANKLE_HEIGHT_M",
    "C_WORLD_FROM_BODY",
    "CONTACT_NAMES",
    "CONTACT_POINTS",
    "FOOT_CONTACTS",
    "GROUND_CONTACT_TOL_M",
    "JOINT_OFFSETS_BODY_M",
    "Kinematics",
    "PELVIS_HEIGHT_M",
    "PELVIS_REST_WORLD_M",
    "SMPL22_JOINTS",
    "clip_kinematics",
    "contact_points",
    "forward_kinematics",
    "grounding_shift",
    "joint_positions",
    "lowest_point_height",
    "rest_kinematics",
]
