"""Contact sheets of a clip: every view per frame with the image circle, skeleton and visibility-coloured joints."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from synth.constants import SKELETON_EDGES, VIS_OCCLUDED, VIS_OUTSIDE, VIS_VISIBLE
from synth.dataset import format as fmt
from synth.errors import DatasetError
from synth.io import atomic_path

log = logging.getLogger(__name__)

#: Tile width bounds (px): small renders are enlarged to stay readable, large ones reduced.
MIN_TILE_PX = 256
MAX_TILE_PX = 512
#: Number of frames a default preview shows.
DEFAULT_NUM_FRAMES = 4
#: Colours (RGB) per visibility code: visible green, occluded orange, outside grey (at the clamped border).
VIS_COLORS: dict[int, tuple[int, int, int]] = {
    VIS_VISIBLE: (40, 220, 60),
    VIS_OCCLUDED: (255, 140, 0),
    VIS_OUTSIDE: (140, 140, 140),
}
BACKGROUND = (24, 24, 30)
OUTLINE_COLOR = (0, 0, 0)
TILE_BORDER_COLOR = (70, 70, 80)
BONE_COLOR = (90, 170, 255)
CIRCLE_COLOR = (230, 230, 80)
TEXT_COLOR = (255, 255, 255)
#: Directions sampled on the boundary cone of the lens' field of view.
CIRCLE_SAMPLES = 180


def tile_size(width: int, height: int) -> tuple[int, int, float]:
    """(tile_w, tile_h, scale) for an image of width x height px: tile_w in [MIN_TILE_PX, MAX_TILE_PX]."""
    tile_w = max(MIN_TILE_PX, min(int(width), MAX_TILE_PX))
    scale = tile_w / float(width)
    return tile_w, int(round(height * scale)), scale


def to_tile(uv_px: np.ndarray, scale: float) -> np.ndarray:
    """Image pixels (..., 2) (OpenCV: (0, 0) = centre of the top-left pixel) -> tile pixels, same convention."""
    return (np.asarray(uv_px, np.float64) + 0.5) * scale - 0.5


def image_circle_px(lens, samples: int = CIRCLE_SAMPLES) -> np.ndarray:
    """(N, 2) px: projections of directions at the lens' maximum field angle (the valid region's boundary)."""
    theta = float(lens.max_field_angle_rad) * (1.0 - 1e-6)
    phi = np.linspace(0.0, 2.0 * np.pi, samples, endpoint=False)
    dirs = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.full_like(phi, np.cos(theta))], -1)
    uv, valid = lens.project(dirs)
    uv = np.asarray(uv, np.float64)
    return uv[np.asarray(valid) & np.all(np.isfinite(uv), axis=-1)]


def label_font(size: int):
    """PIL's default font at `size` px (the bitmap default where Pillow has no FreeType)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType support for the default font
        return ImageFont.load_default()


def draw_tile(image, joints2d_px: np.ndarray, visibility: np.ndarray, scale: float, circle_px: np.ndarray | None,
              title: str):
    """Draw labels over one tile (a PIL RGB image of the tile's size), in place.

    joints2d_px: (16, 2) px at the rendered resolution; visibility: (16,) codes; circle_px: (N, 2) px or None.
    """
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    w, h = image.size
    radius = max(3, w // 64)
    if circle_px is not None and len(circle_px) > 2:
        pts = [tuple(p) for p in to_tile(circle_px, scale)]
        draw.line(pts + [pts[0]], fill=CIRCLE_COLOR, width=max(1, w // 256))
    xy = to_tile(joints2d_px, scale)
    finite = np.all(np.isfinite(xy), axis=-1)
    shown = finite & (visibility != VIS_OUTSIDE)
    for a, b in SKELETON_EDGES:
        if shown[a] and shown[b]:
            draw.line([tuple(xy[a]), tuple(xy[b])], fill=BONE_COLOR, width=2)
    for j in np.argsort(visibility, kind="stable"):  # visible joints drawn last, on top
        if not finite[j]:
            continue
        code = int(visibility[j])
        x, y = xy[j]
        r = radius
        if code == VIS_OUTSIDE and 0 <= x <= w - 1 and 0 <= y <= h - 1:
            continue  # beyond the lens' field of view: its pixel position means nothing
        if code == VIS_OUTSIDE:
            x, y = float(np.clip(x, 0, w - 1)), float(np.clip(y, 0, h - 1))
            r = max(2, radius // 2)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=VIS_COLORS.get(code, VIS_COLORS[VIS_OUTSIDE]),
                     outline=OUTLINE_COLOR)
    draw.rectangle([0, 0, w - 1, h - 1], outline=TILE_BORDER_COLOR)
    font = label_font(max(12, w // 20))
    box = draw.textbbox((4, 4), title, font=font)
    draw.rectangle([box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2], fill=(0, 0, 0))
    draw.text((4, 4), title, fill=TEXT_COLOR, font=font)


def contact_sheet(reader, clip_id: str, frames: list[int], out_png: str | os.PathLike) -> Path:
    """Write a PNG with one row per frame (frame numbers) and the views side by side; returns its path.

    Tiles are tile_size(width, height) px; over the RGB image when the dataset has one, else a dark background.
    """
    from PIL import Image

    labels = reader.labels(clip_id)
    views = reader.views
    width, height = reader.image_size
    tile_w, tile_h, scale = tile_size(width, height)
    circles: list[np.ndarray | None] = [None] * len(views)
    try:
        for v, lens in enumerate(reader.lenses):
            if (lens.width, lens.height) != (width, height):
                lens = lens.scaled_to(width, height)
            circles[v] = image_circle_px(lens)
    except DatasetError as exc:
        log.warning("%s: drawing without image circles (%s)", clip_id, exc)
    sheet = Image.new("RGB", (tile_w * len(views), tile_h * len(frames)), BACKGROUND)
    for r, frame in enumerate(frames):
        row = reader.row(clip_id, frame)
        for v, view in enumerate(views):
            path = reader.image_path(clip_id, view, frame)
            if path is not None:
                with Image.open(path) as img:
                    tile = img.convert("RGB").resize((tile_w, tile_h), Image.BILINEAR)
            else:
                tile = Image.new("RGB", (tile_w, tile_h), BACKGROUND)
            draw_tile(tile, labels["joints2d"][row, v], labels["visibility"][row, v], scale, circles[v],
                      f"{view}  frame {int(frame)}")
            sheet.paste(tile, (v * tile_w, r * tile_h))
    out = Path(out_png)
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG")
    return out


def default_frames(all_frames: np.ndarray, count: int = DEFAULT_NUM_FRAMES) -> list[int]:
    """`count` evenly spaced frame numbers from a clip's frames (all of them if fewer)."""
    if len(all_frames) <= count:
        return [int(f) for f in all_frames]
    rows = np.round(np.linspace(0, len(all_frames) - 1, count)).astype(int)
    return [int(all_frames[i]) for i in rows]


def preview(dataset_dir: str | os.PathLike, clip_id: str | None = None, frames: list[int] | None = None,
            out: str | os.PathLike | None = None) -> Path:
    """`synth preview`: contact sheet of one clip (default: the first clip, 4 evenly spaced frames,
    written to <dataset>/previews/<clip_id>.png). Returns the PNG path."""
    from synth.dataset.reader import DatasetReader

    reader = DatasetReader(dataset_dir)
    if clip_id is None:
        if not reader.clip_ids:
            raise DatasetError(f"{reader.root}: no completed clips to preview; generate some first")
        clip_id = reader.clip_ids[0]
    if frames is None:
        frames = default_frames(reader.frames(clip_id))
    if out is None:
        out = reader.root / fmt.PREVIEWS_DIR / f"{clip_id}.png"
    return contact_sheet(reader, clip_id, list(frames), out)
