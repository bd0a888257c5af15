"""Cycles render settings: named presets (draft, default, final) plus overrides, as a frozen pydantic model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PresetName = Literal["draft", "default", "final"]

#: Preset values. Measured on a 2-core CPU (research/blender.md): time is linear in samples; adaptive sampling
#: pays off from threshold ~0.05; OIDN's ACCURATE prefilter costs ~5x the FAST one on CPU; bounces barely matter
#: outdoors; tile size has no effect.
PRESETS: dict[str, dict[str, Any]] = {
    "draft": dict(samples=8, adaptive_threshold=0.0, denoise=False, denoise_prefilter="FAST", max_bounces=3,
                  diffuse_bounces=2, glossy_bounces=1, transmission_bounces=2),
    "default": dict(samples=32, adaptive_threshold=0.05, denoise=True, denoise_prefilter="FAST", max_bounces=6,
                    diffuse_bounces=3, glossy_bounces=2, transmission_bounces=4),
    "final": dict(samples=128, adaptive_threshold=0.02, denoise=True, denoise_prefilter="ACCURATE",
                  max_bounces=12, diffuse_bounces=4, glossy_bounces=4, transmission_bounces=8),
}


class RenderSettings(BaseModel):
    """Resolved Cycles settings. Build with `RenderSettings(preset=..., **overrides)`: fields left out take the
    preset's values, so a dumped model reloads to the same settings.

    samples: max samples per pixel; adaptive_threshold: 0 disables adaptive sampling; denoise: OpenImageDenoise
    (OptiX's denoiser on an OptiX device); denoise_prefilter: "FAST" is the cheap CPU choice; tile_size: px;
    threads: 0 = all cores (set the per-worker CPU count when several workers share a machine);
    device: "auto" picks OptiX, then CUDA, then the CPU; jpeg_quality: 1-100; view_transform: Blender colour
    management ("Standard" keeps albedos literal, "AgX" compresses highlights); clip_start_m: nearest distance
    the cameras see (cameras sit centimetres from the face).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    preset: PresetName = "default"
    samples: int = Field(32, ge=1, le=65536)
    adaptive_threshold: float = Field(0.05, ge=0.0, le=1.0)
    denoise: bool = True
    denoise_prefilter: Literal["NONE", "FAST", "ACCURATE"] = "FAST"
    max_bounces: int = Field(6, ge=0, le=1024)
    diffuse_bounces: int = Field(3, ge=0, le=1024)
    glossy_bounces: int = Field(2, ge=0, le=1024)
    transmission_bounces: int = Field(4, ge=0, le=1024)
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
