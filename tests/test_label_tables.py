"""Visibility tables: hand-computed percentages from small arrays, the written CSV / Markdown / PNG files."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from synth.constants import JOINT_INDEX, NUM_JOINTS, VIS_OUTSIDE
from synth.labels.tables import RigVisibility, rig_summaries, visibility_rows, write_visibility_tables

LH, RH, LF = JOINT_INDEX["left_hand"], JOINT_INDEX["right_hand"], JOINT_INDEX["left_foot"]
VIEWS2 = ("front_left", "back_left")


def clip(rig, frames, codes, d_fr_m=None, d_rh_m=None, views=VIEWS2):
    """Visibility (F, V, 16) all 0 (outside) except codes[(view index, joint)] = per-frame list."""
    vis = np.full((frames, len(views), NUM_JOINTS), VIS_OUTSIDE, dtype=np.uint8)
    for (v, j), values in codes.items():
        vis[:, v, j] = values
    return RigVisibility(rig=rig, views=views, visibility=vis, d_fr_m=d_fr_m, d_rh_m=d_rh_m)


@pytest.fixture
def clips():
    return [
        clip("dfr37", 4, {(0, LH): [2, 2, 1, 0], (1, LH): [1, 1, 1, 1], (0, LF): [2] * 4}, 0.37, 0.085),
        clip("dfr37", 6, {(0, LH): [2, 2, 2, 1, 1, 0], (1, LH): [2, 0, 0, 0, 0, 0], (0, LF): [2] * 6}, 0.37, 0.095),
        clip("D-FR 42 cm", 5, {(1, LF): [2, 2, 2, 1, 0]}, None, np.array([0.15])),  # D-FR read from the label
        clip("custom", 2, {(0, RH): [2, 1]}, views=("front_left",)),
    ]


def by_key(rows):
    return {(r["rig"], r["view"], r["joint"]): r for r in rows}


def test_percentages_by_hand(clips):
    rows = by_key(visibility_rows(clips))
    # dfr37 front_left left_hand over 10 frames: 5 visible, 3 occluded, 2 outside.
    r = rows[("dfr37", "front_left", "left_hand")]
    assert (r["pct_visible"], r["pct_occluded"], r["pct_outside"], r["frames"]) == pytest.approx((50, 30, 20, 10))
    r = rows[("dfr37", "back_left", "left_hand")]
    assert (r["pct_visible"], r["pct_occluded"], r["pct_outside"]) == pytest.approx((10, 40, 50))
    assert rows[("dfr37", "front_left", "left_foot")]["pct_visible"] == pytest.approx(100)
    assert rows[("dfr37", "front_left", "right_foot")]["pct_outside"] == pytest.approx(100)
    r = rows[("D-FR 42 cm", "back_left", "left_foot")]
    assert (r["pct_visible"], r["pct_occluded"], r["pct_outside"], r["frames"]) == pytest.approx((60, 20, 20, 5))
    assert rows[("custom", "front_left", "right_hand")]["pct_visible"] == pytest.approx(50)
    assert ("custom", "back_left", "left_hand") not in rows
    assert len(rows) == (2 + 2 + 1) * NUM_JOINTS
    summary = {s["rig"]: s for s in rig_summaries(clips)}
    assert summary["dfr37"]["frames"] == 10 and summary["dfr37"]["clips"] == 2
    assert (summary["dfr37"]["d_rh_min_cm"], summary["dfr37"]["d_rh_max_cm"]) == pytest.approx((8.5, 9.5))
    assert summary["dfr37"]["d_fr_cm"] == pytest.approx(37.0)
    assert summary["D-FR 42 cm"]["d_fr_cm"] == pytest.approx(42.0) and summary["D-FR 42 cm"]["clips"] == 1
    assert summary["custom"]["d_fr_cm"] is None and summary["custom"]["d_rh_min_cm"] is None
    assert summary["custom"]["clips"] is None


def test_files_written(clips, tmp_path):
    paths = write_visibility_tables(clips, tmp_path / "out")
    assert [p.name for p in paths] == ["visibility.csv", "visibility.md", "visibility.png"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["visibility.csv", "visibility.md",
                                                                      "visibility.png"]
    with open(paths[0], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["rig", "view", "joint", "pct_visible", "pct_occluded", "pct_outside", "frames"]
    row = next(r for r in rows if (r["rig"], r["view"], r["joint"]) == ("dfr37", "back_left", "left_hand"))
    assert (float(row["pct_visible"]), float(row["pct_occluded"]), float(row["pct_outside"]), int(row["frames"])) \
        == (10.0, 40.0, 50.0, 10)

    md = paths[1].read_text()
    # Ours / paper Table 2: front rows for every rig, rear rows matched by D-FR; no paper row for an unknown D-FR.
    assert "| dfr37 | front_left | 50.0 / 61.8 | 0.0 / 52.4 | 100.0 / 11.1 | 0.0 / 12.8 |" in md
    assert "| dfr37 | back_left | 10.0 / 25.2 | 0.0 / 14.8 | 0.0 / 14.6 | 0.0 / 12.5 |" in md
    assert "| D-FR 42 cm | back_left | 0.0 / 22.9 | 0.0 / 12.7 | 60.0 / 30.5 | 0.0 / 30.2 |" in md
    assert "| custom | front_left | 0.0 / 61.8 | 50.0 / 52.4 |" in md
    assert "| dfr37 | 2 | 10 | 37.0 | 8.5 to 9.5 | 8-10 |" in md
    assert "| D-FR 42 cm | 1 | 5 | 42.0 | 15.0 | 13-18 |" in md
    assert "| custom | - | 2 | - | - | - |" in md
    assert "| 13-18 cm (42 cm) | back_right | 15.5 | 22.1 | 30.3 | 29.7 |" in md
    assert "rising with D-FR" in md  # rear feet 0 % at 37 cm -> 30 % at 42 cm

    with Image.open(paths[2]) as im:
        assert im.format == "PNG"
        assert im.width >= 600 and im.height >= 500
        pixels = np.asarray(im.convert("L"), dtype=np.float64)
    assert pixels.std() > 20.0  # bars, text and heat grid, not a blank canvas
    assert len(np.unique(pixels)) > 50


def test_rewrite_replaces_files_and_bad_shape_raises(clips, tmp_path):
    write_visibility_tables(clips, tmp_path)
    paths = write_visibility_tables(clips[:1], tmp_path)
    assert "D-FR 42 cm" not in paths[1].read_text()
    assert not list(tmp_path.glob(".*.tmp"))
    bad = RigVisibility("r", VIEWS2, np.zeros((3, 1, NUM_JOINTS), np.uint8))
    with pytest.raises(ValueError, match="visibility must be"):
        visibility_rows([bad])
