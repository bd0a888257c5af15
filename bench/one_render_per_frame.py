"""Would one Cycles render per frame (all four views tiled into one image) beat four renders? An upper bound.

A tiled render traces the same rays as four renders of the views, in one session: it saves what each render pays
once (session reset, scene sync of the changed camera, the denoiser's start-up, film allocation, the image write).
This measures that saving without building the tiled camera: per preset, one process renders the four views of a
frame at S px (four renders) and, in a second scene, one view at 2S px (one render with four times the pixels, the
same image-circle fraction and the same denoiser work per pixel), one layout after the other. If the single big
render is not clearly cheaper than the four small ones, tiling cannot pay (it adds per-pixel tile dispatch on top).
Usage:
    python bench/one_render_per_frame.py [--size 256] [--frames 3] [--presets draft,default] [--result NAME]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_result  # noqa: E402

CONFIG = REPO / "render_configs" / "default.yaml"
#: Clip rendered (fixed so runs are comparable).
CLIP_INDEX = 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="rig.resolution of the four-render layout, px")
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--presets", default="draft,default")
    parser.add_argument("--result", default="one_render_per_frame")
    args = parser.parse_args()
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    os.environ.setdefault("WARP_CACHE_PATH", str(REPO / ".cache" / "egorig" / "warp"))
    from synth.config import load_config
    from synth.run.blender import BlenderRenderer
    from synth.scene.sampler import ClipSampler

    t_all = time.perf_counter()
    load_start = os.getloadavg()
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="egorig_bench_tiling_") as tmp:
        work = Path(tmp)
        for preset in args.presets.split(","):
            layouts = {"four_renders": (args.size, 4), "one_render_4x_pixels": (2 * args.size, 1)}
            times: dict[str, list[float]] = {}
            for name, (size, n_views) in layouts.items():  # one Blender scene per process at a time: in turn
                # Camera effects off: Cycles' own images.
                cfg = load_config(CONFIG, overrides={"rig": {"resolution": size},
                                                     "clips": {"frames": args.frames + 1},
                                                     "render": {"device": "cpu", "preset": preset},
                                                     "appearance": {"camera_effects": None}})
                gen = ClipSampler(cfg, CONFIG.parent)
                spec, _ = gen.sample(CLIP_INDEX)
                r = BlenderRenderer(cfg, log_path=work / "blender.log")
                r.scene.load(spec)
                views = tuple(spec.rig.views[:n_views])
                r.scene.set_frame(0, spec.T_world_from_device[0])
                r.scene.render_views({v: work / f"{v}.jpg" for v in views})  # warm: kernels, scene sync
                times[name] = []
                for f in range(1, args.frames + 1):
                    r.scene.set_frame(f, spec.T_world_from_device[f])
                    t0 = time.perf_counter()
                    r.scene.render_views({v: work / f"{v}.jpg" for v in views})
                    times[name].append(time.perf_counter() - t0)
                del r
            four, one = (statistics.fmean(times[n]) for n in layouts)
            out[preset] = {"s_per_frame": {n: statistics.fmean(t) for n, t in times.items()},
                           "frames": times, "one_over_four": one / four}
            print(f"{preset}: four renders {four:.2f} s/frame, one render of 4x the pixels {one:.2f} s "
                  f"(x{one / four:.3f})", flush=True)
    path = write_result(args.result, {
        "config": CONFIG.name, "size_px": args.size, "clip_index": CLIP_INDEX, "device": "cpu",
        "method": "per preset and layout in turn: warm scene, then frames 1..N timed (render_views incl. JPEG "
                  "write); four renders of the rig's views at SIZE vs one render of one view at 2*SIZE",
        "load_average_start": list(load_start), "load_average_end": list(os.getloadavg()),
        "total_wall_s": time.perf_counter() - t_all, "presets": out})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
