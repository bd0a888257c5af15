"""`synth preview CONFIG --random N`: render one frame of N random clips of a config for a variety sheet."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from synth.config import RenderConfig
from synth.viz.variety import clip_caption, pick_clips, variety_sheet

log = logging.getLogger(__name__)

#: Clip indices are drawn from [0, MAX_CLIP_INDEX): any clip a dataset of the config could hold.
MAX_CLIP_INDEX = 100_000


def render_variety(cfg: RenderConfig, config_dir: Path | None, count: int, out: Path, seed: int = 0,
                   tile_px: int = 160) -> Path:
    """Render the middle frame of `count` clips (indices drawn with `seed`) exactly as a dataset of `cfg` would
    hold them (same sampling, camera effects and encoder; give cfg the resolution and preset to preview at), and
    write the variety sheet to `out`. Returns its path."""
    from PIL import Image

    from synth.dataset.meta import clip_meta
    from synth.run.blender import BlenderRenderer
    from synth.scene.sampler import ClipSampler

    sampler = ClipSampler(cfg, config_dir)
    indices = pick_clips(MAX_CLIP_INDEX, count, seed)
    cells = []
    with tempfile.TemporaryDirectory(prefix="egorig_variety_") as tmp:
        renderer = BlenderRenderer(cfg, log_path=Path(tmp) / "blender.log")
        for n, index in enumerate(indices):
            t0 = time.perf_counter()
            spec, _ = sampler.sample(index)
            frame = spec.num_frames // 2
            renderer.scene.load(spec)
            renderer.scene.set_frame(frame, spec.T_world_from_device[frame])
            paths = {v: Path(tmp) / f"{index}_{v}.{cfg.output.image_format}" for v in spec.rig.views}
            renderer.scene.render_views(paths)
            images = {}
            for view, path in paths.items():
                with Image.open(path) as img:
                    images[view] = img.convert("RGB")
            cells.append((clip_caption(clip_meta(spec, cfg.seed, [])), images))
            log.info("variety: clip %d (%d of %d) in %.1f s", index, n + 1, len(indices), time.perf_counter() - t0)
        renderer.scene.close()
    return variety_sheet(cells, sampler.rig.views, out, tile_px=tile_px)
