"""Sample a clip's appearance (skin, hair, garments) and environment (ground, sky, sun) from an explicit RNG."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from synth.appearance.model import (
    CLOTH_PATTERNS,
    Appearance,
    Bottom,
    ClothTexture,
    Environment,
    GROUND_PATTERNS,
    GroundSpec,
    LooseGarment,
    OUTDOOR_GROUNDS,
    RGB,
    Shoes,
    SkinDetail,
    SkySpec,
    SunSpec,
    Top,
)
from synth.builtin import builtin_file, is_builtin_ref
from synth.constants import BODY_PARTS
from synth.errors import AssetError

#: Skin albedo anchors (sRGB, 8 bit), light to very dark, spanning typical measured human skin colours
#: (roughly Fitzpatrick types I to VI). A skin tone is a uniform position along this polyline, plus a small
#: per-channel jitter, converted to linear RGB for the renderer.
SKIN_ANCHORS_SRGB8: tuple[tuple[int, int, int], ...] = (
    (241, 206, 186),
    (226, 184, 158),
    (199, 155, 120),
    (164, 119, 84),
    (120, 80, 55),
    (75, 50, 38),
)
#: Relative per-channel jitter of the skin albedo.
SKIN_JITTER = 0.04
#: Hair colours (sRGB, 8 bit) and their probabilities: black, dark brown, brown, auburn, blond, grey.
HAIR_SRGB8: tuple[tuple[int, int, int], ...] = (
    (18, 15, 14), (45, 32, 24), (92, 62, 40), (118, 56, 30), (196, 160, 108), (150, 148, 142),
)
HAIR_PROB: tuple[float, ...] = (0.3, 0.3, 0.15, 0.07, 0.1, 0.08)
EYE_SRGB8 = (40, 30, 26)
#: Lip colour = skin albedo times this linear-RGB tint.
LIP_TINT = (0.85, 0.55, 0.55)
#: Neutral cloth colours (sRGB 8 bit): black, white, greys, navy, denim, khaki, olive.
NEUTRAL_CLOTH_SRGB8: tuple[tuple[int, int, int], ...] = (
    (25, 25, 28), (235, 235, 230), (120, 120, 120), (60, 60, 65), (30, 40, 80), (60, 85, 130), (180, 160, 120),
    (85, 90, 55),
)
#: Cloth pattern probabilities (CLOTH_PATTERNS order: solid, stripes, checks, noise, denim, knit, dots): any
#: garment, tops, and bottoms (trousers and shorts are often denim).
CLOTH_PATTERN_PROBS = (0.35, 0.15, 0.1, 0.1, 0.1, 0.1, 0.1)
TOP_PATTERN_PROBS = (0.35, 0.15, 0.1, 0.1, 0.05, 0.15, 0.1)
BOTTOM_PATTERN_PROBS = (0.45, 0.05, 0.05, 0.1, 0.3, 0.0, 0.05)
#: Hoods worn down: torso coordinate of the lowest point on the back, bulge per neck radius (uniform), gap to the
#: body (m).
HOOD_LOWEST_T = (0.68, 0.85)
HOOD_BULGE = (0.8, 1.6)
HOOD_CLEARANCE_M = 0.012
#: Cloth folds: bump strength and fold width (m), uniform.
CLOTH_WRINKLES = (0.1, 0.6)
CLOTH_WRINKLE_SCALE_M = (0.025, 0.07)
#: Fraction of garments given a neutral colour instead of a random hue.
NEUTRAL_CLOTH_PROB = 0.45
#: Sun colour temperature range (K): low sun is warmer.
SUN_TEMPERATURE_K = (3500.0, 6500.0)
#: Range of the colour temperature (K) a camera's white balance is mistakenly set for when an HDRI lights the clip
#: (6500 K: neutral); the image is tinted by white_balance_tint.
HDRI_WHITE_BALANCE_K = (4500.0, 9000.0)
#: The neutral white point (K).
NEUTRAL_WHITE_K = 6500.0


def srgb8_to_linear(rgb8: Sequence[float]) -> np.ndarray:
    """(3,) sRGB 8-bit values -> (3,) linear RGB in [0, 1] (IEC 61966-2-1 transfer function)."""
    c = np.clip(np.asarray(rgb8, dtype=np.float64) / 255.0, 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _rgb(a: np.ndarray) -> tuple[float, float, float]:
    return tuple(float(round(x, 5)) for x in np.clip(a, 0.0, 1.0))  # type: ignore[return-value]


def sample_skin_rgb(rng: np.random.Generator) -> tuple[float, float, float]:
    """Linear-RGB skin albedo: uniform along SKIN_ANCHORS_SRGB8 with a small per-channel jitter."""
    anchors = np.array([srgb8_to_linear(a) for a in SKIN_ANCHORS_SRGB8])
    pos = rng.uniform(0.0, len(anchors) - 1)
    i = min(int(pos), len(anchors) - 2)
    w = pos - i
    rgb = (1 - w) * anchors[i] + w * anchors[i + 1]
    return _rgb(rgb * (1.0 + rng.uniform(-SKIN_JITTER, SKIN_JITTER, 3)))


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    k = (np.array([5.0, 3.0, 1.0]) + h * 6.0) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


#: Skin detail ranges: flush share, eyelid shade factor, nail roughness; nails are the skin lightened towards
#: NAIL_SRGB8 by a share in NAIL_MIX.
SKIN_FLUSH = (0.05, 0.35)
EYELID_SHADE = (0.75, 0.95)
NAIL_SRGB8 = (235, 200, 195)
NAIL_MIX = (0.4, 0.7)
NAIL_ROUGHNESS = (0.2, 0.4)


#: Subsurface scattering of the skin: gain on the body model's subsurface map and scale (red mean free path), m.
SUBSURFACE_GAIN = (1.5, 3.0)
SUBSURFACE_SCALE_M = (0.002, 0.006)


def sample_skin_detail(rng: np.random.Generator, skin_rgb: RGB, subsurface_probability: float = 0.0) -> SkinDetail:
    """Flush, eyelid shade and nails for a skin albedo (linear RGB), drawn uniformly from the ranges above, and with
    probability `subsurface_probability` subsurface scattering (drawn after the rest, so the rest does not depend
    on it)."""
    mix = rng.uniform(*NAIL_MIX)
    nail = (1.0 - mix) * np.asarray(skin_rgb) + mix * srgb8_to_linear(NAIL_SRGB8)
    detail = SkinDetail(flush=float(round(rng.uniform(*SKIN_FLUSH), 4)),
                        eyelid_shade=float(round(rng.uniform(*EYELID_SHADE), 4)), nail_rgb=_rgb(nail),
                        nail_roughness=float(round(rng.uniform(*NAIL_ROUGHNESS), 4)))
    if rng.random() >= subsurface_probability:
        return detail
    return replace(detail, subsurface=float(round(rng.uniform(*SUBSURFACE_GAIN), 4)),
                   subsurface_scale_m=float(round(rng.uniform(*SUBSURFACE_SCALE_M), 5)))


def sample_cloth_color(rng: np.random.Generator) -> tuple[float, float, float]:
    """Linear-RGB cloth albedo: a neutral colour or a random hue (display-space HSV converted to linear)."""
    if rng.random() < NEUTRAL_CLOTH_PROB:
        base = np.asarray(NEUTRAL_CLOTH_SRGB8[rng.integers(len(NEUTRAL_CLOTH_SRGB8))], dtype=np.float64)
        return _rgb(srgb8_to_linear(np.clip(base * rng.uniform(0.85, 1.15), 0, 255)))
    srgb = _hsv_to_rgb(rng.random(), rng.uniform(0.25, 0.9), rng.uniform(0.2, 0.95))
    return _rgb(srgb8_to_linear(srgb * 255.0))


def _denim_colors(rng: np.random.Generator) -> tuple[RGB, RGB]:
    """Denim: indigo from dark to washed (sRGB), and its faded threads, lighter and greyer."""
    wash = rng.uniform()
    indigo = np.array([35.0, 50.0, 95.0]) + wash * np.array([70.0, 75.0, 80.0]) + rng.uniform(-8, 8, 3)
    faded = indigo + rng.uniform(0.3, 0.6) * (np.array([200.0, 205.0, 215.0]) - indigo)
    return _rgb(srgb8_to_linear(indigo)), _rgb(srgb8_to_linear(faded))


#: Period ranges (m, log-uniform) per cloth pattern: stripes and checks 1-12 cm, noise features, denim fades (the
#: twill is DENIM_TWILL_M), knit ribs, print dot spacing.
CLOTH_SCALE_M = {"denim": (0.04, 0.15), "knit": (0.004, 0.012), "dots": (0.015, 0.08)}
DEFAULT_CLOTH_SCALE_M = (0.01, 0.12)


def sample_cloth(rng: np.random.Generator, patterns: Sequence[str] = CLOTH_PATTERNS,
                 probs: Sequence[float] = CLOTH_PATTERN_PROBS) -> ClothTexture:
    """One procedural cloth texture (pattern, two colours, period, angle, roughness, wrinkles)."""
    if len(probs) != len(patterns):
        raise ValueError(f"{len(probs)} probabilities for {len(patterns)} cloth patterns")
    pattern = str(rng.choice(list(patterns), p=np.asarray(probs) / np.sum(probs)))
    if pattern == "denim":
        a, b = _denim_colors(rng)
    else:
        a = sample_cloth_color(rng)
        if pattern in ("noise", "knit"):  # a darker tone of the same colour; ribs are subtle
            b = _rgb(np.asarray(a) * rng.uniform(*((0.4, 0.8) if pattern == "noise" else (0.7, 0.9))))
        else:
            b = sample_cloth_color(rng)
    lo, hi = CLOTH_SCALE_M.get(pattern, DEFAULT_CLOTH_SCALE_M)
    return ClothTexture(
        pattern=pattern,
        color_a=a,
        color_b=b,
        scale_m=float(round(np.exp(rng.uniform(np.log(lo), np.log(hi))), 5)),
        angle_rad=float(round(rng.choice([0.0, math.pi / 2, math.pi / 4, rng.uniform(0, math.pi)]), 5)),
        roughness=float(round(rng.uniform(0.6, 0.95), 3)),
        wrinkles=float(round(rng.uniform(*CLOTH_WRINKLES), 3)),
        wrinkle_scale_m=float(round(rng.uniform(*CLOTH_WRINKLE_SCALE_M), 4)),
    )


def sample_appearance(rng: np.random.Generator, parts_available: Collection[str],
                      loose_garment_probability: float = 0.35, hood_probability: float = 0.0) -> Appearance:
    """Draw skin, hair, top, bottom, shoes, (with `loose_garment_probability`) one loose garment and (with
    `hood_probability`, for a long-sleeved top under no coat) a hoodie's hood worn down in the top's cloth.

    parts_available: BODY_PARTS names the body backend labels; garments whose parts are missing are skipped
    (e.g. no shoes without feet, no hair colour without a scalp).
    """
    parts = set(parts_available)
    skin = sample_skin_rgb(rng)
    hair = HAIR_SRGB8[rng.choice(len(HAIR_SRGB8), p=HAIR_PROB)]
    has_arms = {"left_upperarm", "right_upperarm"} <= parts
    has_legs = {"left_thigh", "right_thigh"} <= parts

    loose: list[LooseGarment] = []
    if has_legs and rng.random() < loose_garment_probability:
        kind = str(rng.choice(["skirt", "dress", "coat"]))
        cloth = sample_cloth(rng)
        if kind == "skirt":
            loose.append(LooseGarment("skirt", cloth, top_t=float(rng.uniform(0.25, 0.35)),
                                      hem_t=float(rng.uniform(0.3, 0.85)), flare=float(rng.uniform(0.05, 0.35)),
                                      clearance_m=0.012))
        elif kind == "dress":
            loose.append(LooseGarment("dress", cloth, top_t=float(rng.uniform(0.72, 0.8)),
                                      hem_t=float(rng.uniform(0.35, 0.9)), flare=float(rng.uniform(0.05, 0.3)),
                                      clearance_m=0.012))
        else:
            loose.append(LooseGarment("coat", cloth, top_t=1.0, hem_t=float(rng.uniform(0.35, 0.75)),
                                      flare=float(rng.uniform(0.0, 0.12)), clearance_m=0.02,
                                      sleeve_t=float(rng.uniform(0.85, 0.98)) if has_arms else 0.0))
    kinds = {g.kind for g in loose}

    top = None
    if "torso" in parts:
        style = str(rng.choice(["long_sleeve", "short_sleeve", "sleeveless"], p=[0.4, 0.45, 0.15]))
        if "dress" in kinds:
            style = str(rng.choice(["short_sleeve", "sleeveless"]))
        sleeve_t = {"long_sleeve": rng.uniform(0.9, 0.98), "short_sleeve": rng.uniform(0.15, 0.4),
                    "sleeveless": 0.0}[style]
        cloth = loose[0].cloth if "dress" in kinds else sample_cloth(rng, probs=TOP_PATTERN_PROBS)
        top = Top(style, cloth, sleeve_t=float(sleeve_t), hem_t=float(rng.uniform(0.1, 0.3)))

    bottom = None
    if has_legs:
        if kinds & {"skirt", "dress"}:
            style, leg_t = "skirt", rng.uniform(0.05, 0.12)
            cloth = loose[0].cloth
        else:
            style = str(rng.choice(["trousers", "shorts"], p=[0.7, 0.3]))
            leg_t = rng.uniform(0.95, 1.02) if style == "trousers" else rng.uniform(0.25, 0.5)
            cloth = sample_cloth(rng, probs=BOTTOM_PATTERN_PROBS)
        bottom = Bottom(style, cloth, leg_t=float(leg_t), waist_t=float(rng.uniform(0.22, 0.32)))

    shoes = None
    if {"left_foot", "right_foot"} <= parts:
        style = str(rng.choice(["sneakers", "boots"], p=[0.75, 0.25]))
        shoes = Shoes(style, sample_cloth(rng, patterns=("solid", "noise"), probs=(0.7, 0.3)),
                      shaft_t=float(rng.uniform(0.0, 0.04) if style == "sneakers" else rng.uniform(0.12, 0.3)))

    if (top is not None and top.style == "long_sleeve" and "coat" not in kinds and "neck" in parts
            and rng.random() < hood_probability):
        loose.append(LooseGarment("hood", top.cloth, top_t=1.0, hem_t=float(rng.uniform(*HOOD_LOWEST_T)),
                                  flare=float(rng.uniform(*HOOD_BULGE)), clearance_m=HOOD_CLEARANCE_M))

    skin_np = np.asarray(skin)
    return Appearance(
        skin_rgb=skin,
        skin_roughness=float(round(rng.uniform(0.4, 0.6), 3)),
        hair_rgb=_rgb(srgb8_to_linear(np.asarray(hair) * rng.uniform(0.85, 1.15))),
        eye_rgb=_rgb(srgb8_to_linear(EYE_SRGB8)),
        lip_rgb=_rgb(skin_np * np.asarray(LIP_TINT)),
        top=top,
        bottom=bottom,
        shoes=shoes,
        loose=tuple(loose),
    )


# ----------------------------------------------------------------------------------------------------------------
def _lobe(lam: np.ndarray, mu: float, s1: float, s2: float) -> np.ndarray:
    s = np.where(lam < mu, s1, s2)
    return np.exp(-0.5 * ((lam - mu) / s) ** 2)


def blackbody_rgb(temperature_k: float) -> tuple[float, float, float]:
    """Linear Rec.709 colour of a black body, normalised to a maximum channel of 1.

    Planck's law integrated against the multi-lobe Gaussian fit of the CIE 1931 2-degree colour matching
    functions (Wyman, Sloan and Shirley 2013), then XYZ -> linear sRGB.
    """
    lam = np.linspace(380.0, 780.0, 401)  # nm
    lam_m = lam * 1e-9
    planck_c1, planck_c2 = 3.741771852e-16, 1.438776877e-2  # W m^2, m K
    spd = planck_c1 / lam_m**5 / np.expm1(planck_c2 / (lam_m * temperature_k))
    x = 1.056 * _lobe(lam, 599.8, 37.9, 31.0) + 0.362 * _lobe(lam, 442.0, 16.0, 26.7) - 0.065 * _lobe(lam, 501.1, 20.4, 26.2)
    y = 0.821 * _lobe(lam, 568.8, 46.9, 40.5) + 0.286 * _lobe(lam, 530.9, 16.3, 31.1)
    z = 1.217 * _lobe(lam, 437.0, 11.8, 36.0) + 0.681 * _lobe(lam, 459.0, 26.0, 13.8)
    xyz = np.array([np.sum(spd * x), np.sum(spd * y), np.sum(spd * z)])
    xyz_to_rgb = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])
    rgb = np.clip(xyz_to_rgb @ xyz, 0.0, None)
    return _rgb(rgb / rgb.max())


def validate_hdri_paths(paths: Sequence[str | Path]) -> tuple[str, ...]:
    """Absolute paths of the configured HDRIs (`builtin:` references stay references); AssetError naming the first
    missing or unsupported file."""
    out = []
    for p in paths:
        if is_builtin_ref(str(p)):  # data of the bpy wheel: checked, and kept as its portable reference
            if not builtin_file(str(p)).is_file():
                raise AssetError(f"HDRI {str(p)!r} not found in the installed bpy wheel; fix appearance.hdri_files")
            out.append(str(p))
            continue
        path = Path(p).expanduser()
        if not path.is_file():
            raise AssetError(f"HDRI {str(p)!r} not found; fix appearance.hdri_files or place the file there")
        if path.suffix.lower() not in (".hdr", ".exr", ".png", ".jpg", ".jpeg", ".tif", ".tiff"):
            raise AssetError(f"HDRI {str(p)!r}: unsupported extension; use an equirectangular .hdr or .exr")
        out.append(str(path.resolve()))
    return tuple(out)


def _pale(rng: np.random.Generator, lo: float, hi: float, saturation: float) -> np.ndarray:
    """A linear-RGB colour of sRGB value in [lo, hi] (8 bit) and saturation up to `saturation`, any hue."""
    return srgb8_to_linear(255.0 * _hsv_to_rgb(rng.uniform(), rng.uniform(0.0, saturation),
                                               rng.uniform(lo, hi) / 255.0))


def sample_surface(rng: np.random.Generator, pattern: str) -> GroundSpec:
    """Colours, feature size (m) and roughness of one procedural surface of `pattern` (GROUND_PATTERNS): outdoor
    grounds, indoor floors and walls. Colour ranges are sRGB 8 bit, converted to linear RGB."""
    if pattern not in GROUND_PATTERNS:
        raise ValueError(f"unknown surface pattern {pattern!r}; use one of {list(GROUND_PATTERNS)}")
    rough = rng.uniform(0.5, 0.95)
    if pattern == "tiles":
        a, scale = srgb8_to_linear(rng.uniform(90, 230, 3)), rng.uniform(0.25, 0.8)
        b = a * rng.uniform(0.5, 0.8)
    elif pattern == "concrete":
        grey = np.full(3, rng.uniform(100, 190)) * rng.uniform(0.95, 1.05, 3)
        a, scale = srgb8_to_linear(grey), rng.uniform(0.1, 0.6)
        b = a * rng.uniform(0.6, 0.85)
    elif pattern == "grass":
        green = (rng.uniform(40, 90), rng.uniform(80, 140), rng.uniform(20, 50))
        a, scale = srgb8_to_linear(green), rng.uniform(0.05, 0.3)
        b = a * rng.uniform(0.4, 0.7)
    elif pattern == "wood":
        wood = (rng.uniform(120, 200), rng.uniform(80, 140), rng.uniform(40, 90))
        a, scale = srgb8_to_linear(wood), rng.uniform(0.1, 0.25)
        b = a * rng.uniform(0.55, 0.8)
    elif pattern == "asphalt":
        grey = np.full(3, rng.uniform(45, 95)) * rng.uniform(0.97, 1.03, 3)
        a, scale, rough = srgb8_to_linear(grey), rng.uniform(0.01, 0.04), rng.uniform(0.8, 0.95)
        b = a * rng.uniform(0.5, 0.75)
    elif pattern == "gravel":  # stones: scale is their size
        stone = np.full(3, rng.uniform(110, 185)) * np.array([1.0, rng.uniform(0.93, 1.0), rng.uniform(0.82, 0.97)])
        a, scale, rough = srgb8_to_linear(stone), rng.uniform(0.015, 0.04), rng.uniform(0.7, 0.9)
        b = a * rng.uniform(0.4, 0.65)
    elif pattern == "dirt":
        soil = (rng.uniform(95, 150), rng.uniform(65, 105), rng.uniform(40, 70))
        a, scale, rough = srgb8_to_linear(soil), rng.uniform(0.1, 0.5), rng.uniform(0.8, 0.95)
        b = a * rng.uniform(0.5, 0.75)
    elif pattern == "carpet":
        a, scale, rough = np.asarray(sample_cloth_color(rng)), rng.uniform(0.003, 0.01), rng.uniform(0.9, 1.0)
        b = a * rng.uniform(0.7, 0.9)
    elif pattern == "paint":
        a, scale = _pale(rng, 170, 240, 0.25), rng.uniform(0.2, 1.0)
        b = a * rng.uniform(0.9, 0.97)
    elif pattern == "brick":  # scale: one course (brick plus mortar)
        a = srgb8_to_linear((rng.uniform(120, 180), rng.uniform(50, 90), rng.uniform(35, 60)))
        b, scale = srgb8_to_linear(np.full(3, rng.uniform(150, 200))), rng.uniform(0.065, 0.09)
        rough = rng.uniform(0.8, 0.95)
    else:  # wall_tiles: glazed
        a, scale, rough = _pale(rng, 150, 245, 0.4), rng.uniform(0.1, 0.3), rng.uniform(0.1, 0.3)
        b = srgb8_to_linear(np.full(3, rng.uniform(150, 220)))
    return GroundSpec(pattern, _rgb(a), _rgb(b), float(round(scale, 4)), float(round(rough, 3)))


def sample_environment(rng: np.random.Generator, hdri_paths: Sequence[str | Path] = (),
                       hdri_probability: float = 0.5) -> Environment:
    """Draw an outdoor ground (OUTDOOR_GROUNDS), gradient sky, sun; with configured HDRIs (validated first:
    a missing file raises AssetError) one of them lights the scene with probability `hdri_probability`."""
    hdris = validate_hdri_paths(hdri_paths)
    ground = sample_surface(rng, str(rng.choice(OUTDOOR_GROUNDS)))

    elevation = float(rng.uniform(math.radians(15), math.radians(80)))
    # Lower sun -> warmer light.
    t = (elevation - math.radians(15)) / math.radians(65)
    temperature = float(SUN_TEMPERATURE_K[0] + (SUN_TEMPERATURE_K[1] - SUN_TEMPERATURE_K[0]) * t * rng.uniform(0.8, 1.0))
    sun = SunSpec(
        azimuth_rad=float(rng.uniform(0, 2 * math.pi)),
        elevation_rad=elevation,
        strength=float(round(rng.uniform(2.0, 5.0), 3)),
        temperature_k=round(temperature, 1),
        rgb=blackbody_rgb(temperature),
        angle_rad=float(round(rng.uniform(math.radians(0.5), math.radians(3.0)), 5)),
    )
    zenith = srgb8_to_linear((rng.uniform(40, 110), rng.uniform(90, 160), rng.uniform(170, 240)))
    horizon = srgb8_to_linear((rng.uniform(170, 230), rng.uniform(185, 235), rng.uniform(200, 245)))
    sky = SkySpec(_rgb(zenith), _rgb(horizon), float(round(rng.uniform(0.6, 1.5), 3)))
    hdri, tint = None, (1.0, 1.0, 1.0)
    if hdris and rng.random() < hdri_probability:
        hdri = hdris[rng.integers(len(hdris))]
        tint = white_balance_tint(float(rng.uniform(*HDRI_WHITE_BALANCE_K)))
    return Environment(ground=ground, sky=sky, sun=sun, hdri_path=hdri,
                       hdri_strength=float(round(rng.uniform(0.6, 1.4), 3)),
                       hdri_rotation_rad=float(round(rng.uniform(0, 2 * math.pi), 5)), hdri_tint_rgb=tint)


def white_balance_tint(temperature_k: float) -> RGB:
    """Linear-RGB gains (unit mean) of a white balance set for temperature_k under 6500 K light: below 6500 K the
    image turns blue, above it warm (the gains divide out the assumed illuminant's colour)."""
    gains = np.asarray(blackbody_rgb(NEUTRAL_WHITE_K)) / np.asarray(blackbody_rgb(temperature_k))
    gains = gains / gains.mean()
    return tuple(float(round(g, 4)) for g in gains)


def appearance_from_config(rng: np.random.Generator, appearance_cfg, parts_available: Collection[str] = BODY_PARTS
                           ) -> Appearance:
    """sample_appearance with the `appearance:` config section (synth.config.AppearanceConfig)."""
    return sample_appearance(rng, parts_available, appearance_cfg.loose_garment_probability,
                             appearance_cfg.hood_probability)
