"""Per-joint anatomical range-of-motion limits for SMPL-22 local rotations and a clip checker.

Every local joint rotation R (in its parent's frame, SMPL body axes x = left, y = up, z = forward) is split into
R = swing @ twist, the twist being about the joint's rest bone axis. The swing is a rotation vector
perpendicular to that axis; each of its two components and the twist must lie in the ranges below (degrees).
Right-side joints are mirrored onto the left first (axis-angle (x, y, z) -> (x, -y, -z)), so one table serves
both sides. The ranges are generous active ranges of motion of healthy adults (orthopaedic goniometry tables),
widened slightly where a loaded or passive position is common (hands-and-knees wrist extension, kneeling
plantar flexion). A box on swing components is an approximation near the ends of a range.

Sign conventions on the left side (what a positive value does):
- hips (Euler x-z-y, see JointLimit): x + = thigh backwards (extension), - = thigh forwards (flexion); z + = leg
  out to the side (abduction); y + = knee and toes turned outwards (external rotation).
- knees: swing x + = shin backwards (flexion); hyperextension is negative.
- ankles (twist axis y): swing x + = toes down (plantar flexion); swing z = inversion/eversion.
- feet/toes (twist axis z): swing x + = toes curled down, - = toes bent up (the heel-off position).
- spine1..3, neck, head (twist axis y): swing x + = bend/look forward-down, - = backward-up; swing z =
  side bend; twist + = turn to the body's left.
- collars and shoulders (twist axis x): swing z + = raise (elevation), - = lower; swing y - = forwards,
  + = backwards; twist = rotation about the bone.
- elbows (twist axis x): swing y - = flexion (forearm forwards when the arm is at rest); twist =
  pronation/supination.
- wrists (twist axis x): swing z + = extension (back of the hand up in the T-pose), - = flexion; swing y =
  radial/ulnar deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.motions.clip import SMPL22_JOINTS, MotionClip
from synth.motions.rotations import axis_angle_to_matrix, mirror_left_right, swing_twist

_AXES = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True)
class JointLimit:
    """Ranges (degrees) of one joint: twist about `twist_axis` and the two perpendicular swing components.

    With decomposition "euler_xzy" (hips) the joint is instead read as R = Rx(flexion) Rz(abduction) Ry(rotation)
    (intrinsic: flex in the pelvis' sagittal plane, then abduct, then rotate about the thigh); swing_deg then
    holds the x and z angles and twist_deg the y angle.
    """

    twist_axis: str
    swing_deg: dict[str, tuple[float, float]]
    twist_deg: tuple[float, float]
    decomposition: str = "swing_twist"


#: Limits per joint, left side and midline (degrees); right joints use the mirrored left entry.
JOINT_LIMITS_DEG: dict[str, JointLimit] = {
    "left_hip": JointLimit("y", {"x": (-140.0, 35.0), "z": (-35.0, 75.0)}, (-50.0, 65.0), "euler_xzy"),
    "spine1": JointLimit("y", {"x": (-20.0, 40.0), "z": (-18.0, 18.0)}, (-20.0, 20.0)),
    "left_knee": JointLimit("y", {"x": (-5.0, 155.0), "z": (-12.0, 12.0)}, (-40.0, 40.0)),
    "spine2": JointLimit("y", {"x": (-15.0, 35.0), "z": (-15.0, 15.0)}, (-20.0, 20.0)),
    "left_ankle": JointLimit("y", {"x": (-40.0, 65.0), "z": (-30.0, 30.0)}, (-35.0, 35.0)),
    "spine3": JointLimit("y", {"x": (-15.0, 35.0), "z": (-15.0, 15.0)}, (-25.0, 25.0)),
    "left_foot": JointLimit("z", {"x": (-75.0, 40.0), "y": (-15.0, 15.0)}, (-15.0, 15.0)),
    "neck": JointLimit("y", {"x": (-45.0, 45.0), "z": (-35.0, 35.0)}, (-55.0, 55.0)),
    "left_collar": JointLimit("x", {"y": (-30.0, 25.0), "z": (-15.0, 40.0)}, (-25.0, 25.0)),
    "head": JointLimit("y", {"x": (-45.0, 40.0), "z": (-30.0, 30.0)}, (-45.0, 45.0)),
    "left_shoulder": JointLimit("x", {"y": (-140.0, 80.0), "z": (-105.0, 110.0)}, (-105.0, 105.0)),
    "left_elbow": JointLimit("x", {"y": (-155.0, 5.0), "z": (-20.0, 20.0)}, (-95.0, 95.0)),
    "left_wrist": JointLimit("x", {"y": (-40.0, 40.0), "z": (-85.0, 95.0)}, (-45.0, 45.0)),
}

#: Tolerance (degrees) added to every range so numerical noise on a limit is not reported.
LIMIT_TOLERANCE_DEG = 0.5


def limit_for(joint: str) -> tuple[JointLimit, bool]:
    """The limit entry of a joint name and whether the joint is mirrored (a right-side joint)."""
    if joint.startswith("right_"):
        return JOINT_LIMITS_DEG["left_" + joint[len("right_"):]], True
    return JOINT_LIMITS_DEG[joint], False


def joint_angles_deg(local_R: np.ndarray, joint: str) -> dict[str, np.ndarray]:
    """Swing components and twist of one joint, as checked against its limits.

    local_R: (F, 3, 3) local rotations of `joint`. Returns {"swing_<axis>": (F,), "twist": (F,)} in degrees
    (right-side joints already mirrored onto the left convention).
    """
    limit, mirrored = limit_for(joint)
    R = mirror_left_right(local_R) if mirrored else local_R
    if limit.decomposition == "euler_xzy":
        x, z, y = euler_xzy(R)
        return {"swing_x": np.degrees(x), "swing_z": np.degrees(z), "twist": np.degrees(y)}
    axis = np.zeros(3)
    axis[_AXES[limit.twist_axis]] = 1.0
    swing, twist = swing_twist(R, axis)
    out = {f"swing_{a}": np.degrees(swing[..., _AXES[a]]) for a in limit.swing_deg}
    out["twist"] = np.degrees(twist)
    return out


def euler_xzy(R: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Angles (a, b, c) rad of R = Rx(a) @ Rz(b) @ Ry(c) for (..., 3, 3) rotations; b in [-pi/2, pi/2]."""
    b = np.arcsin(np.clip(-R[..., 0, 1], -1.0, 1.0))
    a = np.arctan2(R[..., 2, 1], R[..., 1, 1])
    c = np.arctan2(R[..., 0, 2], R[..., 0, 0])
    return a, b, c


def check_limits(clip: MotionClip) -> list[str]:
    """One line per joint component outside its range, naming the worst frame and value; [] if within limits."""
    problems: list[str] = []
    local = axis_angle_to_matrix(np.asarray(clip.body_pose, np.float64))
    for j, joint in enumerate(SMPL22_JOINTS[1:]):
        limit, _ = limit_for(joint)
        angles = joint_angles_deg(local[:, j], joint)
        ranges = {f"swing_{a}": r for a, r in limit.swing_deg.items()}
        ranges["twist"] = limit.twist_deg
        for comp, (lo, hi) in ranges.items():
            values = angles[comp]
            excess = np.maximum(lo - LIMIT_TOLERANCE_DEG - values, values - hi - LIMIT_TOLERANCE_DEG)
            if np.any(excess > 0):
                f = int(np.argmax(excess))
                problems.append(
                    f"clip {clip.name!r}: joint {joint} {comp} = {values[f]:.1f} deg at frame {f} is outside "
                    f"[{lo:g}, {hi:g}] deg"
                )
    return problems
