"""Retarget canonical SMPL-22 motion clips onto Anny's rig as 'local-ref' pose parameters."""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np
from scipy.spatial.transform import Rotation

from synth.motions.clip import SMPL22_INDEX, MotionClip, scaled_root_transl

#: SMPL axes (x = body's left, y = up, z = forward) -> Anny world axes (x = body's left, y = backward, z = up):
#: p_anny = C @ p_smpl with C = Rx(+90 deg).
C_ANNY_FROM_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

_SIDES = (("left", "L"), ("right", "R"))
#: SMPL-22 joint (1..21) -> the Anny bones carrying its rotation (Anny bones not listed stay identity).
SMPL_TO_ANNY_BONES: dict[str, tuple[str, ...]] = {
    "spine1": ("spine03",),
    "spine2": ("spine02",),
    "spine3": ("spine01",),
    "neck": ("neck01",),
    "head": ("head",),
    **{f"{side}_hip": (f"upperleg01.{s}",) for side, s in _SIDES},
    **{f"{side}_knee": (f"lowerleg01.{s}",) for side, s in _SIDES},
    **{f"{side}_ankle": (f"foot.{s}",) for side, s in _SIDES},
    **{f"{side}_foot": tuple(f"toe{i}-1.{s}" for i in range(1, 6)) for side, s in _SIDES},
    **{f"{side}_collar": (f"clavicle.{s}",) for side, s in _SIDES},
    **{f"{side}_shoulder": (f"upperarm01.{s}",) for side, s in _SIDES},
    **{f"{side}_elbow": (f"lowerarm01.{s}",) for side, s in _SIDES},
    **{f"{side}_wrist": (f"wrist.{s}",) for side, s in _SIDES},
}
#: Share of the hand's palm-down twist carried by the forearm bone (the rest goes to the wrist), to limit
#: candy-wrapper artefacts of linear blend skinning.
FOREARM_TWIST_SHARE = 0.5


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _shortest_arc(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(3, 3) the smallest rotation taking direction src (3,) onto direction dst (3,)."""
    src, dst = _unit(src), _unit(dst)
    axis = np.cross(src, dst)
    angle = np.arctan2(np.linalg.norm(axis), float(src @ dst))
    if np.linalg.norm(axis) < 1e-12:
        return np.eye(3)
    return Rotation.from_rotvec(_unit(axis) * angle).as_matrix()


def _twist_angle(rotation: np.ndarray, axis: np.ndarray) -> float:
    """Angle (rad) of the twist component of `rotation` (3, 3) about the unit `axis` (swing-twist split)."""
    x, y, z, w = Rotation.from_matrix(rotation).as_quat()
    return float(2.0 * np.arctan2(np.array([x, y, z]) @ axis, w))


def tpose_offsets(bone_heads_m: np.ndarray, bone_labels: list[str]) -> dict[str, np.ndarray]:
    """World-axis 'local-ref' deltas E that turn this body's A-pose reference into SMPL's T-pose.

    bone_heads_m: (J, 3) float64 bone heads of the reference (identity-parameter) pose, Anny world frame, metres.
    Returns {bone label: (3, 3) rotation} for upperarm01, lowerarm01 and wrist of each side: upper arm and
    forearm along +X (left) / -X (right), hand along the forearm with the palm down (index -> pinky knuckles
    pointing backward, +Y); the hand's twist is split FOREARM_TWIST_SHARE / rest between forearm and wrist.
    Measured on each body (not constants), so every body's zero pose has exactly horizontal arms.
    """
    ix = {label: i for i, label in enumerate(bone_labels)}
    back = np.array([0.0, 1.0, 0.0])
    offsets: dict[str, np.ndarray] = {}
    for sign, s in ((1.0, "L"), (-1.0, "R")):
        along = np.array([sign, 0.0, 0.0])
        shoulder, elbow, wrist = (bone_heads_m[ix[f"{b}.{s}"]] for b in ("upperarm01", "lowerarm01", "wrist"))
        knuckles = bone_heads_m[[ix[f"finger{i}-1.{s}"] for i in range(2, 6)]]
        e_upper = _shortest_arc(elbow - shoulder, along)
        g_fore_aligned = _shortest_arc(e_upper @ (wrist - elbow), along) @ e_upper
        # hand frame (direction, index -> pinky, normal) at rest and in the T-pose
        hand_dir = _unit(knuckles.mean(axis=0) - wrist)
        across = knuckles[-1] - knuckles[0]
        across = _unit(across - hand_dir * (across @ hand_dir))
        frame_rest = np.stack([hand_dir, across, np.cross(hand_dir, across)], axis=1)
        frame_tpose = np.stack([along, back, np.cross(along, back)], axis=1)
        g_hand = frame_tpose @ frame_rest.T
        twist = _twist_angle(g_hand @ g_fore_aligned.T, along)
        g_fore = Rotation.from_rotvec(along * twist * FOREARM_TWIST_SHARE).as_matrix() @ g_fore_aligned
        offsets[f"upperarm01.{s}"] = e_upper
        offsets[f"lowerarm01.{s}"] = e_upper.T @ g_fore
        offsets[f"wrist.{s}"] = g_fore.T @ g_hand
    return offsets


@dataclass(frozen=True)
class AnnyRetargeter:
    """SMPL-22 -> Anny 'local-ref' mapping for one body (its T-pose offsets depend on its reference skeleton).

    bone_index: (M,) int64 Anny bones driven by SMPL joints; joint_index: (M,) int64 SMPL22 index (1..21) of each.
    parent_tpose: (M, 3, 3) float64 world rotation T_p of each driven bone's parent in the T-pose.
    offset: (M, 3, 3) float64 T-pose offset E_c of each driven bone (identity where none).
    num_bones: J, the number of Anny bones.
    """

    bone_index: np.ndarray
    joint_index: np.ndarray
    parent_tpose: np.ndarray
    offset: np.ndarray
    num_bones: int

    @classmethod
    def for_body(cls, bone_heads_m: np.ndarray, bone_labels: list[str], bone_parents: list[int]) -> "AnnyRetargeter":
        """Build the mapping from this body's reference-pose bone heads (J, 3) metres."""
        ix = {label: i for i, label in enumerate(bone_labels)}
        offsets = tpose_offsets(bone_heads_m, bone_labels)
        num_bones = len(bone_labels)
        # T-pose world rotation of every bone: T_c = T_p E_c along the chain (parents precede children).
        tpose = np.tile(np.eye(3), (num_bones, 1, 1))
        for c in range(1, num_bones):
            tpose[c] = tpose[bone_parents[c]] @ offsets.get(bone_labels[c], np.eye(3))
        pairs = [(ix[b], SMPL22_INDEX[j]) for j, bones in SMPL_TO_ANNY_BONES.items() for b in bones]
        bone_index = np.array([b for b, _ in pairs], dtype=np.int64)
        return cls(
            bone_index=bone_index,
            joint_index=np.array([j for _, j in pairs], dtype=np.int64),
            parent_tpose=tpose[[bone_parents[b] for b in bone_index]],
            offset=np.stack([offsets.get(bone_labels[b], np.eye(3)) for b in bone_index]),
            num_bones=num_bones,
        )

    def pose_parameters(self, motion: MotionClip, pelvis_height_m: float) -> np.ndarray:
        """(F, J, 4, 4) float64 Anny 'local-ref' deltas for every frame of the clip.

        Driven bones: D_c = (T_p^T C R_smpl C^T T_p) E_c (SMPL's chain rule in Anny's world-aligned axes, on top of
        the T-pose offsets). Root: rotation = motion.root_orient (already world, Z up), translation = the pelvis
        world position (0, 0, pelvis_height_m) + motion.root_transl scaled to this body. pelvis_height_m: the standing pelvis height
        of this body (its canonical pose then stands on z = 0).
        """
        f = motion.num_frames
        deltas = np.tile(np.eye(4), (f, self.num_bones, 1, 1))
        r_smpl = Rotation.from_rotvec(np.asarray(motion.body_pose, np.float64).reshape(-1, 3)).as_matrix()
        r_smpl = r_smpl.reshape(f, -1, 3, 3)[:, self.joint_index - 1]  # body_pose holds joints 1..21
        r_world = C_ANNY_FROM_SMPL @ r_smpl @ C_ANNY_FROM_SMPL.T
        tp = self.parent_tpose
        deltas[:, self.bone_index, :3, :3] = np.swapaxes(tp, -1, -2) @ r_world @ tp @ self.offset
        deltas[:, 0, :3, :3] = Rotation.from_rotvec(np.asarray(motion.root_orient, np.float64)).as_matrix()
        deltas[:, 0, :3, 3] = scaled_root_transl(motion, pelvis_height_m) + np.array([0.0, 0.0, pelvis_height_m])
        return deltas


def zero_motion(num_frames: int = 1, fps: float = 30.0) -> MotionClip:
    """The canonical pose (SMPL T-pose, standing upright facing -Y) as a clip of `num_frames` frames."""
    return MotionClip(
        name="canonical",
        family="canonical",
        fps=fps,
        root_orient=np.zeros((num_frames, 3)),
        body_pose=np.zeros((num_frames, 21, 3)),
        root_transl=np.zeros((num_frames, 3)),
        grounded=np.ones(num_frames, dtype=bool),
    )
