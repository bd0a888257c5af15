"""Heatmap recipe: peak, Gaussian values, window, truncation, pixel convention, and a per-pixel reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synth.labels.heatmaps import (
    heatmap_argmax,
    heatmap_coords_from_image_px,
    image_px_from_heatmap_coords,
    render_heatmaps,
)

S = 64
IMAGE = (256, 256)  # stride 4 px


def reference_heatmap(u: float, v: float, image_size, size: int, sigma: float, offset: float) -> np.ndarray:
    """Straightforward per-pixel version of the recipe, written independently of the module."""
    stride_x = image_size[0] / size
    stride_y = image_size[1] / size
    mu_x = math.floor((u + offset) / stride_x + 0.5)
    mu_y = math.floor((v + offset) / stride_y + 0.5)
    radius = int(3 * sigma)
    out = np.zeros((size, size), dtype=np.float64)
    for row in range(size):
        for col in range(size):
            if abs(col - mu_x) <= radius and abs(row - mu_y) <= radius:
                out[row, col] = math.exp(-((col - mu_x) ** 2 + (row - mu_y) ** 2) / (2 * sigma * sigma))
    return out


def cell_centre_px(col: int, row: int) -> tuple[float, float]:
    """OpenCV pixel whose heatmap coordinate is exactly the cell (col, row) at stride 4: u = 4 col - 0.5."""
    return 4.0 * col - 0.5, 4.0 * row - 0.5


def test_peak_neighbours_and_window():
    u, v = cell_centre_px(20, 33)
    hm = render_heatmaps(np.array([[u, v]]), IMAGE, S, 1.0)[0]
    assert hm.shape == (S, S) and hm.dtype == np.float32
    assert hm[33, 20] == 1.0
    assert hm.max() == 1.0
    e1 = np.float32(math.exp(-0.5))
    for drow, dcol in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        assert hm[33 + drow, 20 + dcol] == pytest.approx(e1, abs=1e-7)
    assert hm[34, 21] == pytest.approx(math.exp(-1.0), abs=1e-7)
    assert hm[33, 23] == pytest.approx(math.exp(-4.5), abs=1e-7)
    support = np.argwhere(hm > 0)
    assert len(support) == 49
    assert support[:, 0].min() == 30 and support[:, 0].max() == 36
    assert support[:, 1].min() == 17 and support[:, 1].max() == 23
    assert hm[33, 24] == 0.0 and hm[29, 20] == 0.0


def test_rounding_to_nearest_cell_with_half_pixel_offset():
    # Heatmap x = (u + 0.5) / 4; the peak moves from cell 0 to cell 1 at u = 1.5 (x = 0.5).
    pts = np.array([[1.4, 10.0], [1.6, 10.0], [-0.5, 10.0], [5.49, 10.0], [5.51, 10.0]])
    xy, peak = heatmap_argmax(render_heatmaps(pts, IMAGE, S))
    assert xy[:, 0].tolist() == [0, 1, 0, 1, 2]
    assert np.all(peak == 1.0)
    # The literal Ego4View recipe (no offset) keeps u = 1.6 on cell 0: u / 4 + 0.5 = 0.9.
    xy_raw, _ = heatmap_argmax(render_heatmaps(pts, IMAGE, S, centre_to_corner_px=0.0))
    assert xy_raw[:, 0].tolist() == [0, 0, 0, 1, 1]


def test_same_normalised_position_same_heatmap_at_any_resolution():
    rng = np.random.default_rng(3)
    frac = rng.uniform(0.02, 0.98, size=(200, 2))  # position as a fraction of the image, corner convention
    maps = []
    for width in (256, 872, 1024):
        px = frac * width - 0.5
        maps.append(render_heatmaps(px, (width, width), S))
    np.testing.assert_array_equal(maps[0], maps[1])
    np.testing.assert_array_equal(maps[0], maps[2])


def test_coordinate_round_trip_and_argmax_back_to_pixels():
    pts = np.array([[100.25, 37.0], [0.0, 250.0]])
    h = heatmap_coords_from_image_px(pts, IMAGE, S)
    np.testing.assert_allclose(h, (pts + 0.5) / 4.0)
    np.testing.assert_allclose(image_px_from_heatmap_coords(h, IMAGE, S), pts)
    xy, _ = heatmap_argmax(render_heatmaps(pts, IMAGE, S))
    back = image_px_from_heatmap_coords(xy, IMAGE, S)
    assert np.all(np.abs(back - pts) <= 2.0 + 1e-9)  # within half a cell (stride / 2)


def test_truncated_at_border_and_zero_when_fully_outside():
    # Peak on cell (0, 0): only the 4 x 4 quarter of the window is inside.
    hm = render_heatmaps(np.array([cell_centre_px(0, 0)]), IMAGE, S)[0]
    assert hm[0, 0] == 1.0
    assert np.count_nonzero(hm) == 16
    # Peak two cells outside on the left: columns 0 and 1 keep the window's right part.
    hm = render_heatmaps(np.array([cell_centre_px(-2, 10)]), IMAGE, S)[0]
    assert np.count_nonzero(hm) == 7 * 2
    assert hm[10, 0] == pytest.approx(math.exp(-2.0), abs=1e-7)
    assert hm[10, 1] == pytest.approx(math.exp(-4.5), abs=1e-7)
    # Window entirely outside (peak 4 cells out, right and below), far away, and non-finite.
    far = np.array([cell_centre_px(-4, 10), cell_centre_px(67, 10), cell_centre_px(10, 67), [1e12, -1e12],
                    [np.nan, 3.0], [np.inf, 3.0]])
    hm = render_heatmaps(far, IMAGE, S)
    assert not hm.any()
    # The image's last half cell rounds onto cell 64 (outside), as in Ego4View: u = 254 -> x = 63.625.
    hm = render_heatmaps(np.array([[254.0, 100.0]]), IMAGE, S)[0]
    xy, peak = heatmap_argmax(hm)
    assert xy.tolist() == [63, 25] and peak == pytest.approx(math.exp(-0.5), abs=1e-7)
    # Peak 3 cells out still shows the window's edge column.
    hm = render_heatmaps(np.array([cell_centre_px(66, 10)]), IMAGE, S)[0]
    assert np.count_nonzero(hm) == 7 and hm[10, 63] == pytest.approx(math.exp(-4.5), abs=1e-7)


def test_visible_mask_zeroes_channels_and_batch_shapes():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 250, size=(3, 4, 15, 2))
    mask = rng.uniform(size=(3, 4, 15)) > 0.3
    hm = render_heatmaps(pts, IMAGE, S, visible_mask=mask)
    assert hm.shape == (3, 4, 15, S, S)
    peaks = hm.max(axis=(-1, -2))
    np.testing.assert_array_equal(peaks, np.where(mask, 1.0, 0.0))
    hm16 = render_heatmaps(pts, IMAGE, S, visible_mask=mask, dtype=np.float16)
    assert hm16.dtype == np.float16
    np.testing.assert_allclose(hm16.astype(np.float32), hm, atol=1e-3)


@pytest.mark.parametrize("sigma,image,size", [(1.0, (256, 256), 64), (2.0, (872, 872), 64), (1.0, (300, 200), 48)])
def test_matches_per_pixel_reference(sigma, image, size):
    rng = np.random.default_rng(7)
    pts = np.stack([rng.uniform(-40, image[0] + 40, 40), rng.uniform(-40, image[1] + 40, 40)], axis=-1)
    hm = render_heatmaps(pts, image, size, sigma)
    for offset, maps in ((0.5, hm), (0.0, render_heatmaps(pts, image, size, sigma, centre_to_corner_px=0.0))):
        for k, (u, v) in enumerate(pts):
            np.testing.assert_allclose(maps[k], reference_heatmap(u, v, image, size, sigma, offset), atol=2e-7)


def test_argmax_and_bad_inputs():
    maps = np.zeros((2, 5, 6), dtype=np.float32)
    maps[0, 3, 4] = 0.7
    maps[1, 0, 5] = 0.2
    xy, peak = heatmap_argmax(maps)
    assert xy.tolist() == [[4, 3], [5, 0]]
    np.testing.assert_allclose(peak, [0.7, 0.2])
    with pytest.raises(ValueError):
        render_heatmaps(np.zeros((1, 2)), IMAGE, S, sigma_px=0.0)
    with pytest.raises(ValueError):
        render_heatmaps(np.zeros((1, 2)), (0, 256), S)
