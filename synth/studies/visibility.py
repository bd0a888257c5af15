"""Per-view joint visibility across rig placements (paper Table 2): the same clips, worn with each rig variant."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from synth.config import RenderConfig, load_config, load_grid, load_sweep
from synth.constants import EGO16_JOINTS
from synth.errors import ConfigError
from synth.geometry.rig import HeadClearanceError
from synth.labels.projection import apparent_size_px
from synth.labels.tables import RigVisibility, write_visibility_tables
from synth.run.clip import clip_labels
from synth.scene.sampler import ClipSampler, remount
from synth.scene.spec import ClipSpec
from synth.grid import GridAxis, field_value, parse_axis
from synth.studies.metrics import METRICS
from synth.studies.study import DEFAULT_PLOT_METRIC, VariantResult, run_study

log = logging.getLogger(__name__)

#: Config sections that decide a clip's content; variants equal in all of them share their clips (only the rig
#: differs, so each clip is sampled and posed once and re-mounted per rig).
CONTENT_SECTIONS = ("seed", "clips", "body", "motion", "appearance")


def same_content(a: RenderConfig, b: RenderConfig) -> bool:
    """True when two configs sample and pose the same clips (they differ at most in the rig)."""
    return all(getattr(a, k) == getattr(b, k) for k in CONTENT_SECTIONS)


def visibility_variants(sweep: str | Path | None = None, config: str | Path | None = None
                        ) -> tuple[list[tuple[str, RenderConfig]], Path, list[GridAxis]]:
    """(variant name, config) pairs, the directory their relative paths resolve against and the sweep's grid axes
    (empty for listed variants or a single config), from a sweep file or a single config."""
    if sweep is not None:
        sweep_path = Path(sweep)
        spec, variants = load_sweep(sweep_path)
        return variants, (sweep_path.resolve().parent / spec.base).resolve().parent, spec.grid_axes(str(sweep))
    if config is not None:
        cfg = load_config(Path(config))
        return [(cfg.name, cfg)], Path(config).resolve().parent, []
    raise ConfigError("synth visibility", "--sweep/--config", "give --sweep SWEEP.yaml or --config CONFIG.yaml")


class VariantLabeler:
    """Labels the clips of rig variants; variants that differ only in the rig share their sampled, posed clips
    (re-mounted per rig), and the body model loads once."""

    def __init__(self, config_dir: Path):
        self.config_dir = config_dir
        self.first: ClipSampler | None = None
        self.specs: dict[int, ClipSpec] = {}

    def label(self, name: str, cfg: RenderConfig, clips: int | None = None) -> VariantResult:
        """Visibility of one variant over its first `clips` clips (default its clips.count). A rig that cannot
        keep its head clearance on some head comes back infeasible (VariantResult.note), not as an error."""
        count = clips if clips is not None else cfg.clips.count
        sampler = ClipSampler(cfg, self.config_dir, backend=self.first.backend if self.first else None)
        shared = self.first is not None and same_content(self.first.cfg, cfg)
        self.first = self.first or sampler
        rig = sampler.rig
        rear_names = {c.name for c in rig.rear_cameras()}
        rear = np.array([v in rear_names for v in rig.views], dtype=bool)
        vis, occ, size, d_rh, refits = [], [], [], [], 0
        for index in range(count):
            try:
                if shared and index in self.specs:
                    spec = remount(self.specs[index], rig)
                else:
                    spec, _ = sampler.sample(index)
                    if self.first is sampler or shared:
                        self.specs[index] = spec
            except HeadClearanceError as exc:
                log.warning("%s: infeasible: %s", name, exc.problem)
                return VariantResult(name=name, rig=rig.label, views=rig.views, rear=rear,
                                     visibility=np.zeros((0, len(rig.views), len(EGO16_JOINTS)), np.uint8),
                                     d_rh_m=np.zeros(0), refits=refits, d_fr_m=rig.front_to_rear_m,
                                     note=exc.problem)
            labels, _ = clip_labels(sampler, spec)
            vis.append(labels.visibility)
            occ.append(labels.occluder)
            size.append(apparent_size_px(labels.joints3d_camera, rig.lenses).astype(np.float32))
            d_rh.append(spec.mount.d_rh_m)
            refits += bool(spec.mount.refit_m)
        frames = sum(v.shape[0] for v in vis)
        log.info("%s: %d clips, %d frames, D-RH %.1f-%.1f cm, %d refits", rig.label, count, frames,
                 100 * np.nanmin(d_rh), 100 * np.nanmax(d_rh), refits)
        return VariantResult(name=name, rig=rig.label, views=rig.views, rear=rear, visibility=np.concatenate(vis),
                             d_rh_m=np.array(d_rh, dtype=np.float64), refits=refits, d_fr_m=rig.front_to_rear_m,
                             occluder=np.concatenate(occ), size_px=np.concatenate(size))


def rig_visibility(variants: list[tuple[str, RenderConfig]], config_dir: Path,
                   clips: int | None = None) -> list[RigVisibility]:
    """Visibility of every variant's rig over its clips (clips: per variant, default its clips.count)."""
    labeler = VariantLabeler(config_dir)
    results = []
    for name, cfg in variants:
        r = labeler.label(name, cfg, clips)
        if r.note:
            raise HeadClearanceError(r.note)
        results.append(RigVisibility(rig=r.rig, views=r.views, visibility=r.visibility, d_rh_m=r.d_rh_m,
                                     d_fr_m=r.d_fr_m))
    return results


def visibility_study(out: Path, sweep: str | Path | None = None, config: str | Path | None = None,
                     clips: int | None = None, grid: list[str] | None = None,
                     metric: str = DEFAULT_PLOT_METRIC, workers: int = 1, address: str | None = None) -> list[Path]:
    """Visibility tables (CSV and Markdown) of a sweep's rig variants, or of one config's rig, written to `out`;
    with grid axes (`grid`: FIELD=... strings on top of `config`, or a sweep file's `grid:`), a placement study:
    study.csv / study.parquet / study.png / study.json plus the per-view visibility.csv. workers > 1 (or a Ray
    `address`) labels the grid's points on Ray worker actors."""
    if metric not in METRICS:
        raise ConfigError("synth visibility", "--metric", f"unknown metric {metric!r}; choose one of {list(METRICS)}")
    axes = [parse_axis(text) for text in grid or ()]
    if axes and sweep is not None:
        raise ConfigError("synth visibility", "--grid", "give the grid axes with --config, or put them in the "
                          "sweep file's `grid:`")
    if axes:
        if config is None:
            raise ConfigError("synth visibility", "--grid", "needs --config CONFIG.yaml (the base of the grid)")
        variants, config_dir = load_grid(config, axes), Path(config).resolve().parent
    else:
        variants, config_dir, axes = visibility_variants(sweep, config)
    if not axes:
        return write_visibility_tables(rig_visibility(variants, config_dir, clips), Path(out))
    labeler = VariantLabeler(config_dir)
    count = clips if clips is not None else variants[0][1].clips.count
    points = [(name, cfg, _point_values(cfg, axes)) for name, cfg in variants]
    many = None
    if workers > 1 or address:
        from synth.studies.parallel import label_in_parallel

        def many(todo, done):
            label_in_parallel(todo, config_dir, count, workers, done, address)
    return run_study(Path(out), points, axes, count, lambda name, cfg: labeler.label(name, cfg, count), metric,
                     compute_many=many)


def _point_values(cfg: RenderConfig, axes: list[GridAxis]) -> dict:
    """{axis field: the value this variant's config holds} (read back from the validated config)."""
    data = cfg.model_dump(mode="json")
    return {axis.field: field_value(data, axis.field) for axis in axes}
