"""Strand hair grown on the scalp: sampled styles from a buzz cut to long hair, a ponytail or a bun.

One geometry serves both consumers, so the labels' hair occluder is exactly what is rendered: Cycles draws the
strands as a Curves object (synth/blender/hair.py, Principled Hair BSDF, melanin colours) and the label ray caster
hits a triangular prism around every strand segment (`Hair.label_mesh`, occluder code OCC_HAIR).

Frame: the head frame of synth.bodies.base.PosedBody (origin at the EGO16 head joint; x = wearer's right, y =
backward, z = down with the head upright). The head is rigid, so hair grown there follows T_world_from_head (F, 4, 4).
The hair is grown once per clip with the head upright (gravity = +z): that is its rest shape. Long hair then moves
through the clip (synth/appearance/hair_dynamics.py: `Hair.motion`, `Hair.points_at(frame)`); short hair and buns
stay rigid with the head.

Growth, per strand (vectorised over strands): a root sampled uniformly by area on the scalp triangles, a first
direction that sweeps back and away from a centre parting, bent towards gravity at every step; every point is kept
`layer` metres outside the body (nearest-vertex normal test, `layer` drawn per strand up to the style's volume). A
ponytail or a bun
first gathers the strands at a point on the back of the head, then hangs as a bundle or wraps a sphere. Clumping
pulls strands towards their clump's guide, curls add a helix around the centre line, frizz adds noise growing to
the tips. Units: metres.

The growth and the motion know nothing of the headset, so one grown (and moved) hair serves every rig a clip is worn
with. The rig's cameras hold the hair off their lenses: `Hair.keep_out_head_m` names the camera centres, and every
point but the roots is pushed out of a CAMERA_KEEP_OUT_M sphere around each where the strands are read
(`Hair.points_at`), as the headset's housing would push them aside.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from synth.constants import HAIR_STYLES, NO_HAIR

#: Sampled styles and each one's hair length range, m (a ponytail's and a bun's length includes the gathered part).
STYLE_LENGTH_M: dict[str, tuple[float, float]] = {
    "buzz": (0.004, 0.012),
    "short": (0.03, 0.08),
    "bob": (0.10, 0.18),
    "long": (0.25, 0.50),
    "ponytail": (0.20, 0.40),
    "bun": (0.15, 0.30),
}
assert tuple(STYLE_LENGTH_M) == HAIR_STYLES
#: Styles whose gathered strands leave the scalp at one point on the back of the head.
GATHERED_STYLES = ("ponytail", "bun")
#: Longest segment of a strand, m, and the most points per strand (curly hair uses shorter segments).
MAX_SEGMENT_M = 0.02
MAX_POINTS = 48
#: Points per curl period (a helix needs at least this many to stay round).
POINTS_PER_CURL = 6
#: Bend towards gravity per metre of strand (a unit-direction increment per metre), ramping in over the first
#: GRAVITY_ONSET_M of the strand (near the root a strand follows its sweep over the scalp, so a fringe is swept back
#: instead of hanging over the face).
GRAVITY_BEND_PER_M = 12.0
GRAVITY_ONSET_M = 0.08
#: Sideways and backward sweep of the first direction away from a centre parting (relative weights), and the
#: upward sweep per unit forward-facing normal (roots at the hairline go up and over the head, not over the face).
SWEEP_SIDE, SWEEP_BACK, SWEEP_DOWN = 0.6, 1.0, 0.3
SWEEP_FRONT_UP = 1.0
#: Least gap between a strand point and the skin, m.
MIN_LAYER_M = 0.001
#: Radius of the keep-out sphere around each camera centre, m.
CAMERA_KEEP_OUT_M = 0.04
#: Radius of the bundle a ponytail hangs in at its gathering point and at its tip, m.
PONYTAIL_RADIUS_M = (0.012, 0.035)
#: Backward lean of a ponytail leaving its gathering point, per unit downward.
PONYTAIL_BACK = 0.3
#: Radius range of a bun, m.
BUN_RADIUS_M = (0.03, 0.045)
#: Curls start this far from the root (the helix radius ramps up over it), m.
CURL_RAMP_M = 0.03
#: Cycles' melanin absorption coefficients (per unit melanin) of eumelanin and pheomelanin, linear RGB
#: (intern/cycles/kernel/svm/closure.h, principled hair), and the path length through a strand used to turn the
#: absorption into an approximate albedo for the scalp paint under the hair.
EUMELANIN_SIGMA = (0.506, 0.841, 1.653)
PHEOMELANIN_SIGMA = (0.343, 0.733, 1.924)
SCALP_PATH_LENGTH = 1.5
#: Circumradius of a label prism per strand radius: a triangle with circumradius 1.21 r has the mean projected
#: width (perimeter / pi) of a circle of radius r, so a ray hits it as often as the rendered round strand.
PRISM_CIRCUMRADIUS_PER_RADIUS = 2.0 * math.pi / (3.0 * math.sqrt(3.0))


@dataclass(frozen=True)
class HairStyle:
    """One clip's sampled hair (clip.json "hair"). Lengths and radii in metres.

    style: one of HAIR_STYLES. num_strands: strands grown. root_radius_m, tip_radius_m: strand radius at root and tip.
    volume_m: the most a strand stands off the scalp. clumps: clump count; clumping: 0..1 pull of a strand's tip
    towards its clump guide. curl_radius_m (0: straight), curl_period_m: helix radius and length per turn.
    frizz_m: random displacement at the tips. melanin, melanin_redness, roughness: Principled Hair BSDF inputs (0..1).
    seed: the growth's own random seed.
    """

    style: str
    length_m: float
    num_strands: int
    root_radius_m: float
    tip_radius_m: float
    volume_m: float
    clumps: int
    clumping: float
    curl_radius_m: float
    curl_period_m: float
    frizz_m: float
    melanin: float
    melanin_redness: float
    roughness: float
    seed: int

    def __post_init__(self) -> None:
        if self.style not in HAIR_STYLES:
            raise ValueError(f"hair style {self.style!r} is not one of {HAIR_STYLES}")

    def to_json(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    def albedo_rgb(self) -> tuple[float, float, float]:
        """Approximate linear-RGB albedo of this hair colour (paints the scalp under the strands)."""
        amount = -math.log(max(1.0 - self.melanin, 1e-4))
        eu, pheo = amount * (1.0 - self.melanin_redness), amount * self.melanin_redness
        sigma = eu * np.asarray(EUMELANIN_SIGMA) + pheo * np.asarray(PHEOMELANIN_SIGMA)
        return tuple(float(x) for x in np.exp(-SCALP_PATH_LENGTH * sigma))


@dataclass(frozen=True)
class Hair:
    """Grown strands in the head frame.

    style: the HairStyle they were grown from. points_head_m: (S, P, 3) float32 strand points, head frame, m
    (root first): the rest shape as grown, free of any headset. radius_m: (S, P) float32 strand radius at each
    point, m. motion: how the strands move through the clip (synth.appearance.hair_dynamics.HairMotion), or None:
    rigid with the head. keep_out_head_m: (C, 3) float64 camera centres in the head frame, m, of the rig the hair is
    worn with: `points_at` pushes every point but the roots out of a CAMERA_KEEP_OUT_M sphere around each.
    """

    style: HairStyle
    points_head_m: np.ndarray
    radius_m: np.ndarray
    motion: Any = None
    keep_out_head_m: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))

    def worn_with_cameras(self, camera_centres_head_m: np.ndarray) -> "Hair":
        """The same strands held off the cameras at `camera_centres_head_m` (C, 3) head frame m (another rig)."""
        return replace(self, keep_out_head_m=np.asarray(camera_centres_head_m, dtype=np.float64).reshape(-1, 3))

    def _kept_out(self, points: np.ndarray) -> np.ndarray:
        """points (S, P, 3) with every point but the roots out of the keep-out spheres (float32, a new array)."""
        out = np.array(points, dtype=np.float64)
        if len(self.keep_out_head_m):
            out[:, 1:] = keep_out(out[:, 1:].reshape(-1, 3), self.keep_out_head_m).reshape(len(out), -1, 3)
        return out.astype(np.float32)

    @cached_property
    def _rest_worn(self) -> np.ndarray:
        return self._kept_out(self.points_head_m)

    @property
    def num_strands(self) -> int:
        return int(self.points_head_m.shape[0])

    @property
    def moves(self) -> bool:
        """Whether the strands change shape in the head frame during the clip."""
        return self.motion is not None

    def points_at(self, frame: int | None = None) -> np.ndarray:
        """(S, P, 3) float32 strand points at `frame`, head frame, m (None or a rigid hair: the rest shape), held off
        the cameras."""
        if frame is None or self.motion is None:
            return self._rest_worn
        return self._kept_out(self.motion.strand_points(self.points_head_m, frame))

    def label_mesh(self, frame: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The label ray caster's proxy at `frame` (None: the rest shape): a triangular prism around every segment,
        circumradius PRISM_CIRCUMRADIUS_PER_RADIUS x the strand radius. Returns (vertices (S * P * 3, 3) float32
        head frame m, faces (S * (P - 1) * 6, 3) int32)."""
        return self.label_vertices(frame), self.label_faces()

    def label_vertices(self, frame: int | None = None) -> np.ndarray:
        """(S * P * 3, 3) float32 the prisms' vertices at `frame` (None: the rest shape), head frame, m."""
        pts = self.points_at(frame).astype(np.float64)
        u, v = _normal_frames(pts)  # (S, P, 3) each
        angles = 2.0 * np.pi * np.arange(3) / 3.0
        ring = np.cos(angles)[:, None] * u[:, :, None] + np.sin(angles)[:, None] * v[:, :, None]  # (S, P, 3, 3)
        radius = PRISM_CIRCUMRADIUS_PER_RADIUS * self.radius_m.astype(np.float64)
        verts = pts[:, :, None] + radius[:, :, None, None] * ring
        return verts.reshape(-1, 3).astype(np.float32)

    def label_faces(self) -> np.ndarray:
        """(S * (P - 1) * 6, 3) int32 the prisms' triangles, indices into label_vertices."""
        num_strands, num_points = self.points_head_m.shape[:2]
        k, i = np.meshgrid(np.arange(num_points - 1), np.arange(3), indexing="ij")
        a = k * 3 + i
        b = k * 3 + (i + 1) % 3
        quads = np.stack([np.stack([a, b, b + 3], -1), np.stack([a, b + 3, a + 3], -1)], axis=-2).reshape(-1, 3)
        per_strand = num_points * 3
        faces = quads[None] + (np.arange(num_strands) * per_strand)[:, None, None]
        return faces.reshape(-1, 3).astype(np.int32)


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _tangents(pts: np.ndarray) -> np.ndarray:
    """(S, P, 3) unit tangents of polylines (S, P, 3) (central differences inside, one-sided at the ends)."""
    return _normalize(np.gradient(pts, axis=1))


def _normal_frames(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors (S, P, 3) orthogonal to each polyline's tangent and to each other (a fixed helper axis, or
    a second one where the tangent is nearly parallel to it)."""
    t = _tangents(pts)
    helper = np.broadcast_to(np.array([1.0, 0.0, 0.0]), t.shape).copy()
    parallel = np.abs(t[..., 0]) > 0.9
    helper[parallel] = (0.0, 1.0, 0.0)
    u = _normalize(np.cross(t, helper))
    return u, np.cross(t, u)


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals of a triangle mesh (V, 3), (T, 3)."""
    tri = vertices[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_n)
    return _normalize(normals)


class _Collider:
    """Keeps points outside the body (nearest vertex and its normal)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray):
        from scipy.spatial import cKDTree

        self.vertices = vertices
        self.normals = _vertex_normals(vertices, faces)
        self.tree = cKDTree(vertices)

    def push(self, p: np.ndarray, layer: np.ndarray) -> np.ndarray:
        """p (N, 3) moved out to at least `layer` (N,) m outside the skin."""
        _, idx = self.tree.query(p)
        n = self.normals[idx]
        depth = np.einsum("ij,ij->i", p - self.vertices[idx], n)
        return p + np.maximum(layer - depth, 0.0)[:, None] * n


def keep_out(p: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """p (N, 3) with every point inside a keep-out sphere (radius CAMERA_KEEP_OUT_M around each of centres (C, 3),
    same frame, m) moved out to its surface, in place; returns p."""
    for centre in centres:
        offset = p - centre
        inside = np.linalg.norm(offset, axis=-1) < CAMERA_KEEP_OUT_M
        p[inside] = centre + _normalize(offset[inside]) * CAMERA_KEEP_OUT_M
    return p


def _sample_roots(rng, vertices: np.ndarray, faces: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` points uniform by area on the triangles, with their face normals: ((N, 3), (N, 3))."""
    tri = vertices[faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = 0.5 * np.linalg.norm(cross, axis=-1)
    pick = rng.choice(len(faces), size=count, p=area / area.sum())
    r1, r2 = rng.random(count), rng.random(count)
    s = np.sqrt(r1)
    bary = np.stack([1.0 - s, s * (1.0 - r2), s * r2], -1)
    points = np.einsum("nk,nkd->nd", bary, tri[pick])
    return points, _normalize(cross[pick])


def grow_hair(style: HairStyle, body_vertices_head_m: np.ndarray, body_faces: np.ndarray,
              scalp_faces: np.ndarray) -> Hair:
    """Grow `style` on a body (module docstring), free of any headset (Hair.worn_with_cameras holds it off a rig's
    cameras).

    body_vertices_head_m: (V, 3) float, the posed body in the head frame, m (the collision surface).
    body_faces: (T, 3) int. scalp_faces: (Ts,) int indices into body_faces of the scalp triangles (roots).
    """
    verts = np.asarray(body_vertices_head_m, dtype=np.float64)
    faces = np.asarray(body_faces, dtype=np.int64)
    scalp = faces[np.asarray(scalp_faces, dtype=np.int64)]
    if len(scalp) == 0:
        raise ValueError("the body has no scalp triangles to grow hair on")
    rng = np.random.default_rng(style.seed)
    scalp_vertices = verts[np.unique(scalp)]
    centre = scalp_vertices.mean(axis=0)
    roots, normals = _sample_roots(rng, verts, scalp, style.num_strands)
    outward = np.einsum("ij,ij->i", normals, roots - centre) < 0.0
    normals[outward] *= -1.0  # face normals point away from the skull
    collider = _Collider(verts, faces)
    layer = MIN_LAYER_M + rng.random(style.num_strands) * max(style.volume_m - MIN_LAYER_M, 0.0)
    segment = MAX_SEGMENT_M if style.curl_radius_m <= 0.0 else min(MAX_SEGMENT_M, style.curl_period_m / POINTS_PER_CURL)
    num_points = int(np.clip(math.ceil(style.length_m / segment) + 1, 3, MAX_POINTS))
    lengths = style.length_m * rng.uniform(0.85, 1.0, style.num_strands)
    if style.style in GATHERED_STYLES:
        pts = _gathered(rng, style, roots, normals, centre, scalp_vertices, lengths, num_points, layer, collider)
    else:
        pts = _falling(roots, normals, lengths, num_points, layer, collider)
    pts = _clump(rng, style, pts)
    pts = _curl_and_frizz(rng, style, pts)
    for k in range(1, num_points):
        pts[:, k] = collider.push(pts[:, k], layer)
    t = np.linspace(0.0, 1.0, num_points)
    radius = style.root_radius_m + (style.tip_radius_m - style.root_radius_m) * t
    return Hair(style, pts.astype(np.float32), np.broadcast_to(radius, pts.shape[:2]).astype(np.float32).copy())


def _first_direction(roots: np.ndarray, normals: np.ndarray, lift: float) -> np.ndarray:
    """Sweep back, away from a centre parting and a little down (up where the scalp faces forward), in the scalp's
    tangent plane, lifted by `lift`."""
    side = np.sign(roots[:, 0])[:, None] * np.array([1.0, 0.0, 0.0])
    up = np.maximum(-normals[:, 1], 0.0)[:, None] * np.array([0.0, 0.0, -SWEEP_FRONT_UP])
    flow = SWEEP_SIDE * side + np.array([0.0, SWEEP_BACK, SWEEP_DOWN]) + up
    tangent = flow - np.einsum("ij,ij->i", flow, normals)[:, None] * normals
    return _normalize(tangent + lift * normals)


def _falling(roots, normals, lengths, num_points, layer, collider) -> np.ndarray:
    """Strands that leave the scalp sweeping back and bend down under gravity: (S, P, 3)."""
    gravity = np.array([0.0, 0.0, 1.0])
    step = lengths / (num_points - 1)
    pts = np.empty((len(roots), num_points, 3))
    pts[:, 0] = roots
    direction = _first_direction(roots, normals, lift=0.3)
    for k in range(1, num_points):
        onset = np.clip(k * step / GRAVITY_ONSET_M, 0.0, 1.0)
        direction = _normalize(direction + (GRAVITY_BEND_PER_M * step * onset)[:, None] * gravity)
        p = collider.push(pts[:, k - 1] + step[:, None] * direction, layer)
        direction = _normalize(p - pts[:, k - 1])
        pts[:, k] = p
    return pts


def gathered_points(num_points: int) -> int:
    """Points of a gathered strand (ponytail, bun) over the scalp before its gathering point: the strand's point
    with this index lies at the gathering point (the hair tie)."""
    return max(2, num_points // 3)


def _gathered(rng, style, roots, normals, centre, scalp_vertices, lengths, num_points, layer, collider):
    """Ponytail or bun: strands run over the scalp to a gathering point on the back of the head, then hang in a
    bundle (ponytail) or wrap a sphere (bun). (S, P, 3)."""
    height = rng.uniform(-0.04, 0.02) if style.style == "ponytail" else rng.uniform(-0.08, -0.04)
    # Gathering point: the scalp point furthest back at the drawn height above the scalp centre (z is down).
    near = np.abs(scalp_vertices[:, 2] - (centre[2] + height)) < 0.015
    candidates = scalp_vertices[near] if near.any() else scalp_vertices
    gather = candidates[np.argmax(candidates[:, 1])].copy()
    back = _normalize(gather - centre)
    gather = gather + back * (style.volume_m + 0.005)
    num_over = gathered_points(num_points)
    num_tail = num_points - num_over
    # Over the scalp: straight to the gathering point, pushed out onto the hair layer.
    t = np.linspace(0.0, 1.0, num_over + 1)[1:]
    pts = np.empty((len(roots), num_points, 3))
    pts[:, 0] = roots
    for k, tk in enumerate(t[:-1], start=1):
        pts[:, k] = collider.push((1.0 - tk) * roots + tk * gather + tk * (1 - tk) * 0.04 * normals, layer)
    over_length = np.linalg.norm(gather - roots, axis=-1)
    tail_length = np.maximum(lengths - over_length, 0.02)
    s = np.linspace(0.0, 1.0, num_tail)  # along the gathered part, 0 at the gathering point
    disk = rng.normal(size=(len(roots), 3))
    if style.style == "ponytail":
        hang = _normalize(np.array([0.0, PONYTAIL_BACK, 1.0]))
        u, v = _normalize(np.cross(hang, [1.0, 0.0, 0.0])), np.array([1.0, 0.0, 0.0])
        r = rng.random(len(roots)) ** 0.5
        phi = rng.uniform(0.0, 2.0 * np.pi, len(roots))
        offset = r[:, None] * (np.cos(phi)[:, None] * u + np.sin(phi)[:, None] * v)  # unit disk across the bundle
        spread = PONYTAIL_RADIUS_M[0] + (PONYTAIL_RADIUS_M[1] - PONYTAIL_RADIUS_M[0]) * s  # (P_tail,)
        droop = np.array([0.0, 0.0, 1.0]) * (0.3 * s**2)[:, None]  # the tail bends down under gravity
        axis = hang[None] * s[:, None] + droop  # (P_tail, 3) per unit length
        tail = (gather + axis[None] * tail_length[:, None, None] + offset[:, None] * spread[None, :, None])
    else:
        radius = rng.uniform(*BUN_RADIUS_M)
        bun_centre = gather + back * radius
        axis = _normalize(np.cross(-back[None], disk))  # a random great circle through the attachment per strand
        angle = np.pi * (0.15 + 1.7 * s)[None, :] * rng.uniform(0.7, 1.0, len(roots))[:, None]
        start = -back
        # Rodrigues rotation of `start` about each strand's axis by its angles.
        cos, sin = np.cos(angle)[..., None], np.sin(angle)[..., None]
        cross = np.cross(axis, start)[:, None]
        dirs = start * cos + cross * sin + (axis @ start)[:, None, None] * axis[:, None] * (1.0 - cos)
        wrap = radius * rng.uniform(0.85, 1.1, len(roots))
        tail = bun_centre + dirs * wrap[:, None, None]
    pts[:, num_over:] = tail
    return pts


def _clump(rng, style: HairStyle, pts: np.ndarray) -> np.ndarray:
    """Pull each strand towards its clump guide (nearest guide root), more towards the tip."""
    if style.clumping <= 0.0 or style.clumps < 1 or style.style in GATHERED_STYLES:
        return pts
    from scipy.spatial import cKDTree

    guides = rng.choice(len(pts), size=min(style.clumps, len(pts)), replace=False)
    _, member = cKDTree(pts[guides, 0]).query(pts[:, 0])
    weight = style.clumping * np.linspace(0.0, 1.0, pts.shape[1])
    return pts + weight[None, :, None] * (pts[guides[member]] - pts)


def _curl_and_frizz(rng, style: HairStyle, pts: np.ndarray) -> np.ndarray:
    """Helical curls around the centre line (ramping in over CURL_RAMP_M) and frizz growing towards the tips."""
    num_strands, num_points = pts.shape[:2]
    arc = np.concatenate([np.zeros((num_strands, 1)),
                          np.cumsum(np.linalg.norm(np.diff(pts, axis=1), axis=-1), axis=1)], axis=1)  # (S, P)
    out = pts.copy()
    if style.curl_radius_m > 0.0:
        u, v = _normal_frames(pts)
        phase = rng.uniform(0.0, 2.0 * np.pi, num_strands)[:, None]
        theta = 2.0 * np.pi * arc / style.curl_period_m + phase
        radius = style.curl_radius_m * np.clip(arc / CURL_RAMP_M, 0.0, 1.0)
        out += radius[..., None] * (np.cos(theta)[..., None] * u + np.sin(theta)[..., None] * v)
    if style.frizz_m > 0.0:
        grow = (arc / np.maximum(arc[:, -1:], 1e-9))[..., None]
        out += style.frizz_m * grow * rng.normal(size=out.shape)
    return out


#: Tip radius per root radius (strands taper).
TIP_RADIUS_RATIO = 0.4
#: Strands per clump.
STRANDS_PER_CLUMP = 25


def sample_hair_style(rng: np.random.Generator, cfg: Any) -> HairStyle | None:
    """Draw one clip's hair from a synth.config.HairConfig (None: the drawn style is NO_HAIR)."""
    names = list(cfg.styles)
    probs = np.asarray([cfg.styles[n] for n in names], dtype=np.float64)
    style = names[int(rng.choice(len(names), p=probs / probs.sum()))]
    if style == NO_HAIR:
        return None
    num_strands = int(rng.integers(cfg.strands[0], cfg.strands[1] + 1))
    root_radius = float(rng.uniform(*cfg.strand_radius_m))
    curly = rng.random() < cfg.curl_probability and style != "buzz"
    return HairStyle(
        style=style,
        length_m=float(rng.uniform(*STYLE_LENGTH_M[style])),
        num_strands=num_strands,
        root_radius_m=root_radius,
        tip_radius_m=TIP_RADIUS_RATIO * root_radius,
        volume_m=float(rng.uniform(*cfg.volume_m)) if style != "buzz" else MIN_LAYER_M,
        clumps=max(1, num_strands // STRANDS_PER_CLUMP),
        clumping=float(rng.uniform(*cfg.clumping)),
        curl_radius_m=float(rng.uniform(*cfg.curl_radius_m)) if curly else 0.0,
        curl_period_m=float(rng.uniform(*cfg.curl_period_m)),
        frizz_m=float(rng.uniform(*cfg.frizz_m)),
        melanin=float(rng.uniform(*cfg.melanin)),
        melanin_redness=float(rng.uniform(*cfg.melanin_redness)),
        roughness=float(rng.uniform(*cfg.roughness)),
        seed=int(rng.integers(2**31)),
    )


def grow_on_body(style: HairStyle, posed: Any) -> Hair:
    """Grow `style` on a synth.bodies.base.PosedBody's scalp (its first frame, in the head frame), free of any
    headset."""
    from synth.constants import BODY_PARTS
    from synth.geometry.transforms import apply_T, invert_T

    verts_head = apply_T(invert_T(posed.T_world_from_head[0]), np.asarray(posed.vertices[0], dtype=np.float64))
    scalp = np.flatnonzero(np.asarray(posed.part_of_face) == BODY_PARTS.index("scalp"))
    return grow_hair(style, verts_head, posed.faces, scalp)
