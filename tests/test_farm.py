"""The Ray farm with real Blender workers: output equal to `synth render`, crash and failure handling, resume."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ray, pytest.mark.blender]

pytest.importorskip("bpy")
ray = pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
os.environ.setdefault("WARP_CACHE_PATH", str(REPO / ".cache" / "egorig" / "warp"))

from synth.config import load_config  # noqa: E402
from synth.dataset.reader import DatasetReader  # noqa: E402
from synth.farm.driver import FAILURES_JSONL, run_farm  # noqa: E402
from synth.farm.faults import FAULT_ENV, fault_marker  # noqa: E402
from synth.farm.jobs import FarmOptions  # noqa: E402

#: Tiny clips: 64 px, 2 frames, draft Cycles settings.
TINY_YAML = f"""base: {REPO / 'render_configs' / 'smoke.yaml'}
name: farm_test
rig:
  resolution: 64
clips:
  frames: 2
"""
FRAMES = 2
CLIP_FILES = ("clip.json", "labels.npz", "heatmaps.npz")


@pytest.fixture(scope="module")
def config_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "farm_test.yaml"
    path.write_text(TINY_YAML)
    return path


@pytest.fixture(scope="module")
def single_process(config_path, tmp_path_factory) -> Path:
    """The reference: `synth render` (one process, no Ray) for clips 0 and 1."""
    from synth.run.dataset import render_dataset

    out = tmp_path_factory.mktemp("render")
    render_dataset(load_config(config_path), out, 2, config_dir=config_path.parent, progress=False)
    return out


def _index_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]


def _check_complete(out: Path, expected_ids: set[str]) -> DatasetReader:
    """Every expected clip is indexed once, verifies against its sha256 and has all its images; nothing else."""
    ids = [e["clip_id"] for e in _index_lines(out)]
    assert len(ids) == len(set(ids)), f"duplicate index lines: {ids}"
    assert set(ids) == expected_ids
    committed = {p.name for p in (out / "clips").iterdir() if not p.name.startswith(".")}
    assert committed == expected_ids, "a clip directory exists without its index line"
    reader = DatasetReader(out)
    assert set(reader.meta["clip_ids"]) == expected_ids
    for clip_id in expected_ids:
        assert not (out / "clips" / f".{clip_id}.tmp").exists()
        assert reader.labels(clip_id, verify=True)["joints2d"].shape[0] == FRAMES
        reader.heatmaps(clip_id, verify=True)
        for view in reader.meta["views"]:
            images = sorted((out / "clips" / clip_id / "rgb" / view).iterdir())
            assert [p.name for p in images] == [f"{f:06d}.jpg" for f in range(FRAMES)]
            assert all(p.stat().st_size > 0 for p in images)
    return reader


def test_two_workers_match_single_process_render(config_path, single_process, ray_cluster, tmp_path):
    out = tmp_path / "farm"
    summary = run_farm(load_config(config_path), out, 2, config_path.parent,
                       FarmOptions(workers=2, threads_per_worker=1, progress=False))
    assert summary.failed == [] and summary.interrupted is None
    assert summary.rendered == summary.completed == 2
    assert {w["threads"] for w in summary.workers} == {1}
    assert {w["device"] for w in summary.workers} == {"CPU"}
    assert len({w["worker"] for w in summary.workers}) == 2, "two separate worker processes expected"
    _check_complete(out, {"clip_000000", "clip_000001"})
    for clip_id in ("clip_000000", "clip_000001"):
        for name in CLIP_FILES:
            farm_bytes = (out / "clips" / clip_id / name).read_bytes()
            assert farm_bytes == (single_process / "clips" / clip_id / name).read_bytes(), f"{clip_id}/{name}"
    assert (out / "dataset.json").read_bytes() == (single_process / "dataset.json").read_bytes()
    assert not (out / FAILURES_JSONL).exists()


@pytest.fixture(scope="module")
def faulty_cli_run(config_path, tmp_path_factory):
    """`synth farm` as a user runs it, with clip 1's worker crashing mid-clip once and clip 2 failing always."""
    out = tmp_path_factory.mktemp("faulty") / "ds"
    env = dict(os.environ, **{FAULT_ENV: "crash_once:1,always_fail:2"})
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "synth.cli", "farm", str(config_path), "--out", str(out), "--clips", "4",
         "--workers", "2", "--threads-per-worker", "1", "--retries", "1", "--quiet"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    return out, proc


def test_crashed_worker_clip_is_redone_once(faulty_cli_run, single_process):
    out, proc = faulty_cli_run
    assert fault_marker(out, 1).exists(), f"the worker never reached the crash point:\n{proc.stderr[-3000:]}"
    _check_complete(out, {"clip_000000", "clip_000001", "clip_000003"})
    for name in CLIP_FILES:  # the redone clip is exactly what a clean single-process run writes
        assert (out / "clips" / "clip_000001" / name).read_bytes() == \
            (single_process / "clips" / "clip_000001" / name).read_bytes()


def test_always_failing_clip_is_reported_and_the_rest_finish(faulty_cli_run, config_path):
    out, proc = faulty_cli_run
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "clip_000002" in proc.stderr and FAILURES_JSONL in proc.stderr
    records = [json.loads(line) for line in (out / FAILURES_JSONL).read_text().splitlines()]
    assert len(records) == 1
    record = records[0]
    assert record["clip_id"] == "clip_000002" and record["clip_index"] == 2
    assert record["seed"] == [load_config(config_path).seed, 2]
    assert record["attempts"] == 2  # --retries 1
    assert "InjectedFault" in record["error"] and record["worker"].startswith("w")
    assert "clip_000002" not in DatasetReader(out).clip_ids
    assert not (out / "clips" / ".clip_000002.tmp").exists()


def test_local_ray_monitors_run_at_the_lowest_priority_and_the_core_does_not(ray_cluster):
    from synth.farm.driver import MONITOR_NICE, lower_monitor_priority

    assert lower_monitor_priority() >= 3  # dashboard agent, runtime-env agent, monitors (this process' Ray only)
    from synth.farm.procs import descendants, process_table

    nice = {}
    for proc in descendants(process_table(), os.getpid()):  # this test's Ray only, not another run's on the machine
        try:
            stat = Path(f"/proc/{proc.pid}/stat").read_text()
        except OSError:
            continue
        nice.setdefault(proc.cmdline.split(" ")[0], set()).add(int(stat[stat.rfind(")") + 2:].split()[16]))
    assert MONITOR_NICE in nice["ray::DashboardAgent"]
    core = {k: v for k, v in nice.items() if k.endswith(("/raylet", "/gcs_server"))}
    assert len(core) == 2 and not any(MONITOR_NICE in v for v in core.values()), core


def test_hung_clip_times_out_and_is_redone_on_a_fresh_worker(config_path, single_process, ray_cluster, tmp_path,
                                                             caplog):
    """Clip 1's worker stops responding once: after --clip-timeout the worker is replaced, clip 1 is redone (one
    retry) and clip 2, queued behind it on the hung worker, runs without being charged an attempt."""
    out = tmp_path / "farm"
    with caplog.at_level(logging.WARNING, logger="synth.farm.driver"):
        summary = run_farm(load_config(config_path), out, 3, config_path.parent,
                           FarmOptions(workers=1, threads_per_worker=1, retries=1, clip_timeout_s=45.0,
                                       faults="hang_once:1", progress=False))
    assert fault_marker(out, 1, "hang_once").exists(), "the worker never reached the hang point"
    assert summary.failed == [] and summary.retried == 1 and summary.rendered == 3
    assert any("timed out after 45 s" in r.getMessage() and "clip_000001" in r.getMessage() for r in caplog.records)
    _check_complete(out, {"clip_000000", "clip_000001", "clip_000002"})
    for name in CLIP_FILES:
        assert (out / "clips" / "clip_000001" / name).read_bytes() == \
            (single_process / "clips" / "clip_000001" / name).read_bytes()


def test_farm_options_reject_a_non_positive_clip_timeout(config_path, tmp_path):
    from synth.farm.jobs import FarmError

    with pytest.raises(FarmError, match="--clip-timeout"):
        run_farm(load_config(config_path), tmp_path / "ds", 1, config_path.parent, FarmOptions(clip_timeout_s=0))


def test_interrupted_run_resumes_without_redoing_clips(config_path, ray_cluster, tmp_path):
    cfg = load_config(config_path)
    out = tmp_path / "farm"
    first = run_farm(cfg, out, 3, config_path.parent,
                     FarmOptions(workers=2, threads_per_worker=1, progress=False, faults="interrupt_after:1"))
    assert first.interrupted == "SIGINT"
    assert first.rendered == first.completed == 1
    (done_line,) = _index_lines(out)
    _check_complete(out, {done_line["clip_id"]})
    done_labels = out / "clips" / done_line["clip_id"] / "labels.npz"
    mtime_ns = done_labels.stat().st_mtime_ns

    # One worker, recycled after every clip: the second remaining clip is rendered by a fresh process.
    second = run_farm(cfg, out, 3, config_path.parent,
                      FarmOptions(workers=1, threads_per_worker=1, clips_per_worker=1, progress=False))
    assert second.interrupted is None and second.failed == []
    assert (out / "logs" / "blender_w0.2.log").exists(), "the worker was not replaced after its clip quota"
    assert (second.skipped, second.rendered, second.completed) == (1, 2, 3)
    lines = _index_lines(out)
    assert lines[0] == done_line, "the clip finished before the interruption was committed again"
    assert done_labels.stat().st_mtime_ns == mtime_ns
    _check_complete(out, {"clip_000000", "clip_000001", "clip_000002"})
