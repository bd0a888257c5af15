"""Motion blur from the clip's real motion: the shutter maths, the sampled settings, and real Cycles renders. A
blurred frame must equal the mean of sharp renders of the same frame at times spread over the shutter (the body and
the cameras moved along the clip's own motion, rendered with motion blur off)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from synth.appearance.camera_effects import sample_camera_effects
from synth.config import CameraEffectsConfig, load_config
from synth.errors import ConfigError
from synth.geometry.shutter import (
    matrix_to_quaternion_wxyz, neighbour_poses, neighbours, shutter_frames, subframe_points, subframe_pose,
)
from synth.geometry.transforms import axis_angle_to_matrix, make_T, quaternion_wxyz_to_matrix

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "render_configs" / "default.yaml"
#: Render side (px), samples per pixel, clip frame rate and exposure time (s) of the render tests: a 0.2 s
#: shutter spans one frame at 5 fps, over which a running body moves well beyond the render noise.
RES = 64
SPP = 48
FPS = 5
EXPOSURE_S = 0.2
#: Images are compared as means of BLOCK x BLOCK pixel blocks (the blur is smooth, the path-tracing noise is not).
BLOCK = 4
#: The sharp renders averaged over the shutter.
SUBFRAMES = 6


def test_shutter_length_in_frames():
    assert shutter_frames(0.01, 30) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        shutter_frames(0.0, 10)


def test_neighbours_and_subframes_move_linearly_and_continue_at_the_ends():
    pts = np.cumsum(np.random.default_rng(0).normal(size=(5, 7, 3)), axis=0)
    prev, cur, nxt = neighbours(pts, 2)
    assert np.array_equal(prev, pts[1]) and np.array_equal(nxt, pts[3])
    assert np.allclose(subframe_points(prev, cur, nxt, 0.25), 0.75 * pts[2] + 0.25 * pts[3])
    assert np.allclose(subframe_points(prev, cur, nxt, -0.5), 0.5 * pts[2] + 0.5 * pts[1])
    first = neighbours(pts, 0)
    assert np.allclose(first[0], 2 * pts[0] - pts[1])
    one = neighbours(pts[:1], 0)
    assert all(np.array_equal(x, pts[0]) for x in one)

    rng = np.random.default_rng(1)
    T = np.stack([make_T(axis_angle_to_matrix(0.2 * i * np.array([0.0, 0.0, 1.0])), [0.1 * i, 0.0, 1.5])
                  for i in range(4)])
    poses = neighbour_poses(T, 3)  # the last frame: the step continues
    assert np.allclose(poses[2][:3, 3], [0.4, 0.0, 1.5]) and np.allclose(poses[2][:3, :3],
                                                                       axis_angle_to_matrix([0, 0, 0.8]))
    mid = subframe_pose(neighbour_poses(T, 1), 0.5)  # half way from frame 1 to 2, about one axis: exact
    assert np.allclose(mid[:3, :3], axis_angle_to_matrix([0, 0, 0.3]), atol=1e-3)
    assert np.allclose(mid[:3, 3], [0.15, 0.0, 1.5])
    assert np.allclose(subframe_pose(neighbour_poses(T, 1), 0.0), T[1])
    for _ in range(20):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        back = matrix_to_quaternion_wxyz(quaternion_wxyz_to_matrix(q))
        assert np.allclose(back, q if q[0] >= 0 else -q)


def test_sampled_shutter_is_recorded_and_changes_no_other_effect():
    views = ("front_left", "back_right")
    off = sample_camera_effects(np.random.default_rng(4), CameraEffectsConfig(), views)
    on = sample_camera_effects(np.random.default_rng(4), CameraEffectsConfig(motion_blur_probability=1.0), views)
    assert off.exposure_time_s is None
    assert dataclasses.replace(on, exposure_time_s=None) == off
    assert 0.002 <= on.exposure_time_s <= 0.02 and on.to_json()["exposure_time_s"] == on.exposure_time_s
    draws = [sample_camera_effects(np.random.default_rng(i), CameraEffectsConfig(motion_blur_probability=0.5),
                                   views) for i in range(200)]
    assert 0.4 < np.mean([d.exposure_time_s is not None for d in draws]) < 0.6
    with pytest.raises(ConfigError, match="exposure_time_s"):
        load_config(DEFAULT, overrides={"appearance": {"camera_effects": {"exposure_time_s": [0.02, 0.01]}}})


def _config(exposure_s: float):
    fx = {"exposure_ev": [0, 0], "white_balance_k": [6500, 6500], "vignetting": [0, 0], "noise_probability": 0.0,
          "jpeg_quality": None, "motion_blur_probability": 1.0, "exposure_time_s": [exposure_s, exposure_s]}
    return load_config(DEFAULT, overrides={
        "rig": {"resolution": RES}, "clips": {"frames": 3, "fps": FPS},
        "motion": {"families": ["run"], "weights": None},
        "appearance": {"hair": None, "surroundings": None, "loose_garment_probability": 0.0, "hdri_probability": 0.0,
                       "camera_effects": fx},
        "output": {"image_format": "png"},
        "render": {"preset": "draft", "samples": SPP, "denoise": False, "device": "cpu", "threads": 1}})


def _subframe_clip(spec, times: list[float]):
    """The clip's frame 1 at each of `times` (frames from it) as the frames of a sharp clip (no shutter)."""
    posed = spec.posed
    verts = np.stack([subframe_points(*neighbours(posed.vertices.astype(np.float64), 1), t) for t in times])
    head = np.stack([subframe_pose(neighbour_poses(posed.T_world_from_head, 1), t) for t in times])
    device = np.stack([subframe_pose(neighbour_poses(spec.T_world_from_device, 1), t) for t in times])
    joints = np.repeat(posed.joints_ego16[1:2], len(times), axis=0)
    sharp_posed = dataclasses.replace(posed, vertices=verts.astype(np.float32), T_world_from_head=head,
                                      joints_ego16=joints, T_world_from_native=None)
    fx = dataclasses.replace(spec.camera_effects, exposure_time_s=None)
    return dataclasses.replace(spec, posed=sharp_posed, T_world_from_device=device, camera_effects=fx)


def _blocks(img: np.ndarray) -> np.ndarray:
    """(RES / BLOCK, RES / BLOCK, C) block means of an (RES, RES, C) image."""
    n = RES // BLOCK
    return img.reshape(n, BLOCK, n, BLOCK, -1).mean(axis=(1, 3))


def _render(scene, spec, frames, out: Path) -> dict[int, dict[str, np.ndarray]]:
    from PIL import Image

    scene.load(spec)
    images = {}
    for f in frames:
        scene.set_frame(f, spec.T_world_from_device[f])
        paths = {v: out / f"{f}_{v}.png" for v in spec.rig.views}
        scene.render_views(paths)
        images[f] = {v: _blocks(np.asarray(Image.open(p), dtype=np.float64).reshape(RES, RES, -1))
                     for v, p in paths.items()}
    return images


@pytest.fixture(scope="module")
def blender_scene(tmp_path_factory):
    pytest.importorskip("bpy")
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    from synth.blender.scene import BlenderScene
    from synth.run.blender import load_blender

    cfg = _config(EXPOSURE_S)
    scene = BlenderScene(load_blender(cfg), log_path=tmp_path_factory.mktemp("blur") / "blender.log")
    yield scene
    scene.close()


def _sampler(cfg):
    from synth.scene.sampler import ClipSampler

    return ClipSampler(cfg, REPO / "render_configs")


@pytest.mark.blender
def test_a_blurred_frame_is_the_mean_of_sharp_frames_over_the_shutter(blender_scene, tmp_path):
    cfg = _config(EXPOSURE_S)
    spec = _sampler(cfg).sample(0)[0]
    shutter = shutter_frames(EXPOSURE_S, FPS)
    assert spec.camera_effects.exposure_time_s == EXPOSURE_S
    blurred = _render(blender_scene, spec, [0, 1], tmp_path / "blur")[1]  # frame 1 re-keys frame 0's motion
    times = [shutter * ((k + 0.5) / SUBFRAMES - 0.5) for k in range(SUBFRAMES)]
    sharp_clip = _subframe_clip(spec, times + [0.0])
    sharp = _render(blender_scene, sharp_clip, range(SUBFRAMES + 1), tmp_path / "sharp")
    err_mean = err_centre = spread = 0.0
    for v in spec.rig.views:
        mean = np.mean([sharp[k][v] for k in range(SUBFRAMES)], axis=0)
        err_mean += np.abs(blurred[v] - mean).mean()
        err_centre += np.abs(blurred[v] - sharp[SUBFRAMES][v]).mean()
        spread += np.abs(sharp[0][v] - sharp[SUBFRAMES - 1][v]).mean()
    # The motion is visible (the shutter's ends differ), and the blurred frame is the mean over the shutter, not
    # the sharp frame at its centre.
    assert spread > 1.5 * err_mean, (spread, err_mean)
    assert err_mean < 0.5 * err_centre, (err_mean, err_centre)
