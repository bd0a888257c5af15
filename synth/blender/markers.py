"""A Cycles render of emissive spheres through one camera, read back as per-pixel coverage.

The scene holds only the camera and the spheres: a black world, each sphere an exact Cycles point primitive (a mesh
of centres turned into points by a geometry-nodes modifier, so no tessellation bends the outline) with a pure
emission shader of strength 1. Rendered with a box pixel filter of width 1 px (each sample uniform over its pixel),
no denoiser, no adaptive sampling and a float32 EXR, a pixel's value is the Monte Carlo estimate of the fraction of
its area whose rays hit a sphere: exactly what synth.geometry.markers.expected_coverage computes from a lens model.
The camera is placed with the same pose code the dataset renderer uses (cameras.set_camera_pose).
"""

from __future__ import annotations

import bpy
import numpy as np

from synth.blender import cameras as C
from synth.blender.measure import lens_camera, measurement_scene, render_exr
from synth.blender.meshes import set_point_attribute
from synth.geometry.transforms import apply_T

#: Box pixel filter width, px: one pixel, so every sample is uniform over its own pixel.
FILTER_WIDTH_PX = 1.0
#: Near clip of the camera, m (the spheres are DEFAULT_DISTANCE_M away).
CLIP_START_M = 0.01
#: Point attribute that carries each sphere's radius into the geometry-nodes modifier.
RADIUS_ATTRIBUTE = "marker_radius"


def _points_node_group(material: "bpy.types.Material") -> "bpy.types.NodeTree":
    """Geometry nodes: the mesh's vertices -> Cycles points with the per-vertex radius attribute and `material`
    (points do not inherit the mesh's material slots)."""
    ng = bpy.data.node_groups.new("egorig_marker_points", "GeometryNodeTree")
    ng.interface.new_socket(name="Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    ng.interface.new_socket(name="Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    group_in = ng.nodes.new("NodeGroupInput")
    group_out = ng.nodes.new("NodeGroupOutput")
    to_points = ng.nodes.new("GeometryNodeMeshToPoints")
    to_points.mode = "VERTICES"
    radius = ng.nodes.new("GeometryNodeInputNamedAttribute")
    radius.data_type = "FLOAT"
    radius.inputs["Name"].default_value = RADIUS_ATTRIBUTE
    ng.links.new(group_in.outputs[0], to_points.inputs["Mesh"])
    ng.links.new(radius.outputs["Attribute"], to_points.inputs["Radius"])
    set_material = ng.nodes.new("GeometryNodeSetMaterial")
    set_material.inputs["Material"].default_value = material
    ng.links.new(to_points.outputs["Points"], set_material.inputs["Geometry"])
    ng.links.new(set_material.outputs["Geometry"], group_out.inputs[0])
    return ng


def _emission_material() -> "bpy.types.Material":
    """Pure emission, white, strength 1: a hit sample is worth exactly 1."""
    mat = bpy.data.materials.new("egorig_marker_emission")
    tree = mat.node_tree
    tree.nodes.clear()
    emit = tree.nodes.new("ShaderNodeEmission")
    emit.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    emit.inputs["Strength"].default_value = 1.0
    out = tree.nodes.new("ShaderNodeOutputMaterial")
    tree.links.new(emit.outputs["Emission"], out.inputs["Surface"])
    return mat


def _add_spheres(scene: "bpy.types.Scene", centres_world_m: np.ndarray, radii_m: np.ndarray) -> None:
    me = bpy.data.meshes.new("egorig_markers")
    me.vertices.add(len(centres_world_m))
    me.attributes["position"].data.foreach_set("vector", np.ascontiguousarray(centres_world_m, np.float32).ravel())
    set_point_attribute(me, RADIUS_ATTRIBUTE, np.asarray(radii_m, dtype=np.float32))
    me.update()
    obj = bpy.data.objects.new("egorig_markers", me)
    scene.collection.objects.link(obj)
    mod = obj.modifiers.new("points", "NODES")
    mod.node_group = _points_node_group(_emission_material())


def _black_world(scene: "bpy.types.Scene") -> None:
    world = bpy.data.worlds.new("egorig_black")
    bg = next(n for n in world.node_tree.nodes if n.bl_idname == "ShaderNodeBackground")
    bg.inputs["Strength"].default_value = 0.0
    scene.world = world


def render_marker_image(lens, camera: str, centres_cam_m: np.ndarray, radii_m: np.ndarray,
                        T_world_from_camera: np.ndarray | None = None, samples: int = 64, threads: int = 0,
                        seed: int = 0) -> np.ndarray:
    """(H, W) float64 coverage image of spheres seen through `lens`, rendered by Cycles.

    camera: "osl" (the lens' OSL camera) or "native" (its Cycles fisheye settings, `lens.cycles_settings()`).
    centres_cam_m: (N, 3) sphere centres in the camera's OpenCV frame, m; radii_m: (N,) m.
    T_world_from_camera: (4, 4) OpenCV camera pose the camera is rendered at (default identity); the spheres are
        placed at T_world_from_camera @ centres, so the pose code is part of what the render checks.
    samples: Cycles samples per pixel; threads: render threads (0 = all cores); seed: Cycles' sampling seed.
    Row 0 of the image is the top row; pixel (v, u) is the OpenCV pixel u, v.
    """
    T = np.eye(4) if T_world_from_camera is None else np.asarray(T_world_from_camera, dtype=np.float64)
    scene = measurement_scene(lens, samples, FILTER_WIDTH_PX)
    scene.cycles.seed = int(seed)
    scene.cycles.max_bounces = 0
    scene.cycles.sample_clamp_direct = 0.0
    scene.cycles.sample_clamp_indirect = 0.0
    scene.render.threads_mode = "FIXED" if threads > 0 else "AUTO"
    if threads > 0:
        scene.render.threads = int(threads)
    scene.render.film_transparent = False
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    _black_world(scene)
    obj = lens_camera(scene, lens, camera, "egorig_markers_camera", CLIP_START_M)
    C.set_camera_pose(obj, T)
    _add_spheres(scene, apply_T(T, np.asarray(centres_cam_m, dtype=np.float64)), radii_m)
    return render_exr(scene, 1, "egorig_markers_")[..., 0]
