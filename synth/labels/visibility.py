"""Per-view joint visibility and occluder labels by casting camera-to-joint rays through the posed meshes (warp BVH).

Rule. For frame f, view v with camera centre o and joint j at p (world, metres), d = |p - o|:

* visibility 0 (outside) when the joint is not in the field of view (`in_fov` False: behind the lens, beyond the
  lens' field angle, or outside the image bounds); occluder 0.
* Otherwise cast the ray o -> p through every occluder surface (own body, garments, hair, scene; triangles hit from
  either side). Let s be the distance of the first hit. The joint is OCCLUDED (visibility 1) when

      s < d - tau_j,    tau_j = min(t_j, FLESH_CAP_M) + TOLERANCE_MARGIN_M,

  where t_j is this frame's distance from the joint to the nearest vertex of the body mesh (the flesh around the
  joint), UNLESS that first surface is the joint's own segment seen near the joint: a body triangle whose part
  label is one of the joint's own parts (OWN_PARTS: e.g. the wrist's forearm and hand, the ankle's shin and foot)
  with the hit point within OWN_SEGMENT_RADIUS_M of the joint. Occluder = the class of that first surface
  (1 own body, 2 garment, 3 scene, 4 hair). Else it is VISIBLE (2).

Why. Joints sit inside the body, so the ray always meets the joint's own skin before the joint, at least about
t_j in front of it. Surfaces within tau_j of the joint along the ray are treated as the joint's own flesh: its skin,
or a garment lying on it. TOLERANCE_MARGIN_M (2 cm) absorbs the gap between the nearest vertex and the true
surface, triangulation and float32 differences. Measured on an Anny frame, this rule agreed with the same test
applied to Cycles' rendered depth pass at the projected pixel on 99.6 % of in-view joints. Garments count via the
body's t_j only, so a tight sleeve (within the margin of the skin) leaves the elbow visible and a loose coat hides
it (occluder 2). Known limit: t_j is the flesh thickness in the thinnest direction; a joint seen along its limb
(an ankle seen down the shin, a wrist down the forearm) has more flesh on the ray than t_j + margin and is marked
occluded by its own body by the depth test alone; the own-segment clause keeps it visible when what the camera
sees there is the joint's own limb close to the joint (the pixel shows the wrist's forearm and hand, not
something in front of them). Without part labels (`body_part_of_face` None) only the depth test applies.

Cap. Every surface inside the tau_j sphere is treated as the joint's own flesh, whatever it really is: a hand resting
on the belly, a forearm across the thigh. Over 24 sampled Anny adults (rest pose) t_j is 1.7-2.5 cm at the wrists,
2.7-3.8 cm at the ankles, 1.6-3.7 cm at the elbows, 3.9-6.4 cm at the knees, 3.0-6.3 cm at the shoulders, but up to
10.7 cm at the hips of heavy bodies (median 4.8 cm). The uncapped sphere around such a joint would let whole limbs
lying on the skin pass as "own flesh". FLESH_CAP_M (10 cm) bounds the ignored zone; a joint buried deeper than the
cap and seen through its full flesh is marked occluded by its own body (the image shows belly or buttock there, not
the joint's neighbourhood). The end effectors of the visibility table (t_j < 4 cm) are never affected.

Performance: one BVH per clip over the body + garment triangles (built once, refitted per frame), one static BVH
over the scene meshes, one BVH over the rigid meshes (the hair's prisms) built in their own frame (refitted per
frame where the hair moves in it), which each ray visits moved into that frame (a rigid motion keeps ray
distances); one kernel launch per frame computes the
nearest-vertex distances and casts all V x J rays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import warp as wp

from synth.constants import (
    BODY_PARTS,
    EGO16_JOINTS,
    OCC_BODY,
    OCC_GARMENT,
    OCC_NONE,
    OCC_SCENE,
    PART_INDEX,
    VIS_OCCLUDED,
    VIS_OUTSIDE,
    VIS_VISIBLE,
)


def own_part_masks(joint_names=EGO16_JOINTS) -> np.ndarray:
    """(J,) int32 bit masks: bit k set when BODY_PARTS[k] is one of the joint's own parts (0 for unknown joints)."""
    masks = np.zeros(len(joint_names), dtype=np.int32)
    for j, name in enumerate(joint_names):
        for part in OWN_PARTS.get(name, ()):
            masks[j] |= 1 << PART_INDEX[part]
    return masks


assert len(BODY_PARTS) < 31, "part bit masks are int32"

#: Extra distance (m) in front of the joint's flesh within which a hit still counts as the joint's own surface.
TOLERANCE_MARGIN_M = 0.02
#: Largest flesh thickness t_j (m) credited to a joint (see "Cap" in the module docstring).
FLESH_CAP_M = 0.10
#: A first hit on the joint's own segment within this distance (m) of the joint counts as seeing the joint.
OWN_SEGMENT_RADIUS_M = 0.10
#: Body parts whose surface is the joint's own segment, per EGO16 joint (BODY_PARTS names).
OWN_PARTS: dict[str, tuple[str, ...]] = {
    "head": ("head", "scalp", "neck", "eyes", "mouth"),
    "neck": ("neck", "torso", "head", "scalp"),
    "left_upperarm": ("torso", "left_upperarm", "neck"),
    "right_upperarm": ("torso", "right_upperarm", "neck"),
    "left_lowerarm": ("left_upperarm", "left_forearm"),
    "right_lowerarm": ("right_upperarm", "right_forearm"),
    "left_hand": ("left_forearm", "left_hand"),
    "right_hand": ("right_forearm", "right_hand"),
    "left_thigh": ("hips", "left_thigh", "torso"),
    "right_thigh": ("hips", "right_thigh", "torso"),
    "left_calf": ("left_thigh", "left_shin"),
    "right_calf": ("right_thigh", "right_shin"),
    "left_foot": ("left_shin", "left_foot"),
    "right_foot": ("right_shin", "right_foot"),
    "left_ball": ("left_foot",),
    "right_ball": ("right_foot",),
}

#: Warp device used for the ray casts (labels are computed on CPU workers).
DEFAULT_DEVICE = "cpu"


def _mesh_parts(item, what: str) -> tuple[np.ndarray, np.ndarray, int | None]:
    """(vertices, faces, occluder class or None) of a (vertices, faces[, class]) tuple or an object with
    `.vertices` and `.faces` (e.g. synth.appearance.garments.GarmentMesh)."""
    if hasattr(item, "vertices") and hasattr(item, "faces"):
        return np.asarray(item.vertices), np.asarray(item.faces), None
    if isinstance(item, (tuple, list)) and len(item) in (2, 3):
        return np.asarray(item[0]), np.asarray(item[1]), (int(item[2]) if len(item) == 3 else None)
    raise ValueError(f"{what} must be (vertices, faces), (vertices, faces, occluder_class) or have .vertices/.faces")


class _RigidMesh(NamedTuple):
    """One entry of OccluderScene.rigid_meshes, checked: vertices at frame 0 (Vr, 3) float64 own frame m, faces,
    T_world_from_local (F, 4, 4) float64, occluder class, and the vertices' function of the frame (None: rigid)."""

    vertices: np.ndarray
    faces: np.ndarray
    T: np.ndarray
    cls: int
    at: Callable[[int], np.ndarray] | None

    def at_frame(self, frame: int) -> np.ndarray:
        return self.vertices if self.at is None else np.asarray(self.at(frame), dtype=np.float64)


@dataclass(frozen=True)
class OccluderScene:
    """The surfaces a camera->joint ray can hit during a clip, in the world frame (metres).

    body_vertices_world_m: (F, Vb, 3) float, the posed body per frame (class OCC_BODY; t_j is measured on it).
    body_faces: (Tb, 3) int triangle vertex indices into the body vertices.
    garments: moving garments, class OCC_GARMENT: each (vertices (F, Vg, 3) float world m, faces (Tg, 3) int) or an
        object with those as `.vertices` / `.faces`.
    scene_meshes: static occluders: each (vertices (Vs, 3) float world m, faces (Ts, 3) int[, occluder class]);
        the class defaults to OCC_SCENE.
    body_part_of_face: (Tb,) int BODY_PARTS index per body triangle, or None (no own-segment clause).
    rigid_meshes: occluders carried by a moving frame, e.g. hair with the head: each (vertices, faces (Tr, 3) int,
        T_world_from_local (F, 4, 4) float, occluder class). vertices: (Vr, 3) float in their own frame m (rigid),
        or a function of the frame index returning them (a mesh that also changes shape in its frame, e.g.
        moving hair: synth.appearance.hair.Hair.label_vertices).
    """

    body_vertices_world_m: np.ndarray
    body_faces: np.ndarray
    garments: tuple = ()
    scene_meshes: tuple = ()
    body_part_of_face: np.ndarray | None = None
    rigid_meshes: tuple = ()

    def __post_init__(self):
        body = np.asarray(self.body_vertices_world_m)
        if body.ndim != 3 or body.shape[-1] != 3:
            raise ValueError(f"body_vertices_world_m must be (F, Vb, 3), got {body.shape}")
        _check_faces("body_faces", self.body_faces, body.shape[1])
        if self.body_part_of_face is not None and np.shape(self.body_part_of_face) != (len(self.body_faces),):
            raise ValueError(f"body_part_of_face must be (Tb={len(self.body_faces)},), "
                             f"got {np.shape(self.body_part_of_face)}")
        garments = tuple(_mesh_parts(g, f"garment {i}")[:2] for i, g in enumerate(self.garments))
        for i, (verts, faces) in enumerate(garments):
            if verts.ndim != 3 or verts.shape[0] != body.shape[0] or verts.shape[-1] != 3:
                raise ValueError(f"garment {i} vertices must be (F={body.shape[0]}, Vg, 3), got {verts.shape}")
            _check_faces(f"garment {i} faces", faces, verts.shape[1])
        scene = []
        for i, item in enumerate(self.scene_meshes):
            verts, faces, cls = _mesh_parts(item, f"scene mesh {i}")
            if verts.ndim != 2 or verts.shape[-1] != 3:
                raise ValueError(f"scene mesh {i} vertices must be (Vs, 3), got {verts.shape}")
            _check_faces(f"scene mesh {i} faces", faces, verts.shape[0])
            scene.append((verts, faces, OCC_SCENE if cls is None else cls))
        rigid = []
        for i, (verts, faces, T, cls) in enumerate(self.rigid_meshes):
            at = verts if callable(verts) else None
            verts, T = np.asarray(verts(0) if at else verts, dtype=np.float64), np.asarray(T, dtype=np.float64)
            if verts.ndim != 2 or verts.shape[-1] != 3:
                raise ValueError(f"rigid mesh {i} vertices must be (Vr, 3), got {verts.shape}")
            if T.shape != (body.shape[0], 4, 4):
                raise ValueError(f"rigid mesh {i} T_world_from_local must be (F={body.shape[0]}, 4, 4), got {T.shape}")
            _check_faces(f"rigid mesh {i} faces", faces, verts.shape[0])
            rigid.append(_RigidMesh(verts, np.asarray(faces), T, int(cls), at))
        object.__setattr__(self, "garments", garments)
        object.__setattr__(self, "scene_meshes", tuple(scene))
        object.__setattr__(self, "rigid_meshes", tuple(rigid))
        # The rigid meshes that share the first one's transforms get one BVH of their own, built once, which the
        # rays visit in its own frame; any others are moved and refitted with the body every frame.
        shared = tuple(m for m in rigid if np.array_equal(m[2], rigid[0][2])) if rigid else ()
        object.__setattr__(self, "_rigid_shared", shared)
        object.__setattr__(self, "_rigid_moving", tuple(m for m in rigid if not any(m is s for s in shared)))

    @property
    def num_frames(self) -> int:
        return int(np.shape(self.body_vertices_world_m)[0])

    @property
    def num_body_vertices(self) -> int:
        return int(np.shape(self.body_vertices_world_m)[1])

    def dynamic_faces(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Body, garment then moving rigid-mesh triangles of the moving BVH: ((T, 3) int32 into dynamic_vertices,
        (T,) int32 class, (T,) int32 part bit (1 << BODY_PARTS index for labelled body triangles, else 0))."""
        faces = [np.asarray(self.body_faces, dtype=np.int64)]
        classes = [np.full(len(faces[0]), OCC_BODY, dtype=np.int32)]
        if self.body_part_of_face is None:
            part_bits = [np.zeros(len(faces[0]), dtype=np.int32)]
        else:
            part_bits = [np.left_shift(1, np.asarray(self.body_part_of_face, dtype=np.int32)).astype(np.int32)]
        offset = self.num_body_vertices
        for verts, g_faces in self.garments:
            faces.append(np.asarray(g_faces, dtype=np.int64) + offset)
            classes.append(np.full(len(g_faces), OCC_GARMENT, dtype=np.int32))
            part_bits.append(np.zeros(len(g_faces), dtype=np.int32))
            offset += np.shape(verts)[1]
        for verts, r_faces, _, cls, _ in self._rigid_moving:
            faces.append(np.asarray(r_faces, dtype=np.int64) + offset)
            classes.append(np.full(len(r_faces), cls, dtype=np.int32))
            part_bits.append(np.zeros(len(r_faces), dtype=np.int32))
            offset += len(verts)
        return np.concatenate(faces).astype(np.int32), np.concatenate(classes), np.concatenate(part_bits)

    def dynamic_vertices(self, frame: int, out: np.ndarray | None = None) -> np.ndarray:
        """Body, garment then rigid-mesh vertices of one frame: (Vb + sum Vg + sum Vr, 3) float32 world m (written
        into `out` if given)."""
        parts = [self.body_vertices_world_m[frame]] + [verts[frame] for verts, _ in self.garments]
        parts += [m.at_frame(frame) @ m.T[frame, :3, :3].T + m.T[frame, :3, 3] for m in self._rigid_moving]
        if out is None:
            return np.concatenate(parts).astype(np.float32)
        start = 0
        for part in parts:
            out[start : start + len(part)] = part
            start += len(part)
        return out

    def rigid_mesh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """The rigid meshes sharing one motion, merged in their own frame: ((Vr, 3) float32 m, (Tr, 3) int32,
        (Tr,) int32 class, (F, 4, 4) float64 T_world_from_local), or None without rigid meshes."""
        if not self._rigid_shared:
            return None
        verts, faces, classes, offset = [], [], [], 0
        for v, f, _, cls, _ in self._rigid_shared:
            verts.append(np.asarray(v, dtype=np.float32))
            faces.append(np.asarray(f, dtype=np.int64) + offset)
            classes.append(np.full(len(f), cls, dtype=np.int32))
            offset += len(v)
        return (np.concatenate(verts), np.concatenate(faces).astype(np.int32), np.concatenate(classes),
                self._rigid_shared[0][2])

    @property
    def rigid_mesh_deforms(self) -> bool:
        """Whether a mesh of rigid_mesh() changes shape in its own frame (its BVH is refitted every frame)."""
        return any(m.at is not None for m in self._rigid_shared)

    def rigid_vertices(self, frame: int) -> np.ndarray:
        """The vertices of rigid_mesh() at `frame`: (Vr, 3) float32, their own frame, m."""
        return np.concatenate([m.at_frame(frame) for m in self._rigid_shared]).astype(np.float32)

    def static_mesh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Scene meshes merged: ((Vs, 3) float32, (Ts, 3) int32, (Ts,) int32 class), or None without scene meshes."""
        if not self.scene_meshes:
            return None
        verts, faces, classes, offset = [], [], [], 0
        for v, f, cls in self.scene_meshes:
            verts.append(np.asarray(v, dtype=np.float32))
            faces.append(np.asarray(f, dtype=np.int64) + offset)
            classes.append(np.full(len(f), cls, dtype=np.int32))
            offset += len(v)
        return np.concatenate(verts), np.concatenate(faces).astype(np.int32), np.concatenate(classes)


def _check_faces(name: str, faces, num_vertices: int) -> None:
    faces = np.asarray(faces)
    if faces.ndim != 2 or faces.shape[-1] != 3 or len(faces) == 0:
        raise ValueError(f"{name} must be a non-empty (T, 3) integer array, got shape {faces.shape}")
    if faces.min() < 0 or faces.max() >= num_vertices:
        raise ValueError(f"{name} index vertices outside [0, {num_vertices}); fix the mesh")


@dataclass(frozen=True)
class VisibilityLabels:
    """visibility (F, V, J) uint8 (0 outside, 1 occluded, 2 visible); occluder (F, V, J) uint8 (0 none, 1 body,
    2 garment, 3 scene, 4 hair); flesh_depth_m (F, J) float32, t_j = joint to nearest body vertex, metres."""

    visibility: np.ndarray
    occluder: np.ndarray
    flesh_depth_m: np.ndarray


@wp.kernel
def _visibility_kernel(
    frame: wp.int32,
    dynamic_mesh: wp.uint64,
    dynamic_class: wp.array(dtype=wp.int32),
    dynamic_part_bit: wp.array(dtype=wp.int32),
    static_mesh: wp.uint64,
    static_class: wp.array(dtype=wp.int32),
    has_static: wp.int32,
    rigid_mesh: wp.uint64,
    rigid_class: wp.array(dtype=wp.int32),
    has_rigid: wp.int32,
    T_local_from_world: wp.array(dtype=wp.mat44),
    points: wp.array(dtype=wp.vec3),
    num_body_points: wp.int32,
    centres: wp.array2d(dtype=wp.vec3),
    joints: wp.array2d(dtype=wp.vec3),
    own_part_mask: wp.array(dtype=wp.int32),
    flesh_cap: wp.float32,
    margin: wp.float32,
    own_radius: wp.float32,
    hit_class: wp.array3d(dtype=wp.int32),
    flesh_depth: wp.array2d(dtype=wp.float32),
):
    j = wp.tid()
    p = joints[frame, j]
    best_sq = float(1.0e30)
    for k in range(num_body_points):
        best_sq = wp.min(best_sq, wp.length_sq(points[k] - p))
    t_j = wp.sqrt(best_sq)
    flesh_depth[frame, j] = t_j
    tolerance = wp.min(t_j, flesh_cap) + margin
    for v in range(centres.shape[1]):
        origin = centres[frame, v]
        ray = p - origin
        dist = wp.length(ray)
        max_t = dist - tolerance
        cls = wp.int32(0)
        if max_t > 0.0:
            direction = ray / dist
            query = wp.mesh_query_ray(dynamic_mesh, origin, direction, max_t)
            nearest = max_t
            part_bit = wp.int32(0)
            if query.result:
                nearest = query.t
                cls = dynamic_class[query.face]
                part_bit = dynamic_part_bit[query.face]
            if has_rigid != 0:
                T = T_local_from_world[frame]
                query_rigid = wp.mesh_query_ray(rigid_mesh, wp.transform_point(T, origin),
                                                wp.transform_vector(T, direction), nearest)
                if query_rigid.result:
                    if query_rigid.t < nearest:
                        nearest = query_rigid.t
                        cls = rigid_class[query_rigid.face]
                        part_bit = wp.int32(0)
            if has_static != 0:
                query_static = wp.mesh_query_ray(static_mesh, origin, direction, nearest)
                if query_static.result:
                    if query_static.t < nearest:
                        nearest = query_static.t
                        cls = static_class[query_static.face]
                        part_bit = wp.int32(0)
            # Own-segment clause: the first surface is the joint's own limb, close to the joint.
            if (part_bit & own_part_mask[j]) != 0:
                if wp.length(origin + direction * nearest - p) <= own_radius:
                    cls = wp.int32(0)
        hit_class[frame, v, j] = cls


def _bvh(mesh, device: str) -> tuple:
    """(warp Mesh or None, its id (0 without), per-triangle class array) of a (vertices, faces, classes, ...) tuple
    or None. The Mesh must stay referenced while its id is used."""
    if mesh is None:
        return None, wp.uint64(0), wp.zeros(1, dtype=wp.int32, device=device)
    bvh = wp.Mesh(points=wp.array(mesh[0], dtype=wp.vec3, device=device),
                  indices=wp.array(mesh[1].ravel(), dtype=wp.int32, device=device))
    return bvh, bvh.id, wp.array(mesh[2], dtype=wp.int32, device=device)


def _init_warp() -> None:
    """Initialise warp without its info banner on stdout nor, on CPU-only machines, its missing-CUDA warning
    (label workers cast rays on the CPU)."""
    if wp.config.log_level < wp.LOG_ERROR:
        wp.config.log_level = wp.LOG_ERROR
    wp.init()


def compute_visibility(
    scene: OccluderScene,
    camera_centres_world_m,
    joints3d_world_m,
    in_fov,
    margin_m: float = TOLERANCE_MARGIN_M,
    flesh_cap_m: float = FLESH_CAP_M,
    device: str = DEFAULT_DEVICE,
    joint_names=EGO16_JOINTS,
    own_segment_radius_m: float = OWN_SEGMENT_RADIUS_M,
) -> VisibilityLabels:
    """Visibility and occluder codes for a whole clip (rule in the module docstring).

    scene: the clip's occluders (F frames).
    camera_centres_world_m: (F, V, 3) float, camera centres, world frame, metres.
    joints3d_world_m: (F, J, 3) float, world frame, metres.
    in_fov: (F, V, J) bool, from projection.project_joints (False -> visibility 0).
    margin_m, flesh_cap_m: the rule's constants (m); pass flesh_cap_m=np.inf for the uncapped rule.
    joint_names: names of the J joints (selects each joint's own parts; EGO16 by default).
    own_segment_radius_m: radius of the own-segment clause (0 disables it).
    Returns VisibilityLabels.
    """
    centres = np.asarray(camera_centres_world_m, dtype=np.float32)
    joints = np.asarray(joints3d_world_m, dtype=np.float32)
    in_fov = np.asarray(in_fov, dtype=bool)
    num_frames = scene.num_frames
    if centres.ndim != 3 or centres.shape[0] != num_frames or centres.shape[-1] != 3:
        raise ValueError(f"camera_centres_world_m must be (F={num_frames}, V, 3), got {centres.shape}")
    if joints.ndim != 3 or joints.shape[0] != num_frames or joints.shape[-1] != 3:
        raise ValueError(f"joints3d_world_m must be (F={num_frames}, J, 3), got {joints.shape}")
    num_views, num_joints = centres.shape[1], joints.shape[1]
    if in_fov.shape != (num_frames, num_views, num_joints):
        raise ValueError(f"in_fov must be (F, V, J) = {(num_frames, num_views, num_joints)}, got {in_fov.shape}")
    if num_frames == 0 or num_views == 0 or num_joints == 0:
        empty = np.zeros((num_frames, num_views, num_joints), dtype=np.uint8)
        return VisibilityLabels(empty, empty.copy(), np.zeros((num_frames, num_joints), dtype=np.float32))

    _init_warp()
    faces, classes, part_bits = scene.dynamic_faces()
    if len(joint_names) != num_joints:
        joint_names = ()  # unnamed joints: no own-segment clause
    own_masks = own_part_masks(joint_names) if joint_names else np.zeros(num_joints, dtype=np.int32)
    buffer = scene.dynamic_vertices(0)
    points = wp.array(buffer, dtype=wp.vec3, device=device)
    dynamic_mesh = wp.Mesh(points=points, indices=wp.array(faces.ravel(), dtype=wp.int32, device=device))
    dynamic_class = wp.array(classes, dtype=wp.int32, device=device)
    dynamic_part_bit = wp.array(part_bits, dtype=wp.int32, device=device)
    own_mask_wp = wp.array(own_masks, dtype=wp.int32, device=device)
    static = scene.static_mesh()
    static_mesh, static_id, static_class = _bvh(static, device)
    rigid = scene.rigid_mesh()
    rigid_mesh, rigid_id, rigid_class = _bvh(rigid, device)
    if rigid is None:
        rigid_T = wp.zeros(num_frames, dtype=wp.mat44, device=device)
    else:
        rigid_T = wp.array(np.linalg.inv(rigid[3]).astype(np.float32), dtype=wp.mat44, device=device)

    centres_wp = wp.array(centres, dtype=wp.vec3, device=device)
    joints_wp = wp.array(joints, dtype=wp.vec3, device=device)
    hit_class = wp.zeros((num_frames, num_views, num_joints), dtype=wp.int32, device=device)
    flesh = wp.zeros((num_frames, num_joints), dtype=wp.float32, device=device)
    for f in range(num_frames):
        if f > 0:
            dynamic_mesh.points.assign(scene.dynamic_vertices(f, out=buffer))
            dynamic_mesh.refit()
            if rigid is not None and scene.rigid_mesh_deforms:
                rigid_mesh.points.assign(scene.rigid_vertices(f))
                rigid_mesh.refit()
        wp.launch(
            _visibility_kernel,
            dim=num_joints,
            inputs=[
                f, dynamic_mesh.id, dynamic_class, dynamic_part_bit, static_id, static_class,
                int(static is not None), rigid_id, rigid_class, int(rigid is not None), rigid_T, dynamic_mesh.points,
                scene.num_body_vertices, centres_wp, joints_wp,
                own_mask_wp, float(flesh_cap_m), float(margin_m), float(own_segment_radius_m),
            ],
            outputs=[hit_class, flesh],
            device=device,
        )
    hits = hit_class.numpy()
    occluded = in_fov & (hits != OCC_NONE)
    visibility = np.where(in_fov, np.where(occluded, VIS_OCCLUDED, VIS_VISIBLE), VIS_OUTSIDE).astype(np.uint8)
    occluder = np.where(occluded, hits, OCC_NONE).astype(np.uint8)
    return VisibilityLabels(visibility, occluder, flesh.numpy())
