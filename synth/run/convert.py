"""`synth assets convert`: the Alembic clothing caches a config reads, converted once with Blender into arrays
that label-only runs read without it (synth.appearance.clothing_cache)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from synth.appearance.clothing_cache import (
    CacheSamples,
    ClothingConversion,
    ConversionResult,
    convert_clothing_caches,
)
from synth.config import RenderConfig
from synth.scene.files import ContentFiles


def clothing_conversions(files: ContentFiles) -> tuple[list[ClothingConversion], list[Path]]:
    """(the caches a config reads, at the rates it reads them; its clothing files no motion pairs with).

    Each `appearance.clothing_files` cache is read at the `source_fps` of the motion files paired with it, as the
    sampler does; one without a paired motion file is never read.
    """
    from synth.motions.npz_loader import load_motion_npz

    by_rate: dict[tuple[Path, float], list[Path]] = {}
    for motion in files.motions:
        abc = files.clothing_for(motion)
        if abc is not None:
            fps = float(load_motion_npz(motion).params["source_fps"])
            by_rate.setdefault((abc, fps), []).append(motion)
    jobs = [ClothingConversion(abc, fps, files.assets.sha256_of(abc), tuple(ms)) for (abc, fps), ms in by_rate.items()]
    used = {abc for abc, _ in by_rate}
    return jobs, [p for p in files.clothing.values() if p not in used]


def convert_config_clothing(cfg: RenderConfig, config_dir: Path | None, force: bool = False
                            ) -> tuple[Iterator[ConversionResult], list[Path]]:
    """(results as each cache is converted or skipped, unpaired caches). Blender loads only when one needs it."""
    conversions, unpaired = clothing_conversions(ContentFiles(cfg, config_dir))

    def read_samples(abc: Path, fps: float) -> list[CacheSamples]:
        from synth.run.blender import load_blender

        load_blender(cfg)  # bpy loads here, with the config's thread pool, and only when something needs it
        from synth.blender.alembic import read_alembic_samples

        return read_alembic_samples(abc, fps)

    return convert_clothing_caches(conversions, read_samples, force=force), unpaired
