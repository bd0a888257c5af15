"""Marker fields for checking a camera's render against its lens: sphere placement, their exact expected images,
and the comparison of coverage-weighted centroids.

A marker is a sphere seen from the camera centre as a cone of half-angle `angular_radius_rad` about a unit
direction (OpenCV camera frame). Rendered emissive on black through a 1 px box pixel filter, a pixel's value is the
fraction of the pixel's area whose rays hit the sphere. `expected_coverage` computes that same fraction from a lens
model by supersampling the pixel (rays from `lens.unproject`), so the coverage-weighted centroid of the rendered blob
and of the expected blob agree exactly when the renderer traces the lens' rays; the distortion's effect on the blob's
shape is in both and cancels. Their distance is the camera's pixel error at that marker.

Pixels follow OpenCV (synth/geometry/lenses.py): (0, 0) is the centre of the top-left pixel, pixel (i, j) covers
[i - 0.5, i + 0.5) x [j - 0.5, j + 0.5). Windows are half-open pixel index ranges [u0, u1) x [v0, v1).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

#: Target radius of a marker's image, px: large enough that many boundary pixels average the render's sample noise.
DEFAULT_RADIUS_PX = 3.0
#: Empty pixels kept around a marker's image in its window (room for a render that is off by up to this much).
DEFAULT_PAD_PX = 3
#: Distance of the marker centres from the camera centre, m.
DEFAULT_DISTANCE_M = 1.0
#: Candidate marker positions per image side (a grid of pixel positions the markers are chosen from).
CANDIDATES_PER_SIDE = 64
#: Points on a marker's outline used to bound its image.
OUTLINE_SAMPLES = 48
#: Sub-pixel samples per side of each boundary pixel in the expected image.
DEFAULT_SUPERSAMPLE = 16
#: Step of the numerical Jacobian of the projection, rad.
JACOBIAN_STEP_RAD = 1e-5
#: Step of the numerical gradient of a ray's angle to a marker centre over the image, px.
GRADIENT_STEP_PX = 1e-3
#: Pixels whose centre ray is this many px (at the marker's smallest local scale) inside or outside the marker's
#: outline are fully covered or empty: the pixel's half-diagonal is 0.71 px.
BOUNDARY_BAND_PX = 1.0
#: A rendered marker is "found" when its window's flux is within this factor range of the expected flux.
FOUND_FLUX_RANGE = (0.5, 1.5)


@dataclasses.dataclass(frozen=True)
class MarkerField:
    """Spheres around one camera, each imaged whole inside its own window.

    directions_cam: (N, 3) float64 unit directions of the sphere centres, OpenCV camera frame.
    angular_radius_rad: (N,) float64 half-angle of each sphere's cone seen from the camera centre.
    distance_m: distance of every sphere centre from the camera centre, m.
    windows_px: (N, 4) int64 (u0, v0, u1, v1): pixel index ranges [u0, u1) x [v0, v1), pairwise disjoint, holding
        each sphere's image with DEFAULT_PAD_PX (or the chosen pad) empty pixels around it.
    scale_px_per_rad: (N, 2) float64 smallest and largest local scale of the projection at each centre.
    """

    directions_cam: np.ndarray
    angular_radius_rad: np.ndarray
    distance_m: float
    windows_px: np.ndarray
    scale_px_per_rad: np.ndarray

    def __len__(self) -> int:
        return len(self.directions_cam)

    @property
    def centres_cam_m(self) -> np.ndarray:
        """(N, 3) float64 sphere centres, OpenCV camera frame, m."""
        return self.directions_cam * self.distance_m

    @property
    def radii_m(self) -> np.ndarray:
        """(N,) float64 sphere radii, m (the cone of half-angle a at distance D is a sphere of radius D sin a)."""
        return self.distance_m * np.sin(self.angular_radius_rad)


@dataclasses.dataclass(frozen=True)
class MarkerMeasurement:
    """Rendered against expected marker centroids in one image (px, OpenCV pixel convention).

    expected_px: (N, 2) coverage-weighted centroid of each marker's expected image (the labels' lens).
    rendered_px: (N, 2) coverage-weighted centroid of the rendered image in the marker's window (NaN: not found).
    centre_projection_px: (N, 2) the lens' projection of each sphere centre (for reference; it differs from the
        centroid by the blob's distortion-induced asymmetry).
    flux_ratio: (N,) rendered / expected total coverage in each window (1 when the marker is rendered whole).
    found: (N,) bool, flux_ratio within FOUND_FLUX_RANGE.
    error_px: (N,) |rendered - expected| (NaN where not found).
    stray_flux_fraction: rendered coverage outside every window over the expected total (0 when nothing strays).
    """

    expected_px: np.ndarray
    rendered_px: np.ndarray
    centre_projection_px: np.ndarray
    flux_ratio: np.ndarray
    found: np.ndarray
    error_px: np.ndarray
    stray_flux_fraction: float

    @property
    def max_error_px(self) -> float | None:
        """Largest error over the found markers (None when none was found)."""
        err = self.error_px[self.found]
        return float(err.max()) if err.size else None

    @property
    def p99_error_px(self) -> float | None:
        """99th percentile of the errors of the found markers (None when none was found)."""
        err = self.error_px[self.found]
        return float(np.percentile(err, 99.0)) if err.size else None

    @property
    def mean_error_px(self) -> float | None:
        err = self.error_px[self.found]
        return float(err.mean()) if err.size else None


# ---------------------------------------------------------------------------------------------------- placement
def _tangent_basis(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors (..., 3) orthogonal to the unit directions d (..., 3) and to each other."""
    helper = np.where(np.abs(d[..., 2:3]) < 0.9, np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]))
    e1 = np.cross(d, helper)
    e1 /= np.linalg.norm(e1, axis=-1, keepdims=True)
    return e1, np.cross(d, e1)


def local_scale_px_per_rad(lens, directions: np.ndarray) -> np.ndarray:
    """(..., 2) smallest and largest singular value of the projection's Jacobian at unit directions (..., 3), px/rad:
    how many pixels a small rotation of the ray moves its image, in the least and most stretched direction."""
    d = np.asarray(directions, dtype=np.float64)
    e1, e2 = _tangent_basis(d)
    h = JACOBIAN_STEP_RAD
    cols = []
    for e in (e1, e2):
        plus, _ = lens.project(d * math.cos(h) + e * math.sin(h))
        minus, _ = lens.project(d * math.cos(h) - e * math.sin(h))
        cols.append((np.asarray(plus) - np.asarray(minus)) / (2.0 * h))
    jac = np.stack(cols, axis=-1)  # (..., 2, 2)
    sv = np.linalg.svd(jac, compute_uv=False)
    return np.stack([sv[..., 1], sv[..., 0]], axis=-1)


def cone_outline(directions: np.ndarray, half_angle_rad: np.ndarray, samples: int = OUTLINE_SAMPLES) -> np.ndarray:
    """(..., samples, 3) unit rays on the boundary of cones of `half_angle_rad` (...) about unit directions (..., 3)."""
    d = np.asarray(directions, dtype=np.float64)
    a = np.asarray(half_angle_rad, dtype=np.float64)[..., None, None]
    e1, e2 = _tangent_basis(d)
    phi = np.linspace(0.0, 2.0 * math.pi, samples, endpoint=False)[:, None]
    ring = np.cos(phi) * e1[..., None, :] + np.sin(phi) * e2[..., None, :]
    return np.cos(a) * d[..., None, :] + np.sin(a) * ring


def _candidates(lens, per_side: int) -> tuple[np.ndarray, np.ndarray]:
    """(uv (M, 2) px, rays (M, 3)) of a grid of pixel positions whose rays the lens images back onto them."""
    step = max(1.0, max(lens.width, lens.height) / per_side)
    us = np.arange(0.5 * step - 0.5, lens.width - 0.5, step)
    vs = np.arange(0.5 * step - 0.5, lens.height - 0.5, step)
    uv = np.stack(np.meshgrid(us, vs), axis=-1).reshape(-1, 2)
    rays = np.asarray(lens.unproject(uv), dtype=np.float64)
    back, valid = lens.project(rays)
    ok = np.asarray(valid) & (np.linalg.norm(np.asarray(back) - uv, axis=-1) < 1e-6)
    return uv[ok], rays[ok]


def place_markers(lens, count: int, radius_px: float = DEFAULT_RADIUS_PX, pad_px: int = DEFAULT_PAD_PX,
                  distance_m: float = DEFAULT_DISTANCE_M,
                  candidates_per_side: int = CANDIDATES_PER_SIDE) -> MarkerField:
    """Up to `count` spheres spread over the lens' valid field and the image, each imaged whole in its own window.

    Each sphere's angular radius makes its image about `radius_px` px in radius (the geometric mean of the local
    scales). A candidate is kept only when its outline, widened by `pad_px` px, lies inside the valid field and its
    window (image bounding box + `pad_px`) lies on the image. Markers are chosen by farthest-point sampling from the
    principal point outwards among the candidates whose window is disjoint from those chosen: the field's centre,
    its edge and the image corners all get markers. Fewer than `count` come back when no more fit.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    uv, rays = _candidates(lens, candidates_per_side)
    if not len(uv):
        raise ValueError(f"no pixel of the {lens.width}x{lens.height} {lens.type} lens images back onto itself")
    scale = local_scale_px_per_rad(lens, rays)
    ang = radius_px / np.sqrt(scale[:, 0] * scale[:, 1])
    outline, _ = lens.project(cone_outline(rays, ang))
    outline = np.asarray(outline)
    finite = np.isfinite(outline).all(axis=(1, 2))
    outline = np.where(finite[:, None, None], outline, 0.0)
    lo = np.floor(outline.min(axis=1) + 0.5).astype(np.int64) - pad_px
    hi = np.floor(outline.max(axis=1) + 0.5).astype(np.int64) + pad_px + 1
    windows = np.concatenate([lo, hi], axis=1)
    wide = cone_outline(rays, ang + pad_px / scale[:, 0])
    wide_uv, wide_ok = lens.project(wide)
    ok = (np.asarray(wide_ok).all(axis=1) & np.asarray(lens.in_image(wide_uv)).all(axis=1)
          & (lo[:, 0] >= 0) & (lo[:, 1] >= 0) & (hi[:, 0] <= lens.width) & (hi[:, 1] <= lens.height)
          & finite)
    if not ok.any():
        raise ValueError(f"no marker of {radius_px} px radius fits whole on the {lens.width}x{lens.height} image; "
                         f"check it at a larger resolution")
    idx = np.nonzero(ok)[0]
    uv, rays, scale, ang, windows = uv[idx], rays[idx], scale[idx], ang[idx], windows[idx]
    centre, _ = lens.project(np.array([0.0, 0.0, 1.0]))
    chosen = [int(np.argmin(np.linalg.norm(uv - np.asarray(centre), axis=-1)))]
    dist = np.linalg.norm(uv - uv[chosen[0]], axis=-1)
    free = ~_overlaps(windows, windows[chosen[0]])
    while len(chosen) < count:
        score = np.where(free, dist, -np.inf)
        best = int(np.argmax(score))
        if not np.isfinite(score[best]):
            break
        chosen.append(best)
        dist = np.minimum(dist, np.linalg.norm(uv - uv[best], axis=-1))
        free &= ~_overlaps(windows, windows[best])
    sel = np.asarray(chosen)
    return MarkerField(directions_cam=rays[sel], angular_radius_rad=ang[sel], distance_m=float(distance_m),
                       windows_px=windows[sel], scale_px_per_rad=scale[sel])


def _overlaps(windows: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(M,) bool: which windows (M, 4) intersect window w (4,)."""
    return ((windows[:, 0] < w[2]) & (w[0] < windows[:, 2]) & (windows[:, 1] < w[3]) & (w[1] < windows[:, 3]))


# ---------------------------------------------------------------------------------------------------- expectation
def _angle_between(rays: np.ndarray, d: np.ndarray) -> np.ndarray:
    """(...) rad between unit rays (..., 3) and the unit direction d (3,) (atan2 form: exact near 0)."""
    return np.arctan2(np.linalg.norm(np.cross(rays, d), axis=-1), rays @ d)


def expected_coverage(lens, field: MarkerField, k: int, supersample: int = DEFAULT_SUPERSAMPLE) -> np.ndarray:
    """(v1 - v0, u1 - u0) float64: the fraction of each pixel of marker k's window whose rays (by `lens`) hit it.

    Pixels whose centre ray is more than BOUNDARY_BAND_PX (at the marker's smallest scale) inside or outside the
    outline are 1 or 0. Boundary pixels are split into supersample x supersample cells; each cell's coverage is its
    signed distance to the outline (the angular distance over the angle's gradient across the image at that pixel)
    clipped to the cell: exact for a straight edge across the cell, and a far smaller error than counting cell
    centres.
    """
    u0, v0, u1, v1 = (int(x) for x in field.windows_px[k])
    d = field.directions_cam[k]
    a = float(field.angular_radius_rad[k])
    s_min = float(field.scale_px_per_rad[k, 0])
    uu, vv = np.meshgrid(np.arange(u0, u1, dtype=np.float64), np.arange(v0, v1, dtype=np.float64))
    centre_uv = np.stack([uu, vv], axis=-1)
    gamma = _angle_between(np.asarray(lens.unproject(centre_uv), dtype=np.float64), d)
    cov = (gamma < a).astype(np.float64)
    band = np.abs(gamma - a) * s_min < BOUNDARY_BAND_PX
    if band.any():
        n = int(supersample)
        centres = centre_uv[band]
        # |d gamma / d uv| (rad per px) at each boundary pixel: turns the angular distance to the outline into px.
        h = GRADIENT_STEP_PX
        du = _angle_between(np.asarray(lens.unproject(centres + [h, 0.0]), dtype=np.float64), d)
        du -= _angle_between(np.asarray(lens.unproject(centres - [h, 0.0]), dtype=np.float64), d)
        dv = _angle_between(np.asarray(lens.unproject(centres + [0.0, h]), dtype=np.float64), d)
        dv -= _angle_between(np.asarray(lens.unproject(centres - [0.0, h]), dtype=np.float64), d)
        rad_per_px = np.hypot(du, dv) / (2.0 * h)
        off = (np.arange(n, dtype=np.float64) + 0.5) / n - 0.5
        ou, ov = np.meshgrid(off, off)
        sub = centres[:, None, :] + np.stack([ou.ravel(), ov.ravel()], axis=-1)[None]
        g = _angle_between(np.asarray(lens.unproject(sub), dtype=np.float64), d)
        cell = np.clip(0.5 + (a - g) / rad_per_px[:, None] * n, 0.0, 1.0)
        cov[band] = cell.mean(axis=-1)
    return cov


def coverage_centroid(coverage: np.ndarray, window: np.ndarray) -> np.ndarray:
    """(2,) px: the coverage-weighted centroid (u, v) of a window's pixel values (NaN when they sum to 0)."""
    u0, v0 = int(window[0]), int(window[1])
    h, w = coverage.shape
    total = float(coverage.sum())
    if not total > 0.0:
        return np.full(2, np.nan)
    u = float((coverage.sum(axis=0) * np.arange(u0, u0 + w)).sum()) / total
    v = float((coverage.sum(axis=1) * np.arange(v0, v0 + h)).sum()) / total
    return np.array([u, v])


def measure_markers(image: np.ndarray, lens, field: MarkerField,
                    supersample: int = DEFAULT_SUPERSAMPLE) -> MarkerMeasurement:
    """Compare a rendered marker image (H, W) (coverage per pixel: emission 1 on black) with the markers' expected
    images under `lens` (the labels' lens; it may differ from the lens the image was rendered with)."""
    img = np.asarray(image, dtype=np.float64)
    if img.shape != (lens.height, lens.width):
        raise ValueError(f"image is {img.shape[1]}x{img.shape[0]}, the lens {lens.width}x{lens.height}")
    n = len(field)
    expected = np.full((n, 2), np.nan)
    rendered = np.full((n, 2), np.nan)
    flux = np.zeros(n)
    inside = np.zeros(img.shape, dtype=bool)
    total_expected = 0.0
    for k in range(n):
        u0, v0, u1, v1 = (int(x) for x in field.windows_px[k])
        cov = expected_coverage(lens, field, k, supersample)
        win = img[v0:v1, u0:u1]
        inside[v0:v1, u0:u1] = True
        expected[k] = coverage_centroid(cov, field.windows_px[k])
        rendered[k] = coverage_centroid(win, field.windows_px[k])
        flux[k] = float(win.sum()) / float(cov.sum())
        total_expected += float(cov.sum())
    found = (flux >= FOUND_FLUX_RANGE[0]) & (flux <= FOUND_FLUX_RANGE[1]) & np.isfinite(rendered).all(axis=1)
    err = np.where(found, np.linalg.norm(rendered - expected, axis=-1), np.nan)
    rendered = np.where(found[:, None], rendered, np.nan)
    centre, _ = lens.project(field.directions_cam)
    stray = float(img[~inside].sum()) / total_expected if total_expected > 0 else 0.0
    return MarkerMeasurement(expected_px=expected, rendered_px=rendered,
                             centre_projection_px=np.asarray(centre, dtype=np.float64), flux_ratio=flux, found=found,
                             error_px=err, stray_flux_fraction=stray)
