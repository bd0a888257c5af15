"""Camera effects: what a real head-mounted camera does to the light Cycles computes, sampled per clip.

Cycles renders scene-linear radiance (Linear Rec.709). A camera then exposes it (exposure), loses light towards
the image circle's rim (vignetting, a function of the field angle), records it with a white-balance error, with
photon shot noise and read noise, optionally through a monochrome (IR tracking) sensor, before the display
transform (the scene's view transform, Blender's OCIO config) and the JPEG encoder at the sampled quality.
This module samples those parameters (`sample_camera_effects`, recorded in clip.json "camera_effects") and applies
the linear part (`apply_sensor`) with numpy; synth/blender/display.py does the display transform.

Units: linear values are scene-linear radiance as Cycles writes it (1.0 = a white diffuse surface under unit
light, the sensor's full-well signal for the noise model); field angles in radians; colour temperatures in kelvin.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from synth.appearance.sampling import white_balance_tint

#: Rec.709 luminance weights of linear RGB (the monochrome sensor's response).
REC709_LUMA = (0.2126, 0.7152, 0.0722)


@dataclass(frozen=True)
class ViewEffects:
    """One camera's exposure, white balance and vignetting (each camera of a rig exposes on its own).

    exposure_ev: stops added to the render (linear gain 2 ** exposure_ev). white_balance_k: the colour temperature
    the camera's white balance assumed under 6500 K light (6500 = neutral); gains_rgb: the linear-RGB gains it
    applies (unit mean, synth.appearance.sampling.white_balance_tint). vignetting: fraction of the light lost at
    the image circle's rim (relative illumination 1 - vignetting * (field angle / max field angle) ** 2).
    """

    exposure_ev: float
    white_balance_k: float
    gains_rgb: tuple[float, float, float]
    vignetting: float


@dataclass(frozen=True)
class CameraEffects:
    """A clip's camera effects: per view (`views`, in rig order) and per sensor.

    full_well_e: electrons at linear signal 1.0 (shot noise variance = signal / full_well_e); None: no noise.
    read_noise: standard deviation of the signal-independent noise, in linear units. monochrome: the sensor records
    luminance only (the images are written with one grey channel). jpeg_quality: the JPEG quality the clip's images are
    stored with (None: the output's `jpeg_quality`, or PNG). noise_seed: base of the per-frame, per-view noise.
    exposure_time_s: how long the (global) shutter is open, centred on the frame's time, which the labels describe;
    Cycles blurs the clip's real motion over it (None: sharp frames). readout_time_s: a rolling shutter reads the
    rows top to bottom over this time, centred on the frame's time (None: a global shutter); readout_bands: the
    bands of rows rendered each at its own time (synth/geometry/rolling_shutter.py).
    """

    views: tuple[tuple[str, ViewEffects], ...]
    full_well_e: float | None
    read_noise: float
    monochrome: bool
    jpeg_quality: int | None
    noise_seed: int
    exposure_time_s: float | None = None
    readout_time_s: float | None = None
    readout_bands: int = 16

    def readout_frames(self, fps: float) -> float | None:
        """The rolling shutter's readout time in frames at `fps` (None: a global shutter)."""
        return None if self.readout_time_s is None else float(self.readout_time_s) * float(fps)

    def view(self, name: str) -> ViewEffects:
        for view, fx in self.views:
            if view == name:
                return fx
        raise KeyError(f"no camera effects for view {name!r}; have {[v for v, _ in self.views]}")

    def noise_rng(self, frame: int, view: str) -> np.random.Generator:
        """The generator of one frame's and view's sensor noise (fixed by the clip's noise_seed)."""
        index = [v for v, _ in self.views].index(view)
        return np.random.default_rng((self.noise_seed, int(frame), index))

    def to_json(self) -> dict[str, Any]:
        """clip.json "camera_effects"."""
        return {
            "views": {view: asdict(fx) for view, fx in self.views},
            "full_well_e": self.full_well_e,
            "read_noise": self.read_noise,
            "monochrome": self.monochrome,
            "jpeg_quality": self.jpeg_quality,
            "noise_seed": self.noise_seed,
            "exposure_time_s": self.exposure_time_s,
            "readout_time_s": self.readout_time_s,
            "readout_bands": self.readout_bands if self.readout_time_s is not None else None,
        }


def _uniform(rng: np.random.Generator, low_high: tuple[float, float]) -> float:
    low, high = low_high
    return float(rng.uniform(low, high)) if high > low else float(low)


def _log_uniform(rng: np.random.Generator, low_high: tuple[float, float]) -> float:
    low, high = low_high
    return float(math.exp(rng.uniform(math.log(low), math.log(high)))) if high > low else float(low)


def sample_camera_effects(rng: np.random.Generator, cfg: Any, views: tuple[str, ...],
                          output_format: str = "jpg") -> CameraEffects:
    """Draw a clip's camera effects from `appearance.camera_effects` (synth.config.CameraEffectsConfig).

    Per view: exposure (uniform EV), white balance (uniform kelvin), vignetting (uniform). Per clip: whether the
    sensor is noisy (noise_probability), its full-well capacity (log-uniform electrons) and read noise (uniform),
    monochrome (monochrome_probability), the JPEG quality (uniform integer; None for PNG output), then motion blur
    (motion_blur_probability; exposure time log-uniform), then the rolling shutter (rolling_shutter_probability;
    readout time uniform). The motion-blur draws come after the others and the rolling shutter's after those, so
    turning either on changes no other effect of a clip.
    """
    per_view = []
    for view in views:
        k = round(_uniform(rng, cfg.white_balance_k), 1)
        per_view.append((view, ViewEffects(
            exposure_ev=round(_uniform(rng, cfg.exposure_ev), 4),
            white_balance_k=k,
            gains_rgb=white_balance_tint(k),
            vignetting=round(_uniform(rng, cfg.vignetting), 4),
        )))
    noisy = rng.random() < cfg.noise_probability
    full_well = round(_log_uniform(rng, cfg.full_well_e), 1)
    read_noise = round(_uniform(rng, cfg.read_noise), 6)
    monochrome = bool(rng.random() < cfg.monochrome_probability)
    quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)) if cfg.jpeg_quality else None
    noise_seed = int(rng.integers(2**31))
    blurred = bool(rng.random() < cfg.motion_blur_probability)
    exposure_time = round(_log_uniform(rng, cfg.exposure_time_s), 6)
    rolling = bool(rng.random() < cfg.rolling_shutter_probability)
    readout_time = round(_uniform(rng, cfg.readout_time_s), 6)
    return CameraEffects(
        views=tuple(per_view),
        full_well_e=full_well if noisy else None,
        read_noise=read_noise if noisy else 0.0,
        monochrome=monochrome,
        jpeg_quality=quality if output_format == "jpg" else None,
        noise_seed=noise_seed,
        exposure_time_s=exposure_time if blurred else None,
        readout_time_s=readout_time if rolling else None,
        readout_bands=int(cfg.rolling_shutter_bands),
    )


def field_angle_map(lens) -> np.ndarray:
    """(H, W) float32 field angle (rad) of every pixel centre of `lens` (synth.geometry lens with width, height,
    unproject); pixel centres at integer coordinates (OpenCV convention)."""
    v, u = np.mgrid[0:lens.height, 0:lens.width].astype(np.float64)
    rays = np.asarray(lens.unproject(np.stack([u, v], axis=-1)), dtype=np.float64)
    return np.arccos(np.clip(rays[..., 2], -1.0, 1.0)).astype(np.float32)


def relative_illumination(field_angle_rad: np.ndarray, max_field_angle_rad: float, vignetting: float) -> np.ndarray:
    """(H, W) float32 gain: 1 on the optical axis, 1 - vignetting at max_field_angle_rad and beyond."""
    t = np.minimum(np.asarray(field_angle_rad, dtype=np.float32) / np.float32(max_field_angle_rad), 1.0)
    return (1.0 - np.float32(vignetting) * t * t).astype(np.float32)


def apply_sensor(linear_rgb: np.ndarray, view: ViewEffects, effects: CameraEffects, illumination: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """The camera's linear signal for one view: (H, W, 3) float32, scene-linear Rec.709, >= 0.

    linear_rgb: (H, W, 3) scene-linear render (Cycles' Combined pass); illumination: (H, W) relative illumination
    (`relative_illumination`); rng: this frame's and view's noise generator (`CameraEffects.noise_rng`). Order:
    exposure gain and vignetting (the light reaching the sensor), white-balance gains, monochrome luminance, then
    Poisson-Gaussian noise (variance signal / full_well_e + read_noise ** 2, Gaussian approximation), clipped at 0.
    """
    rgb = np.asarray(linear_rgb, dtype=np.float32)[..., :3]
    gain = np.float32(2.0 ** view.exposure_ev) * np.asarray(illumination, dtype=np.float32)
    out = rgb * gain[..., None] * np.asarray(view.gains_rgb, dtype=np.float32)
    if effects.monochrome:
        out = (out @ np.asarray(REC709_LUMA, dtype=np.float32))[..., None]
    if effects.full_well_e is not None:
        signal = np.maximum(out, 0.0)
        sigma = np.sqrt(signal / np.float32(effects.full_well_e) + np.float32(effects.read_noise) ** 2)
        out = out + sigma * rng.standard_normal(out.shape, dtype=np.float32)
    out = np.maximum(out, 0.0)
    if out.shape[-1] == 1:
        out = np.repeat(out, 3, axis=-1)
    return np.ascontiguousarray(out, dtype=np.float32)
