"""Materials: per-body-part skin/garment shaders with smooth rest-pose hems, loose garment cloth, and the ground.

Body rule (see synth/appearance/bodymap.py for the fields): each body part has its own material (so the
material-index pass is a body-part mask); inside it, painted garments are layered skin -> bottom -> top -> shoes,
each with a hard mask that thresholds a smooth per-vertex rest-pose field (arm_t, leg_t, torso_t), so hems are
smooth curves across triangles. Procedural cloth patterns are evaluated at the rest position, so they move with
the body.
"""

from __future__ import annotations

from pathlib import Path

import bpy

from synth.appearance.model import (
    FLUSH_TINT_RGB, Appearance, GroundSpec, LooseGarment, garment_mask_value, part_mask_value,
)
from synth.blender import nodes as N
from synth.bodies.anny_skin import MASKS_OF_PART, skin_mask_files, skin_subsurface_file
from synth.constants import BODY_PARTS
from synth.errors import AssetError

#: Mesh attribute names written by the scene (rest-pose position and hem fields).
REST_POSITION_ATTR = "rest_position"
FIELD_ATTRS = ("arm_t", "leg_t", "torso_t")
#: Roughness of the eyes (wet) and lips.
EYE_ROUGHNESS = 0.15
LIP_ROUGHNESS = 0.35
#: Skin's subsurface radius per linear RGB channel, a factor on the Subsurface Scale (red light scatters furthest),
#: and Cycles' subsurface method (the random walk follows thin geometry such as ears and fingers).
SUBSURFACE_RADIUS = (1.0, 0.2, 0.1)
SUBSURFACE_METHOD = "RANDOM_WALK"
#: Parts with no skin of their own to scatter in.
NO_SUBSURFACE_PARTS = ("eyes", "mouth", "scalp")


def _layers_for_part(part: str, app: Appearance) -> list[tuple[object, str, str, float]]:
    """Garment layers that may cover `part`, bottom to top: (cloth, field, comparison, threshold).

    comparison "ALL" covers the whole part; "LESS_THAN"/"GREATER_THAN" compare the field with the threshold.
    """
    layers: list[tuple[object, str, str, float]] = []
    side_free = part.replace("left_", "").replace("right_", "")
    if app.bottom is not None:
        if side_free in ("hips", "torso"):
            layers.append((app.bottom.cloth, "torso_t", "LESS_THAN", app.bottom.waist_t))
        elif side_free in ("thigh", "shin"):
            layers.append((app.bottom.cloth, "leg_t", "LESS_THAN", app.bottom.leg_t))
    if app.top is not None:
        if side_free in ("hips", "torso"):
            layers.append((app.top.cloth, "torso_t", "GREATER_THAN", app.top.hem_t))
        elif side_free in ("upperarm", "forearm") and app.top.sleeve_t > 0:
            layers.append((app.top.cloth, "arm_t", "LESS_THAN", app.top.sleeve_t))
    if app.shoes is not None:
        if side_free == "foot":
            layers.append((app.shoes.cloth, "", "ALL", 0.0))
        elif side_free == "shin" and app.shoes.shaft_t > 0:
            layers.append((app.shoes.cloth, "leg_t", "GREATER_THAN", 1.0 - app.shoes.shaft_t))
    return layers


def body_part_material(part: str, app: Appearance) -> "bpy.types.Material":
    """Material of one body part for an appearance; pass_index = its parts-mask value."""
    mat = bpy.data.materials.new(f"body_{part}")
    mat.pass_index = part_mask_value(part)
    tree = mat.node_tree
    if part == "eyes":
        N.principled(tree, tuple(app.eye_rgb), EYE_ROUGHNESS)
        return mat
    if part == "mouth":
        N.principled(tree, tuple(app.lip_rgb), LIP_ROUGHNESS)
        return mat
    base = tuple(app.hair_rgb) if part == "scalp" else tuple(app.skin_rgb)
    color, rough = N.const_color(tree, base), app.skin_roughness
    if app.skin_detail is not None and part in MASKS_OF_PART:
        color, rough = _skin_detail(tree, part, app, color, rough)
    layers = _layers_for_part(part, app)
    folds = None  # (height socket, strength socket or value) of the top cloth layer where it covers
    bare = 1.0  # share of the part no garment covers (socket or value)
    if layers:
        coord = N.attribute(tree, REST_POSITION_ATTR, "Vector")
        for cloth, field, op, threshold in layers:
            cloth_col = N.cloth_color(tree, cloth, coord)
            height = N.cloth_wrinkle_height(tree, cloth, coord) if cloth.wrinkles > 0 else None
            if op == "ALL":
                color, rough, bare = cloth_col, cloth.roughness, 0.0
                folds = (height, cloth.wrinkles) if height is not None else None
                continue
            mask = N.math_node(tree, op, N.attribute(tree, field), threshold)
            bare = N.mix_float(tree, mask, bare, 0.0)
            color = N.mix_color(tree, mask, color, cloth_col)
            rough = N.mix_float(tree, mask, rough, cloth.roughness)
            if height is None and folds is not None:  # a smooth cloth over folded one
                folds = (N.mix_float(tree, mask, folds[0], 0.0), folds[1])
            elif height is not None:
                height = N.math_node(tree, "MULTIPLY", height, mask)
                strength = cloth.wrinkles if folds is None else N.mix_float(tree, mask, folds[1], cloth.wrinkles)
                folds = (height if folds is None else N.mix_float(tree, mask, folds[0], height), strength)
    bsdf = N.principled(tree, color, rough)
    if folds is not None:
        N.bump_normal(tree, bsdf, *folds)
    detail = app.skin_detail
    if detail is not None and detail.subsurface > 0.0 and part not in NO_SUBSURFACE_PARTS and bare != 0.0:
        _subsurface(tree, bsdf, detail, bare)
    return mat


def _subsurface(tree, bsdf, detail, bare) -> None:
    """Subsurface scattering of bare skin: weight = gain x the body model's subsurface map (clipped to 1) x the
    bare share; unchanged when the map is not installed."""
    path = skin_subsurface_file()
    if path is None:
        return
    weight = N.math_node(tree, "MULTIPLY", _mask(tree, "subsurface", {"subsurface": path}), detail.subsurface)
    weight.node.use_clamp = True
    if bare != 1.0:
        weight = N.math_node(tree, "MULTIPLY", weight, bare)
    N.link(tree, weight, bsdf.inputs["Subsurface Weight"])
    bsdf.inputs["Subsurface Radius"].default_value = SUBSURFACE_RADIUS
    bsdf.inputs["Subsurface Scale"].default_value = float(detail.subsurface_scale_m)
    bsdf.subsurface_method = SUBSURFACE_METHOD


def _mask(tree, name: str, files: dict):
    """Float socket of a skin region mask (an image on the body's UV map, non-colour data)."""
    image = bpy.data.images.load(str(files[name]), check_existing=True)
    image.colorspace_settings.name = "Non-Color"
    tex = N.node(tree, "ShaderNodeTexImage")
    tex.image = image
    tex.interpolation = "Linear"
    return tex.outputs["Color"]


def _skin_detail(tree, part: str, app: Appearance, color, rough):
    """The skin of a part with its region masks: flushed face and ears, lips, shaded eyelids, nails. Returns
    (colour socket, roughness socket or value); unchanged when the masks are not installed."""
    files = skin_mask_files()
    if not files:
        return color, rough
    detail, skin = app.skin_detail, tuple(app.skin_rgb)
    for name in MASKS_OF_PART[part]:
        mask = _mask(tree, name, files)
        if name in ("face", "ears"):
            flushed = tuple(c * t for c, t in zip(skin, FLUSH_TINT_RGB))
            color = N.mix_color(tree, N.math_node(tree, "MULTIPLY", mask, detail.flush), color, flushed)
        elif name == "lips":
            color = N.mix_color(tree, mask, color, tuple(app.lip_rgb))
        elif name == "eyelids":
            color = N.mix_color(tree, mask, color, tuple(c * detail.eyelid_shade for c in skin))
        else:
            color = N.mix_color(tree, mask, color, tuple(detail.nail_rgb))
            rough = N.mix_float(tree, mask, rough, detail.nail_roughness)
    return color, rough


def body_texture_material(part: str, image: "bpy.types.Image", roughness: float) -> "bpy.types.Material":
    """Material of one body part drawn from a texture image on the mesh's UV map (e.g. a BEDLAM texture);
    pass_index = its parts-mask value, so the parts pass stays a body-part mask."""
    mat = bpy.data.materials.new(f"body_{part}_textured")
    mat.pass_index = part_mask_value(part)
    tree = mat.node_tree
    tex = N.node(tree, "ShaderNodeTexImage")
    tex.image = image
    tex.interpolation = "Linear"
    N.principled(tree, tex.outputs["Color"], roughness)
    return mat


def body_materials(app: Appearance) -> list["bpy.types.Material"]:
    """One material per BODY_PARTS entry, in BODY_PARTS order (material slot = part index). With
    `app.body_texture` every part is drawn from that image instead of the procedural skin and painted garments."""
    if app.body_texture:
        path = Path(app.body_texture)
        if not path.is_file():
            raise AssetError(f"body texture {str(path)!r} not found; fix appearance.body_textures")
        image = bpy.data.images.load(str(path), check_existing=True)
        return [body_texture_material(p, image, app.skin_roughness) for p in BODY_PARTS]
    return [body_part_material(p, app) for p in BODY_PARTS]


def garment_material(name: str, kind: str, cloth) -> "bpy.types.Material":
    """Cloth material of a loose garment, painted at the garment's rest position; pass_index = its mask value."""
    mat = bpy.data.materials.new(f"garment_{name}")
    mat.pass_index = garment_mask_value(kind)
    tree = mat.node_tree
    coord = N.attribute(tree, REST_POSITION_ATTR, "Vector")
    bsdf = N.principled(tree, N.cloth_color(tree, cloth, coord), cloth.roughness)
    if cloth.wrinkles > 0:
        N.bump_normal(tree, bsdf, N.cloth_wrinkle_height(tree, cloth, coord), cloth.wrinkles)
    return mat


#: Brick-texture patterns: (brick width in units of scale_m, mortar width m, rows offset, drawn on walls). Wall
#: patterns are laid out on (x + y, z), the along-wall coordinate of an axis-aligned wall and the height.
BRICK_LAYOUTS = {"tiles": (1.0, 0.01, 0.0, False), "wood": (6.0, 0.004, 0.5, False),
                 "brick": (3.0, 0.01, 0.5, True), "wall_tiles": (1.0, 0.003, 0.0, True)}
#: Noise patterns: (noise detail, map-range low and high of the noise that mixes colour a into colour b).
NOISE_LAYOUTS = {"concrete": (8.0, 0.35, 0.65), "grass": (12.0, 0.3, 0.7), "asphalt": (10.0, 0.4, 0.6),
                 "dirt": (6.0, 0.3, 0.7), "carpet": (4.0, 0.35, 0.65), "paint": (3.0, 0.35, 0.65)}
#: Gravel: Voronoi stones (feature size scale_m), each a random mix of the two colours, dark seams between them.
GRAVEL_SEAM = 0.08


def _wall_coordinates(tree, coord):
    """(x + y, z, 0) of an object-coordinate socket: along-wall coordinate and height on axis-aligned walls."""
    xyz = N.node(tree, "ShaderNodeSeparateXYZ")
    N.link(tree, coord, xyz.inputs[0])
    out = N.node(tree, "ShaderNodeCombineXYZ")
    N.link(tree, N.math_node(tree, "ADD", xyz.outputs["X"], xyz.outputs["Y"]), out.inputs["X"])
    N.link(tree, xyz.outputs["Z"], out.inputs["Y"])
    return out.outputs[0]


#: Albedo of a lamp panel's diffuser as indirect rays see it.
LAMP_DIFFUSER_ALBEDO = 0.8


def lamp_material(rgb: tuple[float, float, float], strength: float) -> "bpy.types.Material":
    """A lamp panel as the camera sees it: glowing in linear-RGB `rgb` at `strength` (Blender emission units) for
    camera rays, a light grey diffuser for every other ray. Its light comes from the area light under it
    (synth.blender.world.add_lamp_light), so the panel is not sampled as a light and adds nothing twice."""
    mat = bpy.data.materials.new("lamp")
    mat.pass_index = 0
    mat.cycles.emission_sampling = "NONE"
    tree = mat.node_tree
    for n in list(tree.nodes):
        tree.nodes.remove(n)
    emit = N.node(tree, "ShaderNodeEmission", {"Color": N.rgba(tuple(rgb)), "Strength": float(strength)})
    diffuser = N.node(tree, "ShaderNodeBsdfDiffuse", {"Color": N.rgba((LAMP_DIFFUSER_ALBEDO,) * 3)})
    mix = N.node(tree, "ShaderNodeMixShader")
    N.link(tree, N.node(tree, "ShaderNodeLightPath").outputs["Is Camera Ray"], mix.inputs["Fac"])
    N.link(tree, diffuser.outputs["BSDF"], mix.inputs[1])
    N.link(tree, emit.outputs["Emission"], mix.inputs[2])
    N.link(tree, mix.outputs["Shader"], N.node(tree, "ShaderNodeOutputMaterial").inputs["Surface"])
    return mat


def ground_material(spec: GroundSpec) -> "bpy.types.Material":
    """Procedural surface of a GroundSpec in object coordinates (metres): grounds, floors, walls and furniture."""
    mat = bpy.data.materials.new(f"ground_{spec.pattern}")
    mat.pass_index = 0
    tree = mat.node_tree
    coord = N.node(tree, "ShaderNodeTexCoord").outputs["Object"]
    a, b = tuple(spec.color_a), tuple(spec.color_b)
    if spec.pattern in BRICK_LAYOUTS:
        width, mortar, offset, wall = BRICK_LAYOUTS[spec.pattern]
        plank = spec.pattern == "wood"
        brick = N.node(tree, "ShaderNodeTexBrick", {
            "Color1": N.rgba(a), "Color2": N.rgba(tuple(0.85 * c for c in a)), "Mortar": N.rgba(b),
            "Scale": 1.0, "Mortar Size": mortar, "Mortar Smooth": 0.2,
            "Bias": 0.0, "Brick Width": width * spec.scale_m, "Row Height": spec.scale_m,
        }, offset=offset, offset_frequency=2 if offset else 1)
        N.link(tree, _wall_coordinates(tree, coord) if wall else coord, brick.inputs["Vector"])
        color = brick.outputs["Color"]
        if plank:
            grain = N.node(tree, "ShaderNodeTexNoise", {"Scale": 40.0, "Detail": 2.0})
            stretch = N.node(tree, "ShaderNodeMapping", {"Scale": (0.05, 1.0, 1.0)})
            N.link(tree, coord, stretch.inputs["Vector"])
            N.link(tree, stretch.outputs["Vector"], grain.inputs["Vector"])
            color = N.mix_color(tree, N.math_node(tree, "MULTIPLY", grain.outputs["Fac"], 0.35), color, b)
    elif spec.pattern == "gravel":
        cells = N.node(tree, "ShaderNodeTexVoronoi", {"Scale": 1.0 / spec.scale_m}, feature="F1")
        N.link(tree, coord, cells.inputs["Vector"])
        edges = N.node(tree, "ShaderNodeTexVoronoi", {"Scale": 1.0 / spec.scale_m}, feature="DISTANCE_TO_EDGE")
        N.link(tree, coord, edges.inputs["Vector"])
        tone = N.node(tree, "ShaderNodeRGBToBW")
        N.link(tree, cells.outputs["Color"], tone.inputs[0])
        stone = N.mix_color(tree, tone.outputs[0], a, b)
        seam = N.math_node(tree, "LESS_THAN", edges.outputs["Distance"], GRAVEL_SEAM)
        color = N.mix_color(tree, seam, stone, tuple(0.5 * c for c in b))
    else:
        detail, lo, hi = NOISE_LAYOUTS[spec.pattern]
        color = N.mix_color(tree, N.noise_ramp(tree, coord, 1.0 / spec.scale_m, detail, lo, hi), a, b)
    N.principled(tree, color, spec.roughness)
    return mat
