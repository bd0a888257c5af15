"""Real Cycles renders through the OSL cameras trace, at every pixel, the ray the lens model gives that pixel.

Each render is of a world whose colour encodes the ray direction (synth/blender/raycheck.py): 1 sample per pixel at
the pixel centre, float32 EXR. The decoded ray, projected with the lens model, must land on the pixel it was
rendered at, and the pixels Cycles traces must be exactly those inside the model's valid cone. The native fisheye
fit of OCamCalib is measured beside it: its error is the fit residual the OSL camera removes.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("bpy")

from synth.blender.raycheck import pixel_errors, render_rays  # noqa: E402
from tests.camera_fixtures import ALL  # noqa: E402
from synth.geometry.lenses import load_ocamcalib  # noqa: E402

#: Largest pixel error accepted for an exact camera (float32 ray maths in the shader and the 0.005 px filter).
EXACT_PX = 0.01


def _inside_cone(lens) -> np.ndarray:
    """(H, W) bool: pixel centres whose ray (by the model) lies inside the valid cone and images back onto them."""
    u, v = np.meshgrid(np.arange(lens.width, dtype=float), np.arange(lens.height, dtype=float))
    uv = np.stack([u, v], axis=-1)
    rays = lens.unproject(uv)
    back, valid = lens.project(rays)
    return valid & (np.hypot(*(back - uv).transpose(2, 0, 1)) < 1e-6)


@pytest.mark.parametrize("camera", ["front_left", "back_right"])
def test_osl_ocamcalib_camera_is_exact_and_the_native_fit_is_not(camera):
    lens = load_ocamcalib(f"builtin:ego4view/camera_{camera}.json").scaled_to(64, 64)
    osl = render_rays(lens, "osl")
    err = pixel_errors(lens, osl)
    traced = np.isfinite(osl).all(-1)
    inside = _inside_cone(lens)
    assert (traced != inside).sum() <= 0.01 * inside.sum()  # boundary pixels may differ by float32 rounding
    assert np.nanmax(err) < EXACT_PX
    native = pixel_errors(lens, render_rays(lens, "native"))
    # The polynomial fit's own residual (scaled to 64 px) shows up in the native render, and OSL removes it.
    assert np.nanmax(native) > 2.0 * np.nanmax(err)
    assert np.nanmax(native) <= lens.max_fit_residual_px + EXACT_PX


@pytest.mark.parametrize("name", list(ALL))
def test_osl_camera_of_every_calibration_model_is_exact(name):
    """Each model's calibration (tests/camera_fixtures.py) scaled to at most 96 px, keeping its aspect (640x480 ->
    96x72, 752x480 -> 96x61, ...): non-square sensors included."""
    lens = ALL[name]
    s = 96 / max(lens.width, lens.height)
    lens = lens.scaled_to(round(lens.width * s), round(lens.height * s))
    rays = render_rays(lens, "osl")
    err = pixel_errors(lens, rays)
    traced = np.isfinite(rays).all(-1)
    inside = _inside_cone(lens)
    assert traced.sum() > 0.5 * traced.size
    assert (traced != inside).sum() <= 0.01 * inside.sum()
    assert np.nanmax(err) < EXACT_PX


def test_osl_ocamcalib_camera_applies_the_affine_part_exactly():
    """An OCamCalib calibration whose affine part is applied (imported from calib_results.txt): the OSL camera
    traces the skewed model, which differs from the unskewed one by over a pixel at this size."""
    import dataclasses

    base = load_ocamcalib("builtin:ego4view/camera_front_right.json").scaled_to(64, 64)
    lens = dataclasses.replace(base, affine=(1.03, 0.02, -0.015), apply_affine=True)
    rays = render_rays(lens, "osl")
    assert np.nanmax(pixel_errors(lens, rays)) < EXACT_PX
    assert np.nanmax(pixel_errors(base, rays)) > 0.5
