"""Any rig lens as an Ego4View (OCamCalib JSON) calibration at 872 x 872 px, and that calibration's projection.

The Ego4View tools project a camera-frame point (x, y, z) (OpenCV axes, any length unit) with

    r = sqrt(x^2 + y^2),  theta = atan(-z / r),  rho = sum_i polynomialW2C[i] theta^i,
    u = x / r * rho + image_center[0],  v = y / r * rho + image_center[1]

(no affine part, no x/y swap), and compare u / size[0], v / size[1] with (0, 1). Their heatmap generator
hard-codes a 872 x 872 px image. So every exported calibration is written at EGO4VIEW_IMAGE_PX whatever the rig's
own size, and every exported 2D point is in that image's pixels (see synth.dataset.ego4view.layout).

An OCamCalib lens without its affine part maps to this model exactly (the same polynomial, scaled). Any other lens
is fitted: the principal point is the lens' image of the optical axis, and rho(theta) is a least-squares polynomial
through the lens' mean radius over azimuths at field angles that reach the image. What a radial model cannot hold
(fx != fy, tangential or thin-prism terms, an applied affine part) stays in the fit residual, measured over the
image's own pixels and reported with the calibration.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Ego4View's image side (px): its calibrations, 2D points and heatmap generator all use 872 x 872.
EGO4VIEW_IMAGE_PX = 872
#: Field angles and azimuths sampled to fit and to measure a lens.
FIT_ANGLES = 400
FIT_AZIMUTHS = 72
#: The fitted rho(theta) polynomial gets the fewest coefficients in this range whose residual is below
#: FIT_TARGET_RESIDUAL_PX (Ego4View's own calibrations have 8 to 10).
MIN_W2C_COEFFS, MAX_W2C_COEFFS = 5, 14
FIT_TARGET_RESIDUAL_PX = 0.01
#: The unprojection polynomial f(rho) (not used by the Ego4View tools, written for completeness): OCamCalib's
#: five coefficients with the linear one held at zero.
C2W_COEFFS = 5


def ocam_project(calib: dict[str, Any], points_cam) -> np.ndarray:
    """The Ego4View projection above: points_cam (..., 3) OpenCV camera frame -> (..., 2) px of calib["size"].

    A point on the optical axis (r = 0) maps to the image centre (the Ego4View code divides by zero there).
    """
    p = np.asarray(points_cam, dtype=np.float64)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    r = np.hypot(x, y)
    safe = np.where(r > 0.0, r, 1.0)
    theta = np.arctan(-z / safe)
    rho = np.polynomial.polynomial.polyval(theta, np.asarray(calib["polynomialW2C"], dtype=np.float64))
    cx, cy = (float(c) for c in calib["image_center"])
    u = np.where(r > 0.0, x / safe * rho, 0.0) + cx
    v = np.where(r > 0.0, y / safe * rho, 0.0) + cy
    return np.stack([u, v], axis=-1)


def _directions(alpha: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """(A, P, 3) unit rays (OpenCV camera frame) at field angles alpha (A,) rad and azimuths phi (P,) rad."""
    a, p = np.meshgrid(alpha, phi, indexing="ij")
    return np.stack([np.sin(a) * np.cos(p), np.sin(a) * np.sin(p), np.cos(a)], axis=-1)


def _in_image(uv: np.ndarray, size: int) -> np.ndarray:
    return (uv[..., 0] >= -0.5) & (uv[..., 0] < size - 0.5) & (uv[..., 1] >= -0.5) & (uv[..., 1] < size - 0.5)


def _residual(calib: dict[str, Any], lens, rays: np.ndarray) -> float:
    """Largest pixel distance between `lens` and `calib` over the rays the lens maps into its image."""
    uv, valid = lens.project(rays)
    uv = np.asarray(uv, dtype=np.float64)
    keep = np.asarray(valid, dtype=bool) & np.isfinite(uv).all(axis=-1) & _in_image(uv, EGO4VIEW_IMAGE_PX)
    if not keep.any():
        return 0.0
    return float(np.max(np.linalg.norm(ocam_project(calib, rays[keep]) - uv[keep], axis=-1)))


def _field_rays(lens) -> np.ndarray:
    phi = np.linspace(0.0, 2.0 * math.pi, FIT_AZIMUTHS, endpoint=False)
    return _directions(np.linspace(1e-4, float(lens.max_field_angle_rad), FIT_ANGLES), phi)


def _calib(centre, w2c, c2w, radius: float, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "size": [EGO4VIEW_IMAGE_PX, EGO4VIEW_IMAGE_PX],
        "image_center": [float(centre[0]), float(centre[1])],
        "imageCircleRadius": float(radius),
        "polynomialC2W": [float(c) for c in c2w],
        "polynomialW2C": [float(c) for c in w2c],
        "affine": [1.0, 0.0, 0.0],
        "egorig": extra,
    }


def _fit_c2w(rho: np.ndarray, alpha: np.ndarray) -> list[float]:
    """f(rho) = -rho cot(alpha) (OCamCalib's unprojection, z pointing away from the scene), linear term 0."""
    keep = (alpha > 1e-3) & (alpha < math.pi - 1e-3) & np.isfinite(rho)
    rho, alpha = rho[keep], alpha[keep]
    powers = [0] + list(range(2, C2W_COEFFS))
    A = np.stack([rho ** k for k in powers], axis=1)
    coeffs, *_ = np.linalg.lstsq(A, -rho / np.tan(alpha), rcond=None)
    out = [float(coeffs[0]), 0.0] + [float(c) for c in coeffs[1:]]
    return out


def ego4view_calibration(lens) -> dict[str, Any]:
    """The Ego4View calibration JSON (dict) of a rig lens (a synth.geometry lens or camera model of a square
    image), scaled to EGO4VIEW_IMAGE_PX; "egorig" holds the source model and the fit residual (px at 872)."""
    if lens.width != lens.height:
        raise ValueError(f"a {lens.width}x{lens.height} lens has no Ego4View (square) calibration")
    lens = lens.scaled_to(EGO4VIEW_IMAGE_PX, EGO4VIEW_IMAGE_PX)
    rays = _field_rays(lens)
    source = {"source_model": lens.type}
    if lens.type == "ocamcalib" and not lens.apply_affine:
        calib = _calib(lens.image_center, lens.poly_w2c, lens.poly_c2w, lens.image_circle_radius_px, source)
        calib["affine"] = [float(a) for a in lens.affine]
        calib["egorig"]["max_fit_residual_px"] = _residual(calib, lens, rays)
        return calib
    uv_axis, _ = lens.project(np.array([0.0, 0.0, 1.0]))
    centre = np.asarray(uv_axis, dtype=np.float64)
    alpha = np.linspace(1e-4, float(lens.max_field_angle_rad), FIT_ANGLES)
    uv, valid = lens.project(rays)
    radius = np.linalg.norm(np.asarray(uv, dtype=np.float64) - centre, axis=-1)  # (A, P)
    ok = np.asarray(valid, dtype=bool) & np.isfinite(radius)
    # Fit the angles that reach the image (out to the farthest corner from the centre) and a margin beyond.
    corner = max(math.hypot(u - centre[0], v - centre[1]) for u in (-0.5, EGO4VIEW_IMAGE_PX - 0.5)
                 for v in (-0.5, EGO4VIEW_IMAGE_PX - 0.5))
    rows = ok.all(axis=1)
    mean_r = np.where(rows, np.where(ok, radius, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1), np.nan)
    use = rows & (mean_r <= 1.05 * corner)
    if use.sum() < MAX_W2C_COEFFS + 2:
        raise ValueError(f"{lens.type} lens: too few field angles reach the image to fit a calibration")
    theta = alpha[use] - 0.5 * math.pi
    best: dict[str, Any] | None = None
    for n in range(MIN_W2C_COEFFS, MAX_W2C_COEFFS + 1):
        w2c = np.polynomial.polynomial.polyfit(theta, mean_r[use], n - 1)
        calib = _calib(centre, w2c, _fit_c2w(mean_r[use], alpha[use]), float(np.nanmax(mean_r[use])), dict(source))
        calib["egorig"]["max_fit_residual_px"] = _residual(calib, lens, rays)
        if best is None or calib["egorig"]["max_fit_residual_px"] < best["egorig"]["max_fit_residual_px"]:
            best = calib
        if best["egorig"]["max_fit_residual_px"] < FIT_TARGET_RESIDUAL_PX:
            break
    assert best is not None
    best["imageCircleRadius"] = float(min(best["imageCircleRadius"], 0.5 * EGO4VIEW_IMAGE_PX))
    return best
