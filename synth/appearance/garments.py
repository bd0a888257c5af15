"""Loose garment geometry (skirt, dress, coat) built around the rest body and skinned to the posed body, numpy only.

Construction: a garment is a tube of rings around the body in the rest pose. Each ring follows the body's
cross-section (max radius per angle over the trunk/leg vertices in a height band) plus a clearance; below the
hip joint the rings never narrow (the cloth hangs from the hips) and widen linearly by `flare` towards the hem.
Coats close at the collar and may have sleeves (tubes around the arm polylines).

Skinning: every body part that a garment can follow is a "bone" whose rigid motion (rest -> frame f) is the
least-squares rigid fit (Kabsch) of that part's vertices. Garment vertices blend those rigid motions (linear
blend skinning) with weights computed once per clip: above the hip joint, inverse-squared-distance weights of
the K nearest body vertices grouped by bone; below it (skirt, dress and coat skirts) a pelvis share falling
linearly from 1 at the hip joint to PELVIS_SHARE_AT_HEM at the hem, the rest split between the two thighs by a
smooth left/right weight, so the hem follows both legs without collapsing between them. Then the trunk rings are
draped: each ring vertex moves radially (from the ring axis carried by the pelvis) outside the trunk and leg
vertices near its radial ray, and below the hips that push propagates down its column, so the cloth hangs over a
raised knee. Finally, vertices closer than half the clearance to the body (along the nearest body vertex's
normal) are pushed out.
The same posed geometry is used by the renderer and by visibility ray casting (occluder code 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from synth.appearance.bodymap import (
    BodyLandmarks, body_landmarks, circular_fill, paint_fields, polyline_coordinate, push_outside, ring_profile,
    vertex_normals,
)
from synth.appearance.hood import pose_hood, rest_hood, sheet_faces
from synth.appearance.model import Appearance, ClothTexture, LooseGarment
from synth.constants import PART_INDEX

#: Angular resolution of garment tubes (vertices per ring) for the trunk and for sleeves.
TRUNK_SEGMENTS = 48
SLEEVE_SEGMENTS = 16
#: Vertical spacing of trunk rings, m.
RING_SPACING_M = 0.03
#: Nearest body vertices used for the skinning weights.
SKIN_NEIGHBOURS = 12
#: Pelvis share of the motion at the hem of skirts (the rest follows the thighs).
PELVIS_SHARE_AT_HEM = 0.3
#: Drape: body vertices within this distance of a ring vertex's radial ray push it out; neighbours examined.
DRAPE_BAND_M = 0.03
DRAPE_NEIGHBOURS = 48
#: Torso coordinate splitting the torso into abdomen and chest bones.
CHEST_SPLIT_T = 0.55


@dataclass(frozen=True)
class GarmentMesh:
    """One posed loose garment.

    vertices: (F, Vg, 3) float32, world frame, metres. faces: (T, 3) int32.
    uv: (L, 2) float32 in [0, 1]; face_uv_idx: (T, 3) int32 per-corner index into uv.
    rest_vertices: (Vg, 3) float32, the garment around the rest pose (procedural textures are painted there).
    """

    name: str
    kind: str
    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    face_uv_idx: np.ndarray
    rest_vertices: np.ndarray
    cloth: ClothTexture


@dataclass(frozen=True)
class _RestGarment:
    vertices: np.ndarray  # (Vg, 3) float64
    faces: np.ndarray
    uv: np.ndarray
    face_uv_idx: np.ndarray
    bone_weights: np.ndarray  # (Vg, B) float64, rows sum to 1
    group: np.ndarray  # (Vg,) int64: 0 trunk tube, 1 left sleeve, 2 right sleeve
    trunk_shape: tuple[int, int]  # (rings, segments) of the trunk tube (its vertices come first)
    trunk_centres: np.ndarray  # (rings, 3) float64 rest-pose ring centres
    hip_z: float  # rest height of the hip joints, m


def _bone_names() -> tuple[str, ...]:
    names = ["pelvis", "abdomen", "chest"]
    for side in ("left", "right"):
        names += [f"{side}_thigh", f"{side}_shin", f"{side}_upperarm", f"{side}_forearm"]
    return tuple(names)


BONES = _bone_names()


def _vertex_bones(landmarks: BodyLandmarks, torso_t: np.ndarray) -> np.ndarray:
    """(V,) bone index per body vertex (-1 when the vertex follows no garment bone)."""
    part = landmarks.vertex_part
    out = np.full(len(part), -1, dtype=np.int64)
    out[part == PART_INDEX["hips"]] = BONES.index("pelvis")
    torso = part == PART_INDEX["torso"]
    out[torso & (torso_t < CHEST_SPLIT_T)] = BONES.index("abdomen")
    out[torso & (torso_t >= CHEST_SPLIT_T)] = BONES.index("chest")
    for name in BONES[3:]:
        out[part == PART_INDEX[name]] = BONES.index(name)
    return out


def _grid_faces(rings: int, segs: int) -> tuple[np.ndarray, np.ndarray]:
    """Triangles of a (rings x segs) closed-around tube and their per-corner indices into a (rings x segs+1) UV grid."""
    i, j = np.meshgrid(np.arange(rings - 1), np.arange(segs), indexing="ij")
    i, j = i.ravel(), j.ravel()
    jn = (j + 1) % segs
    a, b, c, d = i * segs + j, i * segs + jn, (i + 1) * segs + jn, (i + 1) * segs + j
    faces = np.concatenate([np.stack([a, d, c], 1), np.stack([a, c, b], 1)]).astype(np.int32)
    w = segs + 1
    ua, ub, uc, ud = i * w + j, i * w + j + 1, (i + 1) * w + j + 1, (i + 1) * w + j
    fuv = np.concatenate([np.stack([ua, ud, uc], 1), np.stack([ua, uc, ub], 1)]).astype(np.int32)
    return faces, fuv


def _grid_uv(rings: int, segs: int) -> np.ndarray:
    u, v = np.meshgrid(np.linspace(0, 1, segs + 1), np.linspace(1, 0, rings), indexing="xy")
    return np.stack([u.ravel(), v.ravel()], 1).astype(np.float32)


def _trunk_tube(g: LooseGarment, v: np.ndarray, lm: BodyLandmarks, fields: dict[str, np.ndarray]) -> np.ndarray:
    """(R, A, 3) rest-pose ring vertices of the trunk part of a skirt, dress or coat."""
    part = lm.vertex_part
    trunk_parts = ["torso", "hips", "left_thigh", "right_thigh", "left_shin", "right_shin"]
    pts = v[np.isin(part, [PART_INDEX[p] for p in trunk_parts])]
    z_top = lm.torso_z(g.top_t)
    # Hem height: the rest height of the leg coordinate hem_t along the (average) leg polyline.
    legs = [lm.limb(s, "leg") for s in ("left", "right")]
    seg = np.linalg.norm(np.diff(legs[0], axis=0), axis=1)
    s = g.hem_t * seg.sum()
    k = 0 if s <= seg[0] else 1
    frac = (s - (0 if k == 0 else seg[0])) / seg[k]
    z_hem = float(np.mean([leg[k, 2] + frac * (leg[k + 1, 2] - leg[k, 2]) for leg in legs]))
    n_rings = max(3, int(math.ceil((z_top - z_hem) / RING_SPACING_M)) + 1)
    zs = np.linspace(z_top, z_hem, n_rings)
    segs = TRUNK_SEGMENTS
    ang = np.arange(segs) / segs * 2 * math.pi
    dirs = np.stack([np.cos(ang), np.sin(ang)], 1)
    band = max(RING_SPACING_M, 0.02)
    hip_z = lm.hip_z
    # Ring centres: the trunk centroid above the hips, the pelvis centre below.
    centres = []
    for z in zs:
        sel = pts[np.abs(pts[:, 2] - z) < band]
        centres.append(sel[:, :2].mean(0) if z > hip_z and len(sel) else lm.pelvis_xy)
    centres = np.array(centres)
    radii = np.stack([ring_profile(pts, z, band, c, segs) for z, c in zip(zs, centres)]) + g.clearance_m
    hip_ring = int(np.argmin(np.abs(zs - hip_z)))
    r_hip = float(radii[hip_ring].mean())
    for i in range(1, n_rings):
        if zs[i] < hip_z:
            radii[i] = np.maximum(radii[i], radii[i - 1])
    below = np.clip((hip_z - zs) / max(hip_z - z_hem, 1e-6), 0.0, 1.0)
    radii = radii + (g.flare * r_hip * below)[:, None]
    rings = np.concatenate([centres[:, None, :] + radii[..., None] * dirs[None], np.broadcast_to(zs[:, None, None], (n_rings, segs, 1))], axis=2)
    if g.kind == "coat":
        neck = v[part == PART_INDEX["neck"]]
        if len(neck):
            z_collar = float(np.median(neck[:, 2]))
            c = neck[:, :2].mean(0)
            r = ring_profile(neck, z_collar, 0.02, c, segs) + g.clearance_m
            collar = np.concatenate([c + r[:, None] * dirs, np.full((segs, 1), z_collar)], axis=1)
            rings = np.concatenate([collar[None], rings], axis=0)
    return rings


def _sleeve_tube(g: LooseGarment, v: np.ndarray, lm: BodyLandmarks, side: str) -> np.ndarray:
    """(R, A, 3) rest-pose rings of one sleeve from the shoulder to arm coordinate g.sleeve_t."""
    poly = lm.limb(side, "arm")
    arm = v[np.isin(lm.vertex_part, [PART_INDEX[f"{side}_upperarm"], PART_INDEX[f"{side}_forearm"]])]
    arm_t = polyline_coordinate(arm, poly)
    seg = np.diff(poly, axis=0)
    seg_len = np.linalg.norm(seg, axis=1)
    total = seg_len.sum()
    ts = np.linspace(0.0, g.sleeve_t, max(3, int(math.ceil(g.sleeve_t * total / RING_SPACING_M)) + 1))
    segs = SLEEVE_SEGMENTS
    ang = np.arange(segs) / segs * 2 * math.pi
    rings = []
    for t in ts:
        s = t * total
        k = 0 if s <= seg_len[0] else 1
        p = poly[k] + (s - (0 if k == 0 else seg_len[0])) / seg_len[k] * seg[k]
        d = seg[k] / seg_len[k]
        ref = np.array([0.0, 1.0, 0.0]) if abs(d[1]) < 0.9 else np.array([0.0, 0.0, 1.0])
        e1 = np.cross(d, ref)
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(d, e1)
        sel = arm[np.abs(arm_t - t) < 0.06]
        r = np.zeros(segs)
        if len(sel):
            q = sel - p
            q = q - (q @ d)[:, None] * d
            a = np.mod(np.arctan2(q @ e2, q @ e1), 2 * math.pi)
            kk = np.minimum((a / (2 * math.pi) * segs).astype(np.int64), segs - 1)
            np.maximum.at(r, kk, np.linalg.norm(q, axis=1))
        r = circular_fill(r) + g.clearance_m
        rings.append(p + r[:, None] * (np.cos(ang)[:, None] * e1 + np.sin(ang)[:, None] * e2))
    return np.stack(rings)


def _knn_bone_weights(points: np.ndarray, v: np.ndarray, bone_of_vertex: np.ndarray, allowed: list[int]) -> np.ndarray:
    """(N, B) inverse-squared-distance weights of the K nearest body vertices whose bone is in `allowed`."""
    idx_allowed = np.flatnonzero(np.isin(bone_of_vertex, allowed))
    dist, nn = cKDTree(v[idx_allowed]).query(points, k=SKIN_NEIGHBOURS)
    w = 1.0 / np.maximum(dist, 1e-3) ** 2
    out = np.zeros((len(points), len(BONES)))
    bones = bone_of_vertex[idx_allowed[nn]]
    for k in range(SKIN_NEIGHBOURS):
        np.add.at(out, (np.arange(len(points)), bones[:, k]), w[:, k])
    return out / out.sum(1, keepdims=True)


def _skirt_weights(points: np.ndarray, knn: np.ndarray, lm: BodyLandmarks, z_hem: float) -> np.ndarray:
    """Replace the weights of vertices below the hip joint by pelvis + left/right thigh shares (module doc)."""
    hip_z = lm.hip_z
    below = points[:, 2] < hip_z
    out = knn.copy()
    if not below.any():
        return out
    p = points[below]
    fall = np.clip((hip_z - p[:, 2]) / max(hip_z - z_hem, 1e-6), 0.0, 1.0)
    pelvis = 1.0 - (1.0 - PELVIS_SHARE_AT_HEM) * fall
    d = p[:, :2] - lm.pelvis_xy
    r = np.maximum(np.linalg.norm(d, axis=1), 1e-6)
    s_left = np.clip(0.5 + 0.5 * d[:, 0] / r, 0.0, 1.0)  # body's left is +X
    w = np.zeros((len(p), len(BONES)))
    w[:, BONES.index("pelvis")] = pelvis
    w[:, BONES.index("left_thigh")] = (1 - pelvis) * s_left
    w[:, BONES.index("right_thigh")] = (1 - pelvis) * (1 - s_left)
    out[below] = w
    return out


def build_rest_garment(g: LooseGarment, rest_vertices: np.ndarray, landmarks: BodyLandmarks,
                       fields: dict[str, np.ndarray]) -> _RestGarment:
    """Rest-pose mesh, UVs and bone weights of one loose garment (see the module docstring)."""
    v = np.asarray(rest_vertices, dtype=np.float64)
    bone_of_vertex = _vertex_bones(landmarks, fields["torso_t"])
    trunk_bones = [BONES.index(b) for b in ("pelvis", "abdomen", "chest", "left_thigh", "right_thigh")]
    trunk = _trunk_tube(g, v, landmarks, fields)
    tubes = [(trunk, trunk_bones, True)]
    if g.kind == "coat" and g.sleeve_t > 0:
        for side in ("left", "right"):
            bones = [BONES.index(f"{side}_upperarm"), BONES.index(f"{side}_forearm"), BONES.index("chest")]
            tubes.append((_sleeve_tube(g, v, landmarks, side), bones, False))
    verts, faces, uvs, fuvs, weights, groups = [], [], [], [], [], []
    v_off = uv_off = 0
    for gi, (rings, bones, is_trunk) in enumerate(tubes):
        groups.append(np.full(rings.shape[0] * rings.shape[1], gi, dtype=np.int64))
        n_r, n_a = rings.shape[:2]
        pts = rings.reshape(-1, 3)
        w = _knn_bone_weights(pts, v, bone_of_vertex, bones)
        if is_trunk:
            w = _skirt_weights(pts, w, landmarks, float(rings[-1, :, 2].mean()))
        f, fuv = _grid_faces(n_r, n_a)
        verts.append(pts); weights.append(w)
        faces.append(f + v_off); fuvs.append(fuv + uv_off)
        uvs.append(_grid_uv(n_r, n_a))
        v_off += len(pts); uv_off += len(uvs[-1])
    centres = np.concatenate([trunk.mean(axis=1)[:, :2], trunk[:, :1, 2]], axis=1)
    return _RestGarment(np.concatenate(verts), np.concatenate(faces), np.concatenate(uvs),
                        np.concatenate(fuvs), np.concatenate(weights), np.concatenate(groups),
                        (trunk.shape[0], trunk.shape[1]), centres, landmarks.hip_z)


def bone_transforms(rest_vertices: np.ndarray, posed_vertices: np.ndarray, bone_of_vertex: np.ndarray) -> np.ndarray:
    """(F, B, 4, 4) float64 rigid transforms (rest -> posed) of every bone by a Kabsch fit of its vertices.

    rest_vertices: (V, 3) m. posed_vertices: (F, V, 3) m, world. Bones without vertices get the identity.
    """
    F = posed_vertices.shape[0]
    out = np.tile(np.eye(4), (F, len(BONES), 1, 1))
    for b in range(len(BONES)):
        idx = np.flatnonzero(bone_of_vertex == b)
        if len(idx) < 3:
            continue
        x = rest_vertices[idx].astype(np.float64)
        y = posed_vertices[:, idx].astype(np.float64)
        cx, cy = x.mean(0), y.mean(1)
        h = np.einsum("vi,fvj->fij", x - cx, y - cy[:, None])
        u, _, vt = np.linalg.svd(h)
        det = np.sign(np.linalg.det(np.einsum("fij,fjk->fik", u, vt)))
        dfix = np.tile(np.eye(3), (F, 1, 1)); dfix[:, 2, 2] = det
        r = np.einsum("fji,fjk,flk->fil", vt, dfix, u)  # V D U^T
        out[:, b, :3, :3] = r
        out[:, b, :3, 3] = cy - np.einsum("fij,j->fi", r, cx)
    return out


def _drape(g: np.ndarray, rest: _RestGarment, T_pelvis: np.ndarray, tree: cKDTree, pts: np.ndarray,
           clearance_m: float) -> np.ndarray:
    """Push trunk rings radially (from the pelvis-carried ring axis) outside every trunk/leg vertex lying within
    DRAPE_BAND_M of the radial ray, then let the push propagate down the rings below the hips (cloth hangs over
    a raised knee instead of cutting through it). g: (Vg, 3) one frame; returns the moved copy."""
    n_r, n_a = rest.trunk_shape
    ring = g[: n_r * n_a].reshape(n_r, n_a, 3)
    axis = (T_pelvis[:3, :3] @ rest.trunk_centres.T).T + T_pelvis[:3, 3]
    up = T_pelvis[:3, 2]
    d = ring - axis[:, None]
    d = d - (d @ up)[..., None] * up
    r_g = np.maximum(np.linalg.norm(d, axis=-1), 1e-6)
    dhat = d / r_g[..., None]
    _, nn = tree.query(ring.reshape(-1, 3), k=DRAPE_NEIGHBOURS)
    b = pts[nn] - np.repeat(axis, n_a, axis=0)[:, None]  # (N, K, 3)
    dh = dhat.reshape(-1, 3)
    along = np.einsum("nki,ni->nk", b, dh)
    perp = np.linalg.norm(b - along[..., None] * dh[:, None], axis=-1)
    need = np.where((perp < DRAPE_BAND_M) & (along > 0), along + clearance_m, -np.inf).max(axis=1)
    delta = np.maximum(need.reshape(n_r, n_a) - r_g, 0.0)
    delta = np.maximum(delta, np.maximum(np.roll(delta, 1, 1), np.roll(delta, -1, 1)))
    below = rest.trunk_centres[:, 2] < rest.hip_z
    for i in range(1, n_r):
        if below[i]:
            delta[i] = np.maximum(delta[i], delta[i - 1])
    out = g.copy()
    out[: n_r * n_a] = (ring + delta[..., None] * dhat).reshape(-1, 3)
    return out


def pose_garment(rest: _RestGarment, bones_T: np.ndarray, body_vertices: np.ndarray, body_faces: np.ndarray,
                 body_group: np.ndarray, clearance_m: float) -> np.ndarray:
    """(F, Vg, 3) float32 posed garment: LBS of the bone transforms, drape of the trunk rings, then push-out of
    vertices closer than half the clearance to the body (trunk: from trunk and legs; sleeves: from their arm).

    body_group: (V,) int64 per body vertex: 0 trunk/legs/head, 1 left arm, 2 right arm (hands included).
    """
    vh = np.concatenate([rest.vertices, np.ones((len(rest.vertices), 1))], 1)
    blended = np.einsum("gb,fbij->fgij", rest.bone_weights, bones_T)  # (F, Vg, 4, 4)
    out = np.einsum("fgij,gj->fgi", blended, vh)[..., :3]
    pelvis = BONES.index("pelvis")
    for f in range(out.shape[0]):
        body = body_vertices[f].astype(np.float64)
        normals = vertex_normals(body, body_faces)
        trunk_idx = np.flatnonzero(body_group == 0)
        trunk_tree = cKDTree(body[trunk_idx])
        out[f] = _drape(out[f], rest, bones_T[f, pelvis], trunk_tree, body[trunk_idx], clearance_m)
        for grp in np.unique(rest.group):
            gsel = rest.group == grp
            bidx = trunk_idx if grp == 0 else np.flatnonzero(body_group == grp)
            tree = trunk_tree if grp == 0 else cKDTree(body[bidx])
            out[f, gsel] = push_outside(out[f, gsel], body[bidx], normals[bidx], tree, clearance_m)
    return out.astype(np.float32)


def posed_garments(posed_body, appearance: Appearance) -> list[GarmentMesh]:
    """The loose garments of `appearance` around `posed_body` (a synth.bodies.base.PosedBody), every frame.

    Returns one GarmentMesh per loose garment (vertices (F, Vg, 3) float32 world m); an empty list if none.
    """
    if not appearance.loose:
        return []
    rest_v = np.asarray(posed_body.rest_vertices, dtype=np.float64)
    faces = np.asarray(posed_body.faces)
    lm = body_landmarks(rest_v, faces, np.asarray(posed_body.part_of_face))
    fields = paint_fields(rest_v, lm)
    bones_T = bone_transforms(rest_v, np.asarray(posed_body.vertices), _vertex_bones(lm, fields["torso_t"]))
    body_group = np.zeros(len(rest_v), dtype=np.int64)
    for grp, side in ((1, "left"), (2, "right")):
        arm = [PART_INDEX[f"{side}_{p}"] for p in ("upperarm", "forearm", "hand")]
        body_group[np.isin(lm.vertex_part, arm)] = grp
    out = []
    for i, g in enumerate(appearance.loose):
        if g.kind == "hood":
            out.append(_posed_hood(g, i, rest_v, lm, bones_T, posed_body))
            continue
        rest = build_rest_garment(g, rest_v, lm, fields)
        verts = pose_garment(rest, bones_T, np.asarray(posed_body.vertices), faces, body_group, g.clearance_m)
        out.append(GarmentMesh(name=f"{g.kind}_{i}", kind=g.kind, vertices=verts, faces=rest.faces,
                               uv=rest.uv, face_uv_idx=rest.face_uv_idx,
                               rest_vertices=rest.vertices.astype(np.float32), cloth=g.cloth))
    return out


def _posed_hood(g: LooseGarment, i: int, rest_v: np.ndarray, lm: BodyLandmarks, bones_T: np.ndarray,
                posed_body) -> GarmentMesh:
    """A hood worn down (synth/appearance/hood.py), moved by the chest bone."""
    rings = rest_hood(g, rest_v, lm)
    faces, uv, face_uv = sheet_faces(*rings.shape[:2])
    rest = rings.reshape(-1, 3)
    verts = pose_hood(rest, bones_T[:, BONES.index("chest")], np.asarray(posed_body.vertices),
                      np.asarray(posed_body.faces), lm.vertex_part, g.clearance_m)
    return GarmentMesh(name=f"{g.kind}_{i}", kind=g.kind, vertices=verts, faces=faces, uv=uv, face_uv_idx=face_uv,
                       rest_vertices=rest.astype(np.float32), cloth=g.cloth)
