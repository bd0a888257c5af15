"""The head-gaze overlay: people look down, up and around relative to their body whatever they do.

With probability `gaze.probability` a clip's neck and head turn, on top of the family's own motion, through a
sequence of gaze keys: the first at t = 0 (so even a short clip starts off the family's gaze), then new keys after
random moves and holds. Each key draws a pitch in [-pitch_down_deg, pitch_up_deg] and a yaw in
[-yaw_deg, yaw_deg] relative to the trunk, eased between keys (C1). The neck takes NECK_SHARE of the rotation and
the head the rest, each clamped per frame to its anatomical range (synth/motions/limits.py) less
LIMIT_MARGIN_DEG, given what the family already asks of it, so the overlay never leaves the range of motion.
The head-mounted rig follows the head, so this is what moves the cameras relative to the body.
"""

from __future__ import annotations

import numpy as np

from synth.motions.clip import SMPL22_INDEX
from synth.motions.limits import JOINT_LIMITS_DEG, joint_angles_deg
from synth.motions.procedural.curves import _keys
from synth.motions.procedural.pose import NECK_SHARE, _Pose
from synth.motions.rotations import rot_x, rot_y

#: Distance (deg) the overlay keeps from the ends of the neck's and head's ranges.
LIMIT_MARGIN_DEG = 3.0


def _clamped(wanted_deg: np.ndarray, current_deg: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The part of an added angle (F,) deg that keeps current + added inside [lo, hi] less the margin."""
    return np.clip(wanted_deg, lo + LIMIT_MARGIN_DEG - current_deg, hi - LIMIT_MARGIN_DEG - current_deg)


def overlay_gaze(rng: np.random.Generator, pose: _Pose, gaze) -> dict:
    """Turn the clip's neck and head by a random gaze process (in place); returns the drawn parameters.

    gaze: probability, pitch_down_deg, pitch_up_deg, yaw_deg (>= 0, degrees) and move_s, hold_s ((lo, hi) s).
    Returns {"gaze": False} for a clip the draw leaves alone, else {"gaze": True, "gaze_keys": [[t_s, pitch_deg,
    yaw_deg], ...]} (pitch + = up, yaw + = to the wearer's left).
    """
    if rng.random() >= gaze.probability:
        return {"gaze": False}
    times, pitch, yaw = [], [], []
    t = 0.0
    while True:
        times.append(t)
        pitch.append(float(rng.uniform(-gaze.pitch_down_deg, gaze.pitch_up_deg)))
        yaw.append(float(rng.uniform(-gaze.yaw_deg, gaze.yaw_deg)))
        if t >= pose.duration:
            break
        hold, move = float(rng.uniform(*gaze.hold_s)), float(rng.uniform(*gaze.move_s))
        times.append(t + hold)
        pitch.append(pitch[-1])
        yaw.append(yaw[-1])
        t += hold + move
    down = -_keys(pose.t, times, pitch)  # swing x + = look down
    left = _keys(pose.t, times, yaw)  # twist + = turn to the left
    for joint, share in (("neck", NECK_SHARE), ("head", 1.0 - NECK_SHARE)):
        j = pose.local[:, SMPL22_INDEX[joint] - 1]
        now = joint_angles_deg(j, joint)
        limit = JOINT_LIMITS_DEG[joint]
        add_x = _clamped(share * down, now["swing_x"], *limit.swing_deg["x"])
        add_y = _clamped(share * left, now["twist"], *limit.twist_deg)
        pose.local[:, SMPL22_INDEX[joint] - 1] = j @ rot_x(np.radians(add_x)) @ rot_y(np.radians(add_y))
    keys = [[round(a, 4), round(b, 3), round(c, 3)] for a, b, c in zip(times, pitch, yaw)]
    return {"gaze": True, "gaze_keys": keys}
