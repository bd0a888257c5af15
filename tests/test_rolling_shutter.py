"""Rolling shutter: the band maths, where a moving joint's label goes, the sampled settings, and real Cycles renders.
A rolling-shutter frame must equal, band by band, sharp renders of the scene at each band's time, and with no
readout time it must equal the global-shutter frame."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from synth.appearance.camera_effects import sample_camera_effects
from synth.config import CameraEffectsConfig, load_config
from synth.errors import ConfigError
from synth.geometry.rig import config_rig
from synth.geometry.rolling_shutter import (
    band_border, band_rows, band_times_frames, check_readout, choose_bands, rolling_projection,
)
from synth.geometry.transforms import axis_angle_to_matrix, make_T
from synth.labels.projection import project_joints
from tests.test_motion_blur import _sampler, _subframe_clip

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "render_configs" / "default.yaml"
#: Render side (px), samples, clip frame rate, readout time (s) and bands of the render tests: a 0.2 s readout
#: spans one frame at 5 fps, over which a running body moves well beyond the render noise.
RES = 64
SPP = 32
FPS = 5
READOUT_S = 0.2
BANDS = 4


def test_bands_cut_the_rows_and_are_read_top_to_bottom_around_the_frame():
    rows = band_rows(256, 16)
    assert rows[0, 0] == 0 and rows[-1, 1] == 256 and np.array_equal(rows[1:, 0], rows[:-1, 1])
    assert set(np.diff(rows, axis=1).ravel()) == {16}
    uneven = band_rows(100, 7)
    assert uneven[-1, 1] == 100 and np.diff(uneven, axis=1).min() >= 14 and np.diff(uneven, axis=1).max() <= 15
    assert len(band_rows(5, 16)) == 5  # one row a band
    times = band_times_frames(4, 1.0)
    assert np.allclose(times, [-0.375, -0.125, 0.125, 0.375])
    assert np.allclose(band_times_frames(1, 0.3), [0.0])
    # Blender's border counts from the bottom edge: rows 16-31 of 64 with a 2-row margin are rows 14-33 from the top.
    lo, hi = band_border(16, 32, 64, 2)
    assert (lo, hi) == pytest.approx(((64 - 34) / 64, (64 - 14) / 64))
    assert band_border(0, 16, 64, 8) == pytest.approx(((64 - 24) / 64, 1.0))
    with pytest.raises(ValueError, match="margin"):
        band_border(0, 16, 64, 0)
    check_readout(1.0, 1.0)
    with pytest.raises(ValueError, match="readout"):
        check_readout(1.5, 0.6)


def test_the_band_whose_rows_hold_the_projection_is_chosen():
    rows = band_rows(64, 4)
    # A point seen at v = 40 (band 2's rows) only at band 2's time; elsewhere it is outside each band's rows.
    v = np.array([[60.0], [5.0], [40.0], [3.0]])
    assert choose_bands(v, rows).tolist() == [2]
    # Nowhere inside: the nearest band (band 1 misses its rows by 2.5 rows, band 2 by 4.5).
    assert choose_bands(np.array([[30.0], [34.0], [52.0], [20.0]]), rows).tolist() == [1]
    assert choose_bands(np.array([[np.nan], [np.nan], [np.nan], [np.nan]]), rows).tolist() == [0]


def _moving_scene(num_frames: int = 3):
    """A static camera looking down +z (device = camera) and joints sweeping across its view: (joints (F, J, 3)
    world m, T_world_from_device (F, 4, 4), T_device_from_camera (1, 4, 4), lenses [one fisheye])."""
    lens = config_rig(load_config(DEFAULT, overrides={"rig": {"resolution": 256}}), DEFAULT.parent).lenses[0]
    joints0 = np.array([[x, y, 0.6] for x in (-0.3, 0.0, 0.25) for y in (-0.35, 0.0, 0.3)])
    velocity = np.array([0.2, 0.3, 0.0])  # m per frame (a fast hand at 10 fps), diagonal: it moves up and down too
    joints = np.stack([joints0 + f * velocity for f in range(num_frames)])
    T_wd = np.repeat(np.eye(4)[None], num_frames, axis=0)
    return joints, T_wd, np.eye(4)[None], [lens]


def test_without_readout_the_labels_are_the_global_shutters():
    joints, T_wd, T_dc, lenses = _moving_scene()
    uv, in_fov, seen_at = rolling_projection(joints, T_wd, T_dc, lenses, 0.0, 16)
    ref = project_joints(joints, T_dc, lenses)
    assert np.allclose(uv, ref.joints2d_px) and np.array_equal(in_fov, ref.in_fov)
    assert np.all(seen_at == 0.0)


def test_a_moving_joint_is_labelled_where_its_row_is_read():
    """An independent solution: with one band per row, a joint seen at row v was read at time t(v) =
    ((v + 0.5) / H - 0.5) x readout; solve v = projection at t(v) by fixed-point iteration per joint, and compare."""
    joints, T_wd, T_dc, lenses = _moving_scene()
    lens = lenses[0]
    readout = 0.8  # frames
    uv, in_fov, seen_at = rolling_projection(joints, T_wd, T_dc, lenses, readout, lens.height)
    ref = project_joints(joints, T_dc, lenses)
    f = 1
    moved = np.linalg.norm(uv[f, 0] - ref.joints2d_px[f, 0], axis=-1)
    assert moved[in_fov[f, 0]].max() > 4.0  # the rolling shutter moves the labels by pixels
    for j in np.flatnonzero(in_fov[f, 0]):
        t = 0.0
        for _ in range(50):
            step = joints[f + 1, j] - joints[f, j] if t >= 0 else joints[f, j] - joints[f - 1, j]
            u, v = np.asarray(lens.project((joints[f, j] + t * step)[None])[0])[0]
            t = ((v + 0.5) / lens.height - 0.5) * readout
        assert np.allclose(uv[f, 0, j], (u, v), atol=0.75), (j, uv[f, 0, j], (u, v))
        assert abs(seen_at[f, 0, j] - t) <= readout / lens.height
    # With 16 bands the label is where its band (16 rows) shows it: the joint projects into that band's rows at
    # the band's time.
    uv16, _, seen16 = rolling_projection(joints, T_wd, T_dc, lenses, readout, 16)
    rows = band_rows(lens.height, 16)
    band = np.rint((seen16[f, 0] / readout + 0.5) * 16 - 0.5).astype(int)
    inside = in_fov[f, 0]
    assert np.all(uv16[f, 0, inside, 1] + 0.5 >= rows[band[inside], 0])
    assert np.all(uv16[f, 0, inside, 1] + 0.5 <= rows[band[inside], 1])


def test_sampled_rolling_shutter_is_recorded_and_changes_no_other_effect():
    views = ("front_left", "back_right")
    base = CameraEffectsConfig(motion_blur_probability=0.5)
    off = sample_camera_effects(np.random.default_rng(4), base, views)
    on = sample_camera_effects(np.random.default_rng(4), base.model_copy(update={"rolling_shutter_probability": 1.0}),
                               views)
    assert off.readout_time_s is None and off.to_json()["readout_time_s"] is None
    assert dataclasses.replace(on, readout_time_s=None) == off
    assert 0.005 <= on.readout_time_s <= 0.03
    assert on.to_json()["readout_time_s"] == on.readout_time_s and on.to_json()["readout_bands"] == 16
    assert on.readout_frames(30.0) == pytest.approx(30.0 * on.readout_time_s)
    draws = [sample_camera_effects(np.random.default_rng(i), CameraEffectsConfig(rolling_shutter_probability=0.3),
                                   views) for i in range(300)]
    assert 0.22 < np.mean([d.readout_time_s is not None for d in draws]) < 0.38
    with pytest.raises(ConfigError, match="readout_time_s"):
        load_config(DEFAULT, overrides={"appearance": {"camera_effects": {"readout_time_s": [0.03, 0.01]}}})
    # At 120 fps a 30 ms readout spans 3.6 frames: the motion keyed one frame either side cannot render it.
    with pytest.raises(ConfigError, match="readout_time_s"):
        load_config(DEFAULT, overrides={"clips": {"fps": 120},
                                        "appearance": {"camera_effects": {"rolling_shutter_probability": 0.5}}})


def _config(readout_s: float, bands: int = BANDS, denoise: bool = False):
    fx = {"exposure_ev": [0, 0], "white_balance_k": [6500, 6500], "vignetting": [0, 0], "noise_probability": 0.0,
          "jpeg_quality": None, "motion_blur_probability": 0.0, "rolling_shutter_probability": 1.0,
          "readout_time_s": [readout_s, readout_s], "rolling_shutter_bands": bands}
    return load_config(DEFAULT, overrides={
        "rig": {"resolution": RES}, "clips": {"frames": 3, "fps": FPS},
        "motion": {"families": ["run"], "weights": None},
        "appearance": {"hair": None, "surroundings": None, "loose_garment_probability": 0.0, "hdri_probability": 0.0,
                       "camera_effects": fx},
        "output": {"image_format": "png"},
        "render": {"preset": "draft", "samples": SPP, "denoise": denoise, "device": "cpu", "threads": 1}})


def test_clip_labels_follow_the_rolling_shutter():
    from synth.labels.compute import compute_clip_labels
    from synth.scene.sampler import ClipSampler

    spec = ClipSampler(_config(READOUT_S), REPO / "render_configs").sample(0)[0]
    assert spec.rolling_shutter() == (pytest.approx(READOUT_S * FPS), BANDS)
    rolling = compute_clip_labels(spec)
    glob = compute_clip_labels(dataclasses.replace(
        spec, camera_effects=dataclasses.replace(spec.camera_effects, readout_time_s=None)))
    assert np.array_equal(rolling.joints3d_camera, glob.joints3d_camera)  # 3D labels: the frame's time
    shift = np.linalg.norm(rolling.joints2d - glob.joints2d, axis=-1)
    seen = rolling.visibility > 0
    assert np.nanmax(np.where(seen, shift, np.nan)) > 1.0  # a running body's joints move between bands
    expected, _, _ = rolling_projection(spec.posed.joints_ego16, spec.T_world_from_device,
                                        spec.rig.T_device_from_camera, spec.rig.lenses, READOUT_S * FPS, BANDS)
    assert np.allclose(rolling.joints2d, expected, equal_nan=True)


def _render(scene, spec, frames, out: Path, passes: bool = False,
            seed: int | None = None) -> dict[int, dict[str, np.ndarray]]:
    """{frame: {view: (RES, RES, C) float image, and with passes "<view>_objects": the object pass}}; seed: render
    every frame with this Cycles seed."""
    from PIL import Image

    scene.load(spec)
    images = {}
    for f in frames:
        scene.set_frame(f, spec.T_world_from_device[f])
        if seed is not None:
            scene.scene.cycles.seed = seed
        paths = {v: out / f"{f}_{v}.png" for v in spec.rig.views}
        objects = {v: out / f"{f}_{v}_objects.png" for v in spec.rig.views}
        scene.render_views(paths, {"objects": objects} if passes else None)
        images[f] = {v: np.asarray(Image.open(p), dtype=np.float64).reshape(RES, RES, -1) for v, p in paths.items()}
        if passes:
            images[f].update({f"{v}_objects": np.asarray(Image.open(p)) for v, p in objects.items()})
    return images


@pytest.fixture(scope="module")
def blender_scene(tmp_path_factory):
    pytest.importorskip("bpy")
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    from synth.blender.scene import BlenderScene
    from synth.run.blender import load_blender

    scene = BlenderScene(load_blender(_config(READOUT_S)), log_path=tmp_path_factory.mktemp("rs") / "blender.log")
    yield scene
    scene.close()


@pytest.mark.blender
def test_no_readout_time_renders_the_global_shutters_frame(blender_scene, tmp_path):
    spec = _sampler(_config(READOUT_S)).sample(0)[0]
    still = dataclasses.replace(spec, camera_effects=dataclasses.replace(spec.camera_effects, readout_time_s=0.0))
    glob = dataclasses.replace(spec, camera_effects=dataclasses.replace(spec.camera_effects, readout_time_s=None))
    banded = _render(blender_scene, still, [1], tmp_path / "banded", passes=True)[1]
    whole = _render(blender_scene, glob, [1], tmp_path / "whole", passes=True)[1]
    for key in banded:
        # Without the denoiser a pixel's samples do not depend on the render border: the bands put together are
        # the whole frame, but for the odd pixel where the keyed mesh's float rounding turns a path.
        diff = np.abs(banded[key] - whole[key])
        assert (diff > 0).mean() < 0.002 and diff.max() <= 4, (key, (diff > 0).mean(), diff.max())


@pytest.mark.blender
def test_each_band_is_the_scene_at_the_bands_time(blender_scene, tmp_path):
    cfg = _config(READOUT_S)
    spec = _sampler(cfg).sample(0)[0]
    rolling = _render(blender_scene, spec, [0, 1], tmp_path / "rolling")[1]  # frame 1 re-keys frame 0's motion
    seed = blender_scene.scene.cycles.seed
    times = list(band_times_frames(BANDS, READOUT_S * FPS))
    sharp_clip = _subframe_clip(spec, times + [0.0])
    sharp_clip = dataclasses.replace(sharp_clip, camera_effects=dataclasses.replace(
        sharp_clip.camera_effects, readout_time_s=None))
    # Every sharp render takes frame 1's noise seed, so the images differ only where the scene does.
    sharp = _render(blender_scene, sharp_clip, range(BANDS + 1), tmp_path / "sharp", seed=seed)
    rows = band_rows(RES, BANDS)
    err_band, err_centre = [], []
    for v in spec.rig.views:
        for b, (start, stop) in enumerate(rows):
            band = rolling[v][start:stop]
            err_band.append(np.abs(band - sharp[b][v][start:stop]).mean())
            err_centre.append(np.abs(band - sharp[BANDS][v][start:stop]).mean())
    # The body moves over the readout, and every band shows the scene at its own time, not the frame's.
    assert np.mean(err_centre) > 0.5, err_centre
    assert np.mean(err_band) < 0.05 * np.mean(err_centre), (err_band, err_centre)


@pytest.mark.blender
def test_motion_blur_and_rolling_shutter_together(blender_scene, tmp_path):
    """With both, each band is blurred over the exposure around its own time: the frame differs from the sharp
    rolling-shutter frame and from the blurred global-shutter frame, and the labels are the rolling shutter's."""
    spec = _sampler(_config(READOUT_S)).sample(0)[0]
    both = dataclasses.replace(spec, camera_effects=dataclasses.replace(spec.camera_effects, exposure_time_s=0.1))
    blurred = dataclasses.replace(both, camera_effects=dataclasses.replace(both.camera_effects, readout_time_s=None))
    images = {name: _render(blender_scene, clip, [0, 1], tmp_path / name, seed=1)[1]
              for name, clip in (("both", both), ("rolling", spec), ("blurred", blurred))}
    for other in ("rolling", "blurred"):
        diff = np.mean([np.abs(images["both"][v] - images[other][v]).mean() for v in spec.rig.views])
        assert diff > 0.2, (other, diff)
    from synth.labels.compute import compute_clip_labels

    assert np.allclose(compute_clip_labels(both).joints2d, compute_clip_labels(spec).joints2d, equal_nan=True)
