"""Projection contract with real Cycles: rendered centroids of small emissive spheres equal lens.project."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.blender

bpy = pytest.importorskip("bpy")

from synth.blender import cameras as C  # noqa: E402
from synth.blender import passes as P  # noqa: E402
from synth.blender.capture import captured_output  # noqa: E402
from synth.geometry import lenses as L  # noqa: E402
from synth.geometry.transforms import euler_xyz_deg_to_matrix, make_T  # noqa: E402

RES = 256
SAMPLES = 48
#: Sphere angular radius: small enough that the projected blob's shape bias is far below 0.1 px.
SPHERE_ANGULAR_RADIUS_RAD = math.radians(0.9)
SPHERE_DISTANCE_M = 1.5
#: (field angle deg, azimuth deg) of the test spheres; the largest angle stays clear of the image rim.
DIRECTIONS_DEG = ((0, 0), (20, 30), (35, 200), (50, 120), (62, 300), (72, 45), (80, 170), (84, 250))
#: Beyond the field angle by this much: must not appear anywhere in the image.
OUTSIDE_MARGIN_DEG = 6.0
WINDOW_PX = 6
TOL_PX = 0.1
#: An arbitrary camera pose (OpenCV camera -> world), to exercise the OpenCV -> Blender conversion.
T_WORLD_FROM_CAMERA = make_T(euler_xyz_deg_to_matrix((-110.0, 15.0, 40.0)), np.array([0.3, -0.2, 1.6]))


def _direction(theta_deg: float, phi_deg: float) -> np.ndarray:
    t, p = math.radians(theta_deg), math.radians(phi_deg)
    return np.array([math.sin(t) * math.cos(p), math.sin(t) * math.sin(p), math.cos(t)])


def _render(lens, points_cam: np.ndarray, tmp_path) -> np.ndarray:
    """Render emissive spheres at `points_cam` (N, 3) OpenCV camera frame; returns (H, W) linear luminance."""
    with captured_output(tmp_path / "blender.log"):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        sc = bpy.context.scene
        sc.render.engine = "CYCLES"
        sc.cycles.device = "CPU"
        sc.cycles.samples = SAMPLES
        sc.cycles.use_adaptive_sampling = False
        sc.cycles.use_denoising = False
        sc.cycles.seed = 7
        world = bpy.data.worlds.new("black")
        next(n for n in world.node_tree.nodes if n.bl_idname == "ShaderNodeBackground").inputs[
            "Strength"].default_value = 0.0
        sc.world = world
        cc = lens.cycles_settings()
        sc.render.resolution_x, sc.render.resolution_y = cc.resolution_x, cc.resolution_y
        cam = C.new_camera(sc, "cam")
        C.apply_cycles_camera(cam.data, cc, clip_start_m=0.01)
        C.set_camera_pose(cam, T_WORLD_FROM_CAMERA)
        sc.camera = cam
        mat = bpy.data.materials.new("emit")
        tree = mat.node_tree
        tree.nodes.clear()
        emit = tree.nodes.new("ShaderNodeEmission")
        out = tree.nodes.new("ShaderNodeOutputMaterial")
        tree.links.new(emit.outputs[0], out.inputs["Surface"])
        radius = SPHERE_DISTANCE_M * math.tan(SPHERE_ANGULAR_RADIUS_RAD)
        pts_world = (T_WORLD_FROM_CAMERA[:3, :3] @ points_cam.T).T + T_WORLD_FROM_CAMERA[:3, 3]
        for i, p in enumerate(pts_world):
            bpy.ops.mesh.primitive_uv_sphere_add(radius=radius, location=tuple(p), segments=48, ring_count=24)
            obj = bpy.context.active_object
            obj.data.materials.append(mat)
            obj.data.shade_smooth()
        img = sc.render.image_settings
        img.media_type = "MULTI_LAYER_IMAGE"
        img.file_format = "OPEN_EXR_MULTILAYER"
        img.color_depth = "32"
        sc.render.filepath = str(tmp_path / "spheres.exr")
        bpy.ops.render.render(write_still=True)
    rgba = P.read_multilayer_exr(tmp_path / "spheres.exr")["Combined"]
    return rgba[..., :3].mean(axis=2)


def _check_lens(lens, tmp_path) -> None:
    dirs = np.stack([_direction(t, p) for t, p in DIRECTIONS_DEG])
    outside = _direction(math.degrees(lens.max_field_angle_rad) + OUTSIDE_MARGIN_DEG, 10.0)
    points = np.concatenate([dirs, outside[None]]) * SPHERE_DISTANCE_M
    uv, valid = lens.project(points)
    assert valid[:-1].all() and not valid[-1]
    assert lens.in_image(uv[:-1]).all()
    image = _render(lens, points, tmp_path)
    assert image.max() > 0.5, "no sphere rendered"
    residue = image.copy()
    errors = []
    for (u, v) in uv[:-1]:
        c0, r0 = int(round(u)), int(round(v))
        rows = slice(max(r0 - WINDOW_PX, 0), r0 + WINDOW_PX + 1)
        cols = slice(max(c0 - WINDOW_PX, 0), c0 + WINDOW_PX + 1)
        win = image[rows, cols]
        rr, cc = np.mgrid[rows, cols]
        w = win.sum()
        assert w > 1.0, f"sphere expected at ({u:.2f}, {v:.2f}) not rendered"
        centroid = np.array([(cc * win).sum() / w, (rr * win).sum() / w])
        errors.append(np.linalg.norm(centroid - np.array([u, v])))
        residue[rows, cols] = 0.0
    errors = np.array(errors)
    assert errors.max() < TOL_PX, f"{lens.type}: centroid errors px {np.round(errors, 3)}"
    # Nothing else lit: in particular the sphere beyond the field angle is not in the image.
    assert residue.max() < 1e-3, f"{lens.type}: unexpected light at {np.unravel_index(residue.argmax(), residue.shape)}"


LENSES = {
    "equidistant": lambda: L.EquidistantLens(width=RES, height=RES, fov_rad=math.radians(185.0)),
    "equisolid": lambda: L.EquisolidLens(width=RES, height=RES, fov_rad=math.radians(180.0), focal_mm=2.7,
                                         sensor_width_mm=8.0, shift_x=0.01, shift_y=-0.02),
    "polynomial": lambda: L.PolynomialLens(width=RES, height=RES, fov_rad=math.radians(185.0),
                                           k=(0.0, -1.0 / 1.8, 0.0, -0.004, 5e-4), sensor_width_mm=6.0,
                                           shift_x=0.02, shift_y=-0.015),
    "ego4view_front_left": lambda: L.load_ocamcalib("builtin:ego4view/camera_front_left.json")
    .scaled_to(RES, RES).render_lens(),
    "ego4view_back_right": lambda: L.load_ocamcalib("builtin:ego4view/camera_back_right.json")
    .scaled_to(RES, RES).render_lens(),
}


@pytest.mark.parametrize("name", sorted(LENSES))
def test_rendered_centroids_match_lens_projection(name, tmp_path):
    _check_lens(LENSES[name](), tmp_path)
