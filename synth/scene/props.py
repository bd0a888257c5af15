"""Props a motion needs in the scene, fitted to the posed body: the chair of a sit_chair clip and, often, a table.

A prop is built from the posed body itself (vertices and joints over the whole clip), so it fits every body size
and shape: the seat's top is the lowest point of the thighs and buttocks, its front edge stops short of the calves,
the backrest stands behind the back; a table's edge overhangs the thighs at desk height, clear of every body point
through the whole clip, so from the head-mounted cameras it hides the knees and feet beneath it. Props are ordinary
occluding scene meshes (occluder code OCC_SCENE): the labels ray-cast them and Cycles renders them, like the ground.
"""

from __future__ import annotations

import numpy as np

from synth.appearance.model import GroundSpec
from synth.constants import EGO16_JOINTS
from synth.scene.spec import SceneMesh

#: Chair proportions, metres: seat width (across the body), deepest seat behind the hip joints, seat depth in
#: front of them at most, seat board and backrest thickness, backrest height above the seat, leg size.
CHAIR_SEAT_WIDTH_M = 0.46
CHAIR_SEAT_BACK_M = 0.20
CHAIR_SEAT_FRONT_M = 0.30
CHAIR_SEAT_FRONT_MIN_M = 0.12
CHAIR_BOARD_M = 0.035
CHAIR_BACK_HEIGHT_M = 0.42
CHAIR_LEG_M = 0.035
#: The seat's top lies this far below the lowest thigh/buttock vertex (no interpenetration); the backrest and the
#: seat's front edge keep this gap from the body, m.
CHAIR_CONTACT_GAP_M = 0.004
CHAIR_BODY_GAP_M = 0.015
#: Body vertices this far (m) below the hip joints at most can rest on the seat (lower ones are calves and feet).
CHAIR_SEAT_BAND_M = 0.25
#: Table: chance a seated clip has one, top height above the highest knee joint (m), overhang of its edge over the
#: thighs in front of the hips (m), depth and width (m), board thickness (m), leg size (m), clearance to the body (m).
TABLE_PROBABILITY = 0.6
TABLE_ABOVE_KNEES_M = (0.12, 0.22)
TABLE_EDGE_AHEAD_M = (0.22, 0.40)
TABLE_DEPTH_M = 0.75
TABLE_WIDTH_M = 1.2
TABLE_BOARD_M = 0.03
TABLE_LEG_M = 0.05
TABLE_CLEARANCE_M = 0.02
#: Linear-RGB ranges of the furniture's wood: a darker and a lighter tone per channel.
CHAIR_WOOD_RGB = ((0.08, 0.35), (0.04, 0.22), (0.02, 0.12))
CHAIR_WOOD_SCALE_M = (0.03, 0.08)


def box(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An axis-aligned box from corner lo (3,) to hi (3,): vertices (8, 3) (index 4 z + 2 y + x of the corner, 0 = lo,
    1 = hi per axis) and triangles (12, 3) int32."""
    v = np.array([[x, y, z] for z in (lo[2], hi[2]) for y in (lo[1], hi[1]) for x in (lo[0], hi[0])], np.float64)
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    faces = [(a, b, c) for a, b, c, d in quads] + [(a, c, d) for a, b, c, d in quads]
    return v, np.array(faces, np.int32)


def _axes(heading_rad: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World forward and left unit vectors of a body facing heading_rad (0 = -Y) and the (3, 3) matrix whose rows
    are the prop axes (u forwards, v left, z up) in world coordinates."""
    fwd = np.array([np.sin(heading_rad), -np.cos(heading_rad), 0.0])
    left = np.array([np.cos(heading_rad), np.sin(heading_rad), 0.0])
    return fwd, left, np.stack([fwd, left, np.array([0.0, 0.0, 1.0])])


def _hip_centre(joints_ego16: np.ndarray) -> np.ndarray:
    """(3,) world point on the floor under the mid-point of the hip joints, averaged over the clip."""
    hips = joints_ego16[:, [EGO16_JOINTS.index("left_thigh"), EGO16_JOINTS.index("right_thigh")]]
    centre = hips.mean(axis=(0, 1))
    centre[2] = 0.0
    return centre


def boxes_mesh(name: str, boxes: list, R: np.ndarray, centre: np.ndarray, surface: GroundSpec) -> SceneMesh:
    """One furniture mesh from boxes ((lo, hi) corners in prop axes, m) placed by rows-axes R at centre."""
    verts, faces = [], []
    for lo, hi in boxes:
        bv, bf = box(np.array(lo, np.float64), np.array(hi, np.float64))
        faces.append(bf + 8 * len(verts))
        verts.append(bv @ R + centre)
    return SceneMesh(name, np.concatenate(verts), np.concatenate(faces), material="furniture", surface=surface)


def wood_surface(rng: np.random.Generator) -> GroundSpec:
    """A furniture wood surface: dark and light tones from CHAIR_WOOD_RGB, grain scale, roughness."""
    dark = tuple(float(rng.uniform(lo, 0.5 * (lo + hi))) for lo, hi in CHAIR_WOOD_RGB)
    light = tuple(float(rng.uniform(0.5 * (lo + hi), hi)) for lo, hi in CHAIR_WOOD_RGB)
    return GroundSpec("wood", dark, light, float(round(rng.uniform(*CHAIR_WOOD_SCALE_M), 4)),
                      float(round(rng.uniform(0.4, 0.8), 3)))


def seated_props(vertices_world: np.ndarray, joints_ego16: np.ndarray, heading_rad: float,
                 rng: np.random.Generator) -> tuple[SceneMesh, ...]:
    """The chair a seated body rests on and, with probability TABLE_PROBABILITY, a table in front of it."""
    chair = chair_for(vertices_world, joints_ego16, heading_rad, rng)
    if rng.random() >= TABLE_PROBABILITY:
        return (chair,)
    return chair, table_for(vertices_world, joints_ego16, heading_rad, rng)


def table_for(vertices_world: np.ndarray, joints_ego16: np.ndarray, heading_rad: float,
              rng: np.random.Generator) -> SceneMesh:
    """A table in front of a seated body: top TABLE_ABOVE_KNEES_M above the highest knee joint of the clip, its
    near edge over the thighs (TABLE_EDGE_AHEAD_M in front of the hips), pushed further out where a body point
    (a thigh, a reaching hand) would come within TABLE_CLEARANCE_M of the board during the clip; legs at the far
    corners.

    vertices_world: (F, N, 3) world m; joints_ego16: (F, 16, 3) world m.
    """
    _, _, R = _axes(heading_rad)
    centre = _hip_centre(joints_ego16)
    rel = (np.asarray(vertices_world, np.float64) - centre).reshape(-1, 3) @ R.T  # (F*N, 3) prop axes
    knees = joints_ego16[:, [EGO16_JOINTS.index("left_calf"), EGO16_JOINTS.index("right_calf")], 2]
    top = float(knees.max()) + float(rng.uniform(*TABLE_ABOVE_KNEES_M))
    edge = float(rng.uniform(*TABLE_EDGE_AHEAD_M))
    half = 0.5 * TABLE_WIDTH_M
    c = TABLE_CLEARANCE_M
    in_board = (np.abs(rel[:, 1]) < half + c) & (rel[:, 2] > top - TABLE_BOARD_M - c) & (rel[:, 2] < top + c)
    clash = in_board & (rel[:, 0] > edge - c)
    if clash.any():
        edge = float(rel[clash, 0].max()) + c
    far = edge + TABLE_DEPTH_M
    boxes = [((edge, -half, top - TABLE_BOARD_M), (far, half, top))]
    lu = far - 1.5 * TABLE_LEG_M  # the legs stand at the far corners, set in a little
    for lv in (-half, half - TABLE_LEG_M):
        boxes.append(((lu, lv, 0.0), (lu + TABLE_LEG_M, lv + TABLE_LEG_M, top - TABLE_BOARD_M)))
    return boxes_mesh("table", boxes, R, centre, wood_surface(rng))


def chair_for(vertices_world: np.ndarray, joints_ego16: np.ndarray, heading_rad: float,
              rng: np.random.Generator) -> SceneMesh:
    """The chair a seated body rests on.

    vertices_world: (F, N, 3) posed body vertices, world m; joints_ego16: (F, 16, 3) world m; heading_rad: the
    direction the body faces (0 = -Y, the motion library's convention). Chair axes: u forwards, v to the body's
    left, z up, origin under the mid-point of the hip joints (averaged over the clip). The colour comes from rng.
    """
    fwd, left, R = _axes(heading_rad)
    hips = joints_ego16[:, [EGO16_JOINTS.index("left_thigh"), EGO16_JOINTS.index("right_thigh")]]
    centre = _hip_centre(joints_ego16)
    rel = np.asarray(vertices_world, np.float64) - centre
    u, v, z = rel @ fwd, rel @ left, rel[..., 2]
    hip_z = hips[..., 2].mean(axis=1)[:, None]  # (F, 1)
    half = 0.5 * CHAIR_SEAT_WIDTH_M
    across = np.abs(v) < half
    on_seat = across & (u > -CHAIR_SEAT_BACK_M) & (u < CHAIR_SEAT_FRONT_M) & (z < hip_z) & (
        z > hip_z - CHAIR_SEAT_BAND_M)
    if not on_seat.any():
        raise ValueError("chair_for: no thigh or buttock vertices above a seat (is the body seated?)")
    top = float(z[on_seat].min()) - CHAIR_CONTACT_GAP_M
    below = across & (z < top) & (u > 0.0)  # calves and feet in front of the hips, under the seat's height
    front = CHAIR_SEAT_FRONT_M
    if below.any():
        front = min(front, float(u[below].min()) - CHAIR_BODY_GAP_M)
    front = max(front, CHAIR_SEAT_FRONT_MIN_M)
    behind = across & (z > top) & (z < top + CHAIR_BACK_HEIGHT_M) & (u < 0.0)
    back = -CHAIR_SEAT_BACK_M if not behind.any() else min(-CHAIR_SEAT_BACK_M + CHAIR_BOARD_M,
                                                           float(u[behind].min()) - CHAIR_BODY_GAP_M)
    boxes = [
        ((back, -half, top - CHAIR_BOARD_M), (front, half, top)),  # seat board
        ((back - CHAIR_BOARD_M, -half, top), (back, half, top + CHAIR_BACK_HEIGHT_M)),  # backrest
    ]
    for lu in (back - CHAIR_BOARD_M, front - CHAIR_LEG_M):
        for lv in (-half, half - CHAIR_LEG_M):
            boxes.append(((lu, lv, 0.0), (lu + CHAIR_LEG_M, lv + CHAIR_LEG_M, top - CHAIR_BOARD_M)))
    return boxes_mesh("chair", boxes, R, centre, wood_surface(rng))
