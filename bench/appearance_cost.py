"""What the appearance features cost to render: seconds per 4-view frame with and without each, side by side.

One process renders the same clips (default config, 256 px, the `default` preset, CPU) with each variant of the
environment, clip after clip in alternating order (each variant loaded once per clip and rendered for all its
frames, as `synth render` does), so machine load drifts hit all variants alike:
  sky    the procedural gradient sky and sun (the look without an HDRI);
  hdri   the same clip lit by one of the bpy wheel's CC0 world HDRIs (`builtin:hdri/*.exr`, 1024 x 512; the clip
         index picks it).
Only the render of the four views is timed (scene loading is not; the first frame of a clip includes the world's
set-up in Cycles). Usage:
    python bench/appearance_cost.py [--clips 2] [--frames 2] [--resolution 256]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_result  # noqa: E402

CONFIG = REPO / "render_configs" / "default.yaml"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=2)
    p.add_argument("--frames", type=int, default=2)
    p.add_argument("--resolution", type=int, default=256)
    args = p.parse_args()

    from synth.blender.scene import BlenderScene
    from synth.builtin import expand_builtin
    from synth.config import load_config
    from synth.run.blender import load_blender
    from synth.scene.sampler import ClipSampler

    cfg = load_config(CONFIG, overrides={"rig": {"resolution": args.resolution},
                                         "clips": {"frames": args.frames}, "render": {"device": "cpu"}})
    sampler = ClipSampler(cfg, CONFIG.parent)
    hdris = expand_builtin("builtin:hdri/*.exr")
    scene = BlenderScene(load_blender(cfg))
    times: dict[str, list[float]] = {"sky": [], "hdri": []}
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.clips):
            spec, _ = sampler.sample(index)
            for variant in ("sky", "hdri") if index % 2 == 0 else ("hdri", "sky"):
                look = dataclasses.replace(spec.environment.look, hdri_path=None)
                if variant == "hdri":
                    look = dataclasses.replace(look, hdri_path=hdris[index % len(hdris)], hdri_strength=1.0)
                clip = dataclasses.replace(spec, environment=dataclasses.replace(spec.environment, look=look))
                scene.load(clip)  # once per clip, as `synth render` does; its first frame pays the world's set-up
                for f in range(clip.num_frames):
                    scene.set_frame(f, clip.T_world_from_device[f])
                    out = {v: Path(tmp) / variant / f"{index}_{f}_{v}.jpg" for v in clip.rig.views}
                    t0 = time.perf_counter()
                    scene.render_views(out)
                    times[variant].append(time.perf_counter() - t0)
                    print(f"clip {index} frame {f} {variant}: {times[variant][-1]:.2f} s", flush=True)
    scene.close()
    ratios = [h / s for s, h in zip(times["sky"], times["hdri"])]
    result = {
        "resolution": args.resolution, "preset": cfg.render.preset, "frames": len(times["sky"]),
        "seconds_per_frame": {k: statistics.mean(v) for k, v in times.items()},
        "hdri_over_sky": {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)},
        "per_frame_s": times,
    }
    path = write_result("appearance_cost", result)
    print(f"sky {result['seconds_per_frame']['sky']:.2f} s/frame, hdri {result['seconds_per_frame']['hdri']:.2f} "
          f"s/frame: hdri/sky {result['hdri_over_sky']['median']:.2f}x (median of {len(ratios)} frame pairs); "
          f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
