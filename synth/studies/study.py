"""A placement study: visibility labels of many rig variants (a grid over config fields) over the same clips, one
tidy table of placement metrics (CSV and Parquet) and pictures. Resumable: every finished variant is cached under
`<out>/variants/` and reused when the study is run again with the same variant config and clip count."""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from synth.config import RenderConfig, config_hash
from synth.constants import EGO16_JOINTS, JOINT_GROUP_NAMES, M_TO_CM
from synth.io import sha256_bytes, write_bytes_atomic
from synth.labels.tables import RigVisibility, write_visibility_csv
from synth.grid import GridAxis
from synth.studies.metrics import METRICS, group_metrics, joint_metrics

log = logging.getLogger(__name__)

#: Columns of study.csv / study.parquet after the axis columns.
STUDY_COLUMNS: tuple[str, ...] = (
    "variant", "rig", "scope", "name", *METRICS, "frames", "clips", "cameras", "rear_cameras", "d_fr_cm",
    "d_rh_mean_cm", "d_rh_min_cm", "d_rh_max_cm", "refits", "feasible", "note",
)
#: Groups drawn in the study picture.
PLOT_GROUPS: tuple[str, ...] = ("hands", "feet", "all")
#: Heatmaps with at most this many cells print each cell's value.
MAX_ANNOTATED_CELLS = 144
#: Metric drawn in the study picture unless another is named.
DEFAULT_PLOT_METRIC = "pct_visible_two_views"


@dataclass(frozen=True)
class VariantResult:
    """One variant's labels summary.

    visibility: (F, V, 16) uint8 codes of all its clips' frames; views: V names; rear: (V,) bool;
    d_rh_m: (C,) float64 per clip (NaN without rear cameras); refits: clips whose mount was refitted;
    d_fr_m: the rig's front-to-rear distance; note: why the variant is infeasible ("" when it is feasible);
    occluder: (F, V, 16) uint8 occluder codes; size_px: (F, V, 16) float32 apparent size, px per 10 cm (NaN where
    the lens cannot map the joint's neighbourhood).
    """

    name: str
    rig: str
    views: tuple[str, ...]
    rear: np.ndarray
    visibility: np.ndarray
    d_rh_m: np.ndarray
    refits: int
    d_fr_m: float
    note: str = ""
    occluder: np.ndarray | None = None
    size_px: np.ndarray | None = None


def _cache_path(out: Path, name: str) -> Path:
    return out / "variants" / f"{sha256_bytes(name.encode())[:16]}.npz"


#: Bumped when a cached variant's arrays change meaning (older caches are recomputed).
CACHE_VERSION = 2


def _cache_key(cfg: RenderConfig, clips: int) -> str:
    return f"v{CACHE_VERSION}:{config_hash(cfg)}:{clips}"


def load_cached(out: Path, name: str, cfg: RenderConfig, clips: int) -> VariantResult | None:
    """A variant's cached result when it was computed from the same config and clip count, else None."""
    path = _cache_path(out, name)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != _cache_key(cfg, clips) or str(z["name"]) != name:
                return None
            return VariantResult(name=name, rig=str(z["rig"]), views=tuple(str(v) for v in z["views"]),
                                 rear=z["rear"].astype(bool), visibility=z["visibility"], d_rh_m=z["d_rh_m"],
                                 refits=int(z["refits"]), d_fr_m=float(z["d_fr_m"]), note=str(z["note"]),
                                 occluder=z["occluder"], size_px=z["size_px"])
    except (OSError, ValueError, KeyError):
        log.warning("%s: unreadable study cache, computing the variant again", path)
        return None


def save_cached(out: Path, result: VariantResult, cfg: RenderConfig, clips: int) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, key=_cache_key(cfg, clips), name=result.name, rig=result.rig,
                        views=np.array(result.views), rear=result.rear, visibility=result.visibility,
                        d_rh_m=result.d_rh_m, refits=result.refits, d_fr_m=result.d_fr_m, note=result.note,
                        occluder=_or_empty(result.occluder, np.uint8, result.visibility.shape),
                        size_px=_or_empty(result.size_px, np.float32, result.visibility.shape))
    write_bytes_atomic(_cache_path(out, result.name), buf.getvalue())


def _or_empty(array: np.ndarray | None, dtype, shape: tuple[int, ...]) -> np.ndarray:
    """The array, or NaN/zero filled of `shape` when a result has none (infeasible variants)."""
    if array is not None:
        return np.asarray(array, dtype=dtype)
    return np.full(shape, np.nan if np.issubdtype(dtype, np.floating) else 0, dtype=dtype)


def variant_rows(result: VariantResult, point: dict[str, Any], clips: int) -> list[dict[str, Any]]:
    """Study rows of one variant: one per joint and one per joint group (metrics NaN when infeasible)."""
    base: dict[str, Any] = dict(point)
    d_rh = result.d_rh_m[np.isfinite(result.d_rh_m)]
    base.update(variant=result.name, rig=result.rig, frames=int(result.visibility.shape[0]), clips=clips,
                cameras=len(result.views), rear_cameras=int(result.rear.sum()), d_fr_cm=result.d_fr_m * M_TO_CM,
                d_rh_mean_cm=float(d_rh.mean()) * M_TO_CM if d_rh.size else float("nan"),
                d_rh_min_cm=float(d_rh.min()) * M_TO_CM if d_rh.size else float("nan"),
                d_rh_max_cm=float(d_rh.max()) * M_TO_CM if d_rh.size else float("nan"),
                refits=result.refits, feasible=not result.note, note=result.note)
    if result.note:
        per_joint = {m: np.full(len(EGO16_JOINTS), np.nan) for m in METRICS}
    else:
        per_joint = joint_metrics(result.visibility, result.rear, result.occluder, result.size_px)
    rows = [{**base, "scope": "joint", "name": joint, **{m: float(per_joint[m][j]) for m in METRICS}}
            for j, joint in enumerate(EGO16_JOINTS)]
    rows += [{**base, "scope": "group", "name": group, **values}
             for group, values in group_metrics(per_joint).items()]
    return rows


def write_study_tables(rows: list[dict[str, Any]], axes: list[GridAxis], out: Path) -> list[Path]:
    """study.csv and study.parquet (same columns: the axes' fields, then STUDY_COLUMNS), written atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = [a.field for a in axes] + list(STUDY_COLUMNS)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{row[k]:.4f}" if isinstance(row[k], float) else row[k]) for k in columns})
    csv_path, parquet_path = out / "study.csv", out / "study.parquet"
    write_bytes_atomic(csv_path, text.getvalue().encode("utf-8"))
    table = pa.table({k: [row[k] for row in rows] for k in columns})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    write_bytes_atomic(parquet_path, sink.getvalue().to_pybytes())
    return [csv_path, parquet_path]


def save_figure(fig: Any, path: Path) -> Path:
    """Lay out a matplotlib figure, write it as PNG atomically and close it; returns the path."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_bytes_atomic(path, buf.getvalue())
    return path


def _mean(values: list[float]) -> float:
    """Mean of the finite values (NaN, without a warning, when there are none: infeasible points)."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def plot_study(rows: list[dict[str, Any]], axes: list[GridAxis], path: Path, metric: str = DEFAULT_PLOT_METRIC
               ) -> Path:
    """One panel per PLOT_GROUPS group: a heatmap of `metric` over the first two axes (other axes: the mean over
    their values), or a line over the only axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {list(METRICS)}")
    fig, panels = plt.subplots(1, len(PLOT_GROUPS), figsize=(4.6 * len(PLOT_GROUPS), 4.2), dpi=110, squeeze=False)
    for ax, group in zip(panels[0], PLOT_GROUPS):
        mine = [r for r in rows if r["scope"] == "group" and r["name"] == group]
        if len(axes) == 1:
            a = axes[0]
            ys = [_mean([r[metric] for r in mine if r[a.field] == v]) for v in a.values]
            ax.plot([float(v) if isinstance(v, (int, float)) else i for i, v in enumerate(a.values)], ys, "o-")
            ax.set_xlabel(a.field)
            ax.set_ylabel(metric)
        else:
            ax_y, ax_x = axes[0], axes[1]
            grid = np.array([[_mean([r[metric] for r in mine if r[ax_y.field] == vy and r[ax_x.field] == vx])
                              for vx in ax_x.values] for vy in ax_y.values])
            image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
            ax.set_xticks(range(len(ax_x.values)), [str(v) for v in ax_x.values], rotation=90, fontsize=7)
            ax.set_yticks(range(len(ax_y.values)), [str(v) for v in ax_y.values], fontsize=7)
            ax.set_xlabel(ax_x.field)
            ax.set_ylabel(ax_y.field)
            fig.colorbar(image, ax=ax, fraction=0.046)
            if grid.size <= MAX_ANNOTATED_CELLS:
                for (iy, ix), value in np.ndenumerate(grid):
                    ax.text(ix, iy, "-" if np.isnan(value) else f"{value:.0f}", ha="center", va="center",
                            fontsize=6, color="w")
        joints = ", ".join(JOINT_GROUP_NAMES[group]) if group != "all" else "all 16 joints"
        ax.set_title(f"{metric}\n{group} ({joints})", fontsize=8)
    return save_figure(fig, path)


def pareto_front(points: list[tuple[float, int, float]]) -> list[bool]:
    """Which (device depth, cameras, metric) points no other point beats: no other is at most as deep, has at most
    as many cameras and at least the metric, and is strictly better in one of the three. NaN metrics never are."""
    out = []
    for i, (d, c, m) in enumerate(points):
        if not np.isfinite(m):
            out.append(False)
            continue
        beaten = any(j != i and np.isfinite(m2) and d2 <= d and c2 <= c and m2 >= m and (d2 < d or c2 < c or m2 > m)
                     for j, (d2, c2, m2) in enumerate(points))
        out.append(not beaten)
    return out


def plot_pareto(rows: list[dict[str, Any]], path: Path, metric: str = DEFAULT_PLOT_METRIC) -> Path:
    """Visibility against form factor: per PLOT_GROUPS group, `metric` of every feasible variant against its device
    depth (front-to-rear camera distance, cm), one marker per camera count, the Pareto front joined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, panels = plt.subplots(1, len(PLOT_GROUPS), figsize=(4.6 * len(PLOT_GROUPS), 4.0), dpi=110, squeeze=False)
    for ax, group in zip(panels[0], PLOT_GROUPS):
        mine = [r for r in rows if r["scope"] == "group" and r["name"] == group and r["feasible"]]
        pts = [(r["d_fr_cm"], r["cameras"], r[metric]) for r in mine]
        front = pareto_front(pts)
        for cams, marker in zip(sorted({p[1] for p in pts}), "os^Dv"):
            sel = [p for p in pts if p[1] == cams]
            ax.scatter([p[0] for p in sel], [p[2] for p in sel], s=14, marker=marker, c="tab:gray",
                       label=f"{cams} cameras")
        on = sorted((p for p, f in zip(pts, front) if f), key=lambda p: p[0])
        ax.plot([p[0] for p in on], [p[2] for p in on], "o-", c="tab:red", ms=4, label="Pareto front")
        ax.set_xlabel("device depth: front-to-rear camera distance, cm")
        ax.set_ylabel(metric)
        ax.set_title(f"{group}", fontsize=8)
        ax.legend(fontsize=6)
    return save_figure(fig, path)


def run_study(out: Path, variants: list[tuple[str, RenderConfig, dict[str, Any]]], axes: list[GridAxis],
              clips: int, compute: Callable[[str, RenderConfig], VariantResult], metric: str = DEFAULT_PLOT_METRIC,
              compute_many: Callable[[list[tuple[str, RenderConfig]], Callable], None] | None = None) -> list[Path]:
    """Compute (or reuse from the cache) every variant, then write the study table and pictures.

    variants: (name, config, {axis field: value}) per grid point; compute(name, cfg) labels one variant's clips;
    compute_many(todo, done), when given, labels all uncached variants at once (e.g. on Ray workers) and calls
    done(name, cfg, result) as each finishes (each result is cached at once).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, VariantResult] = {}
    todo = []
    for name, cfg, _ in variants:
        cached = load_cached(out, name, cfg, clips)
        if cached is None:
            todo.append((name, cfg))
        else:
            results[name] = cached
    reused = len(results)

    def done(name: str, cfg: RenderConfig, result: VariantResult) -> None:
        save_cached(out, result, cfg, clips)
        results[name] = result

    if compute_many is not None and todo:
        compute_many(todo, done)
    else:
        for name, cfg in todo:
            done(name, cfg, compute(name, cfg))
    rows: list[dict[str, Any]] = []
    per_view: list[RigVisibility] = []
    for name, cfg, point in variants:
        result = results[name]
        rows += variant_rows(result, point, clips)
        if not result.note:
            per_view.append(RigVisibility(rig=result.rig, views=result.views, visibility=result.visibility,
                                          d_rh_m=result.d_rh_m, d_fr_m=result.d_fr_m))
    if reused:
        log.info("study: %d of %d variants reused from %s", reused, len(variants), out / "variants")
    paths = write_study_tables(rows, axes, out)
    paths.append(plot_study(rows, axes, out / "study.png", metric))
    paths.append(plot_pareto(rows, out / "study_pareto.png", metric))
    if per_view:
        paths.append(write_visibility_csv(per_view, out / "visibility.csv"))
    meta = {"axes": {a.field: list(a.values) for a in axes}, "clips": clips, "variants": len(variants),
            "metrics": list(METRICS), "plot_metric": metric}
    write_bytes_atomic(out / "study.json", (json.dumps(meta, indent=2) + "\n").encode())
    paths.append(out / "study.json")
    return paths
