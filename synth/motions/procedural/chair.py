"""The sit_chair family: seated on a chair (feet flat on the floor, tucked or stretched), reaching to a table, to
the side, overhead, to the face or holding something on the lap and looking down at it.

The motion only knows the seat height; the chair itself is scene geometry built around the posed body
(synth/scene/props.py), recorded by `params["prop"] = "chair"`, so it fits every body size and occludes in the
labels and in the render alike.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from synth.motions.procedural.curves import _draw
from synth.motions.procedural.floor import _seated_actions, _seated_upper_body
from synth.motions.procedural.limbs import _Foot, _foot_pose, _solve_legs
from synth.motions.procedural.pose import _SIDES, _SIGN, _UP, _dir, _Pose, _root_R, radians_table
from synth.motions.skeleton import ANKLE_HEIGHT_M, C_WORLD_FROM_BODY, PELVIS_REST_WORLD_M, SEAT_OFFSET_M

#: Drawn parameters, (lo, hi) in table order (degrees, metres, seconds).
CHAIR_PARAMS = {
    "seat_height_m": (0.42, 0.50),  # seat contact above the floor (reference body; the chair is fitted later)
    "foot_ahead_m": (0.30, 0.62),  # flat feet ahead of the hips: tucked under the seat ... stretched out
    "foot_out_m": (0.0, 0.10),  # feet wider than the hips
    "pelvis_tilt_back_deg": (0.0, 12.0),
    "lean_deg": (0.0, 25.0),  # extra trunk flexion towards a forward reach
    "move_s": (0.5, 1.0),
    "hold_s": (0.2, 1.2),
}
CHAIR_SHAPE_DEG = {
    "chair_lean": 5.0,  # seated trunk flexion at rest
    "chair_lean_noise": 6.0,
}
#: The goals a seated action reaches for (see floor._seated_upper_body), drawn uniformly per repetition.
CHAIR_GOALS = ("forward", "side", "up", "face", "lap", "lap")
#: A chair's user rests the hands a little higher on the thighs than one seated on the floor (m).
CHAIR_HAND_REST_UP_M = 0.06
#: The prop the scene builds around a sit_chair clip.
CHAIR_PROP = "chair"
_RAD = radians_table(CHAIR_SHAPE_DEG)


def _sit_chair(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, CHAIR_PARAMS)
    params.update(p, prop=CHAIR_PROP)
    F = pose.F
    fwd, _ = _dir(np.zeros(F))
    w, rep, goals, arms, lean = _seated_actions(rng, pose, params, CHAIR_PARAMS, CHAIR_GOALS, _RAD["chair_lean"],
                                                _RAD["chair_lean_noise"])
    pose.root_R = _root_R(0.0, np.full(F, -np.radians(p["pelvis_tilt_back_deg"])))
    # The seat contacts' mid-point rests at seat height above the origin.
    seat_mid = np.array([0.0, SEAT_OFFSET_M[1], SEAT_OFFSET_M[2]])
    G = pose.root_R @ C_WORLD_FROM_BODY
    pose.root_t[:] = np.array([0.0, 0.0, p["seat_height_m"]]) - PELVIS_REST_WORLD_M - np.einsum("fij,j->fi", G,
                                                                                                seat_mid)
    feet = {}
    for side in _SIDES:
        flat = pose.hip_world(side) + p["foot_ahead_m"] * fwd
        flat[:, 2] = ANKLE_HEIGHT_M
        flat[:, 0] += _SIGN[side] * p["foot_out_m"]
        ankle, R, toe = _foot_pose(flat, np.zeros(F), np.zeros(F))
        feet[side] = _Foot(ankle, _UP + fwd, R, toe)
    _solve_legs(pose, feet, clamp=False)
    _seated_upper_body(pose, w, rep, goals, arms, lean, hand_rest_up_m=CHAIR_HAND_REST_UP_M)


GENERATORS: dict[str, Callable] = {"sit_chair": _sit_chair}
