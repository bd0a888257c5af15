"""Writes tiny, procedurally built SMPL-X and SMPL model files in the real `.npz` layout for tests.

The body is a stack of axis-aligned boxes, one per kinematic joint, in SMPL's body axes (x = body's left,
y = up, z = forward, metres, pelvis at the origin, T-pose). Every box is rigidly skinned to the joint that
drives it (the joint at the start of the bone the box wraps), and the joint regressor places each joint exactly
at its intended position as a trilinear combination of the eight corners of its own box, so shape blend shapes
move joints and surface together. Nothing here derives from the licensed models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: SMPL-22 body joints: (position (x left, y up, z forward) m, parent).
_BODY_JOINTS: tuple[tuple[tuple[float, float, float], int], ...] = (
    ((0.0, 0.0, 0.0), -1),  # 0 pelvis
    ((0.09, -0.08, 0.0), 0),  # 1 left_hip
    ((-0.09, -0.08, 0.0), 0),  # 2 right_hip
    ((0.0, 0.10, -0.01), 0),  # 3 spine1
    ((0.10, -0.48, 0.01), 1),  # 4 left_knee
    ((-0.10, -0.48, 0.01), 2),  # 5 right_knee
    ((0.0, 0.23, 0.0), 3),  # 6 spine2
    ((0.11, -0.88, -0.02), 4),  # 7 left_ankle
    ((-0.11, -0.88, -0.02), 5),  # 8 right_ankle
    ((0.0, 0.29, 0.01), 6),  # 9 spine3
    ((0.12, -0.93, 0.10), 7),  # 10 left_foot (ball)
    ((-0.12, -0.93, 0.10), 8),  # 11 right_foot
    ((0.0, 0.50, -0.01), 9),  # 12 neck
    ((0.07, 0.42, 0.0), 9),  # 13 left_collar
    ((-0.07, 0.42, 0.0), 9),  # 14 right_collar
    ((0.0, 0.58, 0.02), 12),  # 15 head
    ((0.17, 0.44, 0.0), 13),  # 16 left_shoulder
    ((-0.17, 0.44, 0.0), 14),  # 17 right_shoulder
    ((0.43, 0.44, -0.01), 16),  # 18 left_elbow
    ((-0.43, 0.44, -0.01), 17),  # 19 right_elbow
    ((0.68, 0.44, 0.0), 18),  # 20 left_wrist
    ((-0.68, 0.44, 0.0), 19),  # 21 right_wrist
)

#: Where each body joint's box ends (the child it reaches towards, or an explicit tip), and its half thickness.
_BODY_BOX_END: dict[int, tuple[tuple[float, float, float], float]] = {
    0: ((0.0, -0.10, 0.0), 0.11),
    1: ((0.10, -0.48, 0.01), 0.06),
    2: ((-0.10, -0.48, 0.01), 0.06),
    3: ((0.0, 0.23, -0.01), 0.12),
    4: ((0.11, -0.88, -0.02), 0.05),
    5: ((-0.11, -0.88, -0.02), 0.05),
    6: ((0.0, 0.29, 0.0), 0.13),
    7: ((0.12, -0.93, 0.10), 0.04),
    8: ((-0.12, -0.93, 0.10), 0.04),
    9: ((0.0, 0.48, 0.01), 0.14),
    10: ((0.12, -0.93, 0.16), 0.03),
    11: ((-0.12, -0.93, 0.16), 0.03),
    12: ((0.0, 0.58, -0.01), 0.05),
    13: ((0.17, 0.44, 0.0), 0.04),
    14: ((-0.17, 0.44, 0.0), 0.04),
    15: ((0.0, 0.78, 0.02), 0.08),
    16: ((0.43, 0.44, -0.01), 0.045),
    17: ((-0.43, 0.44, -0.01), 0.045),
    18: ((0.68, 0.44, 0.0), 0.04),
    19: ((-0.68, 0.44, 0.0), 0.04),
    20: ((0.76, 0.44, 0.0), 0.03),
    21: ((-0.76, 0.44, 0.0), 0.03),
}

#: The nose: an extra box on the head (driven by the head joint) that sticks out forward (+z).
NOSE_BOX: tuple[tuple[float, float, float], tuple[float, float, float]] = ((-0.015, 0.62, 0.09), (0.015, 0.66, 0.13))

_FINGER_SPREAD_Z = (-0.03, -0.015, 0.0, 0.015, 0.03)
_FINGER_SEGMENT_M = 0.025

#: Corner order of a box: bit 0 = x high, bit 1 = y high, bit 2 = z high.
_BOX_FACES = np.array(
    [
        [0, 2, 1], [1, 2, 3],  # z low
        [4, 5, 6], [5, 7, 6],  # z high
        [0, 1, 4], [1, 5, 4],  # y low
        [2, 6, 3], [3, 6, 7],  # y high
        [0, 4, 2], [2, 4, 6],  # x low
        [1, 3, 5], [3, 7, 5],  # x high
    ],
    dtype=np.int64,
)


@dataclass(frozen=True)
class TinyModel:
    """What a test needs to know about a written tiny model.

    joints_smpl_m: (J, 3) float64 rest joint positions for betas = 0, SMPL body axes, metres.
    parents: (J,) int64 parent of each joint (-1 for the pelvis).
    nose_vertices: (8,) int64 indices of the nose box corners.
    box_of_vertex: (V,) int64 the joint that owns each vertex.
    paths: the files written.
    """

    joints_smpl_m: np.ndarray
    parents: np.ndarray
    nose_vertices: np.ndarray
    box_of_vertex: np.ndarray
    paths: tuple[Path, ...]


def _smplx_joints() -> tuple[list[tuple[float, float, float]], list[int], dict[int, tuple]]:
    """SMPL-X's 55 joints: body 22, jaw, eyes, then 15 finger joints per hand (thumb..pinky, 3 each)."""
    pos = [p for p, _ in _BODY_JOINTS]
    parents = [q for _, q in _BODY_JOINTS]
    ends: dict[int, tuple] = dict(_BODY_BOX_END)
    pos += [(0.0, 0.60, 0.05), (0.03, 0.66, 0.08), (-0.03, 0.66, 0.08)]  # 22 jaw, 23 left eye, 24 right eye
    parents += [15, 15, 15]
    ends[22] = ((0.0, 0.56, 0.09), 0.025)
    ends[23] = ((0.03, 0.66, 0.10), 0.012)
    ends[24] = ((-0.03, 0.66, 0.10), 0.012)
    for side, wrist in ((1.0, 20), (-1.0, 21)):
        for spread in _FINGER_SPREAD_Z:
            parent = wrist
            for k in range(3):
                x = side * (0.76 + k * _FINGER_SEGMENT_M)
                pos.append((x, 0.44, spread))
                parents.append(parent)
                parent = len(pos) - 1
                ends[parent] = ((x + side * _FINGER_SEGMENT_M, 0.44, spread), 0.006)
    return pos, parents, ends


def _smpl_joints() -> tuple[list[tuple[float, float, float]], list[int], dict[int, tuple]]:
    """SMPL's 24 joints: body 22 plus one hand joint per side."""
    pos = [p for p, _ in _BODY_JOINTS] + [(0.76, 0.44, 0.0), (-0.76, 0.44, 0.0)]
    parents = [q for _, q in _BODY_JOINTS] + [20, 21]
    ends: dict[int, tuple] = dict(_BODY_BOX_END)
    ends[22] = ((0.85, 0.44, 0.0), 0.02)
    ends[23] = ((-0.85, 0.44, 0.0), 0.02)
    return pos, parents, ends


def _box_corners(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(8, 3) corners of the box [lo, hi] in _BOX_FACES order."""
    return np.array([[(hi if (c >> a) & 1 else lo)[a] for a in range(3)] for c in range(8)], dtype=np.float64)


def _trilinear(lo: np.ndarray, hi: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(8,) weights of the box corners whose combination is the point p inside the box."""
    t = (p - lo) / (hi - lo)
    return np.array([np.prod([t[a] if (c >> a) & 1 else 1.0 - t[a] for a in range(3)]) for c in range(8)])


def _build(joints, parents, ends, num_shape: int, scale: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    joints = np.asarray(joints, dtype=np.float64) * scale
    num_joints = len(joints)
    verts, faces, owner = [], [], []
    regressor = np.zeros((num_joints, 0))
    boxes = []
    for j in range(num_joints):
        end, half = ends[j]
        end = np.asarray(end) * scale
        lo = np.minimum(joints[j], end) - half
        hi = np.maximum(joints[j], end) + half
        boxes.append((j, lo, hi))
    boxes.append((15, np.asarray(NOSE_BOX[0]) * scale, np.asarray(NOSE_BOX[1]) * scale))
    rows = []
    for j, lo, hi in boxes:
        base = len(verts) * 8
        verts.append(_box_corners(lo, hi))
        faces.append(_BOX_FACES + base)
        owner.append(np.full(8, j))
        rows.append((j, base, lo, hi))
    v_template = np.concatenate(verts)
    num_verts = len(v_template)
    regressor = np.zeros((num_joints, num_verts))
    for j, base, lo, hi in rows[:num_joints]:
        regressor[j, base : base + 8] = _trilinear(lo, hi, joints[j])
    owner = np.concatenate(owner)
    weights = np.zeros((num_verts, num_joints))
    weights[np.arange(num_verts), owner] = 1.0
    shapedirs = rng.normal(0.0, 0.002, size=(num_verts, 3, num_shape))
    shapedirs[:, :, 0] = 0.03 * v_template  # beta 0: overall size
    shapedirs[:, 0, 1] = 0.04 * v_template[:, 0]  # beta 1: width
    kintree = np.stack([np.asarray(parents, dtype=np.int64), np.arange(num_joints, dtype=np.int64)])
    return {
        "v_template": v_template,
        "f": np.concatenate(faces).astype(np.uint32),
        "J_regressor": regressor,
        "weights": weights,
        "kintree_table": kintree,
        "shapedirs": shapedirs,
        "posedirs": np.zeros((num_verts, 3, (num_joints - 1) * 9)),
        "_owner": owner,
        "_joints": joints,
        "_parents": np.asarray(parents, dtype=np.int64),
    }


def _split_private(data: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], TinyModel]:
    nose = np.arange(len(data["_owner"]) - 8, len(data["_owner"]))
    info = TinyModel(data.pop("_joints"), data.pop("_parents"), nose, data.pop("_owner"), ())
    return data, info


_GENDER_SCALE = {"NEUTRAL": 1.0, "MALE": 1.06, "FEMALE": 0.95}


def write_tiny_smplx(
    root: Path,
    genders: tuple[str, ...] = ("NEUTRAL", "MALE", "FEMALE"),
    seed: int = 0,
    with_uv: bool = True,
    with_object_array: bool = False,
) -> TinyModel:
    """Write `<root>/smplx/SMPLX_<GENDER>.npz` files that `smplx.create(..., model_type="smplx")` loads.

    with_uv: also write `vt` (L, 2) / `ft` (T, 3) texture coordinates, as the released files do.
    with_object_array: add a pickled object entry (`joint2num`, a dict), as the released files do.
    Returns the NEUTRAL-scale TinyModel description (joints for betas = 0 of the NEUTRAL file).
    """
    folder = Path(root) / "smplx"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    info = None
    for gender in genders:
        rng = np.random.default_rng(seed)
        pos, parents, ends = _smplx_joints()
        data, g_info = _split_private(_build(pos, parents, ends, 400, _GENDER_SCALE[gender], rng))
        num_faces = len(data["f"])
        data.update(
            hands_componentsl=np.eye(45),
            hands_componentsr=np.eye(45),
            hands_meanl=np.zeros(45),
            hands_meanr=np.zeros(45),
            lmk_faces_idx=np.zeros(51, dtype=np.int64) + (num_faces - 12),
            lmk_bary_coords=np.full((51, 3), 1.0 / 3.0),
            dynamic_lmk_faces_idx=np.zeros((79, 17), dtype=np.int64) + (num_faces - 12),
            dynamic_lmk_bary_coords=np.full((79, 17, 3), 1.0 / 3.0),
        )
        if with_uv:
            # One uv per face corner, laid out on a grid: real files also split uvs from vertices.
            corners = num_faces * 3
            side = int(np.ceil(np.sqrt(corners)))
            k = np.arange(corners)
            data["vt"] = np.stack([(k % side + 0.5) / side, (k // side + 0.5) / side], axis=1)
            data["ft"] = k.reshape(num_faces, 3).astype(np.uint32)
        if with_object_array:
            data["joint2num"] = np.array({"pelvis": 0, "head": 15}, dtype=object)
        path = folder / f"SMPLX_{gender}.npz"
        np.savez(path, **data)
        paths.append(path)
        if gender == "NEUTRAL" or info is None:
            info = g_info
    assert info is not None
    return TinyModel(info.joints_smpl_m, info.parents, info.nose_vertices, info.box_of_vertex, tuple(paths))


def write_tiny_smpl(root: Path, genders: tuple[str, ...] = ("NEUTRAL",), seed: int = 0) -> TinyModel:
    """Write `<root>/smpl/SMPL_<GENDER>.npz` (24 joints, 10 betas, no uvs)."""
    folder = Path(root) / "smpl"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    info = None
    for gender in genders:
        rng = np.random.default_rng(seed)
        pos, parents, ends = _smpl_joints()
        data, g_info = _split_private(_build(pos, parents, ends, 10, _GENDER_SCALE[gender], rng))
        path = folder / f"SMPL_{gender}.npz"
        np.savez(path, **data)
        paths.append(path)
        if gender == "NEUTRAL" or info is None:
            info = g_info
    assert info is not None
    return TinyModel(info.joints_smpl_m, info.parents, info.nose_vertices, info.box_of_vertex, tuple(paths))


# ----------------------------------------------------------------------------------------------------------------
#: Names appended here each time a Tripwire is unpickled (tests clear it, then assert it stays empty).
TRIPPED: list[str] = []


def _trip() -> str:
    TRIPPED.append("unpickled")
    return "tripped"


class Tripwire:
    """An object that records in TRIPPED when it is unpickled: plant it in an object array to catch unpickling."""

    def __reduce__(self):
        return (_trip, ())
