"""Label throughput: frames per second (4 views, 16 joints, visibility included) with the stage breakdown.

Runs the real pipeline on the default config (Anny bodies, procedural motions, garments, the Ego4View rig) in one
process: sample, pose, dress/mount, then projection, visibility ray casting and heatmaps. Usage:
    python bench/labels.py [--clips 6] [--frames 64]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_result  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--config", default=str(REPO / "render_configs" / "default.yaml"))
    args = parser.parse_args()

    from synth.config import load_config
    from synth.run.clip import clip_labels
    from synth.scene.sampler import ClipSampler

    cfg = load_config(args.config, overrides={"clips": {"frames": args.frames}})
    gen = ClipSampler(cfg, Path(args.config).parent)
    clip_labels(gen, gen.sample(10_000)[0])  # warm-up: warp kernel compile and first-call costs, not measured
    stages: dict[str, float] = {}
    frames = 0
    t_all = time.perf_counter()
    for index in range(args.clips):
        content, sample_times = gen.sample(index)
        _, label_times = clip_labels(gen, content)
        for stage, seconds in {**sample_times, **label_times}.items():
            stages[stage] = stages.get(stage, 0.0) + seconds
        frames += content.posed.num_frames
    wall = time.perf_counter() - t_all
    label_stages = ("projection", "visibility", "heatmaps")
    label_s = sum(stages.get(s, 0.0) for s in label_stages)
    result = {
        "config": Path(args.config).name,
        "views": len(gen.rig.views),
        "joints": 16,
        "clips": args.clips,
        "frames": frames,
        "labels_frames_per_s": frames / label_s,
        "pipeline_frames_per_s": frames / wall,
        "ms_per_frame": {s: 1000.0 * v / frames for s, v in sorted(stages.items())},
    }
    path = write_result("labels", result)
    print(f"labels (projection + visibility + heatmaps): {result['labels_frames_per_s']:.0f} frames/s")
    print(f"whole label pipeline (sample, pose, dress, labels): {result['pipeline_frames_per_s']:.0f} frames/s")
    for stage, ms in result["ms_per_frame"].items():
        print(f"  {stage:12s} {ms:7.3f} ms/frame")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
