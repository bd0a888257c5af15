"""A hoodie's hood, worn down: a cowl of cloth lying on the upper back behind the neck, numpy only.

Rest pose: an open sheet of rings that starts as a collar round the back and sides of the neck (HOOD_SPAN_RAD
either side of straight back) and falls down the back to the torso coordinate `hem_t` (the sides fall less than the
middle), standing `clearance_m` off the body's own cross-section at every height and bulging `flare` x the neck
radius further out half-way down (the hood's fabric gathered on the back). Posed: it moves rigidly with the chest
bone (the Kabsch fit of the upper torso, synth/appearance/garments.py), then every vertex closer than half the
clearance to the trunk, neck or head is pushed out along that body vertex's normal, so a head tilted back rests on
the hood rather than passing through it. Rear cameras looking down the back see it, and the labels ray-cast it as a
garment (occluder code 2).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from synth.appearance.bodymap import BodyLandmarks, push_outside, ring_profile, vertex_normals
from synth.appearance.model import LooseGarment
from synth.constants import PART_INDEX

#: Vertices across the hood and rings down it.
HOOD_SEGMENTS = 25
HOOD_RINGS = 12
#: Half the hood's angular span around the neck, from straight back, rad.
HOOD_SPAN_RAD = math.radians(85.0)
#: Share of the middle's drop that the hood's side edges fall.
HOOD_SIDE_DROP = 0.5
#: Height band (m) of body points defining the cross-section at a ring, and the angle bins of that profile.
PROFILE_BAND_M = 0.025
PROFILE_BINS = 72
#: Collar height: this quantile of the neck's vertex heights.
COLLAR_QUANTILE = 0.2
#: Body parts the hood is fitted around (rest pose) and pushed out of (posed).
HOOD_BODY_PARTS = ("torso", "neck", "head", "scalp", "left_upperarm", "right_upperarm")


def _back_direction(v: np.ndarray, lm: BodyLandmarks) -> np.ndarray:
    """(2,) unit xy vector from the front of the rest body to its back: from the eyes to the head's centre, or,
    without labelled eyes, up x (left shoulder - right shoulder): the body's left turned 90 degrees
    counter-clockwise seen from above (z up)."""
    part = lm.vertex_part
    head = v[np.isin(part, [PART_INDEX["head"], PART_INDEX["scalp"]])]
    eyes = v[part == PART_INDEX["eyes"]]
    if len(eyes) and len(head):
        d = head[:, :2].mean(0) - eyes[:, :2].mean(0)
    else:
        left = lm.joints["left_shoulder"][:2] - lm.joints["right_shoulder"][:2]
        d = np.array([-left[1], left[0]])
    return d / np.linalg.norm(d)


def _profile(pts: np.ndarray, z: float, centre: np.ndarray, angle: float) -> float:
    """Body radius (m) around `centre` at height z in the direction `angle` (rad): bodymap.ring_profile's bin of
    that angle (PROFILE_BINS bins, body points within PROFILE_BAND_M of z, not smoothed)."""
    r = ring_profile(pts, z, PROFILE_BAND_M, centre, PROFILE_BINS, smooth=False)
    return float(r[int(np.mod(angle, 2 * math.pi) / (2 * math.pi) * PROFILE_BINS) % PROFILE_BINS])


def rest_hood(g: LooseGarment, rest_vertices: np.ndarray, lm: BodyLandmarks) -> np.ndarray:
    """(HOOD_RINGS, HOOD_SEGMENTS, 3) float64 rest-pose vertices of a hood (g.kind "hood"; see the module
    docstring: g.hem_t is the torso coordinate of its lowest point, g.flare its bulge per neck radius)."""
    v = np.asarray(rest_vertices, dtype=np.float64)
    part = lm.vertex_part
    pts = v[np.isin(part, [PART_INDEX[p] for p in HOOD_BODY_PARTS])]
    neck = v[part == PART_INDEX["neck"]]
    z_collar = float(np.quantile(neck[:, 2], COLLAR_QUANTILE))
    band = neck[np.abs(neck[:, 2] - z_collar) < PROFILE_BAND_M]
    centre = (band if len(band) else neck)[:, :2].mean(0)
    r_neck = float(np.median(np.linalg.norm((band if len(band) else neck)[:, :2] - centre, axis=1)))
    back = _back_direction(v, lm)
    rel = np.linspace(-HOOD_SPAN_RAD, HOOD_SPAN_RAD, HOOD_SEGMENTS)
    angles = math.atan2(back[1], back[0]) + rel
    drop = max(z_collar - lm.torso_z(g.hem_t), 0.05)
    side = HOOD_SIDE_DROP + (1.0 - HOOD_SIDE_DROP) * np.cos(rel / HOOD_SPAN_RAD * math.pi / 2)  # 1 behind, less aside
    rings = []
    for t in np.linspace(0.0, 1.0, HOOD_RINGS):
        z = z_collar - drop * t * side  # (A,)
        body_r = np.array([_profile(pts, zi, centre, a) for zi, a in zip(z, angles)])
        bulge = g.flare * r_neck * math.sin(math.pi * min(1.0, 1.2 * t)) * np.maximum(np.cos(rel), 0.0)
        r = body_r + g.clearance_m + bulge
        rings.append(np.stack([centre[0] + r * np.cos(angles), centre[1] + r * np.sin(angles), z], axis=1))
    return np.stack(rings)


def sheet_faces(rings: int, segs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An open (rings x segs) sheet: triangles (T, 3) int32, UVs (rings * segs, 2) float32 and per-corner UV
    indices (T, 3) int32 (one UV per vertex)."""
    i, j = np.meshgrid(np.arange(rings - 1), np.arange(segs - 1), indexing="ij")
    a = (i * segs + j).ravel()
    b, c, d = a + 1, a + segs + 1, a + segs
    faces = np.concatenate([np.stack([a, d, c], 1), np.stack([a, c, b], 1)]).astype(np.int32)
    u, w = np.meshgrid(np.linspace(0, 1, segs), np.linspace(1, 0, rings), indexing="xy")
    uv = np.stack([u.ravel(), w.ravel()], 1).astype(np.float32)
    return faces, uv, faces.copy()


def pose_hood(rest: np.ndarray, T_chest: np.ndarray, body_vertices: np.ndarray, body_faces: np.ndarray,
              vertex_part: np.ndarray, clearance_m: float) -> np.ndarray:
    """(F, Vh, 3) float32 world m: the rest hood (Vh, 3) moved by the chest bone's rest -> posed transforms
    T_chest (F, 4, 4), then pushed out of the trunk, neck, head and upper arms (body_vertices (F, V, 3) world m)."""
    near = np.flatnonzero(np.isin(vertex_part, [PART_INDEX[p] for p in HOOD_BODY_PARTS]))
    out = np.einsum("fij,gj->fgi", T_chest[:, :3, :3], rest) + T_chest[:, None, :3, 3]
    for f in range(len(out)):
        body = np.asarray(body_vertices[f], dtype=np.float64)
        surface = body[near]
        out[f] = push_outside(out[f], surface, vertex_normals(body, body_faces)[near], cKDTree(surface), clearance_m)
    return out.astype(np.float32)
