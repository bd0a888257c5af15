"""The kneel family: kneeling upright on both knees, or half-kneeling on one knee with the other foot planted in
front (as when tying a shoe), reaching forwards, to the side, up, to the face or to the lap; at rest the arms hang.

Each kneeling knee rests its kneecap on the floor with the shin lying back along it and the toes tucked; the pelvis
sits where the thighs reach the knees, so no contact slides. The arms and gaze reuse the seated actions
(floor._seated_upper_body).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from synth.motions.procedural.curves import _choice, _draw
from synth.motions.procedural.floor import KNEEL_KNEE_HEIGHT_M, _seated_actions, _seated_upper_body
from synth.motions.procedural.limbs import _Foot, _foot_pose, _hanging_wrists, _solve_legs
from synth.motions.procedural.pose import _SIDES, _SIGN, _UP, _dir, _Pose, _root_R, _set_spine, radians_table
from synth.motions.rotations import rot_x
from synth.motions.skeleton import ANKLE_HEIGHT_M, SHIN_M, THIGH_M

#: Drawn parameters, (lo, hi) in table order (degrees, metres, seconds).
KNEEL_PARAMS = {
    "foot_half_width_m": (0.08, 0.15),  # half-kneel: the planted foot out from the mid-line
    "thigh_lean_deg": (0.0, 20.0),  # thighs tilted forwards from vertical (hips behind the knees)
    "shin_lift_deg": (3.0, 6.0),
    "ankle_deg": (52.0, 62.0),  # toes tucked under
    "front_foot_ahead_m": (0.38, 0.52),  # half-kneel: the planted foot ahead of the kneeling knee
    "lean_deg": (0.0, 25.0),  # extra trunk flexion towards a forward reach
    "arm_abduction_deg": (6.0, 15.0),  # hanging arms at rest
    "elbow_deg": (8.0, 25.0),
    "move_s": (0.5, 1.0),
    "hold_s": (0.2, 1.0),
}
KNEEL_SHAPE_DEG = {
    "kneel_lean": 6.0,  # kneeling trunk flexion at rest
    "kneel_lean_noise": 5.0,
}
#: The goals of the kneeling actions (floor._seated_upper_body), drawn uniformly per repetition.
KNEEL_GOALS = ("forward", "side", "up", "face", "lap")
#: The kneeling thighs reach this fraction of their length (the knee never locks straight).
KNEEL_THIGH_REACH = 0.995
_RAD = radians_table(KNEEL_SHAPE_DEG)


def _kneel(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, KNEEL_PARAMS)
    style = _choice(rng, ("both", "left", "right"))  # which knee is down; "both": upright kneeling
    params.update(p, knees=style)
    F = pose.F
    fwd, _ = _dir(np.zeros(F))
    w, rep, goals, arms, lean = _seated_actions(rng, pose, params, KNEEL_PARAMS, KNEEL_GOALS, _RAD["kneel_lean"],
                                                _RAD["kneel_lean_noise"])
    pose.root_R = _root_R(0.0, np.zeros(F))
    down = [s for s in _SIDES if style in ("both", s)]
    # Hips above the kneeling knees: the thigh, leaning forwards by thigh_lean, spans KNEEL_THIGH_REACH of its
    # length from hip to knee (its kneecap then touches the floor).
    lean_t = np.radians(p["thigh_lean_deg"])
    reach = KNEEL_THIGH_REACH * THIGH_M
    hip_z = np.mean([pose.hip_world(s)[0, 2] for s in down])
    pose.root_t[:, 2] = KNEEL_KNEE_HEIGHT_M + reach * np.cos(lean_t) - hip_z
    feet = {}
    lift = np.radians(p["shin_lift_deg"])
    for side in _SIDES:
        hip = pose.hip_world(side)
        if side in down:
            knee = hip + reach * (np.sin(lean_t) * fwd - np.cos(lean_t) * _UP)
            ankle = knee + SHIN_M * (-fwd * np.cos(lift) + _UP * np.sin(lift))
            feet[side] = _Foot(ankle, knee - hip, None, np.zeros(F),
                               ankle_local=rot_x(np.full(F, np.radians(p["ankle_deg"]))))
        else:  # the planted front foot of a half-kneel
            flat = hip + p["front_foot_ahead_m"] * fwd
            flat[:, 2] = ANKLE_HEIGHT_M
            flat[:, 0] = _SIGN[side] * p["foot_half_width_m"]
            ankle, R, toe = _foot_pose(flat, np.zeros(F), np.zeros(F))
            feet[side] = _Foot(ankle, _UP + fwd, R, toe)
    _solve_legs(pose, feet, clamp=False)
    _set_spine(pose, lean)  # the hanging rest wrists follow the leaning trunk
    rest = _hanging_wrists(pose, np.radians(p["arm_abduction_deg"]), np.radians(p["elbow_deg"]))
    _seated_upper_body(pose, w, rep, goals, arms, lean, hand_rest_up_m=0.0, rest_wrists=rest)


GENERATORS: dict[str, Callable] = {"kneel": _kneel}
