"""What ray Cycles traces through every pixel: a render of a world whose colour encodes the ray direction.

The world's background colour is 0.5 + 0.5 d for the world-space ray direction d, rendered with 1 sample through a
0.01 px box filter (every sample within 0.005 px of the pixel centre), no denoiser, the Standard view transform and
a float32 EXR, so each pixel decodes to its ray to ~1e-7. With the camera at the world origin in its rest pose
(looking down world -Z, image up = world +Y), the OpenCV camera-frame ray is (X, -Y, -Z). Comparing those rays
with `lens.unproject` of the pixel centres measures, per pixel, how far the render is from the labels.
"""

from __future__ import annotations

import bpy
import numpy as np

from synth.blender.measure import lens_camera, measurement_scene, render_exr

#: Box filter width, px (Cycles' minimum): samples stay this close to the pixel centre.
FILTER_WIDTH_PX = 0.01
#: |norm(decoded) - 1| above this marks a pixel without a ray (black: outside the lens' valid cone).
NO_RAY_TOL = 1e-3


def _ray_world(scene: "bpy.types.Scene") -> None:
    world = bpy.data.worlds.new("egorig_ray_world")
    scene.world = world
    tree = world.node_tree
    bg = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeBackground")
    coords = tree.nodes.new("ShaderNodeTexCoord")
    encode = tree.nodes.new("ShaderNodeVectorMath")
    encode.operation = "MULTIPLY_ADD"
    encode.inputs[1].default_value = (0.5, 0.5, 0.5)
    encode.inputs[2].default_value = (0.5, 0.5, 0.5)
    tree.links.new(coords.outputs["Generated"], encode.inputs[0])
    tree.links.new(encode.outputs[0], bg.inputs["Color"])
    bg.inputs["Strength"].default_value = 1.0


def render_rays(lens, camera: str = "osl") -> np.ndarray:
    """(H, W, 3) float64 unit rays, OpenCV camera frame, that Cycles traces through each pixel of `lens`
    (NaN where it traces none). camera: "osl" (the lens' OSL shader) or "native" (its Cycles fisheye settings)."""
    scene = measurement_scene(lens, 1, FILTER_WIDTH_PX)
    _ray_world(scene)
    lens_camera(scene, lens, camera, "egorig_raycheck", clip_start_m=0.01)
    pixels = render_exr(scene, 3, "egorig_raycheck_")
    d = pixels.reshape(lens.height, lens.width, 3) * 2.0 - 1.0
    rays = np.stack([d[..., 0], -d[..., 1], -d[..., 2]], axis=-1)
    norm = np.linalg.norm(rays, axis=-1, keepdims=True)
    rays = rays / norm
    rays[np.abs(norm[..., 0] - 1.0) > NO_RAY_TOL] = np.nan
    return rays


def pixel_errors(lens, rays: np.ndarray) -> np.ndarray:
    """(H, W) px: distance between each pixel centre and the projection of the ray Cycles traced there (NaN where
    no ray was traced or the ray is outside the lens' valid cone)."""
    h, w = rays.shape[:2]
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    ok = np.isfinite(rays).all(-1)
    uv, valid = lens.project(np.where(ok[..., None], rays, 0.0))
    err = np.hypot(uv[..., 0] - u, uv[..., 1] - v)
    return np.where(ok & valid, err, np.nan)
