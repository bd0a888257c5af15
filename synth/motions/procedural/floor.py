"""The floor families: crawl (kneeling on hands and knees, rocking, reaching) and sit_floor (seated, reaching)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from synth.motions.procedural.curves import _bump, _choice, _draw, _noise, _schedule, _softmin
from synth.motions.procedural.limbs import (
    ARM_REACH_FRACTION,
    _arc_blend,
    _arm_ik,
    _flat_hand_R,
    _Foot,
    _foot_pose,
    _natural_pole,
    _solve_legs,
)
from synth.motions.procedural.pose import (
    _J,
    _SIDES,
    _SIGN,
    _UP,
    _dir,
    _Pose,
    _root_R,
    _set_gaze,
    _set_spine,
    _side_R,
    _torso_dirs,
    radians_table,
)
from synth.motions.rotations import rot_x, rot_z
from synth.motions.skeleton import (
    ANKLE_HEIGHT_M,
    C_WORLD_FROM_BODY,
    FOREARM_M,
    KNEECAP_OFFSET_M,
    PALM_M,
    PALM_THICKNESS_M,
    PELVIS_HEIGHT_M,
    PELVIS_REST_WORLD_M,
    SEAT_OFFSET_M,
    SHIN_M,
    THIGH_M,
    UPPER_ARM_M,
)

#: Knee-joint height above the floor when kneeling on a horizontal shin (the kneecap contact offset).
KNEEL_KNEE_HEIGHT_M = KNEECAP_OFFSET_M[2]
#: Ankle-joint height (m) of a leg stretched out on the floor: the heel (about 8 cm along the foot and 5.5 cm
#: under the ankle axis when the foot points up) rests on the floor.
LONG_SIT_ANKLE_HEIGHT_M = 0.09

# ---- parameter tables: drawn (lo, hi) ranges in draw order, then fixed values (degrees, metres, seconds, Hz) ----
CRAWL_PARAMS = {
    "knee_half_width_m": (0.08, 0.14),
    "hand_half_width_m": (0.14, 0.22),
    "hand_ahead_m": (0.08, 0.15),
    "shoulder_reach": (0.95, 0.985),
    "shin_lift_deg": (3.0, 6.0),
    "ankle_deg": (52.0, 62.0),
    "rock_m": (0.02, 0.06),
    "rock_hz": (0.3, 0.8),
    "sway_m": (0.0, 0.04),
    "gaze_up_deg": (20.0, 55.0),
    "look_yaw_deg": (0.0, 35.0),
    "reach_elevation_deg": (-35.0, 15.0),
    "reach_extent": (0.80, 0.95),
    "move_s": (0.5, 0.9),
    "hold_s": (0.1, 0.5),
    "rest_s": (0.2, 0.6),
}
CRAWL_RANGES = {"sway_noise_hz": (0.15, 0.4), "look_noise_hz": (0.15, 0.5)}
CRAWL_FIXED = {
    "probe_pitch_deg": (60.0, 100.0),  # trunk pitches searched for the one putting the shoulders over the hands
    "probe_steps": 61,
    "knee_floor_softness_m": 0.003,  # soft max keeping the kneecaps on (not below) the floor
    "spine_look_share": 0.3,  # of the look yaw taken by the spine ...
    "head_look_share": 0.7,  # ... and by the neck and head
    "reach_lift_m": 0.05,  # a reaching hand rises this much above the straight path as it leaves the floor
}
SIT_PARAMS = {
    "pelvis_tilt_back_deg": (5.0, 20.0),
    "long_reach": (0.96, 0.99),
    "long_ankle_deg": (10.0, 30.0),
    "knees_up_foot_m": (0.52, 0.62),
    "cross_ankle_side_m": (0.0, 0.08),
    "cross_ankle_forward_m": (0.33, 0.43),
    "cross_ankle_height_m": (0.07, 0.09),
    "cross_knee_up": (0.5, 0.7),
    "lean_deg": (0.0, 20.0),
    "move_s": (0.5, 1.0),
    "hold_s": (0.1, 0.6),
}
SIT_RANGES = {"rest_s": (0.1, 0.4), "lean_noise_hz": (0.1, 0.3)}
SIT_SHAPE_DEG = {
    "sit_lean": 8.0,  # seated trunk flexion at rest
    "sit_lean_noise": 5.0,
    "sit_side_bend": 8.0,  # towards a side reach
    "sit_twist": 10.0,  # towards a side reach
    "sit_gaze_pitch": 10.0,  # looking up/down at reach goals
    "sit_gaze_yaw": 20.0,
    "cross_ankle_plantar": 15.0,  # cross-legged: foot relaxed on its outer edge
    "cross_ankle_inversion": 20.0,
    "lap_gaze_pitch": 35.0,  # looking down at the hands on the lap
}
SIT_FIXED = {
    "cross_front_ankle_ahead_m": 0.06,  # cross-legged: the front ankle lies this much further forwards
    "cross_knee_forward": 0.2,  # cross-legged knee pole: outwards, up (cross_knee_up) and this much forwards
    "long_ankle_out_m": 0.03,  # stretched legs: ankles this much wider than the hips
    "knees_up_foot_out_m": 0.04,  # knees up: feet this much wider than the hips
    "hand_rest_up_m": 0.08,  # resting hands above the middle of the thigh ...
    "cross_hand_rest_up_m": 0.02,  # ... and this much higher cross-legged
    # Wrist goals from the shoulder (forward, side, up) or the head (face), metres along the named directions:
    "forward_reach_m": 0.45,
    "forward_drop_m": 0.15,
    "side_reach_m": 0.45,
    "side_drop_m": 0.05,
    "side_forward_m": 0.1,
    "up_reach_m": 0.50,
    "up_forward_m": 0.05,
    "face_forward_m": 0.12,
    "face_drop_m": 0.02,
    "face_inward_m": 0.12,
    "face_pole_out": 0.6,  # elbow pole at the face: outwards, down and this much forwards
    "face_pole_forward": 0.3,
    "lap_up_m": 0.12,  # a phone or a book held on the lap: above the middle of the thighs ...
    "lap_inward_m": 0.08,  # ... towards the body's mid-line ...
    "lap_forward_m": 0.05,  # ... and a little forwards
    "elbow_out": 0.5,  # elbow pole pushed outwards from the natural one ...
    "goal_pole_weight": 0.5,  # ... and towards the goal's pole by this much
}
_RAD = radians_table(SIT_SHAPE_DEG)


def _crawl(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, CRAWL_PARAMS)
    reach_arm = _choice(rng, ("none", "left", "right"))
    params.update(p, reach_arm=reach_arm)
    t = pose.t
    F = pose.F
    fx = CRAWL_FIXED
    fwd, left = _dir(np.zeros(F))
    rock = p["rock_m"] * np.sin(2 * np.pi * p["rock_hz"] * t + float(rng.uniform(0, 2 * np.pi)))
    sway = p["sway_m"] * _noise(rng, t, CRAWL_RANGES["sway_noise_hz"])
    # Trunk pitch chosen so the shoulders sit at the wanted height above the hands.
    shoulder_target = p["shoulder_reach"] * ARM_REACH_FRACTION * (UPPER_ARM_M + FOREARM_M) + PALM_THICKNESS_M
    probe = _Pose(fx["probe_steps"], 1.0)  # one probe frame per pitch (frame times unused)
    pitches = np.radians(np.linspace(*fx["probe_pitch_deg"], fx["probe_steps"]))
    probe.root_R = _root_R(0.0, pitches)
    hip_rel = probe.hip_world("left")[:, 2] - PELVIS_HEIGHT_M
    kin = probe.kin()
    sh_rel = kin.positions[:, _J["left_shoulder"], 2] - PELVIS_HEIGHT_M
    hip_z = KNEEL_KNEE_HEIGHT_M + THIGH_M
    sh_z = hip_z - hip_rel + sh_rel
    pitch = float(pitches[int(np.argmin(np.abs(sh_z - shoulder_target)))])
    params["trunk_pitch_deg"] = float(np.degrees(pitch))
    pose.root_R = _root_R(0.0, np.full(F, pitch))
    # Knee plants under the hips at rest; pelvis rocks above them.
    rest_hips = {s: pose.hip_world(s)[0] for s in _SIDES}
    pose.root_t[:] = rock[:, None] * fwd + sway[:, None] * left
    knees = {}
    need = []
    for side in _SIDES:
        kp = rest_hips[side].copy()
        kp[0] = _SIGN[side] * p["knee_half_width_m"]
        kp[2] = KNEEL_KNEE_HEIGHT_M
        knees[side] = kp
        hip = pose.hip_world(side)
        horiz = np.linalg.norm((kp - hip)[:, :2], axis=-1)
        need.append(kp[2] + np.sqrt(np.maximum(THIGH_M**2 - horiz**2, 0.0)) - hip[:, 2])
    pose.root_t[:, 2] -= _softmin(-np.stack(need, -1), fx["knee_floor_softness_m"])  # soft max: no kneecap below
    feet = {}
    lift = np.radians(p["shin_lift_deg"])
    ankle_local = rot_x(np.full(F, np.radians(p["ankle_deg"])))
    for side in _SIDES:
        shin_dir = -fwd * np.cos(lift) + _UP * np.sin(lift)
        ankle = knees[side] + SHIN_M * shin_dir
        pole = knees[side] - pose.hip_world(side)
        feet[side] = _Foot(ankle, pole, None, np.zeros(F), ankle_local=ankle_local)
    _solve_legs(pose, feet, clamp=False)
    gaze_yaw = np.radians(p["look_yaw_deg"]) * _noise(rng, t, CRAWL_RANGES["look_noise_hz"])
    _set_spine(pose, 0.0, 0.0, fx["spine_look_share"] * gaze_yaw)
    _set_gaze(pose, np.radians(p["gaze_up_deg"]) * np.ones(F), fx["head_look_share"] * gaze_yaw)
    kin = pose.kin()
    w, _, _ = _schedule(rng, t, pose.duration, CRAWL_PARAMS["move_s"], CRAWL_PARAMS["hold_s"], CRAWL_PARAMS["rest_s"])
    for side in _SIDES:
        sh0 = kin.positions[0, _J[f"{side}_shoulder"]]
        palm = np.array([_SIGN[side] * p["hand_half_width_m"], sh0[1] - p["hand_ahead_m"], 0.0])
        hand_R = _flat_hand_R(side, fwd)
        palm_off = np.array([_SIGN[side] * PALM_M, -PALM_THICKNESS_M, 0.0])
        wrist = palm - np.einsum("fij,j->fi", hand_R, palm_off)
        out = _SIGN[side] * left
        pole = out - fwd  # elbows out and back
        hand_weight = None
        if reach_arm == side:
            sh = kin.positions[:, _J[f"{side}_shoulder"]]
            el = np.radians(p["reach_elevation_deg"])
            arm = p["reach_extent"] * (UPPER_ARM_M + FOREARM_M)
            goal = sh + arm * (np.cos(el) * fwd + np.sin(el) * _UP)
            wrist = wrist + (goal - wrist) * w[:, None] + fx["reach_lift_m"] * _bump(w)[:, None] * _UP
            hand_weight = 1.0 - w  # the hand relaxes in the air
        _arm_ik(pose, side, wrist, pole, hand_R=hand_R, hand_weight=hand_weight)


def _sit_floor(rng, pose: _Pose, params: dict) -> None:
    p = _draw(rng, SIT_PARAMS)
    legs = _choice(rng, ("long", "knees_up", "cross"))
    params.update(p, legs=legs)
    t = pose.t
    F = pose.F
    fx = SIT_FIXED
    fwd, left = _dir(np.zeros(F))
    tilt = -np.radians(p["pelvis_tilt_back_deg"])
    w, rep, goals, arms, lean = _seated_actions(rng, pose, params, SIT_PARAMS, ("forward", "side", "up", "face"),
                                                _RAD["sit_lean"], _RAD["sit_lean_noise"])
    pose.root_R = _root_R(0.0, np.full(F, tilt))
    # Anchor the seat (mid-point of the two seat contacts) on the floor at the origin.
    seat_mid = np.array([0.0, SEAT_OFFSET_M[1], SEAT_OFFSET_M[2]])
    G = pose.root_R @ C_WORLD_FROM_BODY
    pose.root_t[:] = -PELVIS_REST_WORLD_M - np.einsum("fij,j->fi", G, seat_mid)
    if legs == "cross":
        feet = {}
        front = _choice(rng, _SIDES)  # whose ankle lies in front
        relaxed = rot_x(np.full(F, _RAD["cross_ankle_plantar"])) @ rot_z(np.full(F, -_RAD["cross_ankle_inversion"]))
        for side in _SIDES:
            ankle = np.zeros((F, 3))
            ankle[:, 0] = -_SIGN[side] * p["cross_ankle_side_m"]
            ankle[:, 1] = -(p["cross_ankle_forward_m"] + (fx["cross_front_ankle_ahead_m"] if side == front else 0.0))
            ankle[:, 2] = p["cross_ankle_height_m"]
            out = _SIGN[side] * left
            ankle_local = _side_R(side, relaxed)
            pole = out + p["cross_knee_up"] * _UP + fx["cross_knee_forward"] * fwd
            feet[side] = _Foot(ankle, pole, None, ankle_local=ankle_local)
        _solve_legs(pose, feet, clamp=False)
    else:
        feet = {}
        for side in _SIDES:
            hip = pose.hip_world(side)
            if legs == "long":
                reach = p["long_reach"] * (THIGH_M + SHIN_M)
                dz = LONG_SIT_ANKLE_HEIGHT_M - hip[:, 2]
                ahead = np.sqrt(np.maximum(reach**2 - dz**2, 0.0))
                ankle = hip + ahead[:, None] * fwd + dz[:, None] * _UP
                ankle[:, 0] += _SIGN[side] * fx["long_ankle_out_m"]
                feet[side] = _Foot(ankle, np.broadcast_to(_UP, (F, 3)).copy(), None,
                                   ankle_local=rot_x(np.full(F, np.radians(p["long_ankle_deg"]))))
            else:  # knees up, feet flat
                flat = hip + p["knees_up_foot_m"] * fwd
                flat[:, 2] = ANKLE_HEIGHT_M
                flat[:, 0] += _SIGN[side] * fx["knees_up_foot_out_m"]
                ankle, R, toe = _foot_pose(flat, np.zeros(F), np.zeros(F))
                feet[side] = _Foot(ankle, _UP + fwd, R, toe)
        _solve_legs(pose, feet, clamp=False)
    _seated_upper_body(pose, w, rep, goals, arms, lean, hand_rest_up_m=fx["hand_rest_up_m"] + (
        fx["cross_hand_rest_up_m"] if legs == "cross" else 0.0))


def _seated_actions(rng, pose: _Pose, params: dict, table: dict, goal_options: tuple[str, ...], lean_rest: float,
                    lean_noise: float):
    """The action schedule of a seated or kneeling body: eased weight w (F,), repetition index rep (F,), per
    repetition a goal from goal_options and the arms that reach for it (recorded in params["actions"]), and the
    trunk flexion lean (F,) rad: lean_rest, plus table["lean_deg"] (params) towards forward goals, plus noise of
    amplitude lean_noise. `table` holds the family's drawn parameters (move_s, hold_s, lean_deg)."""
    t = pose.t
    w, rep, n = _schedule(rng, t, pose.duration, table["move_s"], table["hold_s"], SIT_RANGES["rest_s"])
    goals = [_choice(rng, goal_options) for _ in range(n)]
    arms = [_choice(rng, ("both", "left", "right")) for _ in range(n)]
    params["actions"] = [f"{a}:{g}" for a, g in zip(arms, goals)]
    forward = np.array([goals[r] == "forward" for r in rep], float)
    lean = lean_rest + np.radians(params["lean_deg"]) * w * forward
    lean = lean + lean_noise * _noise(rng, t, SIT_RANGES["lean_noise_hz"])
    return w, rep, goals, arms, lean


def _seated_upper_body(pose: _Pose, w: np.ndarray, rep: np.ndarray, goals: list[str], arms: list[str],
                       lean: np.ndarray, hand_rest_up_m: float, rest_wrists: dict | None = None) -> None:
    """Trunk, gaze and arms of a seated or kneeling body (legs already placed): repetition `rep` (F,) int of the
    action schedule with eased weight w (F,) moves the `arms` ("both"/"left"/"right") of that repetition from rest
    to its goal (forward, side, up, face, lap); lean (F,) rad trunk flexion. At rest the hands lie on the thighs
    (hand_rest_up_m above their middle), or at rest_wrists {side: (F, 3) world m} when given."""
    F = pose.F
    fx = SIT_FIXED
    fwd, _ = _dir(np.zeros(F))
    gf = lambda name: np.array([g == name for g in goals], float)[rep]  # noqa: E731
    active = {s: np.array([a in ("both", s) for a in arms], float)[rep] * w for s in _SIDES}
    to_left = (active["left"] - active["right"]) * gf("side")  # + when reaching to the left side
    _set_spine(pose, lean, -_RAD["sit_side_bend"] * to_left, _RAD["sit_twist"] * to_left)
    _set_gaze(pose, _RAD["sit_gaze_pitch"] * w * (gf("up") - gf("forward")) - _RAD["lap_gaze_pitch"] * w * gf("lap"),
              _RAD["sit_gaze_yaw"] * to_left)
    kin = pose.kin()
    for side in _SIDES:
        out, up, tf = _torso_dirs(pose, side)
        sh = kin.positions[:, _J[f"{side}_shoulder"]]
        knee = kin.positions[:, _J[f"{side}_knee"]]
        hip = kin.positions[:, _J[f"{side}_hip"]]
        rest = 0.5 * (knee + hip) + hand_rest_up_m * _UP if rest_wrists is None else rest_wrists[side]
        head = kin.positions[:, _J["head"]]
        # Goal wrist positions and the direction the elbow points for each goal (natural arm twists).
        goal_by = {
            "forward": (sh + fx["forward_reach_m"] * fwd - fx["forward_drop_m"] * _UP, out - _UP),
            "side": (sh + fx["side_reach_m"] * out - fx["side_drop_m"] * _UP + fx["side_forward_m"] * fwd, -tf - _UP),
            "up": (sh + fx["up_reach_m"] * _UP + fx["up_forward_m"] * fwd, out - tf),
            "face": (head + fx["face_forward_m"] * tf - fx["face_drop_m"] * _UP - fx["face_inward_m"] * out,
                     fx["face_pole_out"] * out - up + fx["face_pole_forward"] * tf),
            "lap": (0.5 * (knee + hip) + fx["lap_up_m"] * _UP - fx["lap_inward_m"] * out + fx["lap_forward_m"] * fwd,
                    out - _UP),
        }
        goal = np.zeros((F, 3))
        goal_pole = np.zeros((F, 3))
        for name, (gpos, gpole) in goal_by.items():
            goal += gf(name)[:, None] * gpos
            goal_pole += gf(name)[:, None] * gpole
        a = active[side][:, None]
        target = _arc_blend(sh, rest, np.where(a > 0, goal, rest), active[side])
        pole = _natural_pole(pose, side, target) + fx["elbow_out"] * out + fx["goal_pole_weight"] * goal_pole * a
        _arm_ik(pose, side, target, pole)


GENERATORS: dict[str, Callable] = {"crawl": _crawl, "sit_floor": _sit_floor}
