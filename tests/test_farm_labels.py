"""The Ray farm's scheduling, fault handling and resume with a label-only renderer: no Blender in any worker.

The same driver and workers as tests/test_farm.py (which renders with Cycles); here the workers get
synth.run.renderer.label_only_renderer, so a crash, a failing clip and an interruption are exercised in seconds
and the output must equal `synth labels` byte for byte.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.ray

ray = pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
os.environ.setdefault("WARP_CACHE_PATH", str(REPO / ".cache" / "egorig" / "warp"))

from synth.config import load_config  # noqa: E402
from synth.dataset.reader import DatasetReader  # noqa: E402
from synth.farm.driver import FAILURES_JSONL, run_farm  # noqa: E402
from synth.farm.faults import fault_marker  # noqa: E402
from synth.farm.jobs import FarmOptions  # noqa: E402
from synth.run.dataset import label_dataset  # noqa: E402
from synth.run.renderer import label_only_renderer  # noqa: E402

TINY_YAML = f"""base: {REPO / 'render_configs' / 'default.yaml'}
name: farm_labels_test
rig:
  resolution: 64
clips:
  frames: 3
"""
CLIP_FILES = ("clip.json", "labels.npz", "heatmaps.npz")


@pytest.fixture(scope="module")
def config_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "farm_labels.yaml"
    path.write_text(TINY_YAML)
    return path


@pytest.fixture(scope="module")
def reference(config_path, tmp_path_factory) -> Path:
    """`synth labels` in this process for clips 0-3."""
    out = tmp_path_factory.mktemp("labels")
    label_dataset(load_config(config_path), out, 4, config_dir=config_path.parent, progress=False)
    return out


def _same_clip(out: Path, reference: Path, clip_id: str) -> None:
    for name in CLIP_FILES:
        assert (out / "clips" / clip_id / name).read_bytes() == \
            (reference / "clips" / clip_id / name).read_bytes(), f"{clip_id}/{name}"


def test_label_only_farm_equals_synth_labels_without_blender(config_path, reference, ray_cluster, tmp_path):
    out = tmp_path / "farm"
    summary = run_farm(load_config(config_path), out, 4, config_path.parent,
                       FarmOptions(workers=2, threads_per_worker=1, progress=False), renderer=label_only_renderer)
    assert summary.failed == [] and summary.interrupted is None and summary.completed == 4
    assert {w["device"] for w in summary.workers} == {"none"}
    assert not any(w["bpy_loaded"] for w in summary.workers), "a label-only worker loaded Blender"
    for clip_id in DatasetReader(reference).clip_ids:
        _same_clip(out, reference, clip_id)
    assert (out / "dataset.json").read_bytes() == (reference / "dataset.json").read_bytes()
    assert not (out / "logs").exists()


def test_crash_and_failure_are_retried_and_reported(config_path, reference, ray_cluster, tmp_path):
    out = tmp_path / "farm"
    summary = run_farm(load_config(config_path), out, 4, config_path.parent,
                       FarmOptions(workers=2, threads_per_worker=1, retries=1, progress=False,
                                   faults="crash_once:1,always_fail:2"), renderer=label_only_renderer)
    assert fault_marker(out, 1).exists(), "the worker never reached the crash point"
    # The crash is retried by Ray (actor restart + task retry) or by the driver; the failing clip by the driver.
    assert summary.retried >= 1 and [r["clip_id"] for r in summary.failed] == ["clip_000002"]
    assert DatasetReader(out).clip_ids == ["clip_000000", "clip_000001", "clip_000003"]
    for clip_id in ("clip_000000", "clip_000001", "clip_000003"):
        _same_clip(out, reference, clip_id)
    (record,) = [json.loads(line) for line in (out / FAILURES_JSONL).read_text().splitlines()]
    assert record["attempts"] == 2 and "InjectedFault" in record["error"]
    assert not (out / "clips" / ".clip_000002.tmp").exists()


def test_interrupted_label_farm_resumes_to_the_same_dataset(config_path, reference, ray_cluster, tmp_path):
    cfg = load_config(config_path)
    out = tmp_path / "farm"
    first = run_farm(cfg, out, 4, config_path.parent, FarmOptions(workers=1, threads_per_worker=1, progress=False,
                                                               faults="interrupt_after:1"),
                     renderer=label_only_renderer)
    assert first.interrupted == "SIGINT" and first.completed == 1
    second = run_farm(cfg, out, 4, config_path.parent, FarmOptions(workers=2, threads_per_worker=1, progress=False),
                      renderer=label_only_renderer)
    assert (second.skipped, second.completed) == (1, 4) and second.failed == []
    for clip_id in DatasetReader(reference).clip_ids:
        _same_clip(out, reference, clip_id)
    assert (out / "dataset.json").read_bytes() == (reference / "dataset.json").read_bytes()


def test_a_complete_dataset_returns_without_starting_ray(config_path, reference, ray_cluster, tmp_path,
                                                          monkeypatch):
    import synth.farm.driver as driver

    cfg = load_config(config_path)
    out = tmp_path / "farm"
    run_farm(cfg, out, 4, config_path.parent, FarmOptions(workers=2, threads_per_worker=1, progress=False),
             renderer=label_only_renderer)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def no_ray(options):
        raise AssertionError("Ray was started for a dataset with nothing left to render")

    monkeypatch.setattr(driver, "init_ray", no_ray)
    again = run_farm(cfg, out, 4, config_path.parent, FarmOptions(workers=2, threads_per_worker=1, progress=False),
                     renderer=label_only_renderer)
    assert (again.skipped, again.completed, again.rendered, again.failed) == (4, 4, 0, [])
    assert again.workers == [] and again.interrupted is None
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    fewer = run_farm(cfg, out, 2, config_path.parent, FarmOptions(workers=1, threads_per_worker=1, progress=False),
                     renderer=label_only_renderer)
    assert (fewer.skipped, fewer.completed) == (2, 4)
    with pytest.raises(AssertionError, match="nothing left to render"):  # one clip more does need the workers
        run_farm(cfg, out, 5, config_path.parent, FarmOptions(workers=1, threads_per_worker=1, progress=False),
                 renderer=label_only_renderer)


DRIVER_SCRIPT = """
import sys
from pathlib import Path
from synth.config import load_config
from synth.farm.driver import run_farm
from synth.farm.jobs import FarmOptions
from synth.run.renderer import label_only_renderer
cfg = load_config(Path(sys.argv[1]))
run_farm(cfg, Path(sys.argv[2]), 50, Path(sys.argv[1]).parent,
         FarmOptions(workers=2, threads_per_worker=1, progress=False, faults="hang_once:0"),
         renderer=label_only_renderer)
"""


def _session_members(sid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every process in session `sid` (the driver's, which its Ray processes inherit)."""
    from synth.farm.procs import PROC

    members = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat[stat.rfind(")") + 2:].split()[3]) == sid:
                members.append((int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()))
        except (OSError, ValueError, IndexError):
            continue
    return members


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="the process table is read from Linux /proc")
def test_local_ray_processes_die_with_a_sigkilled_driver(config_path, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "driver.py"
    script.write_text(DRIVER_SCRIPT)
    out = tmp_path / "farm"
    driver = subprocess.Popen([sys.executable, str(script), str(config_path), str(out)], cwd=REPO,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while not (out / "index.jsonl").is_file() and time.monotonic() < deadline:  # workers are committing
            assert driver.poll() is None, "the farm driver exited early"
            time.sleep(0.5)
        members = _session_members(driver.pid)
        ray_procs = [cmd for _, cmd in members if "ray::" in cmd or "/ray/" in cmd]
        assert any("raylet" in c for c in ray_procs) and any("ray::DashboardAgent" in c for c in ray_procs), members
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 20
        while _session_members(driver.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _session_members(driver.pid) == []
    finally:
        for pid, _ in _session_members(driver.pid):  # never leave a test's processes behind
            os.kill(pid, signal.SIGKILL)
