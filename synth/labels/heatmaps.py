"""Ego4View-style Gaussian joint heatmaps rendered from 2D joint labels, and their peak read-out.

Recipe (Ego4View `generate_target`): stride = image size / heatmap size per axis; the peak sits on the rounded
heatmap cell mu = round(h) of the joint's heatmap coordinate h; the map is the unnormalised Gaussian
exp(-((x - mu_x)^2 + (y - mu_y)^2) / (2 sigma^2)) with value exactly 1.0 at mu, cut to the
(2 * floor(3 sigma) + 1)-cell square window centred on mu (7 x 7 for sigma = 1), zero elsewhere; cells of the window
that fall outside the map are dropped, so a window wholly outside gives an all-zero channel.

Pixel convention (the one decision this module makes). Our 2D labels follow OpenCV: pixel (0, 0)'s CENTRE is
u = 0, so the image spans u in [-0.5, W - 0.5]. Ego4View divides its raw `pts2d` by the stride, and its trainer
reads positions as fractions of the image, u / W in [0, 1] (its in-FOV test is 0 < u / W < 1 and its 2D anchors go
through grid_sample with align_corners=False): the image's left EDGE is 0. That corner convention is our
coordinate + 0.5. So we add 0.5 before dividing:

    h = (u + 0.5) / stride,    mu = floor(h + 0.5),    and back: u = mu * stride - 0.5.

Consequences: (1) the heatmap depends only on the normalised image position (u + 0.5) / W, so the same 3D point
gives the same heatmap at any render resolution; skipping the 0.5 would shift every label by 0.5 / stride cells
(0.04 cells at 872 px, 0.125 cells at 256 px) and make the labels resolution dependent; (2) heatmap cell i stands
for image position i * stride - 0.5, which is what `image_px_from_heatmap_coords` returns; (3) rounding uses
floor, not Python's int(): Ego4View's int() truncates toward zero, which pulls points up to one cell left of or
above the map onto cell 0 but not points right of or below it; floor is symmetric. For every point inside the
image the two agree.

Parity option: `centre_to_corner_px=0.0` reproduces Ego4View's generator on the same 2D labels (same peak cell for
every joint in the image, values equal up to float32 rounding). Our default moves a peak by one cell only for a
joint within 0.5 image px of a rounding boundary: 3.7 % of joints per axis at 872 px.
"""

from __future__ import annotations

import numpy as np

from synth.constants import DEFAULT_HEATMAP_SIGMA_PX, DEFAULT_HEATMAP_SIZE

#: The Gaussian is cut at this many sigmas from the peak (window = 2 * floor(3 sigma) + 1 cells).
WINDOW_HALF_WIDTH_SIGMAS = 3.0
#: Offset from an OpenCV pixel coordinate (0 = centre of the first pixel) to the corner convention (0 = its edge).
PIXEL_CENTRE_TO_CORNER = 0.5
#: How the peak cell is rounded from h + 0.5: "floor" (ours) or "trunc" (Python's int(), Ego4View's generator).
PEAK_ROUNDINGS = ("floor", "trunc")


def window_radius(sigma_px: float) -> int:
    """Half-width (cells) of the square Gaussian window: floor(3 sigma); 3 for sigma = 1 (a 7 x 7 window)."""
    return int(np.floor(WINDOW_HALF_WIDTH_SIGMAS * float(sigma_px)))


def heatmap_shape_for(image_size, heatmap_size: int) -> tuple[int, int]:
    """(width, height) in cells of the heatmaps of an image of `image_size` = (width, height) px whose longer side
    gets `heatmap_size` cells; the shorter side keeps the image's aspect ratio, rounded (at least 1 cell).

    E.g. 256 x 256 px, 64 -> (64, 64); 640 x 480 px, 64 -> (64, 48); 752 x 480 px, 64 -> (64, 41).
    """
    width, height = (int(s) for s in image_size)
    size = int(heatmap_size)
    if width <= 0 or height <= 0 or size < 1:
        raise ValueError(f"need a positive image size and heatmap size, got {image_size} and {heatmap_size}")
    if width >= height:
        return size, max(1, round(size * height / width))
    return max(1, round(size * width / height)), size


def _cells(heatmap_size) -> tuple[int, int]:
    """(width, height) cells of `heatmap_size`: an int S (square S x S) or a (width, height) pair."""
    if isinstance(heatmap_size, (tuple, list, np.ndarray)):
        w, h = (int(s) for s in heatmap_size)
    else:
        w = h = int(heatmap_size)
    if w < 1 or h < 1:
        raise ValueError(f"heatmap_size must be >= 1 cell per axis, got {heatmap_size}")
    return w, h


def _strides(image_size, heatmap_size) -> np.ndarray:
    width, height = (float(s) for s in image_size)
    if width <= 0 or height <= 0:
        raise ValueError(f"image_size must be positive (width, height) in px, got {image_size}")
    return np.array([width, height]) / np.array(_cells(heatmap_size), dtype=np.float64)


def heatmap_coords_from_image_px(
    joints2d_px,
    image_size,
    heatmap_size: int | tuple[int, int] = DEFAULT_HEATMAP_SIZE,
    centre_to_corner_px: float = PIXEL_CENTRE_TO_CORNER,
) -> np.ndarray:
    """Continuous heatmap coordinates h = (u + 0.5) / stride (cell i spans [i - 0.5, i + 0.5]).

    joints2d_px: (..., 2) float, OpenCV pixels (u right, v down) of an image of `image_size` = (width, height) px.
    centre_to_corner_px: the 0.5 above (0.0 = Ego4View's literal recipe, see the module docstring).
    Returns (..., 2) float64 heatmap cells (x, y); the rendered peak is at floor(h + 0.5).
    """
    strides = _strides(image_size, heatmap_size)
    return (np.asarray(joints2d_px, dtype=np.float64) + float(centre_to_corner_px)) / strides


def image_px_from_heatmap_coords(
    xy_hm,
    image_size,
    heatmap_size: int | tuple[int, int] = DEFAULT_HEATMAP_SIZE,
    centre_to_corner_px: float = PIXEL_CENTRE_TO_CORNER,
) -> np.ndarray:
    """Inverse of heatmap_coords_from_image_px: (..., 2) heatmap cells (x, y) -> (..., 2) float64 OpenCV px."""
    strides = _strides(image_size, heatmap_size)
    return np.asarray(xy_hm, dtype=np.float64) * strides - float(centre_to_corner_px)


def render_heatmaps(
    joints2d_px,
    image_size,
    heatmap_size: int | tuple[int, int] = DEFAULT_HEATMAP_SIZE,
    sigma_px: float = DEFAULT_HEATMAP_SIGMA_PX,
    visible_mask=None,
    dtype=np.float32,
    centre_to_corner_px: float = PIXEL_CENTRE_TO_CORNER,
    peak_rounding: str = "floor",
) -> np.ndarray:
    """Render one Gaussian heatmap per joint (module docstring: recipe and pixel convention).

    joints2d_px: (..., J, 2) float, OpenCV pixels of an image of `image_size` = (width, height) px; non-finite
        positions give all-zero channels.
    heatmap_size: S (square S x S maps) or (Sw, Sh) cells, e.g. heatmap_shape_for(image_size, 64) for a
        non-square image (per-axis strides W / Sw and H / Sh); sigma_px: Gaussian sigma in heatmap cells.
    visible_mask: optional (..., J) bool (broadcastable); False zeroes the channel. Pass `visibility != 0` to
        blank joints that are outside the image, beyond the field angle or behind the lens.
    dtype: output dtype (float32 default; float16 for the dataset files, computed in float32 then cast).
    centre_to_corner_px: 0.5 (default, our convention) or 0.0 (Ego4View's generator applied to raw pixels).
    peak_rounding: "floor" (default, mu = floor(h + 0.5)) or "trunc" (Ego4View's int(h + 0.5), which rounds
        towards zero: different only for points up to one cell left of or above the map).
    Returns (..., J, Sh, Sw) heatmaps, rows = y (down), columns = x (right), peak 1.0.
    """
    sigma = float(sigma_px)
    if not sigma > 0.0:
        raise ValueError(f"sigma_px must be > 0, got {sigma_px}")
    if peak_rounding not in PEAK_ROUNDINGS:
        raise ValueError(f"peak_rounding must be one of {PEAK_ROUNDINGS}, got {peak_rounding!r}")
    size_w, size_h = _cells(heatmap_size)
    h = heatmap_coords_from_image_px(joints2d_px, image_size, (size_w, size_h), centre_to_corner_px)
    if h.shape[-1] != 2:
        raise ValueError(f"joints2d_px must have shape (..., J, 2), got {h.shape}")
    batch = h.shape[:-1]
    keep = np.isfinite(h).all(axis=-1)
    if visible_mask is not None:
        keep = keep & np.broadcast_to(np.asarray(visible_mask, dtype=bool), batch)
    radius = window_radius(sigma)
    # Clamp far-away (or non-finite) positions to a cell whose window misses the map, so the int cast is safe.
    far = float(max(size_w, size_h) + radius + 2)
    h = np.clip(np.where(keep[..., None], h, -far), -far, far)
    rounded = np.floor(h + 0.5) if peak_rounding == "floor" else np.trunc(h + 0.5)
    mu = rounded.astype(np.int64).reshape(-1, 2)  # (N, 2) peak cells (x, y)
    # The (2r+1)^2 window values, exp(-(dx^2 + dy^2) / (2 sigma^2)) in float32 as in Ego4View, scattered into
    # zero maps: only the N * (2r+1)^2 window cells are written.
    offsets = np.arange(-radius, radius + 1, dtype=np.int64)
    dy, dx = np.meshgrid(offsets, offsets, indexing="ij")
    dist_sq = (dx * dx + dy * dy).astype(np.float32).ravel()
    window = np.exp(-dist_sq / np.float32(2.0 * sigma * sigma))  # (K,) float32
    cols = mu[:, 0:1] + dx.ravel()[None, :]  # (N, K)
    rows = mu[:, 1:2] + dy.ravel()[None, :]
    inside = (cols >= 0) & (cols < size_w) & (rows >= 0) & (rows < size_h)
    map_idx, k_idx = np.nonzero(inside)
    out = np.zeros((mu.shape[0], size_h * size_w), dtype=dtype)
    out[map_idx, rows[map_idx, k_idx] * size_w + cols[map_idx, k_idx]] = window[k_idx]
    return out.reshape(batch + (size_h, size_w))


def heatmap_argmax(heatmaps) -> tuple[np.ndarray, np.ndarray]:
    """Peak cell and value of each heatmap.

    heatmaps: (..., Sh, Sw) (rows = y, columns = x). Returns (xy (..., 2) int64 heatmap cells (x, y) of the first
    maximum in row-major order, peak (...) values in the input's dtype). Convert cells to image pixels with
    image_px_from_heatmap_coords.
    """
    maps = np.asarray(heatmaps)
    rows, cols = maps.shape[-2:]
    flat = maps.reshape(maps.shape[:-2] + (rows * cols,))
    idx = np.argmax(flat, axis=-1)
    peak = np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]
    xy = np.stack([idx % cols, idx // cols], axis=-1).astype(np.int64)
    return xy, peak
