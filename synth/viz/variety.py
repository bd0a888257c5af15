"""Variety sheets: one frame of each of N clips on one page, so the spread of looks shows at a glance.

Each cell holds one clip's views (a 2 x 2 block for a four-camera rig: front pair above, rear pair below; else a
row) and a caption from its clip.json: clip, motion family, lighting, hair style, loose garment, props and camera
effects.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synth.io import atomic_path
from synth.viz.preview import BACKGROUND, TEXT_COLOR, TILE_BORDER_COLOR, label_font

#: Caption band height per line, as a fraction of a view tile's width.
CAPTION_LINE = 0.11
#: Gap between cells, px.
CELL_GAP_PX = 6


def _surroundings(env: Mapping[str, Any]) -> str:
    """Caption line of a clip's setting and props: "room, <floor> floor" indoors or "<ground> ground" outdoors, then
    the furniture by name and counts of shelves and clutter ("2 shelves", "1 clutter")."""
    names = [str(o.get("name", "prop")) for o in env.get("occluders") or ()]
    ground = (env.get("ground") or {}).get("pattern", "?")
    words = [f"room, {ground} floor" if env.get("setting") == "indoor" else f"{ground} ground"]
    words += [n for n in names if n != "walls" and not n.startswith(("shelf_", "clutter_", "lamp_"))]
    for prefix, one, many in (("shelf_", "shelf", "shelves"), ("clutter_", "clutter", "clutter")):
        count = sum(n.startswith(prefix) for n in names)
        if count:
            words.append(f"{count} {one if count == 1 else many}")
    return "  ".join(words)


def clip_caption(meta: Mapping[str, Any]) -> list[str]:
    """Caption lines of a clip from its clip.json dict: "<clip> <family>", then lighting (HDRI, sky and sun, or a
    closed room's lamps), hair and what it wears,
    then what is around it (room or ground, furniture, shelves, clutter), then its camera effects (when it has
    some)."""
    env = meta.get("environment") or {}
    hdri = env.get("hdri_path")
    lamps = sum(str(o.get("name", "")).startswith("lamp_") for o in env.get("occluders") or ())
    light = (f"{lamps} lamp{'s' if lamps > 1 else ''}" if lamps else f"HDRI {Path(str(hdri)).stem}" if hdri
             else "sky + sun")
    app = meta.get("appearance") or {}
    hair = meta.get("hair")
    extras = [f"{hair.get('style', 'hair')} hair"] if hair else []
    extras += [g.get("kind", "loose") for g in app.get("loose") or ()]
    lines = [f"{meta.get('clip_id', '?')}  {(meta.get('motion') or {}).get('family', '?')}",
             "  ".join([light, *map(str, extras)]), _surroundings(env)]
    fx = meta.get("camera_effects")
    if fx:
        evs = [v["exposure_ev"] for v in fx["views"].values()]
        parts = [f"EV {min(evs):+.1f}..{max(evs):+.1f}"]
        parts.append("noise" if fx.get("full_well_e") else "clean")
        if fx.get("exposure_time_s"):
            parts.append(f"blur {1000 * fx['exposure_time_s']:.0f} ms")
        if fx.get("readout_time_s"):
            parts.append(f"rolling {1000 * fx['readout_time_s']:.0f} ms")
        if fx.get("monochrome"):
            parts.append("mono")
        if fx.get("jpeg_quality"):
            parts.append(f"q{fx['jpeg_quality']}")
        lines.append("  ".join(parts))
    return lines


def _layout(views: Sequence[str]) -> list[tuple[str, int, int]]:
    """(view, column, row) of each view inside a cell."""
    if len(views) == 4:
        front = [v for v in views if v.startswith("front")]
        rear = [v for v in views if not v.startswith("front")]
        if len(front) == 2:
            return [(v, c, 0) for c, v in enumerate(front)] + [(v, c, 1) for c, v in enumerate(rear)]
    return [(v, c, 0) for c, v in enumerate(views)]


def variety_sheet(cells: Sequence[tuple[list[str], Mapping[str, Any]]], views: Sequence[str],
                  out_png: str | os.PathLike, tile_px: int = 160, columns: int | None = None) -> Path:
    """Write a PNG of `cells` (caption lines, {view: PIL image}) on a grid of `columns` (default: about square);
    every view image is scaled to tile_px wide (aspect kept). Returns the path."""
    from PIL import Image, ImageDraw

    if not cells:
        raise ValueError("no clips to show")
    layout = _layout(views)
    first = next(iter(cells[0][1].values()))
    tile_w, tile_h = tile_px, int(round(tile_px * first.height / first.width))
    cols_in, rows_in = max(c for _, c, _ in layout) + 1, max(r for _, _, r in layout) + 1
    lines = max(len(caption) for caption, _ in cells)
    font_px = max(10, int(tile_px * CAPTION_LINE * 0.8))
    caption_h = int(math.ceil(lines * tile_px * CAPTION_LINE)) + 4
    cell_w, cell_h = cols_in * tile_w, rows_in * tile_h + caption_h
    columns = columns or int(math.ceil(math.sqrt(len(cells))))
    rows = int(math.ceil(len(cells) / columns))
    sheet = Image.new("RGB", (columns * (cell_w + CELL_GAP_PX) + CELL_GAP_PX,
                              rows * (cell_h + CELL_GAP_PX) + CELL_GAP_PX), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = label_font(font_px)
    for k, (caption, images) in enumerate(cells):
        x0 = CELL_GAP_PX + (k % columns) * (cell_w + CELL_GAP_PX)
        y0 = CELL_GAP_PX + (k // columns) * (cell_h + CELL_GAP_PX)
        for view, c, r in layout:
            image = images.get(view)
            if image is not None:
                sheet.paste(image.convert("RGB").resize((tile_w, tile_h), Image.BILINEAR),
                            (x0 + c * tile_w, y0 + caption_h + r * tile_h))
        draw.rectangle([x0, y0, x0 + cell_w - 1, y0 + cell_h - 1], outline=TILE_BORDER_COLOR)
        for i, line in enumerate(caption):
            draw.text((x0 + 4, y0 + 2 + i * int(tile_px * CAPTION_LINE)), line, fill=TEXT_COLOR, font=font)
    out = Path(out_png)
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG")
    return out


def pick_clips(available: int, count: int, seed: int) -> list[int]:
    """`count` distinct positions out of `available` (all of them when fewer), drawn with `seed`, sorted."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(available, size=min(count, available), replace=False))


def dataset_variety(dataset_dir: str | os.PathLike, count: int, seed: int = 0, out: str | os.PathLike | None = None,
                    tile_px: int = 160) -> Path:
    """`synth preview DATASET --random N`: the middle frame of N random committed clips of a rendered dataset
    (default out: <dataset>/previews/variety.png)."""
    from PIL import Image

    from synth.dataset import format as fmt
    from synth.dataset.reader import DatasetReader
    from synth.errors import DatasetError

    reader = DatasetReader(dataset_dir)
    if not reader.clip_ids:
        raise DatasetError(f"{reader.root}: no completed clips to preview; generate some first")
    cells = []
    for k in pick_clips(len(reader.clip_ids), count, seed):
        clip_id = reader.clip_ids[k]
        frames = reader.frames(clip_id)
        frame = int(frames[len(frames) // 2])
        images = {}
        for view in reader.views:
            path = reader.image_path(clip_id, view, frame)
            if path is None:
                raise DatasetError(f"{reader.root}: clip {clip_id} has no {view} image (a label-only dataset?); "
                                   f"preview a rendered dataset, or a config: synth preview CONFIG --random N")
            with Image.open(path) as img:
                images[view] = img.convert("RGB")
        cells.append((clip_caption(reader.clip_meta(clip_id)), images))
    out = Path(out) if out is not None else reader.root / fmt.PREVIEWS_DIR / "variety.png"
    return variety_sheet(cells, reader.views, out, tile_px=tile_px)
