"""Camera effects: sampling and validation, the sensor model's statistics, the field-angle map against OpenCV, and real
renders: without effects the display transform reproduces Blender's own 8-bit output, with them the images are
exposed, vignetted, noisy, monochrome and JPEG-encoded as clip.json says, identically on a rerun."""

from __future__ import annotations

import dataclasses
import io
import math
import os
from pathlib import Path

import numpy as np
import pytest

from synth.appearance.camera_effects import (REC709_LUMA, CameraEffects, ViewEffects, apply_sensor, field_angle_map,
                                             relative_illumination, sample_camera_effects)
from synth.config import CameraEffectsConfig, load_config
from synth.errors import ConfigError
from tests.camera_fixtures import FISHEYE

REPO = Path(__file__).resolve().parents[1]
VIEWS = ("front_left", "front_right", "back_left", "back_right")
NEUTRAL = ViewEffects(exposure_ev=0.0, white_balance_k=6500.0, gains_rgb=(1.0, 1.0, 1.0), vignetting=0.0)


def _effects(view: ViewEffects = NEUTRAL, **sensor) -> CameraEffects:
    base = dict(full_well_e=None, read_noise=0.0, monochrome=False, jpeg_quality=None, noise_seed=7)
    return CameraEffects(views=(("front_left", view),), **{**base, **sensor})


def test_sampling_is_seeded_and_within_the_configured_ranges():
    cfg = CameraEffectsConfig()
    draws = [sample_camera_effects(np.random.default_rng(i), cfg, VIEWS) for i in range(200)]
    assert sample_camera_effects(np.random.default_rng(3), cfg, VIEWS) == draws[3]
    per_view = [fx for d in draws for _, fx in d.views]
    ev = np.array([fx.exposure_ev for fx in per_view])
    assert cfg.exposure_ev[0] <= ev.min() < -0.5 and 0.3 < ev.max() <= cfg.exposure_ev[1]
    k = np.array([fx.white_balance_k for fx in per_view])
    assert cfg.white_balance_k[0] <= k.min() and k.max() <= cfg.white_balance_k[1]
    assert np.allclose([np.mean(fx.gains_rgb) for fx in per_view], 1.0, atol=1e-3)
    vig = np.array([fx.vignetting for fx in per_view])
    assert cfg.vignetting[0] <= vig.min() and vig.max() <= cfg.vignetting[1]
    assert len({fx.exposure_ev for _, fx in draws[0].views}) == len(VIEWS)  # each camera exposes on its own
    noisy = [d for d in draws if d.full_well_e is not None]
    assert 0.7 < len(noisy) / len(draws) < 0.9  # noise_probability 0.8
    wells = np.array([d.full_well_e for d in noisy])
    assert cfg.full_well_e[0] <= wells.min() and wells.max() <= cfg.full_well_e[1]
    assert abs(np.median(np.log(wells)) - np.mean(np.log(cfg.full_well_e))) < 0.3  # log-uniform
    q = np.array([d.jpeg_quality for d in draws])
    assert q.min() == cfg.jpeg_quality[0] and q.max() == cfg.jpeg_quality[1]
    assert not any(d.monochrome for d in draws)
    png = sample_camera_effects(np.random.default_rng(0), cfg, VIEWS, output_format="png")
    assert png.jpeg_quality is None
    mono = sample_camera_effects(np.random.default_rng(0), CameraEffectsConfig(monochrome_probability=1.0), VIEWS)
    assert mono.monochrome
    js = draws[0].to_json()
    assert list(js["views"]) == list(VIEWS) and js["jpeg_quality"] == draws[0].jpeg_quality


@pytest.mark.parametrize("field, value, needle", [
    ("exposure_ev", [1.0, -1.0], "low <= high"),
    ("vignetting", [0.0, 1.5], "<= 1"),
    ("jpeg_quality", [0, 90], "JPEG quality"),
    ("full_well_e", [0.0, 100.0], "electrons"),
    ("noise_probability", 2.0, "less than or equal"),
])
def test_bad_ranges_name_the_field(tmp_path, field, value, needle):
    with pytest.raises(ConfigError) as err:
        load_config(REPO / "render_configs" / "default.yaml",
                    overrides={"appearance": {"camera_effects": {field: value}}})
    assert f"appearance.camera_effects.{field}" in str(err.value) and needle in str(err.value)


def test_exposure_white_balance_and_monochrome_act_on_the_linear_signal():
    rng = np.random.default_rng(0)
    linear = rng.uniform(0.0, 2.0, (8, 9, 3)).astype(np.float32)
    flat = np.ones((8, 9), np.float32)
    out = apply_sensor(linear, NEUTRAL, _effects(), flat, rng)
    assert np.array_equal(out, linear)
    brighter = dataclasses.replace(NEUTRAL, exposure_ev=1.0, gains_rgb=(1.1, 1.0, 0.9))
    out = apply_sensor(linear, brighter, _effects(brighter), flat, rng)
    assert np.allclose(out, linear * 2.0 * np.array([1.1, 1.0, 0.9], np.float32), rtol=1e-6)
    out = apply_sensor(linear, NEUTRAL, _effects(monochrome=True), flat, rng)
    assert out.shape == linear.shape and np.array_equal(out[..., 0], out[..., 2])
    assert np.allclose(out[..., 1], linear @ np.array(REC709_LUMA, np.float32), rtol=1e-6)


def test_noise_has_the_poisson_gaussian_variance_and_is_fixed_per_frame_and_view():
    full_well, read = 1000.0, 0.01
    fx = _effects(full_well_e=full_well, read_noise=read)
    for level in (0.05, 0.25, 1.0):
        linear = np.full((256, 256, 3), level, np.float32)
        out = apply_sensor(linear, NEUTRAL, fx, np.ones((256, 256), np.float32), fx.noise_rng(3, "front_left"))
        expected = math.sqrt(level / full_well + read**2)
        assert abs(out.std() / expected - 1.0) < 0.02 and abs(out.mean() - level) < 3 * expected / 443
    a, b, c = (apply_sensor(np.full((16, 16, 3), 0.5, np.float32), NEUTRAL, fx, np.ones((16, 16), np.float32),
                            fx.noise_rng(f, "front_left")) for f in (3, 3, 4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert (apply_sensor(np.zeros((64, 64, 3), np.float32), NEUTRAL, fx, np.ones((64, 64), np.float32),
                         fx.noise_rng(0, "front_left")) >= 0).all()


def test_field_angle_map_matches_opencv_fisheye_and_vignetting_falls_to_the_rim():
    cv2 = pytest.importorskip("cv2")
    lens = FISHEYE
    angles = field_angle_map(lens)
    assert angles.shape == (lens.height, lens.width)
    v, u = np.mgrid[0:lens.height:7, 0:lens.width:7]
    pts = np.stack([u, v], axis=-1).reshape(-1, 1, 2).astype(np.float64)
    K = np.array([[lens.fx, 0, lens.cx], [0, lens.fy, lens.cy], [0, 0, 1]], np.float64)
    xy = cv2.fisheye.undistortPoints(pts, K, np.array(lens.k, np.float64),
                                     criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12))
    theta_cv = np.arctan(np.hypot(xy[:, 0, 0], xy[:, 0, 1]))
    ours = angles[v.ravel(), u.ravel()]
    inside = theta_cv < math.radians(75.0)
    assert inside.sum() > 1000
    np.testing.assert_allclose(ours[inside], theta_cv[inside], atol=2e-5)
    gain = relative_illumination(angles, lens.max_field_angle_rad, 0.4)
    assert gain[int(round(lens.cy)), int(round(lens.cx))] > 0.999
    assert np.isclose(gain.min(), 0.6) and np.all(np.diff(gain[int(round(lens.cy)), int(lens.cx):]) <= 1e-6)


# ---- real renders ------------------------------------------------------------------------------------------------
RES = 64


@pytest.fixture(scope="module")
def scene_and_spec(tmp_path_factory):
    pytest.importorskip("bpy")
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    from synth.blender.scene import BlenderScene
    from synth.run.blender import load_blender
    from synth.scene.sampler import ClipSampler

    cfg = load_config(REPO / "render_configs" / "default.yaml", overrides={
        "rig": {"resolution": RES}, "clips": {"frames": 2},
        "render": {"preset": "draft", "samples": 2, "device": "cpu", "threads": 1},
        "appearance": {"hdri_probability": 0.0, "camera_effects": {}}})
    spec, _ = ClipSampler(cfg, REPO / "render_configs").sample(0)
    out = tmp_path_factory.mktemp("camera_effects")
    scene = BlenderScene(load_blender(cfg), log_path=out / "blender.log")
    scene.load(spec)
    scene.set_frame(0, spec.T_world_from_device[0])
    return scene, spec, out


def _render(scene, out: Path, name: str, effects, view: str = "front_left", suffix: str = ".png") -> np.ndarray:
    from PIL import Image

    scene.set_camera_effects(effects)
    path = out / f"{name}_{view}{suffix}"
    scene.render_views({view: path})
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)


def _all_views(effects: CameraEffects, view: ViewEffects, **sensor) -> CameraEffects:
    return dataclasses.replace(effects, views=tuple((v, view) for v, _ in effects.views), **sensor)


@pytest.mark.blender
def test_neutral_effects_reproduce_blenders_own_display_transform(scene_and_spec):
    scene, spec, out = scene_and_spec
    blender = _render(scene, out, "blender", None)
    ours = _render(scene, out, "neutral", _all_views(spec.camera_effects, NEUTRAL, full_well_e=None, read_noise=0.0))
    diff = np.abs(ours - blender)
    assert blender.mean() > 30  # a lit image, not black
    assert diff.max() <= 1 and diff.mean() < 0.5  # Blender's AgX through its OCIO config, up to its dither


@pytest.mark.blender
def test_rendered_effects_expose_vignette_tint_and_add_noise(scene_and_spec):
    from PIL import Image

    scene, spec, out = scene_and_spec
    clean = dict(full_well_e=None, read_noise=0.0)
    neutral = _render(scene, out, "n", _all_views(spec.camera_effects, NEUTRAL, **clean)).astype(np.float64)
    bright = _render(scene, out, "b", _all_views(spec.camera_effects, dataclasses.replace(NEUTRAL, exposure_ev=1.0),
                                                 **clean)).astype(np.float64)
    inside = neutral.sum(-1) > 15
    assert (bright[inside].mean() - neutral[inside].mean()) > 15
    vig = _render(scene, out, "v", _all_views(spec.camera_effects, dataclasses.replace(NEUTRAL, vignetting=0.6),
                                              **clean)).astype(np.float64)
    yy, xx = np.mgrid[0:RES, 0:RES]
    r = np.hypot(xx - (RES - 1) / 2, yy - (RES - 1) / 2)
    rim, centre = inside & (r > 0.35 * RES), inside & (r < 0.15 * RES)
    ratio = vig / np.maximum(neutral, 1.0)
    assert ratio[rim].mean() < 0.85 and ratio[centre].mean() > 0.95
    warm = _render(scene, out, "w", _all_views(spec.camera_effects, dataclasses.replace(
        NEUTRAL, gains_rgb=(1.15, 1.0, 0.85)), **clean)).astype(np.float64)
    assert (warm - neutral)[inside][:, 0].mean() > 3 and (warm - neutral)[inside][:, 2].mean() < -3
    noisy_fx = _all_views(spec.camera_effects, NEUTRAL, full_well_e=300.0, read_noise=0.01)
    noisy = _render(scene, out, "z", noisy_fx).astype(np.float64)
    assert np.abs(noisy - neutral)[inside].mean() > 2.0
    again = _render(scene, out, "z2", noisy_fx).astype(np.float64)
    assert np.array_equal(noisy, again)  # the same frame and view: the same noise
    mono = _render(scene, out, "m", _all_views(spec.camera_effects, NEUTRAL, monochrome=True, **clean))
    assert Image.open(out / "m_front_left.png").mode == "L"  # one channel, as a monochrome camera writes
    luma = (neutral @ np.array(REC709_LUMA)).astype(np.float64)
    assert np.abs(mono[..., 0] - luma)[inside].mean() < 12  # about the colour image's brightness


@pytest.mark.blender
def test_jpeg_quality_is_the_clips(scene_and_spec):
    from PIL import Image

    scene, spec, out = scene_and_spec
    for quality in (60, 92):
        _render(scene, out, f"q{quality}", dataclasses.replace(spec.camera_effects, jpeg_quality=quality),
                suffix=".jpg")
        written = Image.open(out / f"q{quality}_front_left.jpg")
        reference = io.BytesIO()
        Image.new("RGB", (8, 8)).save(reference, format="JPEG", quality=quality)
        assert written.quantization == Image.open(reference).quantization  # libjpeg's tables for that quality
