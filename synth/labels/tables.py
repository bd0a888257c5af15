"""Visibility tables across rig placements: per view x joint percentages (CSV), the end-effector table beside the
paper's Table 2 (Markdown), and a plot (PNG)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from synth.constants import (
    BACK_VIEWS,
    EGO16_JOINTS,
    END_EFFECTORS,
    FRONT_VIEWS,
    M_TO_CM,
    VIS_OCCLUDED,
    VIS_OUTSIDE,
    VIS_VISIBLE,
)
from synth.io import write_bytes_atomic

CSV_COLUMNS: tuple[str, ...] = ("rig", "view", "joint", "pct_visible", "pct_occluded", "pct_outside", "frames")
#: Column titles of the end-effector table (END_EFFECTORS order).
END_EFFECTOR_TITLES: dict[str, str] = {
    "left_hand": "hand L", "right_hand": "hand R", "left_foot": "foot L", "right_foot": "foot R",
}
#: Akada et al., "Bring Your Rear Cameras for Egocentric 3D Human Pose Estimation", ICCV 2025, Table 2: % of frames
#: with the end effector NOT occluded (synthetic setup, front cameras 5-7 cm from the face). Keys: (D-FR in cm or
#: None for the front views, view) -> (hand L, hand R, foot L, foot R).
PAPER_TABLE2: dict[tuple[float | None, str], tuple[float, float, float, float]] = {
    (None, "front_left"): (61.8, 52.4, 11.1, 12.8),
    (None, "front_right"): (47.6, 65.8, 12.8, 11.2),
    (26.0, "back_left"): (35.0, 8.3, 6.1, 4.6),
    (26.0, "back_right"): (10.3, 27.1, 4.9, 5.3),
    (37.0, "back_left"): (25.2, 14.8, 14.6, 12.5),
    (37.0, "back_right"): (16.2, 25.1, 13.3, 13.1),
    (42.0, "back_left"): (22.9, 12.7, 30.5, 30.2),
    (42.0, "back_right"): (15.5, 22.1, 30.3, 29.7),
}
#: The paper's D-RH (rear cameras to back of head) range per D-FR, cm.
PAPER_D_RH_CM: dict[float, tuple[float, float]] = {26.0: (3.0, 5.0), 37.0: (8.0, 10.0), 42.0: (13.0, 18.0)}
#: A rig is compared with the paper's rows of the nearest D-FR when it is within this distance, cm.
PAPER_D_FR_MATCH_CM = 2.0
#: PNG size (inches) per rig panel column and resolution.
PLOT_PANEL_SIZE_IN = (4.8, 7.6)
PLOT_DPI = 110


@dataclass(frozen=True)
class RigVisibility:
    """Visibility labels of one rig placement (entries with the same `rig` label are aggregated together).

    rig: the rig label, e.g. "D-FR 37 cm".
    views: V view names in the order of the visibility array.
    visibility: (F, V, 16) uint8 codes (0 outside, 1 occluded, 2 visible), EGO16 order; the frames of one clip or
        of many clips concatenated.
    d_rh_m: fitted rear-cameras-to-back-of-head distance per clip, m: a float or a (C,) array (None if unknown).
    d_fr_m: front-to-rear camera distance, m. If None, read from a rig label of the form "D-FR <n> cm" (the
        default label of RigConfig), else unknown.
    """

    rig: str
    views: tuple[str, ...]
    visibility: np.ndarray
    d_rh_m: float | np.ndarray | None = None
    d_fr_m: float | None = None

    def front_to_rear_m(self) -> float | None:
        """D-FR in metres (the field, or parsed from the label), or None."""
        if self.d_fr_m is not None:
            return float(self.d_fr_m)
        match = _D_FR_LABEL.search(self.rig)
        return float(match.group(1)) / M_TO_CM if match else None

    def d_rh_values_m(self) -> np.ndarray:
        """(C,) float64 D-RH values, m (empty if unknown)."""
        if self.d_rh_m is None:
            return np.zeros(0)
        return np.atleast_1d(np.asarray(self.d_rh_m, dtype=np.float64)).ravel()


#: Rig labels like "D-FR 37 cm" carry the front-to-rear distance.
_D_FR_LABEL = re.compile(r"D-FR\s*([0-9]+(?:\.[0-9]+)?)\s*cm")


def _rigs_in_order(entries: Sequence[RigVisibility]) -> list[str]:
    return list(dict.fromkeys(c.rig for c in entries))


def _views_of(entries: Sequence[RigVisibility], rig: str) -> list[str]:
    return list(dict.fromkeys(v for c in entries if c.rig == rig for v in c.views))


def visibility_counts(entries: Sequence[RigVisibility]) -> dict[tuple[str, str], np.ndarray]:
    """Code counts per (rig, view): (16, 3) int64 frames with code 0 / 1 / 2 per joint, summed over the entries."""
    counts: dict[tuple[str, str], np.ndarray] = {}
    for entry in entries:
        vis = np.asarray(entry.visibility)
        if vis.ndim != 3 or vis.shape[1] != len(entry.views) or vis.shape[2] != len(EGO16_JOINTS):
            raise ValueError(
                f"rig {entry.rig}: visibility must be (F, V={len(entry.views)}, {len(EGO16_JOINTS)}), got {vis.shape}"
            )
        for v, view in enumerate(entry.views):
            per_code = np.stack([(vis[:, v] == code).sum(axis=0) for code in (VIS_OUTSIDE, VIS_OCCLUDED, VIS_VISIBLE)],
                                axis=-1)
            key = (entry.rig, view)
            counts[key] = counts.get(key, 0) + per_code.astype(np.int64)
    return counts


def visibility_rows(entries: Sequence[RigVisibility]) -> list[dict]:
    """One row per (rig, view, joint): pct_visible, pct_occluded, pct_outside (% of that view's frames), frames.

    Rigs and views keep their first-appearance order; joints follow EGO16_JOINTS.
    """
    counts = visibility_counts(entries)
    rows = []
    for rig in _rigs_in_order(entries):
        for view in _views_of(entries, rig):
            c = counts[(rig, view)]
            for j, joint in enumerate(EGO16_JOINTS):
                frames = int(c[j].sum())
                pct = 100.0 * c[j] / frames if frames else np.full(3, np.nan)
                rows.append({"rig": rig, "view": view, "joint": joint, "pct_visible": float(pct[VIS_VISIBLE]),
                             "pct_occluded": float(pct[VIS_OCCLUDED]), "pct_outside": float(pct[VIS_OUTSIDE]),
                             "frames": frames})
    return rows


def rig_summaries(entries: Sequence[RigVisibility]) -> list[dict]:
    """Per rig: rig, clips (number of D-RH values, None if unknown), frames, d_fr_cm (mean, or None),
    d_rh_min_cm / d_rh_max_cm (None if unknown)."""
    out = []
    for rig in _rigs_in_order(entries):
        mine = [c for c in entries if c.rig == rig]
        d_fr = [d for d in (c.front_to_rear_m() for c in mine) if d is not None]
        d_rh = np.concatenate([c.d_rh_values_m() for c in mine])
        out.append({
            "rig": rig,
            "clips": int(d_rh.size) if d_rh.size else None,
            "frames": int(sum(np.shape(c.visibility)[0] for c in mine)),
            "d_fr_cm": float(np.mean(d_fr)) * M_TO_CM if d_fr else None,
            "d_rh_min_cm": float(d_rh.min()) * M_TO_CM if d_rh.size else None,
            "d_rh_max_cm": float(d_rh.max()) * M_TO_CM if d_rh.size else None,
        })
    return out


def paper_d_fr_cm(d_fr_cm: float | None) -> float | None:
    """The paper's D-FR (cm) whose rows compare with a rig at d_fr_cm, or None if none is within the match radius."""
    if d_fr_cm is None:
        return None
    best = min(PAPER_D_RH_CM, key=lambda d: abs(d - d_fr_cm))
    return best if abs(best - d_fr_cm) <= PAPER_D_FR_MATCH_CM else None


def paper_row(view: str, d_fr_cm: float | None) -> tuple[float, float, float, float] | None:
    """The paper's Table 2 values for a view of a rig with this D-FR (front views do not depend on it)."""
    if (None, view) in PAPER_TABLE2:
        return PAPER_TABLE2[(None, view)]
    match = paper_d_fr_cm(d_fr_cm)
    return None if match is None else PAPER_TABLE2.get((match, view))


def _pct_visible(rows: Sequence[dict]) -> dict[tuple[str, str, str], float]:
    return {(r["rig"], r["view"], r["joint"]): r["pct_visible"] for r in rows}


def _fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _range_cm(lo: float | None, hi: float | None) -> str:
    if lo is None:
        return "-"
    return f"{lo:.1f}" if f"{lo:.1f}" == f"{hi:.1f}" else f"{lo:.1f} to {hi:.1f}"


def _reading_notes(entries, rows, summaries) -> list[str]:
    """Plain statements comparing our numbers with the paper's two findings (computed, not asserted)."""
    pv = _pct_visible(rows)
    notes = []
    for s in summaries:
        rig = s["rig"]
        views = _views_of(entries, rig)
        front = [pv[(rig, v, j)] for v in views if v in FRONT_VIEWS for j in ("left_hand", "right_hand")]
        rear = [pv[(rig, v, j)] for v in views if v in BACK_VIEWS for j in ("left_hand", "right_hand")]
        if front and rear:
            fewer = np.mean(rear) < np.mean(front)
            notes.append(
                f"- {rig}: hands are visible in {np.mean(front):.1f} % of front-view frames and {np.mean(rear):.1f} % "
                f"of rear-view frames (paper: front 47.6-65.8 %, rear 8.3-35.0 %); rear views see hands "
                + ("less often than front views, as in the paper." if fewer
                   else "at least as often as front views, unlike the paper.")
            )
    rear_feet = []
    for s in summaries:
        feet = [pv[(s["rig"], v, j)] for v in _views_of(entries, s["rig"]) if v in BACK_VIEWS
                for j in ("left_foot", "right_foot")]
        if feet and s["d_fr_cm"] is not None:
            rear_feet.append((s["d_fr_cm"], float(np.mean(feet)), s["rig"]))
    # One rig per distance for the trend (the first listed; variants such as a tilted rear pair are left out).
    first_per_distance: dict[float, tuple[float, float, str]] = {}
    for item in rear_feet:
        first_per_distance.setdefault(item[0], item)
    rear_feet = sorted(first_per_distance.values())
    if len(rear_feet) >= 2:
        trend = " -> ".join(
            f"{feet:.1f} % at D-FR {d:.0f} cm" + ("" if rig.startswith("D-FR") else f" ({rig})")
            for d, feet, rig in rear_feet
        )
        rising = all(b[1] > a[1] for a, b in zip(rear_feet, rear_feet[1:]))
        notes.append(
            f"- Rear-view feet by D-FR: {trend}; {'rising' if rising else 'not rising'} with D-FR "
            f"(paper: 4.6-6.1 % at 26 cm, 12.5-14.6 % at 37 cm, 29.7-30.5 % at 42 cm)."
        )
    notes.append(
        "- Ours: visible = in the image and not occluded by the ray rule of synth/labels/visibility.py, over every "
        "frame of every clip; the paper's bodies (SMPL-X with BEDLAM clothing), motions and exact counting rule "
        "differ, so compare trends rather than single cells."
    )
    return notes


def visibility_markdown(entries: Sequence[RigVisibility], rows: Sequence[dict] | None = None) -> str:
    """The visibility.md text: rigs, the end-effector table (ours / paper Table 2), notes, and every joint."""
    rows = visibility_rows(entries) if rows is None else rows
    summaries = rig_summaries(entries)
    pv = _pct_visible(rows)
    titles = [END_EFFECTOR_TITLES[j] for j in END_EFFECTORS]
    lines = ["# Joint visibility by rig and view", ""]
    lines += [
        "Visible = the joint projects into the image and the camera-to-joint ray is not blocked (visibility code 2).",
        "",
        "## Rigs",
        "",
        "| rig | clips | frames | D-FR (cm) | D-RH measured (cm, min to max) | paper D-RH at that D-FR (cm) |",
        "|---|---|---|---|---|---|",
    ]
    for s in summaries:
        match = paper_d_fr_cm(s["d_fr_cm"])
        paper_rh = "-" if match is None else "{:.0f}-{:.0f}".format(*PAPER_D_RH_CM[match])
        lines.append(f"| {s['rig']} | {s['clips'] if s['clips'] is not None else '-'} | {s['frames']} | "
                     f"{_fmt(s['d_fr_cm'])} | "
                     f"{_range_cm(s['d_rh_min_cm'], s['d_rh_max_cm'])} | {paper_rh} |")
    lines += [
        "",
        "## End effectors: % of frames visible, ours / paper Table 2",
        "",
        "| rig | view | " + " | ".join(titles) + " |",
        "|---|---|" + "---|" * len(titles),
    ]
    by_rig = {s["rig"]: s for s in summaries}
    for rig in _rigs_in_order(entries):
        for view in _views_of(entries, rig):
            paper = paper_row(view, by_rig[rig]["d_fr_cm"])
            cells = [f"{_fmt(pv[(rig, view, j)])} / {_fmt(paper[k]) if paper else '-'}"
                     for k, j in enumerate(END_EFFECTORS)]
            lines.append(f"| {rig} | {view} | " + " | ".join(cells) + " |")
    lines += ["", "## How this compares with the paper", ""] + _reading_notes(entries, rows, summaries)
    lines += [
        "",
        "## Paper Table 2 (Akada et al., ICCV 2025): % of frames with the end effector not occluded",
        "",
        "| D-RH (D-FR) | view | " + " | ".join(titles) + " |",
        "|---|---|" + "---|" * len(titles),
    ]
    for (d_fr, view), values in PAPER_TABLE2.items():
        placement = "(front)" if d_fr is None else "{:.0f}-{:.0f} cm ({:.0f} cm)".format(*PAPER_D_RH_CM[d_fr], d_fr)
        lines.append(f"| {placement} | {view} | " + " | ".join(f"{x:.1f}" for x in values) + " |")
    lines += ["", "## Every joint: % of frames visible", ""]
    for rig in _rigs_in_order(entries):
        views = _views_of(entries, rig)
        lines += [f"### {rig}", "", "| joint | " + " | ".join(views) + " |", "|---|" + "---|" * len(views)]
        for joint in EGO16_JOINTS:
            lines.append(f"| {joint} | " + " | ".join(_fmt(pv[(rig, v, joint)]) for v in views) + " |")
        lines.append("")
    return "\n".join(lines)


def plot_visibility(entries: Sequence[RigVisibility], path: Path, rows: Sequence[dict] | None = None) -> None:
    """Write the PNG: per rig, grouped bars of % visible end effectors per view (paper values as black ticks) above a
    joints x views heat grid of % visible."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = visibility_rows(entries) if rows is None else rows
    pv = _pct_visible(rows)
    rigs = _rigs_in_order(entries)
    by_rig = {s["rig"]: s for s in rig_summaries(entries)}
    fig = Figure(figsize=(PLOT_PANEL_SIZE_IN[0] * len(rigs), PLOT_PANEL_SIZE_IN[1]), dpi=PLOT_DPI)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, len(rigs), height_ratios=(1.0, 1.5), hspace=0.35, wspace=0.35)
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
    image = None
    for col, rig in enumerate(rigs):
        views = _views_of(entries, rig)
        s = by_rig[rig]
        ax = fig.add_subplot(grid[0, col])
        width = 0.8 / max(len(views), 1)
        x = np.arange(len(END_EFFECTORS))
        for k, view in enumerate(views):
            offset = (k - (len(views) - 1) / 2.0) * width
            values = [pv[(rig, view, j)] for j in END_EFFECTORS]
            ax.bar(x + offset, values, width, color=colours[k % len(colours)], label=view)
            paper = paper_row(view, s["d_fr_cm"])
            if paper is not None:
                ax.scatter(x + offset, paper, marker="_", s=120, color="black", zorder=3,
                           label="paper Table 2" if k == 0 else None)
        ax.set_xticks(x, [END_EFFECTOR_TITLES[j] for j in END_EFFECTORS])
        ax.set_ylim(0, 100)
        ax.set_ylabel("% of frames visible")
        title = rig if s["d_fr_cm"] is None or "D-FR" in rig else f"{rig}: D-FR {s['d_fr_cm']:.0f} cm"
        if s["d_rh_min_cm"] is not None:
            title += f", D-RH {_range_cm(s['d_rh_min_cm'], s['d_rh_max_cm'])} cm"
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6, loc="upper right")
        heat = np.array([[pv[(rig, v, j)] for v in views] for j in EGO16_JOINTS])
        axh = fig.add_subplot(grid[1, col])
        image = axh.imshow(heat, vmin=0, vmax=100, cmap="viridis", aspect="auto")
        axh.set_xticks(range(len(views)), views, rotation=30, fontsize=7)
        axh.set_yticks(range(len(EGO16_JOINTS)), EGO16_JOINTS, fontsize=7)
        for (j, v), value in np.ndenumerate(heat):
            if np.isfinite(value):
                axh.text(v, j, f"{value:.0f}", ha="center", va="center", fontsize=6,
                         color="white" if value < 50 else "black")
        axh.set_title("% visible per joint", fontsize=9)
    if image is not None:
        fig.colorbar(image, ax=fig.axes[-1], fraction=0.05)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    write_bytes_atomic(Path(path), buffer.getvalue())


def write_visibility_csv(rigs: Sequence[RigVisibility], path, rows: list[dict] | None = None) -> Path:
    """visibility.csv (CSV_COLUMNS, one row per rig, view and joint), written atomically; returns its path."""
    rows = visibility_rows(rigs) if rows is None else rows
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{row[k]:.3f}" if k.startswith("pct_") else row[k]) for k in CSV_COLUMNS})
    write_bytes_atomic(Path(path), text.getvalue().encode("utf-8"))
    return Path(path)


def write_visibility_tables(rigs: Sequence[RigVisibility], out_dir) -> list[Path]:
    """Write visibility.csv, visibility.md and visibility.png into out_dir (atomically); returns their paths."""
    if not rigs:
        raise ValueError("write_visibility_tables needs at least one RigVisibility")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = visibility_rows(rigs)
    paths = [write_visibility_csv(rigs, out / "visibility.csv", rows), out / "visibility.md", out / "visibility.png"]
    write_bytes_atomic(paths[1], visibility_markdown(rigs, rows).encode("utf-8"))
    plot_visibility(rigs, paths[2], rows)
    return paths
