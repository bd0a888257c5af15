"""Placement studies: grid axes over any config field, the placement metrics, and `synth visibility --grid` end to
end (study.csv / study.parquet / study.png, resume after an interruption, infeasible placements as rows)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synth.config import load_grid, load_sweep
from synth.constants import (
    EGO16_JOINTS, JOINT_GROUPS, JOINT_INDEX, OCC_BODY, OCC_GARMENT, OCC_NONE, OCC_SCENE, VIS_OCCLUDED, VIS_OUTSIDE,
    VIS_VISIBLE,
)
from synth.errors import ConfigError
from synth.grid import grid_points, parse_axis, point_name
from synth.studies.metrics import METRICS, joint_metrics

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "render_configs" / "default.yaml"


def test_axes_parse_ranges_and_lists():
    axis = parse_axis("rig.front_to_rear_m=0.24:0.50:0.02")
    assert axis.field == "rig.front_to_rear_m" and axis.short == "front_to_rear_m"
    assert len(axis.values) == 14 and axis.values[0] == 0.24 and axis.values[-1] == 0.5
    assert axis.values[3] == 0.3  # rounded, not 0.30000000000000004
    assert parse_axis("rig.rear_pitch_deg=0,10,20,30").values == (0, 10, 20, 30)
    assert parse_axis("rig.mount_anchor=face,back_of_head").values == ("face", "back_of_head")
    points = grid_points([parse_axis("a.x=1,2"), parse_axis("b.y=3,4,5")])
    assert points[:2] == [{"a.x": 1, "b.y": 3}, {"a.x": 1, "b.y": 4}] and len(points) == 6
    assert point_name({"rig.front_to_rear_m": 0.26, "rig.rear_pitch_deg": 10}) == \
        "front_to_rear_m=0.26,rear_pitch_deg=10"
    assert point_name({"rig.x": 1, "body.x": 2}) == "rig.x=1,body.x=2"


@pytest.mark.parametrize("text, needle", [
    ("rig.front_to_rear_m", "expected FIELD=START:STOP:STEP or FIELD=A,B,C"),
    ("rig.front_to_rear_m=0.5:0.2:0.1", "needs STEP > 0 and STOP >= START"),
    ("rig.front_to_rear_m=a:b:c", "must be START:STOP:STEP numbers"),
    ("rig.front_to_rear_m=0:1:0.00001", "widen STEP"),
    ("rig.rear_pitch_deg=10,10", "repeated values"),
])
def test_bad_axes_fail_in_one_line(text, needle):
    with pytest.raises(ConfigError) as err:
        parse_axis(text)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_grid_points_become_validated_configs_with_their_own_rig_names():
    variants = load_grid(DEFAULT, [parse_axis("rig.front_to_rear_m=0.30,0.42"), parse_axis("rig.rear_drop_m=0,0.05")])
    assert [n for n, _ in variants] == ["front_to_rear_m=0.3,rear_drop_m=0", "front_to_rear_m=0.3,rear_drop_m=0.05",
                                        "front_to_rear_m=0.42,rear_drop_m=0", "front_to_rear_m=0.42,rear_drop_m=0.05"]
    cfg = variants[3][1]
    assert cfg.rig.front_to_rear_m == 0.42 and cfg.rig.rear_drop_m == 0.05 and cfg.rig.name == variants[3][0]
    with pytest.raises(ConfigError, match=r"grid point front_to_rea=0.3\).*rig.*front_to_rea"):
        load_grid(DEFAULT, [parse_axis("rig.front_to_rea=0.3")])
    with pytest.raises(ConfigError, match=r"grid point front_to_rear_m=5\).*rig.front_to_rear_m"):
        load_grid(DEFAULT, [parse_axis("rig.front_to_rear_m=5")])
    with pytest.raises(ConfigError, match="given twice"):
        load_grid(DEFAULT, [parse_axis("rig.yaw_deg=0"), parse_axis("rig.yaw_deg=5")])


def test_sweep_files_take_a_grid(tmp_path):
    sweep = tmp_path / "grid.yaml"
    sweep.write_text(f"name: g\nbase: {DEFAULT}\ngrid:\n  rig.front_to_rear_m: '0.30:0.34:0.02'\n"
                     "  rig.rear_pitch_deg: [0, 20]\n")
    spec, variants = load_sweep(sweep)
    assert len(variants) == 6 and [a.field for a in spec.grid_axes(str(sweep))] == ["rig.front_to_rear_m",
                                                                                   "rig.rear_pitch_deg"]
    assert variants[5][1].rig.front_to_rear_m == 0.34 and variants[5][1].rig.rear_pitch_deg == 20
    both = tmp_path / "both.yaml"
    both.write_text(f"base: {DEFAULT}\ngrid: {{rig.yaw_deg: [0]}}\nvariants: [{{name: a}}]\n")
    with pytest.raises(ConfigError, match="give either 'variants'.*or 'grid'"):
        load_sweep(both)
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base: {DEFAULT}\ngrid: {{rig.yaw_deg: [0, 200]}}\n")
    with pytest.raises(ConfigError, match=r"variant 'yaw_deg=200'.*grid point: rig.yaw_deg"):
        load_sweep(bad)


def test_joint_metrics_on_hand_made_frames():
    # 4 frames, views (front_left, front_right, back_left, back_right); only the left hand is set, other joints out.
    V, O, X = VIS_VISIBLE, VIS_OCCLUDED, VIS_OUTSIDE
    vis = np.full((4, 4, 16), X, np.uint8)
    hand = JOINT_INDEX["left_hand"]
    vis[:, :, hand] = [[V, V, X, X],   # both front views
                       [X, O, V, X],   # the rear view only
                       [O, O, O, X],   # in image, occluded everywhere
                       [X, X, X, X]]   # outside every image
    m = joint_metrics(vis, np.array([False, False, True, True]))
    assert set(m) == set(METRICS)
    assert m["pct_visible_any_view"][hand] == 50.0
    assert m["pct_visible_two_views"][hand] == 25.0
    assert m["pct_visible_any_front"][hand] == 25.0
    assert m["rear_gain_pts"][hand] == 25.0
    assert m["pct_in_image_occluded"][hand] == 25.0
    assert m["pct_outside_all_views"][hand] == 25.0
    other = JOINT_INDEX["head"]
    assert m["pct_outside_all_views"][other] == 100.0 and m["pct_visible_any_view"][other] == 0.0
    with pytest.raises(ValueError, match="visibility must be"):
        joint_metrics(vis[:, :3], np.array([False, False, True, True]))
    assert np.isnan(m["apparent_size_px"]).all() and np.isnan(m["pct_view_occluded_body"]).all()


def test_occluder_kinds_and_apparent_size_metrics_on_hand_made_frames():
    V, O, X = VIS_VISIBLE, VIS_OCCLUDED, VIS_OUTSIDE
    vis = np.full((2, 4, 16), X, np.uint8)
    occ = np.zeros((2, 4, 16), np.uint8)
    size = np.full((2, 4, 16), np.nan, np.float32)
    hand = JOINT_INDEX["left_hand"]
    vis[:, :, hand] = [[V, O, O, X], [O, V, V, O]]  # 7 (frame, view) pairs in the image, 3 visible
    occ[:, :, hand] = [[OCC_NONE, OCC_BODY, OCC_GARMENT, OCC_NONE], [OCC_SCENE, OCC_NONE, OCC_NONE, OCC_BODY]]
    size[:, :, hand] = [[40.0, 99.0, 99.0, np.nan], [99.0, 10.0, 20.0, 99.0]]  # only visible pairs count
    m = joint_metrics(vis, np.array([False, False, True, True]), occ, size)
    assert m["pct_view_occluded_body"][hand] == pytest.approx(200 / 7)
    assert m["pct_view_occluded_garment"][hand] == pytest.approx(100 / 7)
    assert m["pct_view_occluded_scene"][hand] == pytest.approx(100 / 7)
    assert m["apparent_size_px"][hand] == 20.0  # median of 40, 10, 20
    assert np.isnan(m["apparent_size_px"][JOINT_INDEX["head"]])  # never visible


def test_apparent_size_matches_opencv_fisheye_projection():
    """Square roots of the image areas of 10 cm squares facing the camera, projected by OpenCV's fisheye model
    (equidistant with zero distortion) with a square basis of its own, agree with apparent_size_px."""
    import cv2

    from synth.geometry.lenses import EquidistantLens
    from synth.labels.projection import apparent_size_px

    size, fov = 256, np.radians(190.0)
    lens = EquidistantLens(width=size, height=size, fov_rad=fov)
    f = (size / 2) / (fov / 2)  # px per radian
    K = np.array([[f, 0.0, size / 2 - 0.5], [0.0, f, size / 2 - 0.5], [0.0, 0.0, 1.0]])
    rng = np.random.default_rng(0)
    theta = rng.uniform(0.0, np.radians(75.0), 40)
    phi = rng.uniform(-np.pi, np.pi, 40)
    dist = rng.uniform(0.3, 1.5, 40)
    rays = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], -1)
    points = (dist[:, None] * rays).reshape(40, 1, 1, 3)
    ours = apparent_size_px(points, [lens])[:, 0, 0]
    ref = []
    for p, r in zip(points[:, 0, 0], rays):
        a = np.cross(r, [0.0, 1.0, 0.0])  # another basis of the square's plane than the library's
        a /= np.linalg.norm(a)
        b = np.cross(r, a)
        corners = np.array([p + 0.05 * a, p - 0.05 * a, p + 0.05 * b, p - 0.05 * b])
        uv, _ = cv2.fisheye.projectPoints(corners[None], np.zeros(3), np.zeros(3), K, np.zeros(4))
        uv = uv[0]
        da, db = uv[0] - uv[1], uv[2] - uv[3]
        ref.append(np.sqrt(abs(da[0] * db[1] - da[1] * db[0])))
    assert np.allclose(ours, ref, rtol=0.01)
    # On the axis at distance d the square spans 2 atan(0.05 / d) rad each way.
    on_axis = apparent_size_px(np.array([[[[0.0, 0.0, 0.5]]]]), [lens])[0, 0, 0]
    assert on_axis == pytest.approx(2 * f * np.arctan(0.05 / 0.5), rel=1e-6)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def synth(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synth.cli", *args], capture_output=True, text=True, cwd=REPO)


def test_grid_study_end_to_end_resumes_and_keeps_infeasible_points(tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "study"
    grid = ["--grid", "rig.front_to_rear_m=0.10,0.37", "--grid", "rig.rear_drop_m=0,0.05"]
    args = ["visibility", "--config", str(DEFAULT), *grid, "--clips", "2", "--out", str(out)]
    first = synth(*args)
    assert first.returncode == 0, first.stderr
    rows = read_csv(out / "study.csv")
    per_variant = len(EGO16_JOINTS) + len(JOINT_GROUPS)
    assert len(rows) == 4 * per_variant
    assert list(rows[0])[:2] == ["rig.front_to_rear_m", "rig.rear_drop_m"]
    # 10 cm from front to rear puts the rear pair inside every head: an infeasible row that says why.
    short = [r for r in rows if r["rig.front_to_rear_m"] == "0.1000"]
    assert short and all(r["feasible"] == "False" and "cannot clear it all" in r["note"] for r in short)
    assert all(r["pct_visible_any_view"] == "nan" for r in short)
    ok = [r for r in rows if r["rig.front_to_rear_m"] == "0.3700" and r["scope"] == "group" and r["name"] == "all"]
    assert len(ok) == 2 and all(r["feasible"] == "True" and float(r["frames"]) == 32 for r in ok)
    assert all(0 < float(r["pct_visible_any_view"]) < 100 for r in ok)
    # The hands look larger in the images than the feet (closer to the cameras), and the body hides some joints.
    groups = {r["name"]: r for r in rows if r["rig.front_to_rear_m"] == "0.3700" and r["scope"] == "group"}
    assert float(groups["hands"]["apparent_size_px"]) > float(groups["feet"]["apparent_size_px"]) > 0
    assert float(groups["all"]["pct_view_occluded_body"]) > 0
    table = pq.read_table(out / "study.parquet").to_pylist()
    assert len(table) == len(rows)
    assert table[0]["variant"] == rows[0]["variant"]
    assert [round(t["pct_visible_two_views"], 4) for t in table if t["feasible"]] == \
        [float(r["pct_visible_two_views"]) for r in rows if r["feasible"] == "True"]
    assert (out / "study.png").stat().st_size > 10_000 and (out / "visibility.csv").is_file()
    assert (out / "study_pareto.png").stat().st_size > 10_000
    before = (out / "study.csv").read_bytes()

    # Resume: every variant comes from the cache; then one cache lost (as if killed before it was written).
    again = synth(*args)
    assert again.returncode == 0 and "4 of 4 variants reused" in again.stderr
    caches = sorted((out / "variants").glob("*.npz"))
    assert len(caches) == 4
    caches[0].unlink()
    third = synth(*args)
    assert third.returncode == 0 and "3 of 4 variants reused" in third.stderr
    assert (out / "study.csv").read_bytes() == before
    # A changed clip count is a different study: nothing is reused.
    fourth = synth(*args[:-4], "--clips", "1", "--out", str(out))
    assert fourth.returncode == 0 and "reused" not in fourth.stderr


def test_bad_study_arguments_fail_in_one_line(tmp_path):
    r = synth("visibility", "--config", str(DEFAULT), "--grid", "rig.front_to_rear_m", "--out", str(tmp_path))
    assert r.returncode != 0 and "expected FIELD=START:STOP:STEP" in r.stderr and "Traceback" not in r.stderr
    r = synth("visibility", "--config", str(DEFAULT), "--grid", "rig.yaw_deg=0", "--metric", "nope", "--out",
              str(tmp_path))
    assert r.returncode != 0 and "--metric: unknown metric 'nope'" in r.stderr and "Traceback" not in r.stderr


def test_rig_optimize_finds_a_placement_at_least_as_good_reports_it_and_resumes(tmp_path):
    from synth.config import load_config
    from synth.studies.optimize import parse_param

    out = tmp_path / "opt"
    args = ["rig", "optimize", str(DEFAULT), "--param", "rig.front_to_rear_m=0.30:0.46", "--param",
            "rig.rear_drop_m=0:0.06", "--clips", "2", "--budget", "20", "--seed", "3", "--out", str(out)]
    first = synth(*args)
    assert first.returncode == 0, first.stderr
    summary = __import__("json").loads((out / "summary.json").read_text())
    assert summary["evaluations"] == 1 + 20 and summary["best"] >= summary["baseline"]
    assert summary["gain_points"] == pytest.approx(summary["best"] - summary["baseline"])
    history = read_csv(out / "history.csv")
    assert len(history) == 21 and history[0]["variant"] == "baseline"
    assert max(float(r["value"]) for r in history) == pytest.approx(summary["best"], abs=1e-4)
    assert f"best {summary['best']:.2f}" in first.stdout and (out / "history.png").is_file()
    # D-FR up to 46 cm sees more than the default's 37 cm (docs/placement.md), so the search must find a gain.
    assert summary["gain_points"] > 0 and summary["best_placement"]
    if summary["best_placement"]:
        best = load_config(out / "best.yaml")
        placement = summary["best_placement"]
        assert best.rig.front_to_rear_m == placement["rig.front_to_rear_m"]
        assert 0.30 <= best.rig.front_to_rear_m <= 0.46 and 0.0 <= best.rig.rear_drop_m <= 0.06
        # The same placement measured independently through a one-point grid study gives the same value.
        study = tmp_path / "check"
        r = synth("visibility", "--config", str(DEFAULT), "--grid",
                  f"rig.front_to_rear_m={placement['rig.front_to_rear_m']}", "--grid",
                  f"rig.rear_drop_m={placement['rig.rear_drop_m']}", "--clips", "2", "--out", str(study))
        assert r.returncode == 0, r.stderr
        row = [x for x in read_csv(study / "study.csv") if x["scope"] == "group" and x["name"] == "all"]
        assert float(row[0]["pct_visible_two_views"]) == pytest.approx(summary["best"], abs=1e-3)
    # Resume: the same seed proposes the same placements, all cached.
    again = synth(*args)
    assert again.returncode == 0 and (out / "summary.json").read_text() == __import__("json").dumps(
        summary, indent=2) + "\n"
    with pytest.raises(ConfigError, match="expected FIELD=LOW:HIGH"):
        parse_param("rig.rear_drop_m=0.1:0")
    bad = synth("rig", "optimize", str(DEFAULT), "--param", "rig.yaw_deg=0:10", "--group", "elbows", "--out",
                str(tmp_path / "bad"))
    assert bad.returncode != 0 and "--group: unknown group 'elbows'" in bad.stderr and "Traceback" not in bad.stderr


def test_pareto_front_of_depth_cameras_and_metric():
    from synth.studies.study import pareto_front

    points = [(37.0, 4, 40.0),   # beaten by the next: as deep, as many cameras, lower metric
              (37.0, 4, 45.0),   # front
              (26.0, 4, 42.0),   # front: shallower
              (26.0, 2, 42.0),   # front: fewer cameras, beats the previous one
              (48.0, 4, 44.0),   # beaten by (37, 4, 45)
              (20.0, 4, float("nan"))]  # infeasible: never on the front
    assert pareto_front(points) == [False, True, False, True, False, False]


def test_grid_study_on_ray_workers_equals_the_one_process_study(tmp_path, ray_cluster, monkeypatch):
    from synth.studies.visibility import visibility_study

    grid = ["rig.front_to_rear_m=0.30,0.42", "rig.rear_drop_m=0,0.05"]
    one = tmp_path / "one"
    two = tmp_path / "two"
    visibility_study(one, config=DEFAULT, clips=2, grid=grid)
    visibility_study(two, config=DEFAULT, clips=2, grid=grid, workers=2)
    assert (one / "study.csv").read_bytes() == (two / "study.csv").read_bytes()
    assert (one / "visibility.csv").read_bytes() == (two / "visibility.csv").read_bytes()
    # The workers' results were cached as they arrived: a one-process rerun over the same folder reuses them all.
    calls = []
    from synth.studies import study

    real = study.save_cached
    monkeypatch.setattr(study, "save_cached", lambda *a, **k: (calls.append(a), real(*a, **k)))
    visibility_study(two, config=DEFAULT, clips=2, grid=grid)
    assert calls == [] and len(list((two / "variants").glob("*.npz"))) == 4
