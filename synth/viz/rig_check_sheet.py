"""Contact sheet of `synth rig check`: each camera's rendered markers with the labels' centroids and the errors."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from synth.io import atomic_path
from synth.viz.preview import (BACKGROUND, CIRCLE_COLOR, TEXT_COLOR, TILE_BORDER_COLOR, image_circle_px, label_font,
                               to_tile)

#: Tile width bounds (px): markers a few pixels wide need a larger enlargement than the clip previews.
MIN_TILE_PX = 384
MAX_TILE_PX = 640
#: Tiles per row of the sheet.
MAX_COLUMNS = 4
#: Height of the title band above each tile (two lines) and of the legend at the bottom, px.
TITLE_BAND_PX = 44
LEGEND_BAND_PX = 40
#: Marker colours (RGB) by error: below half the threshold, below it, above it, not found.
GOOD_COLOR = (40, 220, 60)
WARN_COLOR = (255, 190, 0)
BAD_COLOR = (255, 50, 50)
MISSING_COLOR = (230, 60, 230)
VECTOR_COLOR = (90, 170, 255)
#: Error vectors are magnified so that an error equal to the threshold is drawn this many tile pixels long.
VECTOR_LENGTH_AT_THRESHOLD_TILE_PX = 24.0


def error_color(error_px: float, found: bool, threshold_px: float) -> tuple[int, int, int]:
    """The colour of one marker: green < threshold / 2 <= orange <= threshold < red; magenta when not found."""
    if not found or not np.isfinite(error_px):
        return MISSING_COLOR
    if error_px < 0.5 * threshold_px:
        return GOOD_COLOR
    return WARN_COLOR if error_px <= threshold_px else BAD_COLOR


def _tile_scale(width: int) -> float:
    tile_w = max(MIN_TILE_PX, min(int(width), MAX_TILE_PX))
    return tile_w / float(width)


def draw_camera_tile(title: str, lens, image: np.ndarray, measurement, threshold_px: float):
    """A PIL RGB tile: the rendered coverage image (nearest-neighbour enlarged, gamma 1/2 so partly covered pixels
    show), the lens' field boundary, a cross per marker at its expected centroid coloured by its error, the error
    vector (rendered - expected, magnified) and the error in px; the title band above holds `title` (two lines)."""
    from PIL import Image, ImageDraw

    h, w = image.shape
    scale = _tile_scale(w)
    tile_w, tile_h = int(round(w * scale)), int(round(h * scale))
    grey = (np.sqrt(np.clip(np.asarray(image, np.float64), 0.0, 1.0)) * 255.0 + 0.5).astype(np.uint8)
    body = Image.fromarray(grey, mode="L").resize((tile_w, tile_h), Image.NEAREST).convert("RGB")
    tile = Image.new("RGB", (tile_w, tile_h + TITLE_BAND_PX), BACKGROUND)
    tile.paste(body, (0, TITLE_BAND_PX))
    draw = ImageDraw.Draw(tile)
    top = np.array([0.0, TITLE_BAND_PX])
    circle = image_circle_px(lens)
    if len(circle) > 2:
        pts = [tuple(p) for p in to_tile(circle, scale) + top]
        draw.line(pts + [pts[0]], fill=CIRCLE_COLOR, width=1)
    gain = VECTOR_LENGTH_AT_THRESHOLD_TILE_PX / max(threshold_px, 1e-9)
    small = label_font(max(10, tile_w // 48))
    arm = max(4.0, 1.5 * scale)
    for k in range(len(measurement.found)):
        found = bool(measurement.found[k])
        err = float(measurement.error_px[k])
        color = error_color(err, found, threshold_px)
        x, y = to_tile(measurement.expected_px[k], scale) + top
        draw.line([(x - arm, y), (x + arm, y)], fill=color, width=1)
        draw.line([(x, y - arm), (x, y + arm)], fill=color, width=1)
        if found:
            d = (measurement.rendered_px[k] - measurement.expected_px[k]) * gain
            draw.line([(x, y), (x + d[0], y + d[1])], fill=VECTOR_COLOR, width=2)
        label = f"{err:.3f}" if found else "missing"
        tx = x + arm + 2
        if tx + draw.textlength(label, font=small) > tile_w - 2:  # near the right edge: write it on the left
            tx = x - arm - 2 - draw.textlength(label, font=small)
        draw.text((tx, y + 2), label, fill=color, font=small)
    draw.rectangle([0, 0, tile_w - 1, tile_h + TITLE_BAND_PX - 1], outline=TILE_BORDER_COLOR)
    draw.multiline_text((4, 3), title, fill=TEXT_COLOR, font=label_font(max(12, min(16, tile_w // 32))), spacing=2)
    return tile


def rig_check_sheet(cameras: Sequence[tuple[str, object, np.ndarray, object]], threshold_px: float,
                    out_png: str | os.PathLike) -> Path:
    """Write the contact sheet PNG of a rig check and return its path.

    cameras: per camera (title, labels' lens, rendered coverage image (H, W), MarkerMeasurement of
    synth.geometry.markers); tiles MAX_COLUMNS to a row, a legend at the bottom.
    """
    from PIL import Image, ImageDraw

    if not cameras:
        raise ValueError("no cameras to draw")
    tiles = [draw_camera_tile(t, lens, img, m, threshold_px) for t, lens, img, m in cameras]
    cols = min(MAX_COLUMNS, len(tiles))
    rows = -(-len(tiles) // cols)
    cell_w = max(t.size[0] for t in tiles)
    cell_h = max(t.size[1] for t in tiles)
    sheet = Image.new("RGB", (max(cols * cell_w, 560), rows * cell_h + LEGEND_BAND_PX), BACKGROUND)
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % cols) * cell_w, (i // cols) * cell_h))
    draw = ImageDraw.Draw(sheet)
    font = label_font(12)
    y = rows * cell_h + 4
    draw.text((6, y), f"+ expected centroid (labels' lens); blue line: rendered - expected, "
                      f"{VECTOR_LENGTH_AT_THRESHOLD_TILE_PX:g} px long at the {threshold_px:g} px threshold; "
                      f"numbers: error px", fill=TEXT_COLOR, font=font)
    x = 6
    for color, text in ((GOOD_COLOR, f"< {0.5 * threshold_px:g} px"), (WARN_COLOR, f"<= {threshold_px:g} px"),
                        (BAD_COLOR, f"> {threshold_px:g} px"), (MISSING_COLOR, "not found")):
        draw.rectangle([x, y + 20, x + 10, y + 30], fill=color)
        draw.text((x + 14, y + 18), text, fill=TEXT_COLOR, font=font)
        x += 14 + int(draw.textlength(text, font=font)) + 16
    out = Path(out_png)
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG")
    return out
