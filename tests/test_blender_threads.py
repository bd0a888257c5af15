"""A renderer given N CPU threads keeps the whole process to N busy threads (synth.blender.threads).

Run in fresh interpreters: only the first bpy import in a process can size Blender's task scheduler.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Renders the factory cube scene on the CPU with `threads` Cycles threads and prints the process' CPU seconds
#: per wall second spent rendering (1.0 = one core busy).
SCRIPT = textwrap.dedent("""
    import json, sys, time
    from synth.blender.threads import import_bpy
    threads = int(sys.argv[1])
    bpy = import_bpy(threads)
    bpy.ops.wm.read_factory_settings(use_empty=False)
    sc = bpy.context.scene
    sc.render.engine = "CYCLES"
    sc.cycles.device = "CPU"
    sc.cycles.samples = 512
    sc.cycles.use_adaptive_sampling = False
    sc.cycles.use_denoising = False
    sc.render.resolution_x = sc.render.resolution_y = 96
    sc.render.threads_mode = "FIXED"
    sc.render.threads = threads
    bpy.ops.render.render()  # warm-up: kernels, BVH
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(3):
        bpy.ops.render.render()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"wall_s": wall, "cpu_s": cpu}))
""")


def _render_cpu_per_wall(threads: int) -> float:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(threads)], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["wall_s"] > 0.5, f"render too short to measure: {result}"
    return result["cpu_s"] / result["wall_s"]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs to see a second busy thread")
def test_one_render_thread_keeps_the_process_to_one_core():
    # Without sizing the pool, Blender's scheduler keeps a second thread busy-waiting through the whole render
    # (about 2 CPU seconds per wall second on an idle 2-core machine).
    assert _render_cpu_per_wall(1) < 1.25


def test_import_bpy_restores_the_affinity_mask_and_rejects_negative_threads():
    script = textwrap.dedent("""
        import os
        from synth.blender.threads import import_bpy
        before = os.sched_getaffinity(0)
        import_bpy(1)
        assert os.sched_getaffinity(0) == before, (before, os.sched_getaffinity(0))
        assert os.environ["OIDN_NUM_THREADS"] == "1"
        try:
            import_bpy(-1)
        except ValueError as exc:
            assert "threads must be >= 0" in str(exc)
        else:
            raise AssertionError("negative threads accepted")
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-2000:]


def test_render_dataset_sizes_the_pool_to_render_threads(tmp_path):
    """`synth render` loads bpy (for the Blender version) before its first clip: that first load must already be the
    sized one, so the pool follows render.threads and no "imported before" warning is logged."""
    script = textwrap.dedent(f"""
        import logging
        from pathlib import Path
        import synth.blender.threads as threads
        from synth.config import load_config
        from synth.run.dataset import render_dataset
        logging.basicConfig(level=logging.WARNING)
        cfg = load_config({str(ROOT / "render_configs" / "smoke.yaml")!r}, overrides={{
            "rig": {{"resolution": 32}}, "clips": {{"frames": 1}}, "render": {{"threads": 1}}}})
        render_dataset(cfg, Path({str(tmp_path / "ds")!r}), 1, config_dir={str(ROOT / "render_configs")!r},
                       progress=False)
        print("pool", threads._pool_threads)
    """)
    env = dict(os.environ)
    env.setdefault("EGORIG_CACHE_DIR", str(ROOT / ".cache" / "egorig"))
    env.setdefault("WARP_CACHE_PATH", str(ROOT / ".cache" / "egorig" / "warp"))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "pool 1"
    assert "imported before" not in proc.stderr
