"""2D read-out of heatmaps: the peak cell (argmax, optionally refined by a local soft-argmax) and its position in
the dataset's image pixels, with per-axis strides for non-square grids."""

from __future__ import annotations

import numpy as np


def heatmap_peaks(heatmaps: np.ndarray, soft_radius: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Peak of each heatmap in heatmap cells.

    heatmaps: (..., h, w) (rows = y, columns = x; any h, w). soft_radius 0: the argmax cell (first maximum in
    row-major order, synth.labels.heatmaps.heatmap_argmax); r > 0: the mean cell position weighted by the map's
    positive values in the (2r + 1) x (2r + 1) window around it (clipped to the map; the argmax when the window
    holds no positive value). Returns xy (..., 2) float64 cells (x, y) and peak (...) float64 maximum values.
    """
    from synth.labels.heatmaps import heatmap_argmax

    maps = np.asarray(heatmaps, dtype=np.float64)
    h, w = maps.shape[-2:]
    batch = maps.shape[:-2]
    flat = maps.reshape((-1, h, w))
    cell, peak = heatmap_argmax(flat)
    xy = cell.astype(np.float64)
    r = int(soft_radius)
    if r > 0:
        d = np.arange(-r, r + 1)
        cols = cell[:, 0, None, None] + d[None, None, :]  # (N, 1, K)
        rows = cell[:, 1, None, None] + d[None, :, None]  # (N, K, 1)
        inside = (cols >= 0) & (cols < w) & (rows >= 0) & (rows < h)
        n = np.arange(flat.shape[0])[:, None, None]
        vals = np.where(inside, flat[n, np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)], 0.0)
        vals = np.maximum(vals, 0.0)
        total = vals.sum(axis=(1, 2))
        ok = total > 0
        safe = np.where(ok, total, 1.0)
        soft = np.stack([(vals * cols).sum(axis=(1, 2)) / safe, (vals * rows).sum(axis=(1, 2)) / safe], axis=-1)
        xy = np.where(ok[:, None], soft, xy)
    return xy.reshape(batch + (2,)), np.asarray(peak, dtype=np.float64).reshape(batch)


def heatmaps_to_image_px(heatmaps: np.ndarray, image_size: tuple[int, int],
                         soft_radius: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Peaks of heatmaps (..., h, w) as OpenCV px ((0, 0) = centre of the top-left pixel) of an image of
    image_size = (W, H) px: cell (x, y) -> (x * W / w - 0.5, y * H / h - 0.5), synth's convention
    (synth.labels.heatmaps.image_px_from_heatmap_coords with (w, h) cells). Returns (px (..., 2) float64 (u, v),
    peak (...) float64)."""
    from synth.labels.heatmaps import image_px_from_heatmap_coords

    maps = np.asarray(heatmaps)
    h, w = maps.shape[-2:]
    xy, peak = heatmap_peaks(maps, soft_radius)
    return image_px_from_heatmap_coords(xy, tuple(int(s) for s in image_size), (w, h)), peak
