"""Farm throughput: rendered frames (all views) per minute for 1 worker x 1 thread, 1 x 2 and 2 x 1 on this machine.

Each layout renders the same clips (same config, seed and clip indices) into a fresh dataset through `run_farm`
with its own local Ray instance; the layouts run one after another, interleaved over `--repeats` rounds, and the
best round of each is reported (the machine is shared, so the slowest rounds mostly measure other people's load).
Throughput counts the time from all workers ready to the last commit (Ray start and the workers' Blender and body
model start-up are reported separately). Scaling efficiency 1 -> 2 workers = fpm(2 x 1) / (2 * fpm(1 x 1)).
Usage:
    python bench/farm.py [--clips 4] [--frames 4] [--resolution 128] [--preset draft] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_result  # noqa: E402

#: (workers, threads per worker) layouts compared; 1 x 1 is the baseline of the scaling efficiency.
LAYOUTS = ((1, 1), (1, 2), (2, 1))
SECONDS_PER_MINUTE = 60.0


def run_layout(cfg, config_dir: Path, clips: int, workers: int, threads: int) -> dict:
    """Render `clips` clips with one farm layout into a scratch dir; return its timings."""
    from synth.farm.driver import run_farm
    from synth.farm.jobs import FarmOptions

    out = Path(tempfile.mkdtemp(prefix=f"egorig_bench_farm_{workers}x{threads}_"))
    load_before = os.getloadavg()[0]
    try:
        summary = run_farm(cfg, out / "ds", clips, config_dir,
                           FarmOptions(workers=workers, threads_per_worker=threads, progress=False))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if summary.failed or summary.interrupted or summary.rendered != clips:
        raise RuntimeError(f"layout {workers}x{threads} did not render all clips: {summary}")
    return {
        "workers": workers,
        "threads_per_worker": threads,
        "frames": summary.frames,
        "render_s": summary.render_s,
        "wall_s": summary.wall_s,
        "startup_s": summary.wall_s - summary.render_s,
        "frames_per_min": SECONDS_PER_MINUTE * summary.frames / summary.render_s,
        "load_avg_1min_before": load_before,
        "load_avg_1min_after": os.getloadavg()[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--preset", default="draft", choices=["draft", "default", "final"])
    parser.add_argument("--repeats", type=int, default=1, help="interleaved rounds over the layouts")
    parser.add_argument("--config", default=str(REPO / "render_configs" / "default.yaml"))
    args = parser.parse_args()

    from synth.config import load_config
    from synth.geometry.rig import config_rig

    cfg = load_config(args.config, overrides={"rig": {"resolution": args.resolution},
                                              "clips": {"frames": args.frames},
                                              "render": {"preset": args.preset}})
    config_dir = Path(args.config).resolve().parent
    rounds = []
    for r in range(args.repeats):
        for workers, threads in LAYOUTS:
            row = run_layout(cfg, config_dir, args.clips, workers, threads)
            row["round"] = r
            rounds.append(row)
            print(f"round {r}: {workers} worker(s) x {threads} thread(s): {row['frames_per_min']:.1f} frames/min "
                  f"({row['frames']} frames in {row['render_s']:.1f} s, start-up {row['startup_s']:.1f} s, "
                  f"load {row['load_avg_1min_before']:.2f})")
    best = {}
    for workers, threads in LAYOUTS:
        rows = [x for x in rounds if (x["workers"], x["threads_per_worker"]) == (workers, threads)]
        best[f"{workers}x{threads}"] = max(rows, key=lambda x: x["frames_per_min"])
    fpm = {k: v["frames_per_min"] for k, v in best.items()}
    result = {
        "config": Path(args.config).name,
        "clips": args.clips,
        "frames_per_clip": args.frames,
        "resolution_px": args.resolution,
        "preset": args.preset,
        "views_per_frame": len(config_rig(cfg, config_dir).views),
        "frames_per_min": fpm,
        "scaling_efficiency_1_to_2_workers": fpm["2x1"] / (2.0 * fpm["1x1"]),
        "two_workers_vs_one_worker_two_threads": fpm["2x1"] / fpm["1x2"],
        "load_avg_1_5_15min_at_end": list(os.getloadavg()),
        "rounds": rounds,
    }
    path = write_result("farm", result)
    for key, value in fpm.items():
        print(f"{key}: {value:.1f} frames/min")
    print(f"scaling efficiency 1 -> 2 workers: {result['scaling_efficiency_1_to_2_workers']:.2f}; "
          f"2 x 1 vs 1 x 2: {result['two_workers_vs_one_worker_two_threads']:.2f}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
