"""`synth rig optimize`: search camera placements inside a mount envelope (any numeric config fields, each within
bounds: the form-factor limit) for the best value of a placement metric, by seeded differential evolution
(scipy.optimize). Every evaluated placement is cached like a study's grid point, so a killed search resumes: the
same seed proposes the same placements and the cached ones cost nothing."""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from synth.config import config_loader
from synth.constants import JOINT_GROUPS
from synth.errors import ConfigError
from synth.grid import field_value, point_name, point_overrides
from synth.io import write_bytes_atomic
from synth.studies.metrics import METRICS, group_metrics, joint_metrics
from synth.studies.study import load_cached, save_cached, save_figure
from synth.studies.visibility import VariantLabeler

log = logging.getLogger(__name__)

#: Placements are rounded to this many decimals before evaluation (cache keys and configs stay readable).
PARAM_DECIMALS = 4
#: Differential evolution's population per searched parameter.
POPULATION_PER_PARAM = 5
#: History columns after the parameter fields.
HISTORY_COLUMNS: tuple[str, ...] = ("evaluation", "variant", "value", "best_so_far", "feasible", "note")


@dataclass(frozen=True)
class SearchParam:
    """One searched config field and its bounds (the mount envelope / form-factor limit)."""

    field: str
    low: float
    high: float


def parse_param(text: str) -> SearchParam:
    """`FIELD=LOW:HIGH`, e.g. rig.rear_drop_m=0:0.08."""
    field, sep, rest = text.partition("=")
    parts = rest.split(":")
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        low = high = float("nan")
    if not sep or not field.strip() or len(parts) != 2 or not (math.isfinite(low) and math.isfinite(high)) \
            or high <= low:
        raise ConfigError("--param", text, "expected FIELD=LOW:HIGH with LOW < HIGH, e.g. rig.rear_drop_m=0:0.08")
    return SearchParam(field.strip(), low, high)


class Objective:
    """The metric of one placement: labels its clips (or reads its cache) and records the history."""

    def __init__(self, config: Path, params: list[SearchParam], metric: str, group: str, clips: int, out: Path):
        self.config, self.params, self.metric, self.group, self.clips, self.out = \
            config, params, metric, group, clips, out
        self.load = config_loader(config)
        self.labeler = VariantLabeler(config.resolve().parent)
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None

    def evaluate(self, point: dict[str, Any], name: str | None = None) -> float:
        """The metric at `point` ({field: value}); NaN when the placement is infeasible."""
        name = name or point_name(point)
        note = ""
        try:
            cfg = self.load(point_overrides(point) if point else None)
        except ConfigError as exc:
            cfg, note = None, exc.problem
        value = float("nan")
        if cfg is not None:
            result = load_cached(self.out, name, cfg, self.clips)
            if result is None:
                result = self.labeler.label(name, cfg, self.clips)
                save_cached(self.out, result, cfg, self.clips)
            note = result.note
            if not note:
                value = group_metrics(joint_metrics(result.visibility, result.rear))[self.group][self.metric]
        row = {**{p.field: point.get(p.field) for p in self.params}, "evaluation": len(self.history),
               "variant": name, "value": value, "feasible": not note, "note": note}
        if not note and (self.best is None or value > self.best["value"]):
            self.best = row
        row["best_so_far"] = self.best["value"] if self.best else float("nan")
        self.history.append(row)
        return value

    def __call__(self, x: np.ndarray) -> float:
        """Differential evolution minimises: minus the metric, and +inf for an infeasible placement."""
        point = {p.field: round(float(v), PARAM_DECIMALS) for p, v in zip(self.params, x)}
        value = self.evaluate(point)
        return -value if math.isfinite(value) else math.inf


def optimize_rig(config: Path, params: list[SearchParam], metric: str, group: str, clips: int, budget: int,
                 seed: int, out: Path) -> dict[str, Any]:
    """Search the placements; write best.yaml, history.csv, history.png and summary.json into `out`.

    budget: placements to evaluate besides the starting config (rounded to whole generations).
    Returns the summary: baseline (the config as given) and best value, the gain in points, the best placement.
    """
    from scipy.optimize import differential_evolution

    if metric not in METRICS:
        raise ConfigError("synth rig optimize", "--metric", f"unknown metric {metric!r}; choose one of {list(METRICS)}")
    if group not in JOINT_GROUPS:
        raise ConfigError("synth rig optimize", "--group", f"unknown group {group!r}; choose one of "
                          f"{list(JOINT_GROUPS)}")
    if len({p.field for p in params}) != len(params) or not params:
        raise ConfigError("synth rig optimize", "--param", "give each searched field once (at least one)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    objective = Objective(Path(config), params, metric, group, clips, out)
    baseline = objective.evaluate({}, name="baseline")
    base_data = objective.load().model_dump(mode="json")
    x0 = []
    for p in params:
        try:
            value = field_value(base_data, p.field)
            if value is None:  # unset (e.g. rig.rear_baseline_m: the front's): start from the envelope's middle
                value = (p.low + p.high) / 2
            if isinstance(value, bool):
                raise TypeError(p.field)
            x0.append(min(max(float(value), p.low), p.high))
        except (KeyError, TypeError, ValueError):
            raise ConfigError(str(config), p.field, "not a numeric field of this config; search numeric fields "
                              "such as rig.front_to_rear_m") from None
    popsize = POPULATION_PER_PARAM
    per_generation = popsize * len(params)
    maxiter = max(0, budget // per_generation - 1)
    differential_evolution(objective, bounds=[(p.low, p.high) for p in params], seed=seed, popsize=popsize,
                           maxiter=maxiter, polish=False, x0=np.array(x0), tol=0.0, init="latinhypercube")
    best = objective.best
    summary = {
        "config": str(config), "metric": metric, "group": group, "clips": clips, "seed": seed,
        "evaluations": len(objective.history), "envelope": {p.field: [p.low, p.high] for p in params},
        "baseline": baseline, "best": best["value"] if best else None,
        "gain_points": (best["value"] - baseline) if best and math.isfinite(baseline) else None,
        "best_placement": {p.field: best[p.field] for p in params} if best and best["variant"] != "baseline"
        else {},
    }
    _write_outputs(objective, summary, Path(config), out)
    return summary


def _write_outputs(objective: Objective, summary: dict[str, Any], config: Path, out: Path) -> None:
    fields = [p.field for p in objective.params]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields + list(HISTORY_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in objective.history:
        writer.writerow({k: (f"{row[k]:.4f}" if isinstance(row[k], float) else row[k]) for k in writer.fieldnames})
    write_bytes_atomic(out / "history.csv", text.getvalue().encode())
    if summary["best"] is None:
        return  # nothing feasible: the caller says so
    overrides = point_overrides(summary["best_placement"]) if summary["best_placement"] else {}
    if overrides:
        overrides["rig"]["name"] = f"optimized ({summary['group']} {summary['metric']})"
    best_yaml = {"base": str(config.resolve()), **overrides}
    header = (f"# synth rig optimize: {summary['group']} {summary['metric']} = {summary['best']:.2f} "
              f"(the base config: {summary['baseline']:.2f}), {summary['clips']} clips, seed {summary['seed']}\n")
    write_bytes_atomic(out / "best.yaml", (header + yaml.safe_dump(best_yaml, sort_keys=False)).encode())
    write_bytes_atomic(out / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    _plot_history(objective, summary, out / "history.png")


def _plot_history(objective: Objective, summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = objective.history
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ok = [r for r in rows if r["feasible"]]
    ax.scatter([r["evaluation"] for r in ok], [r["value"] for r in ok], s=10, c="tab:gray", label="placement")
    ax.plot([r["evaluation"] for r in rows], [r["best_so_far"] for r in rows], c="tab:red", label="best so far")
    ax.axhline(summary["baseline"], c="tab:blue", ls="--", lw=1, label="the base config")
    bad = [r["evaluation"] for r in rows if not r["feasible"]]
    if bad:
        ax.scatter(bad, [summary["baseline"]] * len(bad), marker="x", c="k", s=14, label="infeasible")
    ax.set_xlabel("evaluation")
    ax.set_ylabel(f"{summary['group']} {summary['metric']}")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def add_optimize_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="the starting config (its rig is the baseline)")
    p.add_argument("--param", action="append", required=True, metavar="FIELD=LOW:HIGH",
                   help="a searched numeric field and its bounds (repeat; the bounds are the mount envelope)")
    p.add_argument("--metric", default="pct_visible_two_views", help="metric to maximise (docs/placement.md)")
    p.add_argument("--group", default="all", help="joint group the metric is averaged over (e.g. hands, feet)")
    p.add_argument("--clips", type=int, default=20)
    p.add_argument("--budget", type=int, default=60, help="placements to evaluate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)


def cmd_rig_optimize(args: argparse.Namespace) -> int:
    if args.clips < 1 or args.budget < 1:
        raise ConfigError("synth rig optimize", "--clips/--budget", "must be >= 1")
    summary = optimize_rig(Path(args.config), [parse_param(t) for t in args.param], args.metric, args.group,
                           args.clips, args.budget, args.seed, Path(args.out))
    gain = summary["gain_points"]
    if summary["best"] is None:
        raise ConfigError("synth rig optimize", "--param", "every evaluated placement was infeasible (see "
                          f"{Path(args.out) / 'history.csv'}); widen the bounds or give the rig more room")
    change = "the base config was infeasible" if gain is None else f"{'+' if gain >= 0 else ''}{gain:.2f} points"
    print(f"{summary['group']} {summary['metric']}: base config {summary['baseline']:.2f}, best "
          f"{summary['best']:.2f} ({change}) after {summary['evaluations']} evaluations; best placement "
          f"{summary['best_placement'] or 'the base config'}")
    print(f"wrote {Path(args.out) / 'best.yaml'}, history.csv, history.png, summary.json")
    return 0
