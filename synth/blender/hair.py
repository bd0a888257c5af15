"""Strand hair as a Blender Curves object: the grown strands of synth.appearance.hair (head frame) with their
radii, shaded by the Principled Hair BSDF (melanin parametrisation), object pass index OCC_HAIR. The object's
matrix_world is the head pose of the frame (`set_hair_pose`) and, for hair that moves, its points are the frame's
(`set_hair_points`, Hair.points_at), so the strands are exactly where the labels' prisms are."""

from __future__ import annotations

import bpy
import numpy as np

from synth.appearance.hair import Hair, HairStyle
from synth.constants import OCC_HAIR

#: Principled Hair BSDF inputs held fixed: radial roughness, coat, per-strand colour and roughness variation.
RADIAL_ROUGHNESS = 0.3
COAT = 0.0
RANDOM_COLOR = 0.1
RANDOM_ROUGHNESS = 0.1


def hair_material(style: HairStyle) -> "bpy.types.Material":
    """Principled Hair BSDF (Chiang model, melanin colours) for a sampled style."""
    mat = bpy.data.materials.new("hair")
    tree = mat.node_tree
    for n in list(tree.nodes):
        tree.nodes.remove(n)
    bsdf = tree.nodes.new("ShaderNodeBsdfHairPrincipled")
    bsdf.model = "CHIANG"
    bsdf.parametrization = "MELANIN"
    values = {"Melanin": style.melanin, "Melanin Redness": style.melanin_redness, "Roughness": style.roughness,
              "Radial Roughness": RADIAL_ROUGHNESS, "Coat": COAT, "Random Color": RANDOM_COLOR,
              "Random Roughness": RANDOM_ROUGHNESS}
    for name, value in values.items():
        bsdf.inputs[name].default_value = float(value)
    out = tree.nodes.new("ShaderNodeOutputMaterial")
    tree.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    return mat


def build_hair_object(hair: Hair, collection: "bpy.types.Collection") -> "bpy.types.Object":
    """A Curves object holding every strand (points in the head frame, m) linked into `collection`."""
    points = hair.points_at(None)  # the rest shape held off the rig's cameras
    num_strands, num_points = points.shape[:2]
    curves = bpy.data.hair_curves.new("hair")
    curves.add_curves([num_points] * num_strands)
    curves.position_data.foreach_set("vector", np.ascontiguousarray(points, np.float32).ravel())
    radius = curves.attributes.get("radius") or curves.attributes.new("radius", "FLOAT", "POINT")
    radius.data.foreach_set("value", np.ascontiguousarray(hair.radius_m, np.float32).ravel())
    curves.materials.append(hair_material(hair.style))
    obj = bpy.data.objects.new("hair", curves)
    obj.pass_index = OCC_HAIR
    collection.objects.link(obj)
    return obj


def remove_hair_object(obj: "bpy.types.Object") -> None:
    curves = obj.data
    mats = [m for m in curves.materials if m is not None]
    bpy.data.objects.remove(obj)
    bpy.data.hair_curves.remove(curves)
    for m in mats:
        if m.users == 0:
            bpy.data.materials.remove(m)


def set_hair_points(obj: "bpy.types.Object", points_head_m: np.ndarray) -> None:
    """Move the strands within the head frame: points_head_m (S, P, 3) float, m (Hair.points_at of the frame)."""
    obj.data.position_data.foreach_set("vector", np.ascontiguousarray(points_head_m, np.float32).ravel())
    obj.data.update_tag()


def set_hair_pose(obj: "bpy.types.Object", T_world_from_head: np.ndarray) -> None:
    """Place the strands: T_world_from_head (4, 4) float64, the head pose of the frame."""
    from mathutils import Matrix

    obj.matrix_world = Matrix(np.asarray(T_world_from_head, dtype=np.float64).tolist())
