"""World lighting (gradient sky or HDRI) and the sun lamp from a synth.appearance.model.Environment."""

from __future__ import annotations

import math
from pathlib import Path

import bpy
from mathutils import Vector

from synth.appearance.model import Environment
from synth.blender import nodes as N
from synth.builtin import builtin_file, is_builtin_ref
from synth.errors import AssetError
from synth.scene.spec import SceneMesh


def build_world(env: Environment, old: "bpy.types.World | None" = None) -> "bpy.types.World":
    """A new world for `env` (gradient sky, or the HDRI when env.hdri_path is set); removes `old` and its image."""
    if old is not None:
        for n in old.node_tree.nodes:
            if n.bl_idname == "ShaderNodeTexEnvironment" and n.image is not None:
                bpy.data.images.remove(n.image)
        bpy.data.worlds.remove(old)
    world = bpy.data.worlds.new("sky")
    tree = world.node_tree
    bg = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeBackground")
    if not world_lights(env):  # a closed room: black, and no image to load
        bg.inputs["Color"].default_value = (0.0, 0.0, 0.0, 1.0)
        bg.inputs["Strength"].default_value = 0.0
        return world
    if env.hdri_path:
        path = builtin_file(env.hdri_path) if is_builtin_ref(env.hdri_path) else Path(env.hdri_path)
        if not path.is_file():
            raise AssetError(f"HDRI {str(path)!r} not found; fix appearance.hdri_files or place the file there")
        tex = N.node(tree, "ShaderNodeTexEnvironment")
        tex.image = bpy.data.images.load(str(path), check_existing=True)
        mapping = N.node(tree, "ShaderNodeMapping", {"Rotation": (0.0, 0.0, env.hdri_rotation_rad)})
        N.link(tree, N.node(tree, "ShaderNodeTexCoord").outputs["Generated"], mapping.inputs["Vector"])
        N.link(tree, mapping.outputs["Vector"], tex.inputs["Vector"])
        tint = N.node(tree, "ShaderNodeVectorMath", operation="MULTIPLY")
        tint.inputs[1].default_value = tuple(env.hdri_tint_rgb)
        N.link(tree, tex.outputs["Color"], tint.inputs[0])
        N.link(tree, tint.outputs["Vector"], bg.inputs["Color"])
        bg.inputs["Strength"].default_value = env.hdri_strength
        return world
    # Gradient: horizon colour at and below the horizon, zenith colour straight up (sqrt falloff).
    direction = N.node(tree, "ShaderNodeTexCoord").outputs["Generated"]
    sep = N.node(tree, "ShaderNodeSeparateXYZ")
    N.link(tree, direction, sep.inputs[0])
    up = N.math_node(tree, "SQRT", N.math_node(tree, "MAXIMUM", sep.outputs["Z"], 0.0))
    color = N.mix_color(tree, up, tuple(env.sky.horizon_rgb), tuple(env.sky.zenith_rgb))
    N.link(tree, color, bg.inputs["Color"])
    bg.inputs["Strength"].default_value = env.sky.strength
    return world


def world_lights(env: Environment) -> bool:
    """Whether the world (the HDRI, or the gradient sky) gives any light: not at strength 0 (a closed room)."""
    return (env.hdri_strength if env.hdri_path else env.sky.strength) > 0.0


def place_sun(sun_obj: "bpy.types.Object", env: Environment) -> None:
    """Point the sun lamp from env.sun's direction and set its strength, colour and angular size."""
    s = env.sun
    towards_sun = Vector((math.cos(s.elevation_rad) * math.cos(s.azimuth_rad),
                          math.cos(s.elevation_rad) * math.sin(s.azimuth_rad), math.sin(s.elevation_rad)))
    # A sun lamp shines along its local -Z, so its +Z points at the sun.
    sun_obj.rotation_mode = "QUATERNION"
    sun_obj.rotation_quaternion = towards_sun.to_track_quat("Z", "Y")
    light = sun_obj.data
    light.energy = s.strength
    light.color = tuple(s.rgb)
    light.angle = s.angle_rad
    # With an HDRI the image carries the light.
    if env.hdri_path:
        light.energy = 0.0
    # A sun of strength 0 (HDRI worlds, closed rooms) is left out of the render: Cycles would still trace shadow
    # rays towards it (about a tenth of a closed room's render time).
    sun_obj.hide_render = light.energy <= 0.0


#: The area light sits this far (m) under its lamp panel's lower face.
LAMP_LIGHT_GAP_M = 0.001


def add_lamp_light(collection: "bpy.types.Collection", lamp: SceneMesh) -> "bpy.types.Object":
    """The light of a lamp panel (a SceneMesh of material "lamp", an axis-aligned box): a rectangular area light
    as large as the panel's lower face, just under it, shining down, in the panel's colour, with the radiance of
    its emission strength (a Lambertian emitter of radiance L over area A sends out pi * L * A watts). Invisible to
    camera rays: the camera sees the panel itself. Cycles samples such a light without evaluating a shader."""
    lo, hi = lamp.vertices.min(axis=0), lamp.vertices.max(axis=0)
    light = bpy.data.lights.new(f"lamp_{lamp.name}", "AREA")
    light.shape = "RECTANGLE"
    light.size, light.size_y = float(hi[0] - lo[0]), float(hi[1] - lo[1])
    light.color = tuple(lamp.surface.color_a)
    light.energy = float(math.pi * lamp.emission_strength * light.size * light.size_y)
    obj = bpy.data.objects.new(f"lamp_light_{lamp.name}", light)
    obj.location = (float(0.5 * (lo[0] + hi[0])), float(0.5 * (lo[1] + hi[1])), float(lo[2] - LAMP_LIGHT_GAP_M))
    obj.visible_camera = False  # an area light shines along its local -Z: down, with no rotation
    collection.objects.link(obj)
    return obj
