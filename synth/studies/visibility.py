"""Per-view joint visibility across rig placements (paper Table 2): the same clips, worn with each rig variant."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from synth.config import RenderConfig, load_config, load_sweep
from synth.errors import ConfigError
from synth.labels.tables import RigVisibility, write_visibility_tables
from synth.run.clip import clip_labels
from synth.scene.sampler import ClipSampler, remount
from synth.scene.spec import ClipSpec

log = logging.getLogger(__name__)

#: Config sections that decide a clip's content; variants equal in all of them share their clips (only the rig
#: differs, so each clip is sampled and posed once and re-mounted per rig).
CONTENT_SECTIONS = ("seed", "clips", "body", "motion", "appearance")


def same_content(a: RenderConfig, b: RenderConfig) -> bool:
    """True when two configs sample and pose the same clips (they differ at most in the rig)."""
    return all(getattr(a, k) == getattr(b, k) for k in CONTENT_SECTIONS)


def visibility_variants(sweep: str | Path | None = None, config: str | Path | None = None
                        ) -> tuple[list[tuple[str, RenderConfig]], Path]:
    """(variant name, config) pairs and the directory their relative paths resolve against, from a sweep file
    or a single config."""
    if sweep is not None:
        sweep_path = Path(sweep)
        spec, variants = load_sweep(sweep_path)
        return variants, (sweep_path.resolve().parent / spec.base).resolve().parent
    if config is not None:
        cfg = load_config(Path(config))
        return [(cfg.name, cfg)], Path(config).resolve().parent
    raise ConfigError("synth visibility", "--sweep/--config", "give --sweep SWEEP.yaml or --config CONFIG.yaml")


def rig_visibility(variants: list[tuple[str, RenderConfig]], config_dir: Path,
                   clips: int | None = None) -> list[RigVisibility]:
    """Visibility of every variant's rig over its clips (clips: per variant, default its clips.count)."""
    results = []
    first: ClipSampler | None = None
    specs: dict[int, ClipSpec] = {}
    for _, cfg in variants:
        count = clips if clips is not None else cfg.clips.count
        sampler = ClipSampler(cfg, config_dir, backend=first.backend if first else None)
        shared = first is not None and same_content(first.cfg, cfg)
        first = first or sampler
        vis, d_rh, frames = [], [], 0
        for index in range(count):
            if shared and index in specs:
                spec = remount(specs[index], sampler.rig)
            else:
                spec, _ = sampler.sample(index)
                specs[index] = spec
            labels, _ = clip_labels(sampler, spec)
            vis.append(labels.visibility)
            d_rh.append(spec.mount.d_rh_m)
            frames += labels.visibility.shape[0]
        rig = sampler.rig
        results.append(RigVisibility(rig=rig.label, views=rig.views, visibility=np.concatenate(vis),
                                     d_rh_m=np.array(d_rh), d_fr_m=rig.front_to_rear_m))
        log.info("%s: %d clips, %d frames, D-RH %.1f-%.1f cm", rig.label, count, frames, 100 * min(d_rh),
                 100 * max(d_rh))
    return results


def visibility_study(out: Path, sweep: str | Path | None = None, config: str | Path | None = None,
                     clips: int | None = None) -> list[Path]:
    """Visibility tables (CSV and Markdown) of a sweep's rig variants, or of one config's rig, written to `out`."""
    variants, config_dir = visibility_variants(sweep, config)
    return write_visibility_tables(rig_visibility(variants, config_dir, clips), Path(out))
