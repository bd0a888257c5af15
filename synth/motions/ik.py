"""Batched analytic two-bone inverse kinematics (legs and arms) for the reference skeleton."""

from __future__ import annotations

import numpy as np

from synth.motions.rotations import axis_angle_to_matrix, swing_twist


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """(F, 3, 3) orthonormal frames with columns (primary, secondary made perpendicular, primary x secondary)."""
    e1 = _unit(primary)
    e2 = _unit(secondary - np.sum(secondary * e1, -1, keepdims=True) * e1)
    return np.stack([e1, e2, np.cross(e1, e2)], axis=-1)


def two_bone_ik(
    G_parent: np.ndarray,
    root_pos: np.ndarray,
    upper_offset: np.ndarray,
    lower_offset: np.ndarray,
    bend_axis: np.ndarray,
    target: np.ndarray,
    pole: np.ndarray,
    max_extension: float = 0.999,
    softness_m: float = 0.001,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve a two-segment limb (hip-knee-ankle or shoulder-elbow-wrist) for an end-joint target.

    G_parent: (F, 3, 3) world-from-parent rotation of the limb root's parent (e.g. the pelvis for a hip);
    root_pos: (F, 3) world position of the limb root joint (m);
    upper_offset, lower_offset: (3,) rest offsets root->middle and middle->end in body axes (m); they must be
        collinear and perpendicular to bend_axis;
    bend_axis: (3,) unit axis (body axes) about which a positive middle-joint rotation flexes the limb;
    target: (F, 3) world position for the end joint (m); pole: (F, 3) world direction the middle joint should
        bulge towards (only its part perpendicular to the root->target line matters);
    max_extension: fraction of the full limb length the solver may use (targets further away are not reached);
    softness_m: the reach saturates smoothly (a soft minimum of this width) instead of with a kink, so limbs
        approaching full extension keep continuous joint speeds; targets near the limit fall short by at most
        about 0.7 x softness_m.
    Returns (R_upper_local (F, 3, 3), R_middle_local (F, 3, 3), reach_error_m (F,)): local rotations of the root
    and middle joints in their parents' frames, and the distance by which the end joint misses the target.
    """
    l1 = float(np.linalg.norm(upper_offset))
    l2 = float(np.linalg.norm(lower_offset))
    k = np.asarray(bend_axis, np.float64)
    delta = target - root_pos
    dist = np.linalg.norm(delta, axis=-1)
    d_max = max_extension * (l1 + l2)
    d = d_max - softness_m * np.logaddexp(0.0, (d_max - dist) / softness_m)  # smooth min(dist, d_max)
    d = np.clip(d, abs(l1 - l2) + 1e-6, d_max)
    cos_flex = np.clip((d**2 - l1**2 - l2**2) / (2 * l1 * l2), -1.0, 1.0)
    flex = np.arccos(cos_flex)  # 0 = straight
    R_mid = axis_angle_to_matrix(flex[:, None] * k)
    limb_local = upper_offset + np.einsum("fij,j->fi", R_mid, lower_offset)  # root->end, parent-aligned axes
    bulge_local = np.cross(limb_local, k)
    A = _frame(limb_local, bulge_local)  # rest-side frame (parent-aligned axes)
    B = _frame(delta, pole)  # world frame
    R_upper_world = B @ np.swapaxes(A, -1, -2)
    R_upper_local = np.swapaxes(G_parent, -1, -2) @ R_upper_world
    return R_upper_local, R_mid, np.abs(dist - d)


def end_rotation(G_parent: np.ndarray, R_world_target: np.ndarray) -> np.ndarray:
    """Local rotation (F, 3, 3) that gives a joint the world rotation R_world_target (F, 3, 3) under G_parent."""
    return np.swapaxes(G_parent, -1, -2) @ R_world_target


def split_twist(R_local: np.ndarray, twist_axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split local rotations (F, 3, 3) into (swing (F, 3, 3), twist angle (F,) rad about twist_axis)."""
    swing_vec, twist = swing_twist(R_local, twist_axis)
    return axis_angle_to_matrix(swing_vec), twist
