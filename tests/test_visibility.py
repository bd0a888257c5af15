"""Visibility by ray casting on constructed scenes: occluder classes, the per-joint tolerance rule and its cap, the
field-of-view codes, per-frame refits, and the whole label computation of a small clip."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synth.constants import (
    OCC_BODY,
    OCC_GARMENT,
    OCC_NONE,
    OCC_SCENE,
    VIS_OCCLUDED,
    VIS_OUTSIDE,
    VIS_VISIBLE,
)
from synth.geometry.lenses import EquidistantLens
from synth.geometry.transforms import make_T
from synth.labels.projection import camera_centres_world, project_joints
from synth.labels.visibility import (
    FLESH_CAP_M,
    TOLERANCE_MARGIN_M,
    OccluderScene,
    compute_visibility,
)
from synth.scene.spec import ground_plane

BOX_FACES = np.array([
    [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
    [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],
], dtype=np.int32)
SLAB_FACES = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32)
CAMERA = np.zeros(3)
JOINT = np.array([0.0, 0.0, 2.0])  # 2 m from the camera along +z


def box(centre, half) -> tuple[np.ndarray, np.ndarray]:
    """Closed axis-aligned box: (8, 3) vertices (corner k has bits x, y, z), (12, 3) faces."""
    half = np.broadcast_to(np.asarray(half, dtype=np.float64), (3,))
    corners = np.array([[(k >> 2) & 1, (k >> 1) & 1, k & 1] for k in range(8)], dtype=np.float64) * 2.0 - 1.0
    return np.asarray(centre, dtype=np.float64) + corners * half, BOX_FACES


def slab_z(z: float, half: float = 0.1, x: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Two triangles in the plane z = const, centred on (x, 0, z)."""
    verts = np.array([[x - half, -half, z], [x + half, -half, z], [x + half, half, z], [x - half, half, z]])
    return verts, SLAB_FACES


def merge(*meshes) -> tuple[np.ndarray, np.ndarray]:
    verts, faces, offset = [], [], 0
    for v, f in meshes:
        verts.append(v)
        faces.append(f + offset)
        offset += len(v)
    return np.concatenate(verts), np.concatenate(faces)


def run(body, joints, garments=(), scene=(), in_fov=None, **kwargs):
    """One frame, one camera at the origin; body / garments given for that frame."""
    body_v, body_f = body
    joints = np.atleast_2d(np.asarray(joints, dtype=np.float64))
    occ = OccluderScene(body_v[None], body_f, tuple((v[None], f) for v, f in garments), tuple(scene))
    fov = np.ones((1, 1, len(joints)), dtype=bool) if in_fov is None else np.asarray(in_fov).reshape(1, 1, -1)
    return compute_visibility(occ, CAMERA[None, None], joints[None], fov, **kwargs)


LIMB = box(JOINT, (0.05, 0.05, 0.05))  # a 'limb' of radius 5 cm around the joint


def test_unobstructed_joint_inside_its_limb_is_visible():
    out = run(LIMB, [JOINT])
    assert out.visibility.tolist() == [[[VIS_VISIBLE]]]
    assert out.occluder.tolist() == [[[OCC_NONE]]]
    assert out.flesh_depth_m[0, 0] == pytest.approx(0.05 * math.sqrt(3.0), abs=1e-6)  # nearest box corner


@pytest.mark.parametrize("where,expected", [("scene", OCC_SCENE), ("body", OCC_BODY), ("garment", OCC_GARMENT)])
def test_slab_in_front_occludes_with_its_class(where, expected):
    slab = slab_z(1.0)
    body = merge(LIMB, slab) if where == "body" else LIMB
    garments = (slab,) if where == "garment" else ()
    scene = (slab,) if where == "scene" else ()
    beside = JOINT + [0.5, 0.0, 0.0]  # its ray crosses z = 1 at x = 0.25, beside the 20 cm slab
    out = run(body, [JOINT, beside], garments=garments, scene=scene)
    assert out.visibility[0, 0].tolist() == [VIS_OCCLUDED, VIS_VISIBLE]
    assert out.occluder[0, 0].tolist() == [expected, OCC_NONE]


def test_boxes_of_other_classes_in_front_of_the_limb():
    in_front = box([0.0, 0.0, 1.6], 0.04)
    for kwargs, expected in (
        (dict(scene=(in_front,)), OCC_SCENE),
        (dict(garments=(in_front,)), OCC_GARMENT),
        (dict(body=merge(LIMB, in_front)), OCC_BODY),  # another body part (a hand) in front
    ):
        out = run(kwargs.pop("body", LIMB), [JOINT], **kwargs)
        assert (out.visibility[0, 0, 0], out.occluder[0, 0, 0]) == (VIS_OCCLUDED, expected)


def test_tight_garment_keeps_the_joint_visible_loose_one_hides_it():
    tight = box(JOINT, 0.06)  # 1 cm over the skin: within the margin
    out = run(LIMB, [JOINT], garments=(tight,))
    assert (out.visibility[0, 0, 0], out.occluder[0, 0, 0]) == (VIS_VISIBLE, OCC_NONE)
    loose = box(JOINT, (0.06, 0.06, 0.20))  # a coat 20 cm in front along the ray
    out = run(LIMB, [JOINT], garments=(loose,))
    assert (out.visibility[0, 0, 0], out.occluder[0, 0, 0]) == (VIS_OCCLUDED, OCC_GARMENT)


def test_tolerance_margin_threshold():
    # Flesh: a 2 cm cube, t_j = 2 cm * sqrt(3); a scene slab just inside / outside t_j + margin in front of the joint.
    flesh = box(JOINT, 0.02)
    t_j = 0.02 * math.sqrt(3.0)
    for delta, expected in ((t_j + TOLERANCE_MARGIN_M - 0.003, VIS_VISIBLE), (t_j + TOLERANCE_MARGIN_M + 0.003,
                                                                             VIS_OCCLUDED)):
        out = run(flesh, [JOINT], scene=(slab_z(JOINT[2] - delta),))
        assert out.visibility[0, 0, 0] == expected, delta


def test_flesh_cap_for_deep_joints():
    # A joint 30 cm deep inside a thick body: t_j = 0.3 * sqrt(3) far exceeds the cap.
    thick = box(JOINT, 0.3)
    capped = run(thick, [JOINT])
    assert (capped.visibility[0, 0, 0], capped.occluder[0, 0, 0]) == (VIS_OCCLUDED, OCC_BODY)
    uncapped = run(thick, [JOINT], flesh_cap_m=np.inf)
    assert uncapped.visibility[0, 0, 0] == VIS_VISIBLE
    # A hand resting on that body, 25 cm in front of the joint: only the capped rule sees it.
    hand = box([0.0, 0.0, JOINT[2] - 0.33], 0.03)
    uncapped = run(thick, [JOINT], scene=(hand,), flesh_cap_m=np.inf)
    assert uncapped.visibility[0, 0, 0] == VIS_VISIBLE
    capped = run(thick, [JOINT], scene=(hand,))
    assert (capped.visibility[0, 0, 0], capped.occluder[0, 0, 0]) == (VIS_OCCLUDED, OCC_SCENE)
    # A thin joint (t_j below the cap) behaves the same with and without the cap.
    assert 0.05 * math.sqrt(3.0) < FLESH_CAP_M
    for cap in (FLESH_CAP_M, np.inf):
        assert run(LIMB, [JOINT], flesh_cap_m=cap).visibility[0, 0, 0] == VIS_VISIBLE


def test_ground_plane_occludes_joint_below_floor():
    scene = (ground_plane(height_m=1.0),)  # floor at z = 1 between the camera (z = 0) and the joint (z = 2)
    out = run(LIMB, [JOINT, [0.0, 0.0, 0.5]], scene=scene)
    assert out.visibility[0, 0].tolist() == [VIS_OCCLUDED, VIS_VISIBLE]
    assert out.occluder[0, 0].tolist() == [OCC_SCENE, OCC_NONE]


def test_out_of_view_codes_win_over_hits():
    out = run(LIMB, [JOINT], scene=(slab_z(1.0),), in_fov=[False])
    assert (out.visibility[0, 0, 0], out.occluder[0, 0, 0]) == (VIS_OUTSIDE, OCC_NONE)


def test_projection_field_angle_and_behind_the_camera():
    lens = EquidistantLens(128, 128, math.radians(180.0))
    R_back = np.diag([-1.0, -1.0, 1.0])
    T_device_from_camera = np.stack([make_T(np.eye(3), [0.0, 0.0, 0.0]), make_T(R_back, [0.0, 0.3, 0.0])])
    angle = math.radians(95.0)  # beyond the 90 deg field angle of camera 0
    joints = np.array([[
        [0.0, 0.0, 2.0],
        [0.0, 0.0, -2.0],  # behind camera 0
        [2.0 * math.sin(angle), 0.0, 2.0 * math.cos(angle)],
        [0.5, 0.2, 1.0],
    ]])
    cam, uv, in_fov = project_joints(joints, T_device_from_camera, [lens, lens])
    assert cam.shape == (1, 2, 4, 3) and uv.shape == (1, 2, 4, 2) and in_fov.shape == (1, 2, 4)
    assert in_fov[0, 0].tolist() == [True, False, False, True]
    np.testing.assert_allclose(cam[0, 0], joints[0])
    # Camera 1 sits 0.3 m back, turned 180 deg about its optical axis: x and y flip.
    expected = (joints[0] - [0.0, 0.3, 0.0]) * [-1.0, -1.0, 1.0]
    np.testing.assert_allclose(cam[0, 1], expected, atol=1e-12)
    np.testing.assert_allclose(uv[0, 1], lens.project(expected)[0])
    # Visibility: a slab in front of camera 0 hides nothing that is outside the view.
    centres = camera_centres_world(np.eye(4)[None], T_device_from_camera)
    np.testing.assert_allclose(centres[0], [[0.0, 0.0, 0.0], [0.0, 0.3, 0.0]])
    occ = OccluderScene(box([5.0, 5.0, 5.0], 0.05)[0][None], BOX_FACES, scene_meshes=(slab_z(-1.0, 0.5), slab_z(1.0)))
    out = compute_visibility(occ, centres, joints, in_fov)
    assert out.visibility[0, 0].tolist() == [VIS_OCCLUDED, VIS_OUTSIDE, VIS_OUTSIDE, VIS_VISIBLE]
    assert out.occluder[0, 0].tolist() == [OCC_SCENE, OCC_NONE, OCC_NONE, OCC_NONE]


def test_moving_occluder_is_refitted_per_frame():
    frames = 4
    slab_v, slab_f = slab_z(1.0)
    shift = np.array([0.0, 1.0, 0.0, 1.0])  # the body slab moves 1 m aside in frames 1 and 3
    verts = np.stack([np.concatenate([LIMB[0], slab_v + [dx, 0.0, 0.0]]) for dx in shift])
    faces = np.concatenate([LIMB[1], slab_f + len(LIMB[0])])
    garment = np.stack([slab_z(1.5, x=dx)[0] for dx in (1.0, 1.0, 1.0, 0.0)])  # garment slab arrives in frame 3
    occ = OccluderScene(verts, faces, garments=((garment, SLAB_FACES),))
    out = compute_visibility(occ, np.zeros((frames, 1, 3)), np.repeat(JOINT[None, None], frames, 0),
                             np.ones((frames, 1, 1), bool))
    assert out.visibility[:, 0, 0].tolist() == [VIS_OCCLUDED, VIS_VISIBLE, VIS_OCCLUDED, VIS_OCCLUDED]
    assert out.flesh_depth_m[:, 0] == pytest.approx([0.05 * math.sqrt(3.0)] * frames, abs=1e-6)
    assert out.occluder[:, 0, 0].tolist() == [OCC_BODY, OCC_NONE, OCC_BODY, OCC_GARMENT]


def test_flesh_depth_is_nearest_body_vertex_distance():
    rng = np.random.default_rng(5)
    frames, num_verts = 3, 500
    verts = rng.normal(size=(frames, num_verts, 3))
    faces = rng.integers(0, num_verts, size=(300, 3))
    joints = rng.normal(size=(frames, 7, 3))
    garment = (rng.normal(size=(frames, 20, 3)) * 0.01 + joints[:, :1], rng.integers(0, 20, size=(10, 3)))
    occ = OccluderScene(verts, faces, garments=(garment,))
    out = compute_visibility(occ, np.full((frames, 2, 3), 10.0), joints, np.ones((frames, 2, 7), bool))
    brute = np.sqrt(((joints[:, :, None] - verts[:, None]) ** 2).sum(-1)).min(-1)  # garments do not count
    np.testing.assert_allclose(out.flesh_depth_m, brute, atol=1e-5)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="faces"):
        OccluderScene(LIMB[0][None], np.array([[0, 1, 8]]))
    occ = OccluderScene(LIMB[0][None], LIMB[1])
    with pytest.raises(ValueError, match="in_fov"):
        compute_visibility(occ, np.zeros((1, 2, 3)), JOINT[None, None], np.ones((1, 1, 1), bool))


def test_compute_labels_small_clip():
    from synth.constants import HEATMAP_JOINTS, NUM_JOINTS
    from synth.labels.compute import ClipLabels, compute_labels
    from synth.labels.heatmaps import heatmap_argmax, heatmap_coords_from_image_px

    frames, views = 3, 2
    lens = EquidistantLens(96, 96, math.radians(180.0))
    # Device at 1.7 m looking down (device z = down = world -z), joints spread below it, one of them behind a slab.
    T_world_from_device = np.repeat(make_T(np.diag([1.0, -1.0, -1.0]), [0.0, 0.0, 1.7])[None], frames, 0)
    T_device_from_camera = np.stack([make_T(np.eye(3), [-0.06, 0.0, 0.0]), make_T(np.eye(3), [0.06, 0.0, 0.0])])
    rng = np.random.default_rng(1)
    joints = np.zeros((frames, NUM_JOINTS, 3))
    joints[..., 0] = rng.uniform(-0.4, 0.4, (frames, NUM_JOINTS))
    joints[..., 1] = rng.uniform(-0.4, 0.4, (frames, NUM_JOINTS))
    joints[..., 2] = rng.uniform(0.1, 1.2, (frames, NUM_JOINTS))
    joints[:, 5] = [0.0, 0.0, 0.5]  # right_lowerarm, under the table top
    joints[:, 9] = [0.0, 0.0, 2.5]  # right_thigh, above the cameras: outside both views
    flesh = np.concatenate([box(p, 0.03)[0] for p in joints[0]])
    body_v = np.repeat(flesh[None], frames, 0)
    body_f = np.concatenate([BOX_FACES + 8 * k for k in range(NUM_JOINTS)])
    table = slab_z(0.8, half=0.3)
    times: dict = {}
    labels = compute_labels(body_v, body_f, joints, T_world_from_device, T_device_from_camera, [lens, lens],
                                 scene_meshes=[table, ground_plane()], heatmap_size=24, stage_times=times)
    assert isinstance(labels, ClipLabels)
    assert set(times) == {"projection", "visibility", "heatmaps"} and all(t >= 0 for t in times.values())
    arrays = labels.label_arrays()
    assert set(arrays) == {"joints3d_world", "joints3d_device", "joints3d_camera", "joints2d", "visibility",
                           "occluder", "T_world_from_device", "T_device_from_camera", "frame_index"}
    assert labels.joints3d_camera.shape == (frames, views, NUM_JOINTS, 3)
    assert labels.joints2d.shape == (frames, views, NUM_JOINTS, 2) and labels.joints2d.dtype == np.float64
    assert labels.visibility.dtype == np.uint8 and labels.occluder.dtype == np.uint8
    assert labels.heatmaps.shape == (frames, views, len(HEATMAP_JOINTS), 24, 24)
    assert labels.heatmaps.dtype == np.float16
    assert labels.frame_index.tolist() == [0, 1, 2]
    # Device-frame joints: device z points down, so z_device = 1.7 - z_world.
    np.testing.assert_allclose(labels.joints3d_device[..., 2], 1.7 - joints[..., 2])
    assert np.all(labels.visibility[:, :, 5] == VIS_OCCLUDED) and np.all(labels.occluder[:, :, 5] == OCC_SCENE)
    assert np.all(labels.visibility[:, :, 9] == VIS_OUTSIDE)
    # Heatmap channel k is EGO16 joint k + 1: zero when outside, else peaking at the rounded cell of the 2D label.
    peak_xy, peak = heatmap_argmax(labels.heatmaps.astype(np.float32))
    expected = np.floor(heatmap_coords_from_image_px(labels.joints2d[:, :, 1:], (96, 96), 24) + 0.5)
    vis = labels.visibility[:, :, 1:]
    assert np.all(peak[vis == VIS_OUTSIDE] == 0.0)
    shown = (vis != VIS_OUTSIDE) & np.all((expected >= 0) & (expected < 24), axis=-1)
    assert shown.sum() > 10
    np.testing.assert_array_equal(peak_xy[shown], expected[shown])
    assert np.all(peak[shown] == 1.0)


def test_garment_objects_and_scene_mesh_classes():
    from types import SimpleNamespace

    slab_v, slab_f = slab_z(1.0)
    garment = SimpleNamespace(vertices=slab_v[None], faces=slab_f)  # like synth.appearance.garments.GarmentMesh
    occ = OccluderScene(LIMB[0][None], LIMB[1], garments=[garment])
    out = compute_visibility(occ, CAMERA[None, None], JOINT[None, None], np.ones((1, 1, 1), bool))
    assert out.occluder[0, 0, 0] == OCC_GARMENT
    # A static mesh may carry its own class; without one it is scene.
    for scene, expected in (((slab_v, slab_f, OCC_BODY),), OCC_BODY), (((slab_v, slab_f),), OCC_SCENE):
        occ = OccluderScene(LIMB[0][None], LIMB[1], scene_meshes=scene)
        out = compute_visibility(occ, CAMERA[None, None], JOINT[None, None], np.ones((1, 1, 1), bool))
        assert out.occluder[0, 0, 0] == expected


def _forearm_scene(part_name: str):
    """A long thin 'forearm' box seen almost along its length: the wrist joint sits 1 cm inside its far end.

    Returns ((vertices, faces), per-face part labels, wrist position); world metres.
    """
    from synth.constants import PART_INDEX

    wrist = np.array([0.0, 0.0, 2.0])
    verts, faces = box(wrist - np.array([0.0, 0.0, 0.10]), (0.03, 0.03, 0.11))
    labels = np.full(len(faces), PART_INDEX[part_name], dtype=np.int32)
    return (verts, faces), labels, wrist


@pytest.mark.parametrize("part,expected", [("left_forearm", VIS_VISIBLE), ("torso", VIS_OCCLUDED)])
def test_own_segment_clause_uses_the_part_labels(part, expected):
    from synth.constants import JOINT_INDEX

    (verts, faces), labels, wrist = _forearm_scene(part)
    joints = np.zeros((16, 3))
    joints[:] = [5.0, 5.0, 5.0]  # other joints far away, outside the box
    j = JOINT_INDEX["left_hand"]
    joints[j] = wrist
    fov = np.zeros((1, 1, 16), dtype=bool)
    fov[0, 0, j] = True
    scene = OccluderScene(verts[None], faces, body_part_of_face=labels)
    out = compute_visibility(scene, CAMERA[None, None], joints[None], fov)
    # Seen along the box from the origin, its near face is 21 cm before the wrist: beyond the own-segment radius,
    # so even the wrist's own forearm hides it.
    assert out.visibility[0, 0, j] == VIS_OCCLUDED
    # A grazing view: the ray enters the forearm's side 8 cm from the wrist (beyond the depth tolerance of about
    # 6.4 cm, within the 10 cm own-segment radius).
    camera = np.array([[[0.0, 0.12, 1.704]]])
    out = compute_visibility(scene, camera, joints[None], fov)
    assert out.visibility[0, 0, j] == expected
    assert out.occluder[0, 0, j] == (OCC_NONE if expected == VIS_VISIBLE else OCC_BODY)


def test_own_segment_clause_needs_part_labels():
    from synth.constants import JOINT_INDEX

    (verts, faces), _, wrist = _forearm_scene("left_forearm")
    joints = np.full((16, 3), 5.0)
    j = JOINT_INDEX["left_hand"]
    joints[j] = wrist
    fov = np.zeros((1, 1, 16), dtype=bool)
    fov[0, 0, j] = True
    camera = np.array([[[0.0, 0.12, 1.704]]])
    out = compute_visibility(OccluderScene(verts[None], faces), camera, joints[None], fov)
    assert out.visibility[0, 0, j] == VIS_OCCLUDED
