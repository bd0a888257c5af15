"""Hair that moves: guide strands simulated through the clip, every strand swinging as the guide nearest its root.

The grown strands (synth.appearance.hair.Hair, head frame) are the rest shape: the hair of an upright, still head.
A few guide strands (farthest-point samples of the roots) are simulated in the world frame with position-based
dynamics; every strand then swings about its root as the guide nearest its root does (HairMotion), so curls, clumps
and frizz ride along unchanged. Renders (synth/blender/hair.py) and labels (Hair.label_mesh) take the
same `Hair.points_at(frame)`, so the label occluder is exactly what is rendered.

Per guide point, vectorised over guides, with steps of at most MAX_STEP_S:
- the root (and for a ponytail everything up to the hair tie) is pinned to the head;
- every other point is pulled towards its rest position carried by the head by a spring whose angular frequency
  falls with the free arc length s from the pinned part, OMEGA_ROOT / (1 + s / STIFF_LENGTH_M)^2: hair keeps its
  style within a few centimetres of the scalp and drapes beyond ~10 cm. Damping (DAMPING_RATIO of the spring's
  critical damping, plus AIR_DRAG) acts on the velocity relative to the head;
- gravity pulls every point; the stiff, styled part near the scalp is held up against the gravity the rest shape was
  grown under (head frame +z) by its style (OMEGA_SUPPORT): on an upright still head the rest shape stays, a bowed
  or tilted head lets long hair fall and hang;
- segment lengths are kept by dynamic follow-the-leader (Mueller et al. 2012, "Fast Simulation of Inextensible
  Hair and Fur"), root to tip;
- points are pushed MIN_LAYER_M outside the body (the nearer frame's vertices and normals), then over the loose
  garments (hood, coat, ...) they lie under.
The simulation knows nothing of the headset: the cameras are fixed in the head frame, so the strands are held off
them where they are read (Hair.keep_out_head_m, Hair.points_at), and one simulation serves every rig.
The first frame's pose is held for PREROLL_S before the clip, so the hair has settled at frame 0. A bun is pinned
as a whole and buzz-cut hair is too short to move: both stay rigid with the head (Hair.motion None).

Frames: world (z up, gravity -z), head frame of synth.bodies.base.PosedBody (x right, y back, z down). Units: m, s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from synth.appearance.hair import (
    GATHERED_STYLES, MIN_LAYER_M, Hair, HairStyle, _normalize, _vertex_normals, gathered_points, grow_on_body,
)

#: Styles simulated (a bun is pinned; a buzz cut is a few millimetres long).
DYNAMIC_STYLES = ("short", "bob", "long", "ponytail")
#: Standard gravity, m/s^2.
GRAVITY_M_S2 = 9.81
#: Angular frequency (rad/s) of the spring holding a point to its rest shape at the pinned part, and the free arc
#: length over which it falls to a quarter, m.
OMEGA_ROOT = 100.0
STIFF_LENGTH_M = 0.05
#: A point's style holds up the share w**2 / (w**2 + OMEGA_SUPPORT**2) of the gravity the rest shape was grown under
#: (w its spring's angular frequency, rad/s): a styled part near the scalp keeps its rest shape on an upright head,
#: free lengths feel the whole of gravity and hang.
OMEGA_SUPPORT = 10.0
#: Share of the springs' critical damping, and air drag per second, on the velocity relative to the head.
DAMPING_RATIO = 0.7
AIR_DRAG = 3.0
#: A point is lifted over a garment only within this distance of one of its vertices (not past its edges), m.
GARMENT_REACH_M = 0.03
#: A point further than this from every body vertex is outside the body (hair moves a few millimetres per step and
#: a limb that moves into it is thinner than twice this), m.
BODY_REACH_M = 0.05
#: Per step, share of a point's departure from the carried rest shape replaced by its neighbours' mean (bending
#: stiffness: the strand bends smoothly instead of kinking).
BEND_SMOOTHING = 0.5
#: Longest simulation step, s.
MAX_STEP_S = 1.0 / 120.0
#: The first frame's pose is held this long before the clip, s.
PREROLL_S = 1.0
#: Share of the follow-the-leader correction taken out of the velocity (damps the stretch response).
FTL_DAMPING = 0.9
#: One guide per STRANDS_PER_GUIDE strands, at least MIN_GUIDES; a strand follows the guide nearest its root.
STRANDS_PER_GUIDE = 20
MIN_GUIDES = 16


@dataclass(frozen=True)
class HairMotion:
    """How the strands move through a clip (head frame).

    guides: (G,) int64 strand indices of the simulated guides. member: (S,) int64 index into `guides` of each
    strand's guide (the nearest by root). anchor: index of the last point held by the head (0: the root; a
    ponytail's hair tie). guide_points_head_m: (F, G, P, 3) float32 the guides' points per frame, head frame, m.

    A strand swings about its own anchor as its guide does: its point k beyond the anchor is its rest offset from
    its anchor turned by the smallest rotation that takes the guide's rest chord (anchor to point k) to the current
    one. A guide at rest leaves its strands at rest, a guide swinging rigidly swings its strands rigidly, and a strand
    shaped like its guide bends like it (its segments keep their lengths as the guide's do).
    """

    guides: np.ndarray
    member: np.ndarray
    anchor: int
    guide_points_head_m: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.guide_points_head_m.shape[0])

    def strand_points(self, rest_head_m: np.ndarray, frame: int) -> np.ndarray:
        """(S, P, 3) float32 strand points at `frame`, head frame, m, from the rest strands (S, P, 3) head frame m."""
        rest = np.asarray(rest_head_m, dtype=np.float64)
        a = self.anchor
        guide_rest = rest[self.guides, a + 1 :] - rest[self.guides, a : a + 1]  # (G, P - a - 1, 3) chords
        guide_now = (self.guide_points_head_m[frame, :, a + 1 :].astype(np.float64)
                     - self.guide_points_head_m[frame, :, a : a + 1])
        shape = guide_rest.shape
        R = _min_rotation(_normalize(guide_rest).reshape(-1, 3), _normalize(guide_now).reshape(-1, 3))
        R = R.reshape(shape + (3,))[self.member]  # (S, P - a - 1, 3, 3)
        out = rest.copy()
        out[:, a + 1 :] = rest[:, a : a + 1] + np.einsum("spij,spj->spi", R, rest[:, a + 1 :] - rest[:, a : a + 1])
        return out.astype(np.float32)


def _min_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 3, 3) the smallest rotations taking unit vectors a (N, 3) to unit vectors b (N, 3) (Rodrigues)."""
    v = np.cross(a, b)
    c = np.einsum("ij,ij->i", a, b)
    vx = np.zeros(a.shape[:-1] + (3, 3))
    vx[:, 0, 1], vx[:, 0, 2], vx[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    vx[:, 1, 0], vx[:, 2, 0], vx[:, 2, 1] = v[:, 2], -v[:, 1], v[:, 0]
    scale = 1.0 / np.maximum(1.0 + c, 1e-6)  # a and b opposite: no unique rotation; this keeps it finite
    return np.eye(3) + vx + np.einsum("nij,njk->nik", vx, vx) * scale[:, None, None]


def pinned_points(style: str, num_points: int) -> int:
    """Points of a strand held by the head: the root, or a gathered strand up to and including its hair tie."""
    return gathered_points(num_points) + 1 if style in GATHERED_STYLES else 1


def _farthest_roots(roots: np.ndarray, count: int) -> np.ndarray:
    """`count` indices of roots (N, 3) spread by farthest-point sampling from the first."""
    chosen = np.zeros(count, dtype=np.int64)
    dist = np.linalg.norm(roots - roots[0], axis=-1)
    for i in range(1, count):
        chosen[i] = int(np.argmax(dist))
        dist = np.minimum(dist, np.linalg.norm(roots - roots[chosen[i]], axis=-1))
    return chosen


def _members(roots: np.ndarray, guides: np.ndarray) -> np.ndarray:
    """(N,) index into `guides` of the guide whose root is nearest each root (N, 3)."""
    from scipy.spatial import cKDTree

    return cKDTree(roots[guides]).query(roots)[1].astype(np.int64)


def _stiffness(rest: np.ndarray, pinned: int) -> np.ndarray:
    """(G, P) spring angular frequency per point (rad/s) from its free arc length beyond the pinned points."""
    seg = np.linalg.norm(np.diff(rest, axis=1), axis=-1)
    arc = np.concatenate([np.zeros((len(rest), 1)), np.cumsum(seg, axis=1)], axis=1)
    free = np.maximum(arc - arc[:, pinned - 1 : pinned], 0.0)
    return OMEGA_ROOT / (1.0 + free / STIFF_LENGTH_M) ** 2


class _Collider:
    """What the hair lies on per frame: the body (world vertices, vertex normals, KD-tree) and the loose garments
    (their vertices with normals turned away from the body), built on demand, one frame at a time."""

    def __init__(self, vertices_world: np.ndarray, faces: np.ndarray, garments: Sequence = ()):
        self.vertices = vertices_world
        self.faces = np.asarray(faces, dtype=np.int64)
        self.garments = [(g.vertices, np.asarray(g.faces, dtype=np.int64)) if hasattr(g, "vertices")
                         else (g[0], np.asarray(g[1], dtype=np.int64)) for g in garments]
        self._frame: int | None = None

    def _build(self, frame: int) -> None:
        from scipy.spatial import cKDTree

        v = np.asarray(self.vertices[frame], dtype=np.float64)
        self.body = (v, _vertex_normals(v, self.faces), cKDTree(v))
        self.cloth = None
        if self.garments:
            gv = [np.asarray(verts[frame], dtype=np.float64) for verts, _ in self.garments]
            gn = np.concatenate([_vertex_normals(x, f) for x, (_, f) in zip(gv, self.garments)])
            gv = np.concatenate(gv)
            _, nearest = self.body[2].query(gv)
            away = np.einsum("ij,ij->i", gv - v[nearest], gn) < 0.0
            gn[away] *= -1.0  # a sheet's winding says nothing about which side the body is on
            self.cloth = (gv, gn, cKDTree(gv))
        self._frame = frame

    def push(self, frame: int, p: np.ndarray) -> np.ndarray:
        """p (N, 3) world m moved out to MIN_LAYER_M outside the body of `frame`, then out over any garment surface
        within GARMENT_REACH_M that it lies under."""
        if frame != self._frame:
            self._build(frame)
        v, n_all, tree = self.body
        dist, idx = tree.query(p, distance_upper_bound=BODY_REACH_M)  # bounded: most points are far, and quick
        near = np.isfinite(dist)
        n = n_all[idx[near]]
        depth = np.einsum("ij,ij->i", p[near] - v[idx[near]], n)
        p = p.copy()
        p[near] += np.maximum(MIN_LAYER_M - depth, 0.0)[:, None] * n
        if self.cloth is not None:
            gv, gn_all, gtree = self.cloth
            dist, idx = gtree.query(p, distance_upper_bound=GARMENT_REACH_M)
            near = np.isfinite(dist)
            gn = gn_all[idx[near]]
            depth = np.einsum("ij,ij->i", p[near] - gv[idx[near]], gn)
            p[near] += np.maximum(MIN_LAYER_M - depth, 0.0)[:, None] * gn
        return p


def simulate_hair(hair: Hair, T_world_from_head: np.ndarray, body_vertices_world: np.ndarray, body_faces: np.ndarray,
                  fps: float, garments: Sequence = ()) -> Hair:
    """`hair` with its motion through a clip (module docstring), or `hair` unchanged for a style that does not move.

    T_world_from_head: (F, 4, 4) float64 head pose per frame. body_vertices_world: (F, V, 3) float world m, the
    posed body (collision surface); body_faces: (T, 3) int. fps: frames per second of the clip.
    garments: loose garments the hair lies over, each a synth.appearance.garments.GarmentMesh or (vertices
    (F, Vg, 3) world m, faces (Tg, 3)).
    """
    T = np.asarray(T_world_from_head, dtype=np.float64)
    num_frames = T.shape[0]
    if hair.style.style not in DYNAMIC_STYLES or num_frames == 0:
        return hair
    rest_all = hair.points_head_m.astype(np.float64)  # (S, P, 3)
    num_strands, num_points = rest_all.shape[:2]
    num_guides = min(num_strands, max(MIN_GUIDES, math.ceil(num_strands / STRANDS_PER_GUIDE)))
    guides = _farthest_roots(rest_all[:, 0], num_guides)
    member = _members(rest_all[:, 0], guides)
    rest = rest_all[guides]  # (G, P, 3) head frame
    pinned = pinned_points(hair.style.style, num_points)
    omega = _stiffness(rest, pinned)[..., None]  # (G, P, 1)
    damping = 2.0 * DAMPING_RATIO * omega + AIR_DRAG
    support = omega**2 / (omega**2 + OMEGA_SUPPORT**2)  # (G, P, 1) share of the rest gravity the style holds up
    seg_len = np.linalg.norm(np.diff(rest, axis=1), axis=-1)[..., None]  # (G, P - 1, 1)
    collider = _Collider(body_vertices_world, body_faces, garments)

    substeps = max(1, math.ceil(1.0 / (fps * MAX_STEP_S)))
    dt = 1.0 / (fps * substeps)
    g_world = np.array([0.0, 0.0, -GRAVITY_M_S2])
    g_rest_head = np.array([0.0, 0.0, GRAVITY_M_S2])

    def carried(Tf: np.ndarray, pts: np.ndarray) -> np.ndarray:
        return pts @ Tf[:3, :3].T + Tf[:3, 3]

    x = carried(T[0], rest)
    v = np.zeros_like(x)
    guide_points = np.zeros((num_frames, len(guides), num_points, 3), dtype=np.float32)

    def step(Ta: np.ndarray, Tb: np.ndarray, ya: np.ndarray, yb: np.ndarray, u0: float, u1: float,
             body_frame: int) -> None:
        """One step from interpolation weight u0 to u1 between head poses Ta and Tb, which carry the rest shape to
        ya and yb (G, P, 3) world m."""
        nonlocal x, v
        target = ya + u1 * (yb - ya)
        target_v = (yb - ya) / (dt / max(u1 - u0, 1e-12)) if u1 > u0 else np.zeros_like(ya)
        R = Ta[:3, :3] + u1 * (Tb[:3, :3] - Ta[:3, :3])
        accel = omega**2 * (target - x) + g_world - support * (R @ g_rest_head)
        v = target_v + (v - target_v + dt * accel) / (1.0 + dt * damping)  # damping taken implicitly: stable
        new = x + dt * v
        new[:, :pinned] = target[:, :pinned]
        dev = new - target  # bending stiffness: smooth the departure from the carried rest shape along the strand
        new[:, pinned:-1] += BEND_SMOOTHING * (0.5 * (dev[:, pinned - 1 : -2] + dev[:, pinned + 1 :])
                                               - dev[:, pinned:-1])
        correction = np.zeros_like(new)
        for k in range(pinned, num_points):  # follow the leader: keep each segment's rest length
            d = new[:, k] - new[:, k - 1]
            fixed = new[:, k - 1] + seg_len[:, k - 1] * _normalize(d)
            correction[:, k] = fixed - new[:, k]
            new[:, k] = fixed
        flat = new[:, pinned:].reshape(-1, 3)
        flat = collider.push(body_frame, flat)
        new[:, pinned:] = flat.reshape(len(guides), -1, 3)
        v = (new - x) / dt
        v[:, pinned:-1] -= FTL_DAMPING * correction[:, pinned + 1 :] / dt
        x = new

    y = carried(T[0], rest)
    for _ in range(math.ceil(PREROLL_S / dt)):
        step(T[0], T[0], y, y, 0.0, 0.0, 0)
    v = np.zeros_like(x)
    for f in range(num_frames):
        if f > 0:
            ya, y = y, carried(T[f], rest)
            for i in range(substeps):
                step(T[f - 1], T[f], ya, y, i / substeps, (i + 1) / substeps, f if 2 * (i + 1) > substeps else f - 1)
        T_head_from_world = np.linalg.inv(T[f])
        guide_points[f] = carried(T_head_from_world, x)
    guide_points[:, :, :pinned] = rest[:, :pinned]
    motion = HairMotion(guides=guides, member=member, anchor=pinned - 1, guide_points_head_m=guide_points)
    return replace(hair, motion=motion)


def hair_on_body(style: HairStyle, posed: Any, garments: Sequence = (), moves: bool = True) -> Hair:
    """`style` grown on a synth.bodies.base.PosedBody's scalp (synth.appearance.hair.grow_on_body) and, when it
    `moves`, moving through the clip over its loose `garments`: free of any headset (Hair.worn_with_cameras)."""
    hair = grow_on_body(style, posed)
    return animate_on_body(hair, posed, garments) if moves else hair


def animate_on_body(hair: Hair | None, posed: Any, garments: Sequence = ()) -> Hair | None:
    """`hair` moving with a synth.bodies.base.PosedBody through its clip, over its loose `garments` (None stays
    None)."""
    if hair is None:
        return None
    return simulate_hair(hair, posed.T_world_from_head, posed.vertices, posed.faces, posed.fps, garments)
