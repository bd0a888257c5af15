"""Motion mix against the paper's Table 2: per-view end-effector visibility of the default mix at D-FR 26/37/42 cm.

Labels only (no renderer): the clips of a config (its motion families, weights and gaze overlay, bodies, clothing)
are worn with the sweep's rigs at D-FR 26, 37 and 42 cm, and every hand and foot cell of our Table 2 is compared
with the paper's. The goal: at 37 and 42 cm every cell within --tolerance points (10) of the paper's and the
orderings the paper reports hold there (own-side hand > other hand per view, front > rear per hand, rear feet
rising and rear hands not rising from 37 to 42 cm); the 26 cm trends are printed beside it.
Writes bench/results/motion_mix.json and prints a Markdown table.

    python bench/motion_mix.py [--clips 300] [--seed 11]

`--fit` instead measures every family alone (--fit-clips clips each, with the config's gaze overlay) and solves a
linear programme for the family weights that minimise the largest deviation from the paper over the 37 and 42 cm
cells (each weight >= --min-weight, plus any --require FAMILY=W floors); it prints the weights as YAML for the
config's motion.weights and writes bench/results/motion_mix_fit.json.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_result  # noqa: E402

SWEEP = REPO / "render_configs" / "sweeps" / "rig_distance.yaml"
#: The sweep's variants compared with the paper (D-FR cm -> variant name).
RIGS = {26.0: "dfr26", 37.0: "dfr37", 42.0: "dfr42"}
#: The distances the goal is checked at.
GOAL_D_FR_CM = (37.0, 42.0)
END_EFFECTORS = ("left_hand", "right_hand", "left_foot", "right_foot")


def table2_cells(config: Path, clips: int, seed: int | None, families=None, weights=None) -> dict:
    """{(D-FR cm, view): (4,) % of frames visible (hand L, hand R, foot L, foot R)} over `clips` clips."""
    from synth.config import load_config, load_sweep
    from synth.constants import EGO16_JOINTS, VIS_VISIBLE
    from synth.studies.visibility import VariantLabeler

    overrides: dict = {} if seed is None else {"seed": seed}
    if families is not None:
        overrides["motion"] = {"families": list(families), "weights": weights}
    base = load_config(config, overrides=overrides)
    _, variants = load_sweep(SWEEP)
    by_name = dict(variants)
    labeler = VariantLabeler(config.resolve().parent)
    joints = [EGO16_JOINTS.index(j) for j in END_EFFECTORS]
    cells = {}
    for d_fr, name in RIGS.items():
        cfg = base.model_copy(update={"rig": by_name[name].rig})
        result = labeler.label(name, cfg, clips)
        if result.note:
            raise SystemExit(f"{name}: {result.note}")
        pct = 100.0 * (result.visibility[:, :, joints] == VIS_VISIBLE).mean(axis=0)  # (V, 4)
        for v, view in enumerate(result.views):
            cells[(d_fr, view)] = pct[v]
    return cells


def paper_cells() -> dict:
    from synth.labels.tables import PAPER_TABLE2

    out = {}
    for d_fr in RIGS:
        for view in ("front_left", "front_right", "back_left", "back_right"):
            key = (None, view) if view.startswith("front") else (d_fr, view)
            out[(d_fr, view)] = np.array(PAPER_TABLE2[key])
    return out


def orderings(cells: dict) -> list[tuple[str, bool]]:
    """The paper's orderings, each with whether our cells keep it."""
    checks = []
    for d in GOAL_D_FR_CM:
        for view, own, other in (("front_left", 0, 1), ("front_right", 1, 0), ("back_left", 0, 1),
                                 ("back_right", 1, 0)):
            c = cells[(d, view)]
            checks.append((f"D-FR {d:.0f}: {view} sees its own-side hand more often than the other", c[own] > c[other]))
        for hand in (0, 1):
            front = max(cells[(d, "front_left")][hand], cells[(d, "front_right")][hand])
            rear = max(cells[(d, "back_left")][hand], cells[(d, "back_right")][hand])
            checks.append((f"D-FR {d:.0f}: {END_EFFECTORS[hand]} is seen more often from the front than from the rear",
                           front > rear))
    rear_feet = {d: np.mean([cells[(d, v)][2:] for v in ("back_left", "back_right")]) for d in RIGS}
    rear_hands = {d: np.mean([cells[(d, "back_left")][0], cells[(d, "back_right")][1]]) for d in RIGS}
    near, far = GOAL_D_FR_CM
    checks.append((f"rear-view feet rise with D-FR ({near:.0f} < {far:.0f} cm)", rear_feet[near] < rear_feet[far]))
    checks.append((f"rear-view own-side hands do not rise with D-FR ({near:.0f} >= {far:.0f} cm)",
                   rear_hands[near] >= rear_hands[far]))
    return checks


def rig_26_notes(cells: dict) -> list[str]:
    """The 26 cm trends, reported but not part of the goal: the shipped 26 cm rig drops its rear pair 10 cm
    (rig.rear_drop_m) so that it clears the head, which the paper's helmet does otherwise."""
    feet = {d: np.mean([cells[(d, v)][2:] for v in ("back_left", "back_right")]) for d in RIGS}
    hands = {d: np.mean([cells[(d, "back_left")][0], cells[(d, "back_right")][1]]) for d in RIGS}
    return [f"rear-view feet {feet[26.0]:.1f} % at 26 cm (paper 4.6-6.1), own-side hands {hands[26.0]:.1f} % "
            f"(paper 27.1-35.0; ours at 37 cm {hands[37.0]:.1f} %)"]


def markdown(cells: dict, paper: dict, tolerance: float) -> str:
    lines = ["| D-FR | view | hand L | hand R | foot L | foot R |", "|---|---|---|---|---|---|"]
    for d in RIGS:
        for view in ("front_left", "front_right", "back_left", "back_right"):
            if view.startswith("front") and d != GOAL_D_FR_CM[0]:
                continue  # front views do not depend on D-FR
            ours, ref = cells[(d, view)], paper[(d, view)]
            marks = ["" if d not in GOAL_D_FR_CM or abs(a - b) <= tolerance else " !" for a, b in zip(ours, ref)]
            row = " | ".join(f"{a:.1f} ({b:.1f}){m}" for a, b, m in zip(ours, ref, marks))
            lines.append(f"| {'any' if view.startswith('front') else f'{d:.0f} cm'} | {view} | {row} |")
    return "\n".join(lines)


def fit_weights(per_family: dict[str, dict], paper: dict, min_weight: float, require: dict[str, float]):
    """Family weights (sum 1) minimising the largest |mix - paper| over the goal cells (scipy linprog)."""
    from scipy.optimize import linprog

    names = list(per_family)
    keys = [k for k in paper if k[0] in GOAL_D_FR_CM and not (k[1].startswith("front") and k[0] != GOAL_D_FR_CM[0])]
    A = np.array([[per_family[n][k][i] for n in names] for k in keys for i in range(4)])  # (cells, families)
    b = np.array([paper[k][i] for k in keys for i in range(4)])
    n = len(names)
    # Variables: w (n), t. Minimise t subject to A w - b <= t, b - A w <= t, sum w = 1, bounds.
    c = np.r_[np.zeros(n), 1.0]
    A_ub = np.block([[A, -np.ones((len(b), 1))], [-A, -np.ones((len(b), 1))]])
    b_ub = np.r_[b, -b]
    bounds = [(max(min_weight, require.get(name, 0.0)), 1.0) for name in names] + [(0.0, None)]
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=np.r_[np.ones(n), 0.0][None], b_eq=[1.0], bounds=bounds)
    if not res.success:
        raise SystemExit(f"weight fit failed: {res.message}")
    return dict(zip(names, res.x[:n])), float(res.x[n])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=REPO / "render_configs" / "default.yaml")
    p.add_argument("--clips", type=int, default=300)
    p.add_argument("--seed", type=int, default=11, help="config seed of the measured clips (not the config's own)")
    p.add_argument("--tolerance", type=float, default=10.0, help="points a goal cell may differ from the paper's")
    p.add_argument("--fit", action="store_true", help="fit the family weights instead (see the module docstring)")
    p.add_argument("--fit-clips", type=int, default=40)
    p.add_argument("--min-weight", type=float, default=0.02)
    p.add_argument("--require", action="append", default=[], metavar="FAMILY=W", help="a weight floor")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    paper = paper_cells()
    t0 = time.perf_counter()
    if args.fit:
        from synth.motions.procedural import FAMILIES

        per_family = {}
        for family in FAMILIES:
            per_family[family] = table2_cells(args.config, args.fit_clips, args.seed, families=[family])
            print(f"{family}: measured ({time.perf_counter() - t0:.0f} s)", flush=True)
        require = {k: float(v) for k, v in (r.split("=", 1) for r in args.require)}
        weights, worst = fit_weights(per_family, paper, args.min_weight, require)
        mix = {k: sum(weights[f] * per_family[f][k] for f in FAMILIES) for k in paper}
        print(markdown(mix, paper, args.tolerance))
        print(f"\nlargest deviation of the fitted mix over the goal cells: {worst:.1f} points\nweights:")
        for f in FAMILIES:
            print(f"    {f}: {weights[f]:.3f}")
        path = write_result("motion_mix_fit", {
            "config": str(args.config), "fit_clips": args.fit_clips, "seed": args.seed, "weights": weights,
            "largest_deviation_points": worst,
            "per_family": {f: {f"{d:.0f}|{v}": c.tolist() for (d, v), c in cells.items()}
                           for f, cells in per_family.items()},
            "seconds": time.perf_counter() - t0})
        print(f"wrote {path}")
        return 0
    cells = table2_cells(args.config, args.clips, args.seed)
    goal = [abs(cells[k][i] - paper[k][i]) for k in paper if k[0] in GOAL_D_FR_CM for i in range(4)]
    checks = orderings(cells)
    print(markdown(cells, paper, args.tolerance))
    print(f"\nours (paper); '!' marks a goal cell more than {args.tolerance:g} points away. "
          f"Largest deviation at D-FR 37/42 cm: {max(goal):.1f} points; mean {np.mean(goal):.1f}.")
    for text, ok in checks:
        print(f"  [{'ok' if ok else 'NO'}] {text}")
    notes = rig_26_notes(cells)
    print("  D-FR 26 cm (not part of the goal: the shipped rig drops its rear pair 10 cm): " + "; ".join(notes))
    met = max(goal) <= args.tolerance and all(ok for _, ok in checks)
    print(f"goal {'met' if met else 'NOT met'} ({time.perf_counter() - t0:.0f} s, {args.clips} clips)")
    path = write_result("motion_mix", {
        "config": str(args.config), "clips": args.clips, "seed": args.seed, "tolerance_points": args.tolerance,
        "cells": {f"{d:.0f}|{v}": c.tolist() for (d, v), c in cells.items()},
        "paper": {f"{d:.0f}|{v}": c.tolist() for (d, v), c in paper.items()},
        "largest_goal_deviation_points": max(goal), "mean_goal_deviation_points": float(np.mean(goal)),
        "orderings": [{"check": t, "holds": bool(ok)} for t, ok in checks], "goal_met": bool(met),
        "notes_26cm": notes,
        "seconds": time.perf_counter() - t0})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
