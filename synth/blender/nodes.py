"""Small helpers to build Blender shader node trees (node creation, links, constants, procedural cloth colour)."""

from __future__ import annotations

import math
from typing import Any

import bpy


def node(tree: "bpy.types.NodeTree", kind: str, inputs: dict[str, Any] | None = None, **props: Any):
    """Add a node of type `kind`, set its properties and unlinked input defaults (by socket name)."""
    n = tree.nodes.new(kind)
    for k, v in props.items():
        setattr(n, k, v)
    for k, v in (inputs or {}).items():
        n.inputs[k].default_value = v
    return n


def link(tree: "bpy.types.NodeTree", out_socket, in_socket) -> None:
    tree.links.new(out_socket, in_socket)


def rgba(rgb) -> tuple[float, float, float, float]:
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]), 1.0)


def math_node(tree, op: str, a, b=None):
    """Math node computing op(a, b); a and b are sockets or numbers. Returns the output socket."""
    n = tree.nodes.new("ShaderNodeMath")
    n.operation = op
    for i, x in enumerate((a, b)):
        if x is None:
            continue
        if isinstance(x, (int, float)):
            n.inputs[i].default_value = float(x)
        else:
            link(tree, x, n.inputs[i])
    return n.outputs[0]


def mix_color(tree, factor, color_a, color_b):
    """Mix node (RGBA): factor 0 -> color_a, 1 -> color_b; each argument a socket or a value."""
    n = tree.nodes.new("ShaderNodeMix")
    n.data_type = "RGBA"
    for sock, x in ((n.inputs["Factor"], factor), (n.inputs[6], color_a), (n.inputs[7], color_b)):
        if isinstance(x, (int, float)):
            sock.default_value = float(x)
        elif isinstance(x, tuple):
            sock.default_value = rgba(x)
        else:
            link(tree, x, sock)
    return n.outputs[2]


def mix_float(tree, factor, a, b):
    """(1 - factor) * a + factor * b as Math nodes (a, b numbers or sockets)."""
    n = tree.nodes.new("ShaderNodeMix")
    n.data_type = "FLOAT"
    for sock, x in ((n.inputs["Factor"], factor), (n.inputs[2], a), (n.inputs[3], b)):
        if isinstance(x, (int, float)):
            sock.default_value = float(x)
        else:
            link(tree, x, sock)
    return n.outputs[0]


def attribute(tree, name: str, output: str = "Fac"):
    """Output socket of a geometry attribute ("Fac" for floats, "Vector" for vectors)."""
    n = node(tree, "ShaderNodeAttribute", attribute_type="GEOMETRY", attribute_name=name)
    return n.outputs[output]


def cloth_color(tree, cloth, coord):
    """Colour socket of a synth.appearance.model.ClothTexture evaluated at `coord` (rest-pose position, m).

    stripes: bands across the direction tilted `angle_rad` from vertical (0 = horizontal stripes);
    checks: a 3D checker of cell size scale_m / 2; noise: Perlin noise of feature size scale_m; denim: indigo fades
    and a diagonal twill; knit: ribs scale_m apart; dots: a print of dots scale_m apart.
    """
    a, b = tuple(cloth.color_a), tuple(cloth.color_b)
    if cloth.pattern == "solid":
        return const_color(tree, a)
    if cloth.pattern == "stripes":
        d = (math.sin(cloth.angle_rad), 0.0, math.cos(cloth.angle_rad))
        dot = node(tree, "ShaderNodeVectorMath", operation="DOT_PRODUCT")
        link(tree, coord, dot.inputs[0])
        dot.inputs[1].default_value = d
        phase = math_node(tree, "FRACT", math_node(tree, "DIVIDE", dot.outputs["Value"], cloth.scale_m))
        return mix_color(tree, math_node(tree, "GREATER_THAN", phase, 0.5), a, b)
    if cloth.pattern == "checks":
        chk = node(tree, "ShaderNodeTexChecker", {"Scale": 1.0 / cloth.scale_m, "Color1": rgba(a), "Color2": rgba(b)})
        link(tree, coord, chk.inputs["Vector"])
        return chk.outputs["Color"]
    if cloth.pattern == "denim":
        return _denim(tree, cloth, coord)
    if cloth.pattern == "knit":  # ribs running along the rest pose's vertical, a soft profile across them
        wave = node(tree, "ShaderNodeTexWave", {"Scale": WAVE_PERIOD_M / cloth.scale_m, "Distortion": 0.0},
                    wave_type="BANDS",
                    bands_direction="X", wave_profile="SIN")
        link(tree, coord, wave.inputs["Vector"])
        return mix_color(tree, wave.outputs["Fac"], a, b)
    if cloth.pattern == "dots":  # a print: dots of colour b on a, one per Voronoi cell
        cells = node(tree, "ShaderNodeTexVoronoi", {"Scale": 1.0 / cloth.scale_m, "Randomness": 0.3}, feature="F1")
        link(tree, coord, cells.inputs["Vector"])
        return mix_color(tree, math_node(tree, "LESS_THAN", cells.outputs["Distance"], PRINT_DOT_RADIUS), a, b)
    return mix_color(tree, noise_ramp(tree, coord, 1.0 / cloth.scale_m, 4.0), a, b)


#: Period (m) of Blender's wave texture bands at Scale 1 along X (its phase grows 20 per unit): Scale =
#: WAVE_PERIOD_M / period.
WAVE_PERIOD_M = 2.0 * math.pi / 20.0
#: Print dots: radius in units of the dot spacing. Denim: twill period (m), its contrast, and the fades' noise.
PRINT_DOT_RADIUS = 0.3
DENIM_TWILL_M = 0.006
DENIM_TWILL_CONTRAST = 0.25


def noise_ramp(tree, coord, scale: float, detail: float, low: float = 0.3, high: float = 0.7):
    """Float socket: Perlin noise of `scale` (1/m) at coord, stretched from [low, high] to [0, 1]."""
    noise = node(tree, "ShaderNodeTexNoise", {"Scale": scale, "Detail": detail})
    link(tree, coord, noise.inputs["Vector"])
    ramp = node(tree, "ShaderNodeMapRange", {"From Min": low, "From Max": high})
    link(tree, noise.outputs["Fac"], ramp.inputs["Value"])
    return ramp.outputs["Result"]


def _denim(tree, cloth, coord):
    """Denim: indigo (color_a) fading towards color_b over noise of feature size scale_m, crossed by a diagonal
    twill of period DENIM_TWILL_M."""
    faded = mix_color(tree, math_node(tree, "MULTIPLY", noise_ramp(tree, coord, 1.0 / cloth.scale_m, 2.0), 0.6),
                      tuple(cloth.color_a), tuple(cloth.color_b))
    twill = node(tree, "ShaderNodeTexWave", {"Scale": WAVE_PERIOD_M / DENIM_TWILL_M, "Distortion": 0.0},
                 wave_type="BANDS",
                 bands_direction="DIAGONAL", wave_profile="SAW")
    link(tree, coord, twill.inputs["Vector"])
    return mix_color(tree, math_node(tree, "MULTIPLY", twill.outputs["Fac"], DENIM_TWILL_CONTRAST), faded,
                     tuple(cloth.color_b))


#: Cloth folds: the fold noise is squeezed this much along the rest pose's vertical (folds run around the body),
#: its detail and distortion, and the bump's height scale (m).
WRINKLE_VERTICAL_SQUEEZE = 2.5
WRINKLE_DETAIL = 3.0
WRINKLE_DISTORTION = 0.6
WRINKLE_DEPTH_M = 0.004


def cloth_wrinkle_height(tree, cloth, coord):
    """Float socket in [0, 1] of a cloth's folds at `coord` (rest-pose position, m): ridges of a noise of feature size
    cloth.wrinkle_scale_m, squeezed vertically."""
    stretch = node(tree, "ShaderNodeMapping", {"Scale": (1.0, 1.0, WRINKLE_VERTICAL_SQUEEZE)})
    link(tree, coord, stretch.inputs["Vector"])
    noise = node(tree, "ShaderNodeTexNoise", {"Scale": 1.0 / cloth.wrinkle_scale_m, "Detail": WRINKLE_DETAIL,
                                              "Distortion": WRINKLE_DISTORTION})
    link(tree, stretch.outputs["Vector"], noise.inputs["Vector"])
    centred = math_node(tree, "ABSOLUTE", math_node(tree, "SUBTRACT", noise.outputs["Fac"], 0.5))
    return math_node(tree, "SUBTRACT", 1.0, math_node(tree, "MULTIPLY", centred, 2.0))


def bump_normal(tree, bsdf, height, strength) -> None:
    """Bump-map `bsdf`'s normal by a height socket (0-1, times WRINKLE_DEPTH_M) at `strength` (value or socket)."""
    bump = node(tree, "ShaderNodeBump", {"Distance": WRINKLE_DEPTH_M})
    link(tree, height, bump.inputs["Height"])
    if isinstance(strength, (int, float)):
        bump.inputs["Strength"].default_value = float(strength)
    else:
        link(tree, strength, bump.inputs["Strength"])
    link(tree, bump.outputs["Normal"], bsdf.inputs["Normal"])


def const_color(tree, rgb):
    """Colour socket of a constant linear-RGB value."""
    n = tree.nodes.new("ShaderNodeRGB")
    n.outputs[0].default_value = rgba(rgb)
    return n.outputs[0]


def principled(tree, base_color, roughness) -> Any:
    """Principled BSDF wired to the material output; base_color/roughness sockets or values."""
    out = next((n for n in tree.nodes if n.bl_idname == "ShaderNodeOutputMaterial"), None)
    if out is None:
        out = tree.nodes.new("ShaderNodeOutputMaterial")
    bsdf = next((n for n in tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled"), None)
    if bsdf is None:
        bsdf = tree.nodes.new("ShaderNodeBsdfPrincipled")
    for sock, x in ((bsdf.inputs["Base Color"], base_color), (bsdf.inputs["Roughness"], roughness)):
        if isinstance(x, (int, float)):
            sock.default_value = float(x)
        elif isinstance(x, tuple):
            sock.default_value = rgba(x)
        else:
            link(tree, x, sock)
    link(tree, bsdf.outputs["BSDF"], out.inputs["Surface"])
    return bsdf
