"""Rest-pose landmarks and smooth per-vertex body coordinates (arm, leg, torso) that garment hems threshold.

Hem rule: every painted hem is a level set of a smooth per-vertex field computed once in the rest pose and
interpolated over the faces by the renderer, so hems cut straight through triangles instead of following
them:
- `arm_t`: position along the shoulder -> elbow -> wrist polyline of the vertex's side, 0 at the shoulder,
  1 at the wrist (arc length of the nearest polyline point, normalised);
- `leg_t`: likewise along hip -> knee -> ankle, 0 at the hip joint, 1 at the ankle;
- `torso_t`: rest height normalised so 0 = hip-joint height and 1 = shoulder height.
A sleeve covers the arm parts where arm_t < sleeve_t; trousers cover the leg parts where leg_t < leg_t_hem; the
top covers torso/hips where torso_t > hem_t. Joints are estimated from the seams between the body-part labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from synth.constants import BODY_PARTS, PART_INDEX

#: Width of the seam band used to locate a joint between two adjacent parts, m.
SEAM_BAND_M = 0.015
#: Seams that define the rest-pose joints: joint -> (part above, part below), per side.
_SEAMS = {
    "shoulder": ("torso", "upperarm"),
    "elbow": ("upperarm", "forearm"),
    "wrist": ("forearm", "hand"),
    "hip": ("hips", "thigh"),
    "knee": ("thigh", "shin"),
    "ankle": ("shin", "foot"),
}


@dataclass(frozen=True)
class BodyLandmarks:
    """Rest-pose joints estimated from part seams, world frame of the rest pose (m).

    joints: name -> (3,) float64 for "{left,right}_{shoulder,elbow,wrist,hip,knee,ankle}".
    vertex_part: (V,) int64 BODY_PARTS index of each vertex (the part of its first face in label order).
    """

    joints: dict[str, np.ndarray]
    vertex_part: np.ndarray

    @property
    def hip_z(self) -> float:
        return float(0.5 * (self.joints["left_hip"][2] + self.joints["right_hip"][2]))

    @property
    def shoulder_z(self) -> float:
        return float(0.5 * (self.joints["left_shoulder"][2] + self.joints["right_shoulder"][2]))

    @property
    def pelvis_xy(self) -> np.ndarray:
        return 0.5 * (self.joints["left_hip"][:2] + self.joints["right_hip"][:2])

    def torso_z(self, torso_t: float) -> float:
        """Rest height (m) of a torso coordinate."""
        return self.hip_z + torso_t * (self.shoulder_z - self.hip_z)

    def limb(self, side: str, limb: str) -> np.ndarray:
        """(3, 3) polyline of a limb: arm = shoulder, elbow, wrist; leg = hip, knee, ankle."""
        names = ("shoulder", "elbow", "wrist") if limb == "arm" else ("hip", "knee", "ankle")
        return np.stack([self.joints[f"{side}_{n}"] for n in names])


def vertex_parts(num_vertices: int, faces: np.ndarray, part_of_face: np.ndarray) -> np.ndarray:
    """(V,) int64 part of each vertex: the largest BODY_PARTS index among its faces (so seam vertices belong to
    the limb side); vertices without faces get -1."""
    out = np.full(num_vertices, -1, dtype=np.int64)
    np.maximum.at(out, faces.reshape(-1), np.repeat(part_of_face.astype(np.int64), 3))
    return out


def _parts_mask(faces: np.ndarray, part_of_face: np.ndarray, num_vertices: int, part: str) -> np.ndarray:
    mask = np.zeros(num_vertices, dtype=bool)
    mask[faces[part_of_face == PART_INDEX[part]].reshape(-1)] = True
    return mask


def body_landmarks(rest_vertices: np.ndarray, faces: np.ndarray, part_of_face: np.ndarray) -> BodyLandmarks:
    """Estimate rest-pose joints as the centroid of the seam band between adjacent parts.

    rest_vertices: (V, 3) float, rest pose, m. faces: (T, 3) int. part_of_face: (T,) BODY_PARTS indices.
    Raises ValueError naming the seam when a needed part is missing.
    """
    v = np.asarray(rest_vertices, dtype=np.float64)
    joints: dict[str, np.ndarray] = {}
    for side in ("left", "right"):
        for joint, (above, below) in _SEAMS.items():
            pa = above if above in ("torso", "hips") else f"{side}_{above}"
            pb = f"{side}_{below}"
            ma = _parts_mask(faces, part_of_face, len(v), pa)
            mb = _parts_mask(faces, part_of_face, len(v), pb)
            if not ma.any() or not mb.any():
                raise ValueError(f"body has no faces labelled {pa!r} or {pb!r}; cannot locate the {side} {joint}")
            a_pts, b_pts = v[ma], v[mb]
            if above in ("torso", "hips"):
                # Restrict the shared trunk part to the side of this limb.
                near = cKDTree(b_pts).query(a_pts)[0]
                a_pts = a_pts[near < np.min(near) + 4 * SEAM_BAND_M]
            da = cKDTree(b_pts).query(a_pts)[0]
            db = cKDTree(a_pts).query(b_pts)[0]
            band = np.concatenate([a_pts[da <= da.min() + SEAM_BAND_M], b_pts[db <= db.min() + SEAM_BAND_M]])
            joints[f"{side}_{joint}"] = band.mean(axis=0)
    return BodyLandmarks(joints=joints, vertex_part=vertex_parts(len(v), faces, part_of_face))


def polyline_coordinate(points: np.ndarray, polyline: np.ndarray) -> np.ndarray:
    """(N,) normalised arc length (0 at polyline[0], 1 at polyline[-1]) of each point's nearest polyline point.

    points: (N, 3) m. polyline: (K, 3) m. Points beyond the ends extrapolate along the end segments, so the
    coordinate keeps varying smoothly past the wrist/ankle.
    """
    seg_a, seg_b = polyline[:-1], polyline[1:]
    seg = seg_b - seg_a
    seg_len = np.linalg.norm(seg, axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    t = np.einsum("nsk,sk->ns", points[:, None, :] - seg_a[None], seg) / seg_len**2  # (N, S)
    lo = np.where(np.arange(len(seg)) == 0, -np.inf, 0.0)
    hi = np.where(np.arange(len(seg)) == len(seg) - 1, np.inf, 1.0)
    tc = np.clip(t, lo, hi)
    closest = seg_a[None] + tc[..., None] * seg[None]
    dist = np.linalg.norm(points[:, None, :] - closest, axis=2)
    best = np.argmin(dist, axis=1)
    n = np.arange(len(points))
    return (cum[best] + tc[n, best] * seg_len[best]) / cum[-1]


def paint_fields(rest_vertices: np.ndarray, landmarks: BodyLandmarks) -> dict[str, np.ndarray]:
    """Per-vertex hem coordinates {"arm_t", "leg_t", "torso_t"}: each (V,) float32 (see the module docstring).

    The side of a vertex is its rest x relative to the pelvis centre (the body's left is +X).
    """
    v = np.asarray(rest_vertices, dtype=np.float64)
    left = v[:, 0] >= landmarks.pelvis_xy[0]
    fields = {}
    for limb in ("arm", "leg"):
        out = np.empty(len(v))
        for side, mask in (("left", left), ("right", ~left)):
            out[mask] = polyline_coordinate(v[mask], landmarks.limb(side, limb))
        fields[f"{limb}_t"] = out.astype(np.float32)
    fields["torso_t"] = ((v[:, 2] - landmarks.hip_z) / (landmarks.shoulder_z - landmarks.hip_z)).astype(np.float32)
    return fields


def part_names_present(part_of_face: np.ndarray) -> tuple[str, ...]:
    """BODY_PARTS names that label at least one face."""
    present = set(np.unique(part_of_face).tolist())
    return tuple(p for i, p in enumerate(BODY_PARTS) if i in present)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals of one mesh frame (vertices (V, 3), faces (T, 3))."""
    tri = vertices[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n = np.stack([np.bincount(faces.reshape(-1), np.repeat(fn[:, k], 3), minlength=len(vertices)) for k in range(3)], 1)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def circular_fill(r: np.ndarray, smooth: bool = True) -> np.ndarray:
    """Fill empty (zero) angle bins of a (A,) radius profile by circular interpolation, widen each bin to its
    neighbours' radius, then (smooth) average each bin with its neighbours."""
    a = np.arange(len(r))
    ok = r > 0
    if not ok.any():
        return r
    if not ok.all():
        xs = np.concatenate([a[ok] - len(r), a[ok], a[ok] + len(r)])
        ys = np.tile(r[ok], 3)
        r = np.interp(a, xs, ys)
    r = np.maximum(r, np.maximum(np.roll(r, 1), np.roll(r, -1)))
    return (np.roll(r, 1) + r + np.roll(r, -1)) / 3.0 if smooth else r


def ring_profile(pts: np.ndarray, z: float, band_m: float, centre: np.ndarray, segs: int,
                 smooth: bool = True) -> np.ndarray:
    """(segs,) max radial distance (m) of body points (P, 3) within `band_m` of height z, per angle bin around
    `centre` (2,) (bin k covers angles [k, k + 1) * 2 pi / segs from +x), filled by circular_fill."""
    sel = pts[np.abs(pts[:, 2] - z) < band_m]
    r = np.zeros(segs)
    if len(sel):
        d = sel[:, :2] - centre
        ang = np.mod(np.arctan2(d[:, 1], d[:, 0]), 2 * np.pi)
        k = np.minimum((ang / (2 * np.pi) * segs).astype(np.int64), segs - 1)
        np.maximum.at(r, k, np.linalg.norm(d, axis=1))
    return circular_fill(r, smooth)


def push_outside(points: np.ndarray, surface: np.ndarray, normals: np.ndarray, tree: cKDTree,
                 clearance_m: float) -> np.ndarray:
    """points (P, 3) m moved along the normal of their nearest surface vertex (surface (N, 3) and its unit normals
    (N, 3); tree: a cKDTree of surface) until they stand at least clearance_m / 2 off it."""
    _, nn = tree.query(points)
    gap = np.einsum("gi,gi->g", points - surface[nn], normals[nn])
    return points + np.maximum(0.5 * clearance_m - gap, 0.0)[:, None] * normals[nn]
