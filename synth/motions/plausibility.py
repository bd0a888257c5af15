"""Physical plausibility checks of a MotionClip on the reference skeleton (limits, pops, speed, floor contact)."""

from __future__ import annotations

import numpy as np

from synth.motions.clip import SMPL22_JOINTS, MotionClip
from synth.motions.limits import check_limits
from synth.motions.rotations import axis_angle_to_matrix, relative_angle
from synth.motions.skeleton import CONTACT_NAMES, clip_kinematics, contact_points, grounding_shift

#: Fastest local joint rotation a body produces (deg/s); faster frame-to-frame changes are pops. Fast kicks
#: and throws peak around 1000 deg/s at the knee and elbow.
MAX_JOINT_SPEED_DEG_S = 1200.0
#: Fastest whole-body rotation (deg/s), e.g. a half turn during a short jump.
MAX_ROOT_ANGULAR_SPEED_DEG_S = 720.0
#: Fastest pelvis translation (m/s): sprinting and jump take-off stay below it.
MAX_ROOT_SPEED_M_S = 7.0
#: On grounded frames the lowest body point must already be this close to the floor (m); the backend's
#: grounding shift only corrects body-shape differences, not poses floating or sunk by more.
MAX_GROUNDED_OFFSET_M = 0.03
#: No body point may end below the floor by more than this (m) after the grounding rule, on any frame.
MAX_PENETRATION_M = 0.03
#: A contact point this close to the floor (m, after grounding) counts as touching it for the skate test.
SKATE_CONTACT_HEIGHT_M = 0.015
#: Largest horizontal path (m) a touching contact point may slide during one uninterrupted contact.
MAX_SKATE_M = 0.05


def _frame_speeds(R: np.ndarray, fps: float) -> np.ndarray:
    """(F, ..., 3, 3) -> (F-1, ...) angular speed between consecutive frames, deg/s."""
    return np.degrees(relative_angle(R[:-1], R[1:])) * fps


def contact_report(clip: MotionClip) -> dict[str, np.ndarray]:
    """Floor-contact quantities of a clip on the reference skeleton.

    Returns lowest_z (F,) m before grounding, shift (F,) m (the backend grounding rule), points (F, K, 3) world m
    after grounding (CONTACT_NAMES order) and skate (K,) m, the largest horizontal slide of each contact point
    during one uninterrupted floor contact.
    """
    kin = clip_kinematics(clip)
    pts = contact_points(kin)
    lowest = pts[..., 2].min(axis=1)
    shift = grounding_shift(lowest, clip.grounded)
    pts = pts.copy()
    pts[..., 2] += shift[:, None]
    touching = pts[..., 2] <= SKATE_CONTACT_HEIGHT_M  # (F, K)
    step = np.linalg.norm(np.diff(pts[..., :2], axis=0), axis=-1)  # (F-1, K)
    both = touching[:-1] & touching[1:]
    skate = np.zeros(pts.shape[1])
    run = np.zeros(pts.shape[1])
    for f in range(step.shape[0]):
        run = np.where(both[f], run + step[f], 0.0)
        skate = np.maximum(skate, run)
    return {"lowest_z": lowest, "shift": shift, "points": pts, "skate": skate}


def check_clip(clip: MotionClip) -> list[str]:
    """Every plausibility problem of a clip as one line each; [] when the clip passes.

    Checks: finite arrays; joint limits (synth.motions.limits); angular speed of every joint and of the root;
    pelvis speed; on grounded frames the lowest body point within MAX_GROUNDED_OFFSET_M of z = 0; after the
    grounding rule no body point below -MAX_PENETRATION_M and no un-grounded frame resting on the floor; no
    contact point sliding more than MAX_SKATE_M while touching the floor.
    """
    name = clip.name
    arrays = {"root_orient": clip.root_orient, "body_pose": clip.body_pose, "root_transl": clip.root_transl}
    bad = [k for k, v in arrays.items() if not np.all(np.isfinite(np.asarray(v, np.float64)))]
    if bad:
        return [f"clip {name!r}: non-finite values in {', '.join(bad)}"]
    problems = check_limits(clip)
    fps = float(clip.fps)
    if clip.num_frames >= 2:
        local_speed = _frame_speeds(axis_angle_to_matrix(clip.body_pose), fps)  # (F-1, 21)
        worst = local_speed.max(axis=0)
        for j in np.flatnonzero(worst > MAX_JOINT_SPEED_DEG_S):
            f = int(np.argmax(local_speed[:, j]))
            problems.append(
                f"clip {name!r}: joint {SMPL22_JOINTS[j + 1]} turns {worst[j]:.0f} deg/s between frames {f} and "
                f"{f + 1} (pop; max {MAX_JOINT_SPEED_DEG_S:g})"
            )
        root_speed = _frame_speeds(axis_angle_to_matrix(clip.root_orient), fps)
        if root_speed.max() > MAX_ROOT_ANGULAR_SPEED_DEG_S:
            f = int(np.argmax(root_speed))
            problems.append(
                f"clip {name!r}: root turns {root_speed[f]:.0f} deg/s at frame {f} "
                f"(max {MAX_ROOT_ANGULAR_SPEED_DEG_S:g})"
            )
        lin = np.linalg.norm(np.diff(clip.root_transl, axis=0), axis=-1) * fps
        if lin.max() > MAX_ROOT_SPEED_M_S:
            f = int(np.argmax(lin))
            problems.append(f"clip {name!r}: pelvis moves {lin[f]:.2f} m/s at frame {f} (max {MAX_ROOT_SPEED_M_S:g})")
    rep = contact_report(clip)
    grounded = np.asarray(clip.grounded, bool)
    off = np.where(grounded, np.abs(rep["lowest_z"]), 0.0)
    if off.max() > MAX_GROUNDED_OFFSET_M:
        f = int(np.argmax(off))
        problems.append(
            f"clip {name!r}: grounded frame {f} has its lowest point at z = {rep['lowest_z'][f]:.3f} m "
            f"(must be within {MAX_GROUNDED_OFFSET_M} m of the floor)"
        )
    z = rep["points"][..., 2]
    if z.min() < -MAX_PENETRATION_M:
        f, k = np.unravel_index(int(np.argmin(z)), z.shape)
        problems.append(
            f"clip {name!r}: {CONTACT_NAMES[k]} is {-z[f, k]:.3f} m below the floor at frame {f} after grounding"
        )
    resting = (~grounded) & (z.min(axis=1) <= 0.0)
    if resting.any():
        f = int(np.flatnonzero(resting)[0])
        problems.append(f"clip {name!r}: frame {f} is flagged airborne but its lowest point rests on the floor")
    if rep["skate"].max() > MAX_SKATE_M:
        k = int(np.argmax(rep["skate"]))
        problems.append(
            f"clip {name!r}: {CONTACT_NAMES[k]} slides {rep['skate'][k]:.3f} m while touching the floor "
            f"(max {MAX_SKATE_M} m)"
        )
    return problems
