"""The procedural motion library: randomised, smooth, grounded SMPL-22 motion families on the reference skeleton.

Every family is a function of continuous time evaluated at the clip's frame times, so clips are independent of
the frame rate and C1 (curves are built from quintic eases, cubic Hermite segments and sinusoids). Feet, knees,
hands and the seat that carry weight are placed by analytic two-bone IK (synth/motions/ik.py) at fixed floor
positions, so contacts do not slide; the pelvis is lowered just enough for every planted limb to reach.
All randomness comes from the explicit `rng`; parameter ranges live in the *_PARAMS tables of the family modules
(angles in degrees, lengths in metres, times in seconds, rates per second), fixed design values next to them
(*_SHAPE_DEG, *_FIXED, and *_RANGES for ranges drawn inside a family's body), and every drawn value is recorded
in `MotionClip.params`. Each clip is finally turned by a random heading about the vertical through the pelvis.
root_transl is in metres of the reference skeleton (synth/motions/skeleton.py, hip height HIP_HEIGHT_M); a body
of another size keeps its planted feet still when it scales root_transl by its own hip height / HIP_HEIGHT_M.

Layout: curves (eases, noise, schedules), pose (the clip under construction, joint setters), limbs (feet, hands,
IK), and one module per family group: locomotion (walk, run), standing (look_around, reach_overhead, reach_behind),
rhythmic (arm_swing, dance), lower_body (squat, lunge, pick_up, crouch), kick, jump, floor (crawl, sit_floor),
chair (sit_chair, whose chair the scene builds), kneel (one or both knees down), and gaze (head pitch and yaw
on top of any family).
"""

from __future__ import annotations

import hashlib
import json
from typing import Callable

import numpy as np

from synth.errors import CONFIG_PLACEHOLDER, ConfigError
from synth.motions.clip import MotionClip
from synth.motions.procedural import chair, floor, jump, kick, kneel, locomotion, lower_body, rhythmic, standing
from synth.motions.procedural.curves import _draw, ease
from synth.motions.procedural.gaze import overlay_gaze
from synth.motions.procedural.pose import SHARED_SHAPE_DEG, _Pose
from synth.motions.rotations import matrix_to_axis_angle, rot_z
from synth.motions.skeleton import GROUND_CONTACT_TOL_M, forward_kinematics, lowest_point_height

# The parameter tables and constants that lived in this module before it became a package, importable as before.
from synth.motions.procedural.chair import CHAIR_PARAMS, CHAIR_PROP  # noqa: F401
from synth.motions.procedural.kneel import KNEEL_PARAMS  # noqa: F401
from synth.motions.procedural.floor import (  # noqa: F401
    CRAWL_PARAMS, KNEEL_KNEE_HEIGHT_M, LONG_SIT_ANKLE_HEIGHT_M, SIT_PARAMS,
)
from synth.motions.procedural.jump import GRAVITY_M_S2, JUMP_PARAMS, MAX_TURN_RATE_DEG_S  # noqa: F401
from synth.motions.procedural.kick import KICK_PARAMS  # noqa: F401
from synth.motions.procedural.limbs import (  # noqa: F401
    ARM_REACH_FRACTION, ARM_REACH_SOFTNESS_M, LEG_REACH_FRACTION, PELVIS_SOFTMIN_M,
)
from synth.motions.procedural.locomotion import RUN_PARAMS, WALK_PARAMS  # noqa: F401
from synth.motions.procedural.lower_body import CROUCH_PARAMS, LUNGE_PARAMS, PICK_PARAMS, SQUAT_PARAMS  # noqa: F401
from synth.motions.procedural.rhythmic import DANCE_PARAMS, SWING_PARAMS  # noqa: F401
from synth.motions.procedural.standing import (  # noqa: F401
    BEHIND_PARAMS, LOOK_PARAMS, OVERHEAD_PARAMS, STAND_PARAMS,
)

#: Every family, in the order sample_motion draws from (changing it changes which clip a seed gives).
FAMILIES: tuple[str, ...] = (
    "walk",
    "look_around",
    "reach_overhead",
    "reach_behind",
    "squat",
    "lunge",
    "pick_up",
    "kick",
    "arm_swing",
    "jump",
    "crawl",
    "sit_floor",
    "dance",
    "crouch",
    "sit_chair",
    "run",
    "kneel",
)
#: Drawn for every clip, before its family's parameters.
COMMON_PARAMS = {"heading_deg": (-180.0, 180.0)}
#: Decimals the recorded clip parameters are rounded to.
PARAM_DECIMALS = 6
#: Hex digits of the parameter/array digest in a clip's name.
NAME_DIGEST_HEX = 10
#: The arrays enter the name's digest rounded to this many decimals (rad, m), so that last-bit differences of the
#: maths library between CPUs do not rename a clip.
NAME_DIGEST_DECIMALS = 6

_MODULES = (locomotion, standing, rhythmic, lower_body, kick, jump, floor, chair, kneel)
_REGISTERED: dict[str, Callable] = {name: gen for module in _MODULES for name, gen in module.GENERATORS.items()}
if set(_REGISTERED) != set(FAMILIES):
    raise ImportError(
        f"synth.motions.procedural: family modules define {sorted(_REGISTERED)} but FAMILIES lists "
        f"{sorted(FAMILIES)}; add the missing generator or FAMILIES entry"
    )
#: The family registry: family name -> generator(rng, pose, params), in FAMILIES order.
_GENERATORS: dict[str, Callable] = {name: _REGISTERED[name] for name in FAMILIES}

#: Every family's fixed shape angles (degrees) in one table, as before the split; each module reads its own.
SHAPE_DEG: dict[str, float] = {
    **SHARED_SHAPE_DEG,
    **standing.LOOK_SHAPE_DEG,
    **standing.BEHIND_SHAPE_DEG,
    **lower_body.SQUAT_SHAPE_DEG,
    **lower_body.LUNGE_SHAPE_DEG,
    **lower_body.PICK_SHAPE_DEG,
    **kick.KICK_SHAPE_DEG,
    **rhythmic.SWING_SHAPE_DEG,
    **jump.JUMP_SHAPE_DEG,
    **floor.SIT_SHAPE_DEG,
    **rhythmic.DANCE_SHAPE_DEG,
    **lower_body.CROUCH_SHAPE_DEG,
    **chair.CHAIR_SHAPE_DEG,
    **kneel.KNEEL_SHAPE_DEG,
}


def _check_families(families, field: str = "motion.families") -> tuple[str, ...]:
    names = tuple(families)
    for name in names:
        if name not in _GENERATORS:
            raise ConfigError(
                file=CONFIG_PLACEHOLDER, field=field,
                problem=f"unknown family {name!r}; allowed: {', '.join(FAMILIES)}",
            )
    if not names:
        raise ConfigError(
            file=CONFIG_PLACEHOLDER, field=field, problem=f"empty list; allowed: {', '.join(FAMILIES)}"
        )
    return names


def _rounded_param(value):
    if isinstance(value, (np.floating, float)):
        return round(float(value), PARAM_DECIMALS)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_rounded_param(v) for v in value]
    return value


def generate(family: str, rng: np.random.Generator, num_frames: int, fps: float, gaze=None) -> MotionClip:
    """One clip of `family` with num_frames frames at fps, all randomness drawn from rng.

    gaze: a head-gaze overlay (synth.config.GazeConfig or anything with its fields) or None; with probability
    gaze.probability the head also looks down, up and around on top of the family's own motion (gaze.py).
    The clip's params hold every drawn parameter (units in the key names, angles in degrees) plus
    num_frames and fps; its name is f"{family}_{10 hex digits}" derived from the parameters and the arrays.
    """
    _check_families((family,))
    if num_frames < 1 or not fps > 0:
        raise ConfigError(
            file=CONFIG_PLACEHOLDER, field="clips", problem=f"need frames >= 1 and fps > 0, got {num_frames} and {fps}"
        )
    pose = _Pose(int(num_frames), float(fps))
    params: dict = {}
    params.update(_draw(rng, COMMON_PARAMS))
    _GENERATORS[family](rng, pose, params)
    if gaze is not None and gaze.probability > 0:
        params.update(overlay_gaze(rng, pose, gaze))
    heading = np.radians(params["heading_deg"])
    Rh = rot_z(heading)
    root_R = Rh @ pose.root_R
    root_t = pose.root_t @ Rh.T
    kin = forward_kinematics(root_R, root_t, pose.local)
    grounded = lowest_point_height(kin) <= GROUND_CONTACT_TOL_M
    root_orient = matrix_to_axis_angle(root_R)
    body_pose = matrix_to_axis_angle(pose.local)
    params = {k: _rounded_param(v) for k, v in params.items()}
    params.update(num_frames=int(num_frames), fps=float(fps))
    digest = hashlib.sha1(json.dumps(params, sort_keys=True).encode())
    for arr in (root_orient, body_pose, root_t):
        rounded = np.round(np.asarray(arr, dtype=np.float64), NAME_DIGEST_DECIMALS) + 0.0  # + 0.0: no -0.0
        digest.update(np.ascontiguousarray(rounded).tobytes())
    return MotionClip(
        name=f"{family}_{digest.hexdigest()[:NAME_DIGEST_HEX]}",
        family=family,
        fps=float(fps),
        root_orient=root_orient,
        body_pose=body_pose,
        root_transl=root_t,
        grounded=grounded,
        params=params,
    )


def family_weights(families=None, weights=None) -> tuple[tuple[str, ...], np.ndarray | None]:
    """The families a clip is drawn from and their probabilities (None: uniform).

    families: names to draw from (default: all FAMILIES, or the keys of `weights` when those are given);
    weights: {family: relative weight >= 0}. With both, `families` restricts the mix: weights of other families are
    ignored and listed families without a weight get 0. An unknown family, a negative or non-finite weight, or no
    positive weight left is a ConfigError naming the field.
    """
    if not weights:
        return (FAMILIES if families is None else _check_families(families)), None
    named = _check_families(tuple(weights), field="motion.weights")
    names = named if families is None else _check_families(families)
    w = np.array([float(weights.get(n, 0.0)) for n in names])
    given = np.array([float(v) for v in weights.values()])
    if not np.all(np.isfinite(given)) or np.any(given < 0):
        raise ConfigError(file=CONFIG_PLACEHOLDER, field="motion.weights", problem="weights must be finite and >= 0")
    if w.sum() <= 0:
        raise ConfigError(file=CONFIG_PLACEHOLDER, field="motion.weights",
                          problem=f"no positive weight for the families drawn from ({', '.join(names)}); give one "
                                  f"of them a weight > 0 or set motion.weights to null for a uniform draw")
    keep = w > 0
    return tuple(n for n, k in zip(names, keep) if k), w[keep] / w[keep].sum()


def sample_motion(rng: np.random.Generator, num_frames: int, fps: float, families=None, weights=None,
                  gaze=None) -> MotionClip:
    """A clip of a family drawn from `families` (default: all FAMILIES), uniformly or by `weights`
    ({family: relative weight}, see family_weights), with the optional head-gaze overlay `gaze`."""
    names, p = family_weights(families, weights)
    family = names[int(rng.integers(len(names)))] if p is None else names[int(rng.choice(len(names), p=p))]
    return generate(family, rng, num_frames, fps, gaze=gaze)


__all__ = ["FAMILIES", "family_weights", "generate", "sample_motion", "ease"]
