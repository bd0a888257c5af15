"""Render cost per frame and per image with the `default` preset, and egorig's overhead over a bare Cycles loop.

Warm worker processes render the same clip (default config without camera effects, surroundings and strand hair,
which bench/appearance_cost.py prices; Anny body, Ego4View rig, CPU) in lockstep, one
frame at a time in rotating order, so machine load drifts hit all of them alike:
  egorig     BlenderRenderer.render_frame: the code `synth render` runs per frame (scene update, Cycles, atomic
             image write, log capture), plus the clip's labels and clip write amortised per frame
             (sampling and posing, ~13 ms per frame, are in bench/labels.py);
  bare       synth.blender.bare.BareLoop: the same scene objects, render(write_still=True) per view, nothing else;
  nodenoise  egorig with denoising off (denoise cost = egorig render - nodenoise render, frame by frame);
  native     egorig with render.camera: native (Cycles' fitted FISHEYE_LENS_POLYNOMIAL instead of the default's
             exact OSL cameras): the OSL camera's cost is egorig / native, frame by frame;
  previous   egorig with the settings the `default` preset had before bench/quality.py chose today's
             (PREVIOUS_DEFAULT): the speed-up of the preset is previous / egorig, frame by frame.
Each worker first renders one untimed view (kernel load, scene sync). At large sizes (>= LARGE_PX) a 2-core
machine cannot afford many 872 px renders, so there egorig and bare render one front and one rear view per frame
(seconds per frame = twice their sum: the rig is left/right symmetric), nodenoise one view, and the warm-up is
skipped (the processes are already warm from the small size). With --device gpu (render.device auto: OptiX, then
CUDA; refused when Cycles finds no GPU) only egorig and native run, every view of --frames-small frames at every
size, and the result is images per second. Usage:
    python bench/render.py [--frames-small 2] [--frames-large 1] [--sizes 256,872] [--device cpu|gpu] [--result render]
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

from bench.common import PREVIOUS_DEFAULT, write_result  # noqa: E402

CONFIG = REPO / "render_configs" / "default.yaml"
#: Clip rendered by every worker (any index works; fixed so runs are comparable).
CLIP_INDEX = 1
#: Resolutions at or above this count as "large" and get --frames-large frames.
LARGE_PX = 512
KINDS = ("egorig", "bare", "nodenoise", "native", "previous")
#: Views rendered per frame at large sizes (None = all): one front and one rear camera, and one for nodenoise.
LARGE_VIEWS = {"egorig": ("front_left", "back_left"), "bare": ("front_left", "back_left"), "nodenoise": ("front_left",),
               "native": ("front_left", "back_left"), "previous": ("front_left", "back_left")}


# ----------------------------------------------------------------------------------------------------------------
# Worker side (one process per kind; each holds one Blender session)
class _Worker:
    def __init__(self, kind: str, work_dir: Path, device: str = "cpu"):
        from synth.config import load_config
        from synth.scene.sampler import make_backend

        self.kind = kind
        self.device = device
        self.work_dir = work_dir
        self.backend = make_backend(load_config(CONFIG))
        self.renderer = None
        self.bare = None

    def setup(self, resolution: int, frames: int) -> dict:
        from synth.config import load_config
        from synth.scene.sampler import ClipSampler

        render = {"device": self.device}
        if self.kind == "nodenoise":
            render["denoise"] = False
        if self.kind == "native":
            render["camera"] = "native"
        if self.kind == "previous":
            render.update(PREVIOUS_DEFAULT)
        # Camera effects off: Cycles' own images, as the bare loop writes them; no surroundings or strand hair, which
        # the bare loop does not build (bench/appearance_cost.py prices them).
        cfg = load_config(CONFIG, overrides={"rig": {"resolution": resolution}, "clips": {"frames": frames},
                                             "render": render,
                                             "appearance": {"camera_effects": None, "surroundings": None,
                                                            "hair": None}})
        self.cfg = cfg
        self.gen = ClipSampler(cfg, CONFIG.parent, backend=self.backend)
        self.content, _ = self.gen.sample(CLIP_INDEX)
        self.views = tuple(self.gen.rig.views)
        self.out = Path(tempfile.mkdtemp(prefix=f"{self.kind}_{resolution}_", dir=self.work_dir))
        info: dict = {"frames_in_clip": frames}
        if self.kind == "bare":
            from synth.blender.bare import BareLoop
            from synth.render_settings import RenderSettings

            settings = RenderSettings.from_config(cfg.render, jpeg_quality=cfg.output.jpeg_quality)
            t0 = time.perf_counter()
            c = self.content
            self.bare = BareLoop(settings, self.gen.rig, c.posed, c.appearance, c.environment.look, c.garments)
            info["scene_setup_s"] = time.perf_counter() - t0
            return info
        from synth.dataset.writer import DatasetWriter
        from synth.dataset.meta import clip_meta, dataset_meta
        from synth.run.blender import BlenderRenderer
        from synth.run.clip import clip_labels

        clip_labels(self.gen, self.content)  # first call loads the warp kernels
        t0 = time.perf_counter()
        labels, _ = clip_labels(self.gen, self.content)
        info["labels_s"] = time.perf_counter() - t0
        writer = DatasetWriter(self.out / "dataset", dataset_meta(cfg, self.gen.rig, "jpg", "bench"))
        t0 = time.perf_counter()
        meta = clip_meta(self.content, cfg.seed, [])
        writer.write_clip(self.content.clip_id, meta, labels.label_arrays(), labels.heatmaps, {})
        info["clip_write_s"] = time.perf_counter() - t0
        if self.renderer is None:
            self.renderer = BlenderRenderer(cfg, log_path=self.work_dir / f"{self.kind}_blender.log")
        else:
            self.renderer.cfg = cfg
        t0 = time.perf_counter()
        self.renderer.scene.load(self.content)
        info["scene_setup_s"] = time.perf_counter() - t0
        info["cycles_device"] = self.renderer.scene.device
        return info

    def warmup(self) -> dict:
        t0 = time.perf_counter()
        if self.bare is not None:
            self.bare.render_frame(0, self.content.T_world_from_device[0], self.out, views=self.views[:1])
        else:
            self.renderer.scene.set_frame(0, self.content.T_world_from_device[0])
            self.renderer.scene.render_views({self.views[0]: self.out / "warmup.jpg"})
        return {"warmup_s": time.perf_counter() - t0}

    def _render(self, f: int, views: tuple[str, ...]) -> dict:
        if self.bare is not None:
            return {"wall_s": self.bare.render_frame(f, self.content.T_world_from_device[f], self.out, views=views)}
        seconds = {"scene_update": 0.0, "render": 0.0, "image_write": 0.0}
        t0 = time.perf_counter()
        self.renderer.render_frame(self.content, f, self.out / "frames", seconds, views)
        return {"wall_s": time.perf_counter() - t0, **{f"{k}_s": v for k, v in seconds.items()}}

    def frame(self, f: int, views: tuple[str, ...] | None = None) -> dict:
        """Render frame f: all views in one call, or the given views one call each (times per view kept)."""
        if views is None:
            return {**self._render(f, self.views), "views": len(self.views), "rig_views": len(self.views)}
        out: dict = {"views": len(views), "rig_views": len(self.views), "by_view": {}}
        for v in views:
            rec = self._render(f, (v,))
            out["by_view"][v] = rec
            for k, x in rec.items():
                out[k] = out.get(k, 0.0) + x
        return out

    def drop_scene(self) -> None:
        """Forget the per-resolution state (a bare loop rebuilds from factory settings on the next setup)."""
        self.bare = None


def _worker_main(conn, kind: str, work_dir: str, device: str = "cpu") -> None:
    # Everything this process writes to fds 1/2 (Blender, warp) goes to a log once, not per call.
    fd = os.open(os.path.join(work_dir, f"{kind}_stdout.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker = _Worker(kind, Path(work_dir), device)
    conn.send({"ready": True})
    while True:
        cmd, *args = conn.recv()
        if cmd == "stop":
            return
        try:
            conn.send(getattr(worker, cmd)(*args) or {})
        except Exception as exc:  # noqa: BLE001 - report the failure to the driver
            import traceback

            traceback.print_exc()
            conn.send({"error": f"{type(exc).__name__}: {exc}"})


# ----------------------------------------------------------------------------------------------------------------
# Driver side
def _call(conns: dict, kind: str, *msg) -> dict:
    conns[kind].send(msg)
    reply = conns[kind].recv()
    if "error" in reply:
        raise RuntimeError(f"{kind} worker: {reply['error']} (see its *_stdout.log)")
    return reply


def _mean(xs: list[float]) -> float:
    return float(statistics.fmean(xs)) if xs else float("nan")


def bench_resolution(conns: dict, resolution: int, frames: int, large: bool) -> dict:
    """Set up all workers for `resolution`, warm them, then render `frames` frames in rotating order."""
    load_before = os.getloadavg()
    views = LARGE_VIEWS if large else {k: None for k in KINDS}
    setup = {k: _call(conns, k, "setup", resolution, frames + 1) for k in KINDS}
    warm = {} if large else {k: _call(conns, k, "warmup") for k in KINDS}
    per_frame: dict[str, list[dict]] = {k: [] for k in KINDS}
    for i, f in enumerate(range(1, frames + 1)):
        order = KINDS[i % len(KINDS):] + KINDS[: i % len(KINDS)]
        for k in order:
            per_frame[k].append(_call(conns, k, "frame", f, views[k]))
            print(f"  {resolution} px frame {f} {k:9s} {per_frame[k][-1]['wall_s']:7.2f} s", flush=True)
    for k in KINDS:
        _call(conns, k, "drop_scene")
    load_after = os.getloadavg()

    e, b, n = per_frame["egorig"], per_frame["bare"], per_frame["nodenoise"]
    num_views = e[0]["rig_views"]

    def per_frame_s(rec: dict, key: str) -> float:
        """A frame's seconds for all rig views (scaled up when only some views were rendered)."""
        return rec[key] * num_views / rec["views"]

    def denoise_s(re: dict, rn: dict) -> float:
        if re["views"] == rn["views"] == num_views:
            return re["render_s"] - rn["render_s"]
        diffs = [re["by_view"][v]["render_s"] - rn["by_view"][v]["render_s"] for v in rn["by_view"]]
        return num_views * _mean(diffs)

    clip_frames = frames + 1
    labels_pf = setup["egorig"]["labels_s"] / clip_frames
    write_pf = setup["egorig"]["clip_write_s"] / clip_frames
    loop_e = [per_frame_s(r, "wall_s") for r in e]
    loop_b = [per_frame_s(r, "wall_s") for r in b]
    egorig_spf = _mean(loop_e) + labels_pf + write_pf
    bare_spf = _mean(loop_b)
    parts = {k: _mean([per_frame_s(r, f"{k}_s") for r in e]) for k in ("scene_update", "render", "image_write")}
    breakdown = {
        "scene_update": parts["scene_update"],
        "cycles_render_incl_denoise": parts["render"],
        "cycles_render_without_denoise": _mean([per_frame_s(r, "render_s") for r in n]),
        "denoise": _mean([denoise_s(re, rn) for re, rn in zip(e, n)]),
        "image_write": parts["image_write"],
        "labels": labels_pf,
        "clip_write": write_pf,
        "other": _mean(loop_e) - sum(parts.values()),
    }
    return {
        "resolution_px": resolution,
        "frames_measured": frames,
        "views_per_frame": num_views,
        "views_rendered": {k: per_frame[k][0]["views"] for k in KINDS},
        "warm_up": not large,
        "egorig_s_per_frame": egorig_spf,
        "egorig_s_per_image": egorig_spf / num_views,
        "egorig_images_per_s": num_views / egorig_spf,
        "bare_s_per_frame": bare_spf,
        "bare_s_per_image": bare_spf / num_views,
        "overhead_ratio": egorig_spf / bare_spf,
        "overhead_ratio_render_loop_only": _mean(loop_e) / bare_spf,
        "overhead_ratio_per_frame": [x / y for x, y in zip(loop_e, loop_b)],
        "osl_camera_ratio": _mean(loop_e) / _mean([per_frame_s(r, "wall_s") for r in per_frame["native"]]),
        "osl_camera_ratio_per_frame": [x / per_frame_s(r, "wall_s") for x, r in zip(loop_e, per_frame["native"])],
        "previous_default_s_per_frame": _mean([per_frame_s(r, "wall_s") for r in per_frame["previous"]]),
        "speedup_vs_previous_default": _mean([per_frame_s(r, "wall_s") for r in per_frame["previous"]]) / _mean(loop_e),
        "speedup_vs_previous_default_per_frame": [per_frame_s(r, "wall_s") / x
                                                  for x, r in zip(loop_e, per_frame["previous"])],
        "breakdown_s_per_frame": breakdown,
        "frames": {k: per_frame[k] for k in KINDS},
        "scene_setup_s": {k: setup[k]["scene_setup_s"] for k in KINDS},
        "warmup_one_view_s": {k: warm[k]["warmup_s"] for k in warm},
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
    }


def bench_device_resolution(conns: dict, kinds: tuple[str, ...], resolution: int, frames: int) -> dict:
    """Images per second of each kind on an accelerator (all views, warm), frames in rotating order."""
    setup = {k: _call(conns, k, "setup", resolution, frames + 1) for k in kinds}
    for k in kinds:
        _call(conns, k, "warmup")
    per_frame: dict[str, list[dict]] = {k: [] for k in kinds}
    for i, f in enumerate(range(1, frames + 1)):
        for k in kinds[i % len(kinds):] + kinds[: i % len(kinds)]:
            per_frame[k].append(_call(conns, k, "frame", f, None))
            print(f"  {resolution} px frame {f} {k:9s} {per_frame[k][-1]['wall_s']:7.2f} s", flush=True)
    for k in kinds:
        _call(conns, k, "drop_scene")
    out = {"resolution_px": resolution, "frames_measured": frames,
           "cycles_device": {k: setup[k]["cycles_device"] for k in kinds}}
    for k in kinds:
        spf = _mean([r["wall_s"] for r in per_frame[k]])
        out[k] = {"s_per_frame": spf, "images_per_s": per_frame[k][0]["views"] / spf, "frames": per_frame[k]}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,872", help="comma-separated square resolutions, px")
    parser.add_argument("--frames-small", type=int, default=2)
    parser.add_argument("--frames-large", type=int, default=1)
    parser.add_argument("--large-px", type=int, default=LARGE_PX, help="sizes from here on render fewer views")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                        help="gpu: render.device auto (OptiX, then CUDA) and report images/s of egorig (OSL cameras, "
                             "OptiX only) and native; refused when Cycles finds no GPU")
    parser.add_argument("--result", default="render", help="write bench/results/<RESULT>.json")
    args = parser.parse_args()
    kinds = KINDS if args.device == "cpu" else ("egorig", "native")
    device = "cpu" if args.device == "cpu" else "auto"
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    os.environ.setdefault("WARP_CACHE_PATH", str(REPO / ".cache" / "egorig" / "warp"))

    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    t_all = time.perf_counter()
    load_start = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="egorig_bench_render_") as work:
        conns, procs = {}, {}
        for k in kinds:
            parent, child = ctx.Pipe()
            procs[k] = ctx.Process(target=_worker_main, args=(child, k, work, device), daemon=True)
            procs[k].start()
            conns[k] = parent
        try:
            for k in kinds:
                conns[k].recv()
            for res in (int(s) for s in args.sizes.split(",")):
                if args.device == "gpu":
                    results.append(bench_device_resolution(conns, kinds, res, args.frames_small))
                    r = results[-1]
                    if "CPU" in r["cycles_device"].values():
                        raise SystemExit(f"--device gpu: Cycles found no GPU ({r['cycles_device']})")
                    print(f"{res} px on {r['cycles_device']['egorig']}: "
                          + ", ".join(f"{k} {r[k]['images_per_s']:.2f} images/s" for k in kinds), flush=True)
                    continue
                large = res >= args.large_px
                frames = args.frames_large if large else args.frames_small
                results.append(bench_resolution(conns, res, frames, large))
                r = results[-1]
                print(f"{res} px: egorig {r['egorig_s_per_frame']:.2f} s/frame ({r['egorig_s_per_image']:.2f} s/image)"
                      f", bare {r['bare_s_per_frame']:.2f} s/frame, overhead x{r['overhead_ratio']:.3f}, "
                      f"OSL camera / native x{r['osl_camera_ratio']:.3f}, previous default "
                      f"{r['previous_default_s_per_frame']:.2f} s/frame (x{r['speedup_vs_previous_default']:.2f})",
                      flush=True)
        finally:
            for k in kinds:
                try:
                    conns[k].send(("stop",))
                except (BrokenPipeError, OSError):
                    pass
            for p in procs.values():
                p.join(timeout=30)
    result = {
        "config": CONFIG.name,
        "preset": "default",
        "previous_default": PREVIOUS_DEFAULT,
        "device": args.device,
        "clip_index": CLIP_INDEX,
        "method": "5 warm processes in lockstep, rotating order per frame; egorig = BlenderRenderer.render_frame + "
                  "labels and clip write per frame (OSL cameras, the default); bare = synth.blender.bare.BareLoop; "
                  "denoise = egorig render - nodenoise render; osl_camera_ratio = egorig / native (render.camera "
                  "native) render loop; speedup_vs_previous_default = previous / egorig render loop (PREVIOUS_DEFAULT "
                  "settings); at large sizes per frame = (4 / views rendered) x the rendered views' time",
        "load_average_start": list(load_start),
        "total_wall_s": time.perf_counter() - t_all,
        "resolutions": results,
    }
    path = write_result(args.result, result)
    for r in results if args.device == "cpu" else ():
        print(f"{r['resolution_px']} px breakdown (s/frame): "
              + ", ".join(f"{k} {v:.3f}" for k, v in r["breakdown_s_per_frame"].items()))
        print(f"  load average {r['load_average_before']} -> {r['load_average_after']}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
