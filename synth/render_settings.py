"""Cycles render settings: named presets (draft, default, final) plus overrides, as a frozen pydantic model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PresetName = Literal["draft", "default", "final"]

#: Settings the sky-scene front could not see, from bench/results/quality_256px_rooms_bounces.json (two closed
#: lamp-lit rooms, 512-spp reference): a third diffuse bounce brings 16 and 24 spp 0.6-0.8 dB (noise-corrected)
#: closer to the reference at 1.00-1.09x the time, and bounces beyond it add nothing (6/3/2/4 measured the same);
#: with two, light that reaches the body off a wall and the ceiling is lost and rooms render too dark.
ROOM_BOUNCES: dict[str, Any] = dict(diffuse_bounces=3)

#: Preset values, derived from one measured quality-vs-time front (bench/quality.py, default scene, 256 px, 2 CPU
#: cores; figures in README "Performance"): `default` is the fastest setting whose PSNR inside the image circle
#: reaches the error of storing the reference as JPEG q95 and whose SSIM is >= 0.99 in the circle and around the
#: joints; `draft` the fastest one at that PSNR alone; `final` the best one measured. The default scene's
#: procedural sky needs no importance sampling (world_sampling "images" keeps it for HDRIs), bounces beyond
#: 4/2/1/2 add nothing visible there, and adaptive sampling is off (at these sample counts it saved nothing
#: measurable). One correction from a second measured run (ROOM_BOUNCES): closed rooms lit by their lamps need a
#: third diffuse bounce.
PRESETS: dict[str, dict[str, Any]] = {
    "draft": dict(samples=6, adaptive_threshold=0.0, denoise=True, denoise_prefilter="FAST", max_bounces=4,
                  glossy_bounces=1, transmission_bounces=2, world_sampling="images", **ROOM_BOUNCES),
    "default": dict(samples=32, adaptive_threshold=0.0, denoise=True, denoise_prefilter="FAST", max_bounces=4,
                    glossy_bounces=1, transmission_bounces=2, world_sampling="images", **ROOM_BOUNCES),
    "final": dict(samples=64, adaptive_threshold=0.0, denoise=True, denoise_prefilter="ACCURATE", max_bounces=6,
                  diffuse_bounces=3, glossy_bounces=2, transmission_bounces=4, world_sampling="auto"),
}


class RenderSettings(BaseModel):
    """Resolved Cycles settings. Build with `RenderSettings(preset=..., **overrides)`: fields left out take the
    preset's values, so a dumped model reloads to the same settings.

    samples: max samples per pixel; adaptive_threshold: 0 disables adaptive sampling; adaptive_min_samples: samples
    before a pixel may stop (0 = Cycles' automatic minimum, which exceeds 32 at threshold 0.05, so adaptive sampling
    never acts below that; Cycles checks convergence every 16 samples); denoise: OpenImageDenoise (OptiX's denoiser
    on an OptiX device); denoise_prefilter: "FAST" is the cheap CPU choice; denoise_passes: the denoiser's guiding
    passes; light_tree: Cycles' light tree; clamp_direct / clamp_indirect: sample clamping (0 = off);
    filter_width_px: the pixel filter's width; world_sampling: "auto" samples the world as a light (multiple
    importance sampling), "none" only by BSDF rays, "images" as a light only when it is an image (HDRI);
    world_map_resolution: the world's importance map size (0 = Cycles' automatic choice); curve_shape: how Cycles
    draws strand hair ("THICK": round 3D curves; "RIBBONS": flat strips turned towards each ray, with normals
    shaded as if round; both as wide as the strand); path_guiding: Cycles' path guiding (Open PGL; the CPU only,
    deterministic), which learns where indirect light comes from over its first guiding_training_samples samples;
    fast_gi_bounces: 0 = off, N = indirect light after N bounces is replaced by ambient occlusion of the world
    (Cycles' fast GI approximation; biased, darker in closed rooms); tile_size: px;
    threads: 0 = all cores (set the per-worker CPU count when several workers share a machine);
    device: "auto" picks OptiX, then CUDA, then the CPU; jpeg_quality: 1-100; view_transform: Blender colour
    management ("Standard" keeps albedos literal, "AgX" compresses highlights); clip_start_m: nearest distance
    the cameras see (cameras sit centimetres from the face).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    preset: PresetName = "default"
    samples: int = Field(32, ge=1, le=65536)
    adaptive_threshold: float = Field(0.0, ge=0.0, le=1.0)
    denoise: bool = True
    denoise_prefilter: Literal["NONE", "FAST", "ACCURATE"] = "FAST"
    max_bounces: int = Field(4, ge=0, le=1024)
    diffuse_bounces: int = Field(3, ge=0, le=1024)
    glossy_bounces: int = Field(1, ge=0, le=1024)
    transmission_bounces: int = Field(2, ge=0, le=1024)
    adaptive_min_samples: int = Field(0, ge=0, le=65536)
    denoise_passes: Literal["RGB", "RGB_ALBEDO", "RGB_ALBEDO_NORMAL"] = "RGB_ALBEDO_NORMAL"
    light_tree: bool = True
    clamp_direct: float = Field(0.0, ge=0.0)
    clamp_indirect: float = Field(10.0, ge=0.0)
    filter_width_px: float = Field(1.5, ge=0.01, le=10.0)
    world_sampling: Literal["auto", "images", "none"] = "images"
    world_map_resolution: int = Field(0, ge=0, le=8192)
    curve_shape: Literal["THICK", "RIBBONS"] = "THICK"
    path_guiding: bool = False
    guiding_training_samples: int = Field(128, ge=1, le=65536)
    fast_gi_bounces: int = Field(0, ge=0, le=1024)
    tile_size: int = Field(2048, ge=8, le=8192)
    threads: int = Field(0, ge=0, le=1024)
    device: Literal["auto", "cpu", "cuda", "optix"] = "auto"
    jpeg_quality: int = Field(95, ge=1, le=100)
    view_transform: Literal["Standard", "AgX", "Filmic"] = "AgX"
    clip_start_m: float = Field(0.005, gt=0.0, le=1.0)

    @model_validator(mode="before")
    @classmethod
    def _fill_from_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        preset = data.get("preset", "default")
        if preset not in PRESETS:
            raise ValueError(f"unknown render preset {preset!r}; choose one of {sorted(PRESETS)}")
        given = {k: v for k, v in data.items() if v is not None}
        return {**PRESETS[preset], **given, "preset": preset}

    @classmethod
    def from_config(cls, render_cfg: Any = None, **extra: Any) -> "RenderSettings":
        """From a config section (synth.config.RenderSettingsConfig, a dict or None) plus keyword overrides
        (e.g. jpeg_quality from the output section); None values mean "use the preset". `camera` is not a
        scene setting: each rig camera says how it is rendered."""
        if render_cfg is None:
            data: dict[str, Any] = {}
        elif isinstance(render_cfg, dict):
            data = dict(render_cfg)
        else:
            data = render_cfg.model_dump()
        data.update(extra)
        data.pop("camera", None)  # render.camera is resolved into the rig (synth.geometry.rig.config_rig)
        return cls(**{k: v for k, v in data.items() if v is not None})
