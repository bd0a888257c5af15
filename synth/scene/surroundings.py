"""Surroundings: a room around the body and clutter on the floor near it, fitted to the whole clip.

Everything is placed from what the clip occupies over all its frames (the posed body's vertices, the cameras'
centres and the props its motion needs), so nothing passes through the body or the furniture at any frame:

- clutter (boxes, crates, stools) stands on the floor in a random direction from the body, pushed out until the
  nearest body point that could reach it (lower than its top plus the gap) keeps a sampled gap from it;
- indoors, four walls stand a sampled clearance beyond the footprint of all of that (one clearance per wall),
  shelves stand against walls that leave room for them, and the ground is repainted as an indoor floor;
- most rooms are closed by a ceiling above everything the clip reaches, with glowing lamp panels under it: a closed
  room is lit by its lamps alone (the sun and the sky or HDRI are turned to 0, since no light could enter); the
  others stay open to the sky.

Walls are axis-aligned in the world (the body's heading is random, so their angle to the body is too); wall
surfaces are laid out on (x + y, z) (synth/blender/materials.py). All are ordinary scene occluders (OCC_SCENE): the
labels ray-cast them and Cycles renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from synth.appearance.model import INDOOR_FLOORS, WALL_SURFACES, GroundSpec
from synth.appearance.sampling import blackbody_rgb, sample_surface, srgb8_to_linear
from synth.scene.props import boxes_mesh, wood_surface
from synth.scene.spec import EnvironmentSpec, SceneMesh

#: Wall thickness, m.
WALL_THICKNESS_M = 0.12
#: Shelves: depth, width and height ranges (m), board thickness (m), spacing of the shelf boards (m), and the free
#: floor they leave between them and the footprint at least (m).
SHELF_DEPTH_M = (0.28, 0.4)
SHELF_WIDTH_M = (0.6, 1.6)
SHELF_HEIGHT_M = (0.8, 2.0)
SHELF_BOARD_M = 0.02
SHELF_SPACING_M = (0.28, 0.4)
SHELF_FLOOR_GAP_M = 0.15
#: Shelves keep this far (m) from the room's corners, clear of the neighbouring wall's shelves.
SHELF_CORNER_M = SHELF_DEPTH_M[1] + 0.05
#: Clutter kinds and their probabilities; sizes (width, depth, height ranges, m); board and leg thickness (m).
CLUTTER_KINDS = ("box", "crate", "stool")
CLUTTER_PROBS = (0.45, 0.3, 0.25)
CLUTTER_SIZE_M = {"box": ((0.25, 0.7), (0.25, 0.6), (0.2, 0.7)),
                  "crate": ((0.3, 0.55), (0.3, 0.45), (0.22, 0.35)),
                  "stool": ((0.28, 0.4), (0.28, 0.4), (0.4, 0.7))}
CRATE_BOARD_M = 0.015
STOOL_LEG_M = 0.03
STOOL_SEAT_M = 0.03
#: Clutter placement: step of the outward search (m) and how far it goes at most (m).
CLUTTER_STEP_M = 0.04
CLUTTER_MAX_REACH_M = 12.0
#: Ceiling: slab thickness (m), free height it keeps above the highest point the clip reaches (m, so lamps hang
#: clear of raised hands), and its paint (sRGB 8-bit grey range, per-channel tint).
CEILING_THICKNESS_M = 0.12
CEILING_HEADROOM_M = 0.35
CEILING_GREY_SRGB8 = (200.0, 245.0)
CEILING_TINT = 0.04
#: Lamp panels: side lengths (m), thickness (m), gap to the walls (m) and to each other (m), placement attempts.
LAMP_SIDE_M = (0.25, 0.7)
LAMP_THICKNESS_M = 0.04
LAMP_WALL_GAP_M = 0.3
LAMP_GAP_M = 0.3
LAMP_TRIES = 20


@dataclass(frozen=True)
class Surroundings:
    """What a clip gets around it: scene meshes (clutter, shelves, walls, ceiling and lamp panels), the floor that
    replaces the outdoor ground indoors (None outdoors), the setting ("indoor" or "outdoor") and whether a ceiling
    closes the room (then the lamps are its only light)."""

    meshes: tuple[SceneMesh, ...]
    floor: GroundSpec | None
    setting: str
    closed: bool = False

    def environment(self, look: Any, props: tuple[SceneMesh, ...] = ()) -> EnvironmentSpec:
        """The clip's environment with these surroundings: `look` (synth.appearance.model.Environment) with the
        indoor floor as its ground, and in a closed room with sun, sky and HDRI at strength 0 (no light could enter:
        the look records what lights the render; a drawn HDRI keeps its path); then the motion's props and the
        surroundings' meshes."""
        if self.floor is not None:
            look = replace(look, ground=self.floor)
        if self.closed:
            look = replace(look, sun=replace(look.sun, strength=0.0), sky=replace(look.sky, strength=0.0),
                           hdri_strength=0.0)
        return EnvironmentSpec(look=look, occluders=(*props, *self.meshes), setting=self.setting)


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(*lo_hi))


def _clutter_boxes(kind: str, w: float, d: float, h: float) -> list[tuple[tuple, tuple]]:
    """Boxes ((lo, hi) corners, m) of one piece of clutter centred on its local origin, standing on z = 0."""
    hw, hd = 0.5 * w, 0.5 * d
    if kind == "box":
        return [((-hw, -hd, 0.0), (hw, hd, h))]
    if kind == "crate":  # open at the top
        t = CRATE_BOARD_M
        return [((-hw, -hd, 0.0), (hw, hd, t)), ((-hw, -hd, t), (hw, -hd + t, h)), ((-hw, hd - t, t), (hw, hd, h)),
                ((-hw, -hd + t, t), (-hw + t, hd - t, h)), ((hw - t, -hd + t, t), (hw, hd - t, h))]
    t, s = STOOL_LEG_M, STOOL_SEAT_M
    out = [((-hw, -hd, h - s), (hw, hd, h))]
    for x in (-hw, hw - t):
        for y in (-hd, hd - t):
            out.append(((x, y, 0.0), (x + t, y + t, h - s)))
    return out


def _yaw_axes(yaw_rad: float) -> np.ndarray:
    """(3, 3) rows: local x, y, z axes of a piece turned yaw_rad about the vertical, in world coordinates."""
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def _aabb_2d(vertices: np.ndarray) -> np.ndarray:
    """(2, 2) [[x_min, y_min], [x_max, y_max]] of (N, 3) vertices."""
    return np.stack([vertices[:, :2].min(axis=0), vertices[:, :2].max(axis=0)])


def _overlaps(a: np.ndarray, b: np.ndarray, gap: float) -> bool:
    """Whether 2D boxes a and b ((2, 2) as _aabb_2d) come closer than gap."""
    return bool(np.all(a[0] - gap < b[1]) and np.all(b[0] - gap < a[1]))


def place_clutter(rng: np.random.Generator, body_points: np.ndarray, centre: np.ndarray,
                  taken: list[np.ndarray], gap_m: tuple[float, float], name: str) -> SceneMesh | None:
    """One piece of clutter on the floor, in a random direction from `centre`, as close as it may stand.

    body_points: (P, 3) world m, every point the body reaches during the clip. centre: (2,) world m. taken: 2D
    boxes (as _aabb_2d) of the furniture and clutter already placed (appended to). The piece moves outwards in
    CLUTTER_STEP_M steps until no body point lower than its top plus the gap lies within the gap of its footprint,
    and its box keeps the gap from everything taken. None if nothing is clear within CLUTTER_MAX_REACH_M.
    """
    kind = CLUTTER_KINDS[int(rng.choice(len(CLUTTER_KINDS), p=CLUTTER_PROBS))]
    w, d, h = (_uniform(rng, r) for r in CLUTTER_SIZE_M[kind])
    gap = _uniform(rng, gap_m)
    yaw = float(rng.uniform(0.0, np.pi))
    heading = float(rng.uniform(0.0, 2.0 * np.pi))
    R = _yaw_axes(yaw)
    direction = np.array([np.cos(heading), np.sin(heading)])
    near = body_points[body_points[:, 2] < h + gap, :2]
    hw, hd = 0.5 * w + gap, 0.5 * d + gap
    for r in np.arange(0.0, CLUTTER_MAX_REACH_M, CLUTTER_STEP_M):
        at = centre + r * direction
        local = (near - at) @ R[:2, :2].T  # (P, 2) in the piece's axes
        if np.any((np.abs(local[:, 0]) < hw) & (np.abs(local[:, 1]) < hd)):
            continue
        mesh = boxes_mesh(name, _clutter_boxes(kind, w, d, h), R, np.array([at[0], at[1], 0.0]),
                          wood_surface(rng) if kind != "box" else _cardboard(rng))
        footprint = _aabb_2d(mesh.vertices)
        if any(_overlaps(footprint, other, gap) for other in taken):
            continue
        taken.append(footprint)
        return mesh
    return None


def _cardboard(rng: np.random.Generator) -> GroundSpec:
    """A box's surface: cardboard brown or a painted colour."""
    if rng.random() < 0.5:
        a = (float(rng.uniform(0.25, 0.45)), float(rng.uniform(0.14, 0.26)), float(rng.uniform(0.05, 0.11)))
        return GroundSpec("paint", a, tuple(0.9 * c for c in a), 0.3, 0.9)
    return sample_surface(rng, "paint")


def _shelf(rng: np.random.Generator, along: np.ndarray, into: np.ndarray, wall_point: np.ndarray,
           wall_length: float, name: str) -> SceneMesh:
    """A shelf unit standing against a wall. along, into: (3,) world unit vectors along the wall and into the room;
    wall_point: (3,) world point where the wall's inner face meets the floor at one end of the wall, m."""
    depth, height = _uniform(rng, SHELF_DEPTH_M), _uniform(rng, SHELF_HEIGHT_M)
    margin = SHELF_CORNER_M  # clear of the shelves a neighbouring wall may have
    width = min(_uniform(rng, SHELF_WIDTH_M), wall_length - 2.0 * margin)
    start = float(rng.uniform(margin, max(margin, wall_length - width - margin)))
    t = SHELF_BOARD_M
    boxes = [((0.0, 0.0, 0.0), (t, depth, height)), ((width - t, 0.0, 0.0), (width, depth, height)),
             ((t, 0.0, 0.0), (width - t, t, height))]  # sides and back
    spacing = _uniform(rng, SHELF_SPACING_M)
    for z in np.arange(0.05, height - t + 1e-9, spacing).tolist() + [height - t]:
        boxes.append(((t, t, z), (width - t, depth, z + t)))
    R = np.stack([along, into, np.array([0.0, 0.0, 1.0])])
    return boxes_mesh(name, boxes, R, wall_point + start * along, wood_surface(rng))


def room_walls(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, clearance_m: tuple[float, float],
               height_m: tuple[float, float], shelf_probability: float, min_height_m: float = 0.0) -> list[SceneMesh]:
    """Walls a sampled clearance beyond the 2D box [lo, hi] (world m, (2,) each), one clearance per wall, at least
    min_height_m high, and shelves against the walls that leave SHELF_FLOOR_GAP_M of floor in front of them:
    [shelves..., walls]."""
    c = rng.uniform(*clearance_m, size=4)  # west (-x), east (+x), south (-y), north (+y)
    x0, x1, y0, y1 = lo[0] - c[0], hi[0] + c[1], lo[1] - c[2], hi[1] + c[3]
    h, t = max(_uniform(rng, height_m), min_height_m), WALL_THICKNESS_M
    walls = [((x0 - t, y0 - t, 0.0), (x0, y1 + t, h)), ((x1, y0 - t, 0.0), (x1 + t, y1 + t, h)),
             ((x0, y0 - t, 0.0), (x1, y0, h)), ((x0, y1, 0.0), (x1, y1 + t, h))]
    surface = sample_surface(rng, str(rng.choice(WALL_SURFACES)))
    out = []
    ex, ey, z = np.eye(3)
    # (along, into, wall_point at the floor, wall length) of each wall's inner face.
    faces_in = [(ey, ex, np.array([x0, y0, 0.0]), y1 - y0), (-ey, -ex, np.array([x1, y1, 0.0]), y1 - y0),
                (-ex, ey, np.array([x1, y0, 0.0]), x1 - x0), (ex, -ey, np.array([x0, y1, 0.0]), x1 - x0)]
    for i, (along, into, point, length) in enumerate(faces_in):
        if c[i] < SHELF_DEPTH_M[1] + SHELF_FLOOR_GAP_M or length < SHELF_WIDTH_M[0] + 2.0 * SHELF_CORNER_M:
            continue
        if rng.random() < shelf_probability:
            out.append(_shelf(rng, along, into, point, float(length), f"shelf_{len(out)}"))
    out.append(boxes_mesh("walls", walls, np.eye(3), np.zeros(3), surface))
    return out


def ceiling_and_lamps(rng: np.random.Generator, x: tuple[float, float], y: tuple[float, float], height_m: float,
                      lamps: tuple[int, int], flux_density: tuple[float, float],
                      temperature_k: tuple[float, float]) -> list[SceneMesh]:
    """A ceiling slab over the room's inner box x = (x0, x1), y = (y0, y1) (world m, reaching over the walls) with
    its underside at height_m, and lamp panels hanging under it: boxes LAMP_SIDE_M on a side, at least
    LAMP_WALL_GAP_M from the walls and LAMP_GAP_M apart, glowing in one black body's colour at a temperature drawn
    from `temperature_k`. Their emission strength times their glowing (lower) area, summed, is a density drawn
    from `flux_density` times the floor area, so a room is as bright whatever its size and lamp count.
    [ceiling, lamps...] (no lamp when none fits)."""
    t = WALL_THICKNESS_M
    grey = rng.uniform(*CEILING_GREY_SRGB8) * rng.uniform(1.0 - CEILING_TINT, 1.0 + CEILING_TINT, 3)
    a = tuple(float(round(c, 4)) for c in srgb8_to_linear(grey))
    paint = GroundSpec("paint", a, tuple(float(round(0.95 * c, 4)) for c in a),
                       float(round(rng.uniform(0.2, 1.0), 3)), float(round(rng.uniform(0.7, 0.95), 3)))
    ceiling = boxes_mesh("ceiling", [((x[0] - t, y[0] - t, height_m),
                                      (x[1] + t, y[1] + t, height_m + CEILING_THICKNESS_M))],
                         np.eye(3), np.zeros(3), paint)
    n = int(rng.integers(lamps[0], lamps[1] + 1))
    rgb = tuple(float(round(v, 4)) for v in blackbody_rgb(float(rng.uniform(*temperature_k))))
    density = float(rng.uniform(*flux_density))
    placed: list[np.ndarray] = []
    for _ in range(n):
        side = rng.uniform(*LAMP_SIDE_M, size=2)
        lo_c = np.array([x[0], y[0]]) + LAMP_WALL_GAP_M + side / 2
        hi_c = np.array([x[1], y[1]]) - LAMP_WALL_GAP_M - side / 2
        if np.any(hi_c < lo_c):
            continue
        for _ in range(LAMP_TRIES):
            c = rng.uniform(lo_c, hi_c)
            box2d = np.stack([c - side / 2, c + side / 2])
            if not any(_overlaps(box2d, other, LAMP_GAP_M) for other in placed):
                placed.append(box2d)
                break
    if not placed:
        return [ceiling]
    glow_area = sum(float(np.prod(b[1] - b[0])) for b in placed)
    strength = float(round(density * (x[1] - x[0]) * (y[1] - y[0]) / glow_area, 3))
    out = [ceiling]
    for i, b in enumerate(placed):
        panel = boxes_mesh(f"lamp_{i}", [((*b[0], height_m - LAMP_THICKNESS_M), (*b[1], height_m))],
                           np.eye(3), np.zeros(3), GroundSpec("paint", rgb, rgb, 1.0, 1.0))
        out.append(replace(panel, material="lamp", emission_strength=strength))
    return out


def body_points(vertices_world: np.ndarray, camera_centres_world: np.ndarray | None = None) -> np.ndarray:
    """(P, 3) world m: every posed vertex of every frame ((F, N, 3)) and the camera centres ((F, V, 3) or None)."""
    pts = np.asarray(vertices_world, np.float64).reshape(-1, 3)
    if camera_centres_world is not None:
        pts = np.concatenate([pts, np.asarray(camera_centres_world, np.float64).reshape(-1, 3)])
    return pts


def sample_surroundings(rng: np.random.Generator, cfg: Any, points: np.ndarray,
                        props: tuple[SceneMesh, ...] = ()) -> Surroundings:
    """The clip's clutter and, with probability cfg.indoor_probability, its room (cfg: SurroundingsConfig).

    points: (P, 3) world m, every point the body and its cameras reach during the clip (body_points). props: the
    furniture the motion needs (chair, table), which the clutter keeps clear of and the room encloses.
    """
    indoor = bool(rng.random() < cfg.indoor_probability)
    n_clutter = int(rng.integers(cfg.clutter[0], cfg.clutter[1] + 1))
    centre = 0.5 * (points[:, :2].min(axis=0) + points[:, :2].max(axis=0))
    taken = [_aabb_2d(p.vertices) for p in props]
    clutter = []
    for i in range(n_clutter):
        piece = place_clutter(rng, points, centre, taken, cfg.clutter_gap_m, f"clutter_{i}")
        if piece is not None:
            clutter.append(piece)
    if not indoor:
        return Surroundings(tuple(clutter), None, "outdoor")
    occupied = np.concatenate([points] + [m.vertices for m in (*props, *clutter)])
    closed = bool(rng.random() < cfg.ceiling_probability)
    # A ceiling keeps CEILING_HEADROOM_M above everything the clip reaches (its lamps included).
    lowest = float(occupied[:, 2].max()) + CEILING_HEADROOM_M + LAMP_THICKNESS_M if closed else 0.0
    walls = room_walls(rng, occupied[:, :2].min(axis=0), occupied[:, :2].max(axis=0), cfg.wall_clearance_m,
                       cfg.wall_height_m, cfg.shelf_probability, min_height_m=lowest)
    floor = sample_surface(rng, str(rng.choice(INDOOR_FLOORS)))
    if not closed:
        return Surroundings((*clutter, *walls), floor, "indoor")
    inner = walls[-1].vertices  # the walls' boxes: their inner faces bound the room
    x = (float(inner[:, 0].min()) + WALL_THICKNESS_M, float(inner[:, 0].max()) - WALL_THICKNESS_M)
    y = (float(inner[:, 1].min()) + WALL_THICKNESS_M, float(inner[:, 1].max()) - WALL_THICKNESS_M)
    overhead = ceiling_and_lamps(rng, x, y, float(inner[:, 2].max()), cfg.lamps, cfg.lamp_flux_density,
                                 cfg.lamp_temperature_k)
    if len(overhead) == 1:  # no lamp fits: a closed room would be black, so it stays open
        return Surroundings((*clutter, *walls), floor, "indoor")
    return Surroundings((*clutter, *walls, *overhead), floor, "indoor", closed=True)
