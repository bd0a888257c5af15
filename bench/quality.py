"""Render quality against render time for candidate Cycles settings on the default scene: the data behind the presets.

For a fixed set of frames (default config, several clips, all four views) this renders a high-sample reference
(two independent seeds of half the samples each, averaged, no denoiser, 16-bit PNG; cached under
.cache/egorig/bench_quality/), then renders every candidate setting side by side in ONE Blender process: per frame,
candidates in rotating order, each after a fresh render session at 1 spp (so a candidate's world sampling applies and
its timed renders are steady state, as in a dataset run). Per candidate it records
  time   seconds per 4-view frame (Cycles + JPEG write, the production path) and its ratio to the current default,
         frame by frame;
  PSNR / SSIM inside the image circle, of the 8-bit image before JPEG and of the JPEG written, against the reference;
  PSNR / SSIM around the joints (boxes of JOINT_BOX_FRACTION of the image width around every in-image joint's 2D
         label), since that is what the trainer learns from.
The quality floor is the error that storing the reference itself as JPEG at the output quality adds (PSNR of
JPEG(reference) against the reference). A candidate qualifies when its pre-JPEG PSNR inside the circle reaches that
floor and its SSIM (circle and joints) is >= SSIM_MIN. The Pareto front is over (time, circle PSNR); the presets
are derived from it (choose_presets): default = the fastest qualifying candidate, draft = the fastest front point at
the floor, final = the best front point. `previous_default` is the default preset before this bench re-derived
it. Where the affordable reference is itself noisy (rooms, lamps, hair), the result also holds the same rules read
with noise-corrected PSNR and the floor's own SSIM as the bar ("noise_corrected_reading"). Writes
bench/results/<RESULT>.json and <RESULT>.png (time vs PSNR, the front and the floor). Usage:
    python bench/quality.py [--clips 1,2] [--frames 8] [--size 256] [--ref-samples 512] [--grid full|quick]
                            [--only NAME,...] [--result quality]
    python bench/quality.py --reselect --result NAME   # re-apply the rules to a stored run
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import PREVIOUS_DEFAULT, RESULTS_DIR, write_result  # noqa: E402

CONFIG = REPO / "render_configs" / "default.yaml"
#: A candidate qualifies only with SSIM at least this inside the image circle and around the joints.
SSIM_MIN = 0.99
#: Joint boxes are this fraction of the image width on a side (16 px at 256 px).
JOINT_BOX_FRACTION = 1.0 / 16.0
#: SSIM's Gaussian window (Wang et al. 2004): sigma in px, constants for data range 1.
SSIM_SIGMA_PX = 1.5
SSIM_C1, SSIM_C2 = 0.01**2, 0.03**2
#: Candidates whose times differ by less than this fraction are a tie (machine noise: in one run the default and
#: its identically-set named twin differed by 10 %); the better PSNR wins.
TIME_TIE_FRACTION = 0.10
#: A round trip through the lens closer than this (px) marks a pixel inside the image circle.
CIRCLE_ROUNDTRIP_PX = 0.01

#: "lean" candidates: fewer bounces and the world sampled as a light only when it is an image (HDRI); the default
#: scene's sky is procedural, so there it is not sampled as a light at all.
LOW_BOUNCES = dict(max_bounces=4, diffuse_bounces=2, glossy_bounces=1, transmission_bounces=2)
#: LOW_BOUNCES with the third diffuse bounce closed rooms lit by their lamps need.
LOW_BOUNCES_DIFFUSE3 = {**LOW_BOUNCES, "diffuse_bounces": 3}
NO_ADAPTIVE = dict(adaptive_threshold=0.0)


def scene_code_hash() -> str:
    """sha256 of the code and data that build the rendered scene (synth/: Python sources, OSL cameras, data
    files), so a cached reference is rendered again after any change to what the frames show."""
    digest = hashlib.sha256()
    root = REPO / "synth"
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def candidate_grid(grid: str) -> dict[str, dict]:
    """{name: RenderSettings overrides}. "current_default" is the `default` preset as it is; every other candidate
    is PREVIOUS_DEFAULT changed by what its name says (so names keep their meaning whatever the presets become).
    "quick": samples and the denoiser's prefilter; "full": also adaptive sampling, denoiser inputs, bounces, light
    tree, world sampling, clamping, filter width, strand hair as ribbons and combinations of the cheapest
    scene-side choices."""
    c: dict[str, dict] = {"current_default": {}, "previous_default": dict(PREVIOUS_DEFAULT)}
    for spp in (2, 4, 8, 16):
        c[f"{spp}spp_fast"] = dict(samples=spp, **NO_ADAPTIVE, denoise_prefilter="FAST")
    for spp in (2, 4, 8):
        c[f"{spp}spp_accurate"] = dict(samples=spp, **NO_ADAPTIVE, denoise_prefilter="ACCURATE")
    if grid == "quick":
        return _on_previous_default(c)
    c.update({
        "32spp_adaptive0.05_min8": dict(samples=32, adaptive_threshold=0.05, adaptive_min_samples=8),
        "16spp_adaptive0.1_min4": dict(samples=16, adaptive_threshold=0.1, adaptive_min_samples=4),
        "32spp_no_denoise": dict(samples=32, denoise=False, **NO_ADAPTIVE),
        "4spp_fast_albedo_only": dict(samples=4, **NO_ADAPTIVE, denoise_passes="RGB_ALBEDO"),
        "4spp_fast_rgb_only": dict(samples=4, **NO_ADAPTIVE, denoise_passes="RGB"),
        "4spp_fast_low_bounces": dict(samples=4, **NO_ADAPTIVE, **LOW_BOUNCES),
        "4spp_fast_no_light_tree": dict(samples=4, **NO_ADAPTIVE, light_tree=False),
        "4spp_fast_world_none": dict(samples=4, **NO_ADAPTIVE, world_sampling="none"),
        "4spp_fast_world_map256": dict(samples=4, **NO_ADAPTIVE, world_map_resolution=256),
        "4spp_fast_clamp1": dict(samples=4, **NO_ADAPTIVE, clamp_indirect=1.0),
        "4spp_fast_filter1.0": dict(samples=4, **NO_ADAPTIVE, filter_width_px=1.0),
        "4spp_fast_lean": dict(samples=4, **NO_ADAPTIVE, **LOW_BOUNCES, world_sampling="images"),
        "4spp_accurate_lean": dict(samples=4, **NO_ADAPTIVE, denoise_prefilter="ACCURATE", **LOW_BOUNCES,
                                   world_sampling="images"),
        "8spp_fast_lean": dict(samples=8, **NO_ADAPTIVE, **LOW_BOUNCES, world_sampling="images"),
        "8spp_accurate_lean": dict(samples=8, **NO_ADAPTIVE, denoise_prefilter="ACCURATE", **LOW_BOUNCES,
                                   world_sampling="images"),
        "3spp_accurate_lean": dict(samples=3, **NO_ADAPTIVE, denoise_prefilter="ACCURATE", **LOW_BOUNCES,
                                   world_sampling="images"),
        "6spp_fast_lean": dict(samples=6, **NO_ADAPTIVE, **LOW_BOUNCES, world_sampling="images"),
    })
    for spp in (12, 16, 24, 32):
        c[f"{spp}spp_fast_lean"] = dict(samples=spp, **NO_ADAPTIVE, **LOW_BOUNCES, world_sampling="images")
    for spp in (12, 16, 24):
        c[f"{spp}spp_accurate_lean"] = dict(samples=spp, **NO_ADAPTIVE, denoise_prefilter="ACCURATE", **LOW_BOUNCES,
                                            world_sampling="images")
    # Scene side: strand hair as ribbons, and HDRI worlds without importance sampling.
    for spp in (16, 24, 32):
        c[f"{spp}spp_fast_lean_ribbons"] = dict(samples=spp, **NO_ADAPTIVE, **LOW_BOUNCES, world_sampling="images",
                                                curve_shape="RIBBONS")
    # Light transport for closed rooms lit by lamps: path guiding, and fast GI (ambient occlusion after N bounces).
    for spp in (12, 16, 24):
        c[f"{spp}spp_fast_lean_guided"] = dict(samples=spp, **NO_ADAPTIVE, **LOW_BOUNCES, world_sampling="images",
                                               path_guiding=True)
    for spp in (16, 24):
        c[f"{spp}spp_fast_lean_fastgi1"] = dict(samples=spp, **NO_ADAPTIVE, **LOW_BOUNCES, world_sampling="images",
                                                fast_gi_bounces=1)
    # Bounces in closed rooms lit by lamps: the lean 4/2/1/2 against one more diffuse bounce and against 6/3/2/4.
    for spp in (16, 24):
        c[f"{spp}spp_fast_diffuse3"] = dict(samples=spp, **NO_ADAPTIVE, **LOW_BOUNCES_DIFFUSE3, world_sampling="images")
        c[f"{spp}spp_fast_bounces6324"] = dict(samples=spp, **NO_ADAPTIVE, world_sampling="images")
    # Adaptive sampling where the rooms are noisy: up to 48-64 spp, stopping early where a pixel has converged.
    room = dict(**LOW_BOUNCES_DIFFUSE3, world_sampling="images")
    c["32spp_fast_diffuse3"] = dict(samples=32, **NO_ADAPTIVE, **room)
    for spp, threshold in ((48, 0.02), (64, 0.03), (64, 0.05)):
        c[f"{spp}spp_adaptive{threshold}_min16_diffuse3"] = dict(samples=spp, adaptive_threshold=threshold,
                                                                 adaptive_min_samples=16, **room)
    c["32spp_fast_lean_world_none"] = dict(samples=32, **NO_ADAPTIVE, **LOW_BOUNCES, world_sampling="none")
    c["32spp_fast"] = dict(samples=32, **NO_ADAPTIVE)
    c["64spp_accurate"] = dict(samples=64, **NO_ADAPTIVE, denoise_prefilter="ACCURATE")
    return _on_previous_default(c)


def reference_overrides(ref_samples: int) -> dict:
    """The reference's settings: PREVIOUS_DEFAULT's bounces and world sampling (the richest in the grid, and fixed
    whatever the presets become, so the cached reference stays valid), each of two seeds at half the samples, no
    adaptive sampling, no denoiser."""
    return {**PREVIOUS_DEFAULT, "samples": ref_samples // 2, "adaptive_threshold": 0.0, "denoise": False}


def _on_previous_default(c: dict[str, dict]) -> dict[str, dict]:
    return {n: o if n == "current_default" else {**PREVIOUS_DEFAULT, **o} for n, o in c.items()}


# ----------------------------------------------------------------------------------------------------------------
# Image measures (pure numpy/scipy)
def read_image(path: Path) -> np.ndarray:
    """(H, W, 3) float64 in [0, 1] from an 8- or 16-bit PNG or a JPEG."""
    from PIL import Image

    with Image.open(path) as im:
        a = np.asarray(im)
    scale = 65535.0 if a.dtype == np.uint16 else 255.0
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    return a[..., :3].astype(np.float64) / scale


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    """(H, W, 3) [0, 1]: img quantised to 8 bits, encoded as JPEG at `quality` (libjpeg through Pillow), decoded."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.rint(np.clip(img, 0, 1) * 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return read_image(buf)


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W) SSIM of two (H, W, 3) [0, 1] images, Gaussian window, averaged over the channels."""
    from scipy.ndimage import gaussian_filter

    def blur(x):
        return gaussian_filter(x, sigma=(SSIM_SIGMA_PX, SSIM_SIGMA_PX, 0), mode="reflect")

    mu_a, mu_b = blur(a), blur(b)
    va = blur(a * a) - mu_a**2
    vb = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + SSIM_C1) * (2 * cov + SSIM_C2)) / ((mu_a**2 + mu_b**2 + SSIM_C1) * (va + vb + SSIM_C2))
    return s.mean(axis=-1)


def psnr_from_mse(mse: float) -> float:
    """dB for a data range of 1."""
    return float("inf") if mse <= 0 else float(-10.0 * math.log10(mse))


class Scores:
    """Pooled squared error and SSIM sums over masked pixels of many images (one PSNR over all of them)."""

    def __init__(self) -> None:
        self.sq, self.n, self.ssim, self.n_ssim = 0.0, 0, 0.0, 0

    def add(self, img: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> None:
        """img, ref: (H, W, 3) [0, 1]; mask: (H, W) bool."""
        if not mask.any():
            return
        self.sq += float(((img - ref) ** 2)[mask].sum())
        self.n += int(mask.sum()) * 3
        s = ssim_map(img, ref)
        self.ssim += float(s[mask].sum())
        self.n_ssim += int(mask.sum())

    def result(self) -> dict:
        return {"psnr_db": psnr_from_mse(self.sq / max(self.n, 1)), "ssim": self.ssim / max(self.n_ssim, 1)}


def circle_mask(lens) -> np.ndarray:
    """(H, W) bool: pixels whose centre the lens maps to a valid ray and back to itself (the image circle)."""
    u, v = np.meshgrid(np.arange(lens.width, dtype=np.float64), np.arange(lens.height, dtype=np.float64))
    uv = np.stack([u, v], axis=-1)
    rays = lens.unproject(uv)
    back, valid = lens.project(rays)
    ok = np.isfinite(rays).all(-1) & valid & (np.hypot(*(back - uv).transpose(2, 0, 1)) < CIRCLE_ROUNDTRIP_PX)
    return ok


def joint_mask(joints2d_px: np.ndarray, visibility: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W) bool: boxes of JOINT_BOX_FRACTION * width px around every joint with visibility >= 1.
    joints2d_px: (16, 2) px; visibility: (16,) uint8."""
    mask = np.zeros((height, width), dtype=bool)
    half = max(1, int(round(width * JOINT_BOX_FRACTION / 2)))
    for (u, v), vis in zip(joints2d_px, visibility):
        if vis >= 1:
            iu, iv = int(round(u)), int(round(v))
            mask[max(iv - half, 0): iv + half + 1, max(iu - half, 0): iu + half + 1] = True
    return mask


# ----------------------------------------------------------------------------------------------------------------
# Rendering
class Bench:
    """One Blender session over the bench frames: references, then candidates side by side."""

    def __init__(self, size: int, clips: list[int], frames: list[int], work: Path):
        from synth.blender.scene import BlenderScene
        from synth.config import load_config
        from synth.render_settings import RenderSettings
        from synth.run.clip import clip_labels
        from synth.scene.sampler import ClipSampler

        # Camera effects off: this measures Cycles' own images (sensor noise would swamp its noise).
        self.cfg = load_config(CONFIG, overrides={"rig": {"resolution": size}, "render": {"device": "cpu"},
                                                  "clips": {"frames": max(frames) + 1},
                                                  "appearance": {"camera_effects": None}})
        self.sampler = ClipSampler(self.cfg, CONFIG.parent)
        self.work = work
        self.default = RenderSettings.from_config(self.cfg.render, jpeg_quality=self.cfg.output.jpeg_quality)
        self.specs, self.labels = {}, {}
        for i in clips:
            spec, _ = self.sampler.sample(i)
            self.specs[i] = spec
            self.labels[i], _ = clip_labels(self.sampler, spec)
        self.frames = [(i, f) for i in clips for f in frames]
        self.rig = self.sampler.rig
        self.views = tuple(self.rig.views)
        self.masks = {v: circle_mask(self.rig.camera(v).lens) for v in self.views}
        self.scene = BlenderScene(self.default, log_path=work / "blender.log")
        self._loaded = None

    def settings(self, overrides: dict):
        return self.default.model_copy(update=overrides)

    def _goto(self, clip: int, f: int) -> None:
        if self._loaded != clip:
            self.scene.load(self.specs[clip])
            self._loaded = clip
        self.scene.set_frame(f, self.specs[clip].T_world_from_device[f])

    def _fresh_session(self, settings) -> None:
        """Apply `settings` and start a new Cycles session with them (one untimed 1-spp view without persistent
        data, then one with it, so the timed renders find a warm persistent session)."""
        sc = self.scene.scene
        self.scene.apply_settings(settings.model_copy(update={"samples": 1, "adaptive_threshold": 0.0}))
        sc.render.use_persistent_data = False
        self.scene.render_views({self.views[0]: self.work / "flush.png"})
        sc.render.use_persistent_data = True
        self.scene.render_views({self.views[0]: self.work / "flush.png"})
        self.scene.apply_settings(settings)

    def reference(self, ref_samples: int, cache: Path) -> tuple[dict, float]:
        """{(clip, frame, view): (H, W, 3) [0, 1]} averaged over two seeds, and the estimated PSNR (dB) of the
        reference's own noise (PSNR between the two halves + 10 log10 4)."""
        import bpy  # noqa: F401 - the scene's session

        half = self.settings(reference_overrides(ref_samples))
        cache.mkdir(parents=True, exist_ok=True)
        refs, own = {}, Scores()
        fresh = False
        for clip, f in self.frames:
            self._goto(clip, f)
            base_seed = self.scene.scene.cycles.seed
            for v in self.views:
                halves = []
                for k in range(2):
                    path = cache / f"clip{clip}_f{f}_{v}_seed{k}.png"
                    if not path.exists():
                        if not fresh:
                            self._fresh_session(half)
                            fresh = True
                        self.scene.scene.cycles.seed = (base_seed + 7919 * (k + 1)) % (2**31)
                        t0 = time.perf_counter()
                        self._render_png16(v, path)
                        print(f"  reference clip {clip} frame {f} {v} seed {k}: {time.perf_counter() - t0:.1f} s",
                              flush=True)
                    halves.append(read_image(path))
                refs[(clip, f, v)] = (halves[0] + halves[1]) / 2
                own.add(halves[0], halves[1], self.masks[v])
            self.scene.scene.cycles.seed = base_seed
        return refs, own.result()["psnr_db"] + 10 * math.log10(4.0)

    def _render_png16(self, view: str, path: Path) -> None:
        import bpy

        from synth.io import atomic_path

        self.scene.render_views({view: self.work / "ref_tmp.png"})
        img = self.scene.scene.render.image_settings
        img.file_format, img.color_mode, img.color_depth = "PNG", "RGB", "16"
        with atomic_path(path) as tmp:
            bpy.data.images["Render Result"].save_render(str(tmp), scene=self.scene.scene)

    def candidate_frame(self, name: str, settings, clip: int, f: int) -> tuple[float, dict, dict]:
        """Render all views of (clip, f) with `settings`: seconds (Cycles + JPEG write, all views), {view: 8-bit
        PNG image}, {view: JPEG image}."""
        import bpy

        self._goto(clip, f)
        self._fresh_session(settings)
        self._goto(clip, f)  # the same noise seed as every other candidate
        seconds, png, jpg = 0.0, {}, {}
        for v in self.views:
            jpg_path = self.work / f"{name}_{v}.jpg"
            t0 = time.perf_counter()
            self.scene.render_views({v: jpg_path})
            seconds += time.perf_counter() - t0
            img = self.scene.scene.render.image_settings
            img.file_format, img.color_mode, img.color_depth = "PNG", "RGB", "8"
            png_path = self.work / f"{name}_{v}.png"
            bpy.data.images["Render Result"].save_render(str(png_path), scene=self.scene.scene)
            png[v], jpg[v] = read_image(png_path), read_image(jpg_path)
        return seconds, png, jpg


# ----------------------------------------------------------------------------------------------------------------
def pareto_front(points: dict[str, tuple[float, float]]) -> list[str]:
    """Names not dominated in (time lower, quality higher), fastest first. points: {name: (seconds, psnr_db)}."""
    front = []
    for n, (t, q) in points.items():
        if not any((t2 <= t and q2 >= q) and (t2 < t or q2 > q) for m, (t2, q2) in points.items() if m != n):
            front.append(n)
    return sorted(front, key=lambda n: points[n][0])


def choose_presets(cands: dict[str, dict], floor_psnr_db: float, front: list[str]) -> dict[str, str | None]:
    """The presets derived from one measured front (current_default, the preset as it is, is never chosen: every
    preset must be one of the named candidates). cands: {name: {"s_per_frame", "circle": {"psnr_db"},
    "qualifies"}}.
      default  the fastest qualifying candidate (PSNR >= the JPEG floor, SSIM >= SSIM_MIN in the circle and around
               the joints); candidates within TIME_TIE_FRACTION of its time count as equally fast and the best
               circle PSNR among them wins;
      draft    the fastest front point whose circle PSNR reaches the JPEG floor (SSIM not required: previews,
               label checks, throughput tests);
      final    the front point with the best circle PSNR."""
    cands = {n: c for n, c in cands.items() if n != "current_default"}  # the baseline, not a choice
    front = [n for n in front if n in cands]
    qualifying = [n for n in cands if cands[n]["qualifies"]]
    default = None
    if qualifying:
        t_min = min(cands[n]["s_per_frame"] for n in qualifying)
        tied = [n for n in qualifying if cands[n]["s_per_frame"] <= t_min * (1 + TIME_TIE_FRACTION)]
        default = max(tied, key=lambda n: cands[n]["circle"]["psnr_db"])
    at_floor = [n for n in front if cands[n]["circle"]["psnr_db"] >= floor_psnr_db]
    draft = min(at_floor, key=lambda n: cands[n]["s_per_frame"]) if at_floor else None
    final = max(front, key=lambda n: cands[n]["circle"]["psnr_db"]) if front else None
    return {"default": default, "draft": draft, "final": final}


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cands = result["candidates"]
    fig, ax = plt.subplots(figsize=(9, 6), dpi=110)
    for name, c in cands.items():
        on_front = name in result["pareto_front"]
        ax.scatter(c["s_per_frame"], c["circle"]["psnr_db"], s=36 if on_front else 18,
                   c="tab:red" if on_front else "tab:gray", zorder=3)
        if (on_front and name != "current_default") or name == "previous_default":  # the rest would clutter
            ax.annotate(name, (c["s_per_frame"], c["circle"]["psnr_db"]), fontsize=6, xytext=(4, -3),
                        textcoords="offset points")
    front = result["pareto_front"]
    ax.plot([cands[n]["s_per_frame"] for n in front], [cands[n]["circle"]["psnr_db"] for n in front], "-",
            c="tab:red", lw=1, label="Pareto front")
    corrected = [(c["s_per_frame"], c["circle"].get("psnr_noise_corrected_db")) for c in cands.values()]
    corrected = sorted((t, q) for t, q in corrected if q is not None)
    if corrected:
        ax.scatter(*zip(*corrected), s=22, marker="x", c="tab:orange", zorder=3,
                   label="noise-corrected (reference noise removed)")
    ax.axhline(result["jpeg_floor"]["psnr_db"], c="tab:blue", ls="--", lw=1,
               label=f"JPEG q{result['jpeg_quality']} floor {result['jpeg_floor']['psnr_db']:.1f} dB")
    ax.axvline(result["target_s_per_frame"], c="tab:green", ls=":", lw=1,
               label=f"target {result['target_s_per_frame']:.1f} s/frame")
    for (preset, name), marker in zip(sorted((result.get("presets_from_front") or {}).items()), "s^o"):
        if name is None:  # no candidate meets that preset's rule (the note under the plot says so)
            continue
        c = cands[name]
        ax.scatter([c["s_per_frame"]], [c["circle"]["psnr_db"]], s=140, marker=marker, facecolors="none",
                   edgecolors="k", label=f"{preset}: {name}", zorder=4)
    ax.set_xscale("log")
    ax.set_xlabel(f"seconds per 4-view {result['size_px']} px frame ({result['machine_cores']} CPU cores)")
    ax.set_ylabel("PSNR inside the image circle vs reference, dB (before JPEG)")
    ref = result["reference"]
    ax.set_title(f"Cycles settings on the default scene: time vs quality "
                 f"(reference {ref['samples']} spp, own noise {ref['own_noise_psnr_db']:.1f} dB)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default="1,2", help="clip indices of the default config")
    parser.add_argument("--frames", default="8", help="frame indices within each clip")
    parser.add_argument("--size", type=int, default=256, help="rig.resolution, px")
    parser.add_argument("--ref-samples", type=int, default=512, help="reference samples (two seeds of half each)")
    parser.add_argument("--grid", choices=("quick", "full"), default="full")
    parser.add_argument("--only", default="",
                        help="comma-separated candidate names (current_default and previous_default always run)")
    parser.add_argument("--target-s", type=float, default=2.0, help="seconds per frame the presets aim for")
    parser.add_argument("--result", default="quality", help="write bench/results/<RESULT>.json and .png")
    parser.add_argument("--reselect", action="store_true",
                        help="re-apply the selection rules to bench/results/<RESULT>.json without rendering")
    args = parser.parse_args()
    if args.reselect:
        path = RESULTS_DIR / f"{args.result}.json"
        if not path.is_file():
            parser.error(f"--reselect: {path} not found; run the bench with --result {args.result} first")
        saved = json.loads(path.read_text())
        machine = saved.pop("machine", None)
        result = select(saved)
        code = report(result, args.result)
        if machine is not None:  # keep the machine the figures were measured on, not the one re-selecting
            fixed = json.loads(path.read_text())
            fixed["machine"] = machine
            path.write_text(json.dumps(fixed, indent=2) + "\n")
        return code
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    os.environ.setdefault("WARP_CACHE_PATH", str(REPO / ".cache" / "egorig" / "warp"))
    clips = [int(x) for x in args.clips.split(",")]
    frames = [int(x) for x in args.frames.split(",")]
    grid = candidate_grid(args.grid)
    if args.only:
        wanted = {"current_default", "previous_default", *args.only.split(",")}
        unknown = wanted - set(grid)
        if unknown:
            parser.error(f"--only: unknown candidates {sorted(unknown)}; known: {sorted(grid)}")
        grid = {k: v for k, v in grid.items() if k in wanted}

    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="egorig_bench_quality_") as tmp:
        bench = Bench(args.size, clips, frames, Path(tmp))
        quality = bench.cfg.output.jpeg_quality
        key = hashlib.sha256(json.dumps({
            "config": bench.cfg.model_dump(mode="json"), "ref": bench.settings(
                reference_overrides(args.ref_samples)).model_dump(mode="json"),
            "blender": __import__("bpy").app.version_string, "scene_code": scene_code_hash()},
            sort_keys=True).encode()).hexdigest()[:16]
        cache = Path(os.environ["EGORIG_CACHE_DIR"]) / "bench_quality" / key
        t0 = time.perf_counter()
        refs, own_noise = bench.reference(args.ref_samples, cache)
        ref_s = time.perf_counter() - t0
        floor = Scores()
        for (clip, f, v), ref in refs.items():
            floor.add(jpeg_roundtrip(ref, quality), ref, bench.masks[v])
        floor_joints = Scores()
        names = list(grid)
        times: dict[str, list[float]] = {n: [] for n in names}
        scores = {n: {k: Scores() for k in ("circle", "joints", "circle_jpeg", "joints_jpeg")} for n in names}
        enc_check = Scores()
        for i, (clip, f) in enumerate(bench.frames):
            order = names[i % len(names):] + names[: i % len(names)]
            lab = bench.labels[clip]
            jm = {v: joint_mask(lab.joints2d[f, j], lab.visibility[f, j], *bench.rig.image_size)
                  for j, v in enumerate(bench.views)}
            for v in bench.views:
                ref = refs[(clip, f, v)]
                floor_joints.add(jpeg_roundtrip(ref, quality), ref, jm[v] & bench.masks[v])
            for n in order:
                s, png, jpg = bench.candidate_frame(n, bench.settings(grid[n]), clip, f)
                times[n].append(s)
                for v in bench.views:
                    ref, circle = refs[(clip, f, v)], bench.masks[v]
                    scores[n]["circle"].add(png[v], ref, circle)
                    scores[n]["joints"].add(png[v], ref, jm[v] & circle)
                    scores[n]["circle_jpeg"].add(jpg[v], ref, circle)
                    scores[n]["joints_jpeg"].add(jpg[v], ref, jm[v] & circle)
                    if n == "current_default":  # Blender's JPEG writer against Pillow's at the same quality
                        enc_check.add(jpg[v], jpeg_roundtrip(png[v], quality), circle)
                print(f"  clip {clip} frame {f} {n:28s} {s:6.2f} s/frame  "
                      f"{scores[n]['circle'].result()['psnr_db']:.2f} dB (running)", flush=True)
        base = times["current_default"]
        cands = {}
        for n in names:
            res = {k: sc.result() for k, sc in scores[n].items()}
            cands[n] = {"overrides": grid[n], "settings": bench.settings(grid[n]).model_dump(mode="json"),
                        "s_per_frame": float(statistics.fmean(times[n])), "s_per_frame_each": times[n],
                        "ratio_to_current_default": float(statistics.fmean(t / b for t, b in zip(times[n], base))),
                        **res}
    fl = floor.result()
    import multiprocessing

    result = {
        "config": CONFIG.name, "size_px": args.size, "clips": clips, "frames": frames, "views": list(bench.views),
        "device": "cpu", "machine_cores": multiprocessing.cpu_count(), "jpeg_quality": quality,
        "reference": {"samples": args.ref_samples, "seeds": 2, "denoise": False, "own_noise_psnr_db": own_noise,
                      "cache": str(cache.relative_to(REPO)) if cache.is_relative_to(REPO) else str(cache),
                      "render_s_this_run": ref_s},
        "jpeg_floor": {**fl, "joints": floor_joints.result()},
        "blender_jpeg_vs_pillow_jpeg_psnr_db": enc_check.result()["psnr_db"],
        "ssim_min": SSIM_MIN, "target_s_per_frame": args.target_s,
        "method": "one Blender process; per frame the candidates in rotating order, each after a fresh 1-spp "
                  "render session; time = render_views (Cycles + JPEG write) summed over the 4 views; PSNR/SSIM "
                  "pooled over all views and frames inside the image circle (lens round trip) and in boxes around "
                  "in-image joints; floor = JPEG(reference) vs reference",
        "candidates": cands,
        "total_wall_s": time.perf_counter() - t_all,
    }
    return report(select(result), args.result)


def _qualifies(psnr_db: float, c: dict, floor_psnr_db: float, ssim_circle: float, ssim_joints: float) -> bool:
    """A candidate `c` with circle PSNR psnr_db (dB) reaches the floor, and its SSIM the bars in the circle and
    around the joints."""
    return bool(psnr_db >= floor_psnr_db and c["circle"]["ssim"] >= ssim_circle and c["joints"]["ssim"] >= ssim_joints)


def noise_corrected_psnr_db(measured_db: float, reference_noise_db: float) -> float | None:
    """PSNR against the noise-free image, estimated from the PSNR measured against a noisy reference whose own noise
    (against the noise-free image) is reference_noise_db: a candidate's error and the reference's noise are
    independent (other seeds), so their mean squares add. None where the measured error does not exceed the
    reference's noise (the reference cannot tell)."""
    excess = 10.0 ** (-measured_db / 10.0) - 10.0 ** (-reference_noise_db / 10.0)
    return None if excess <= 0.0 else psnr_from_mse(excess)


def noise_corrected_reading(result: dict) -> dict:
    """The same rules read without the reference's own noise, for scenes whose affordable reference is noisy.

    The JPEG floor compares the reference with itself stored as JPEG, so it holds no reference noise; the
    candidates' measured PSNR does. Here each candidate's circle PSNR is its noise-corrected one (a candidate
    closer to the noise-free image than the reference can tell counts as infinitely good), and the SSIM bar is
    min(SSIM_MIN, the floor's own SSIM) in the circle and around the joints: a candidate need not be closer to
    the reference than the reference stored as JPEG is. Needs "psnr_noise_corrected_db" filled in (select)."""
    cands, fl = result["candidates"], result["jpeg_floor"]
    ssim_circle, ssim_joints = min(SSIM_MIN, fl["ssim"]), min(SSIM_MIN, fl["joints"]["ssim"])
    read = {}
    for n, c in cands.items():
        psnr = c["circle"]["psnr_noise_corrected_db"]
        psnr = float("inf") if psnr is None else psnr
        read[n] = {"s_per_frame": c["s_per_frame"], "circle": {"psnr_db": psnr},
                   "qualifies": _qualifies(psnr, c, fl["psnr_db"], ssim_circle, ssim_joints)}
    front = pareto_front({n: (r["s_per_frame"], r["circle"]["psnr_db"]) for n, r in read.items()})
    return {"ssim_min_circle": ssim_circle, "ssim_min_joints": ssim_joints, "pareto_front": front,
            "qualifying_fastest_first": sorted((n for n in read if read[n]["qualifies"]),
                                               key=lambda n: read[n]["s_per_frame"]),
            "presets_from_front": choose_presets(read, fl["psnr_db"], front)}


def select(result: dict) -> dict:
    """Fill in what the measured candidates decide: per candidate "qualifies", the Pareto front, the qualifying
    candidates fastest first, the presets derived from the front and the recommendation (the default's pick).
    Each candidate's circle also gets "psnr_noise_corrected_db" (noise_corrected_psnr_db; the selection itself
    uses the measured PSNR, the conservative reading)."""
    cands, fl = result["candidates"], result["jpeg_floor"]
    front = pareto_front({n: (c["s_per_frame"], c["circle"]["psnr_db"]) for n, c in cands.items()})
    for c in cands.values():
        c["circle"]["psnr_noise_corrected_db"] = noise_corrected_psnr_db(
            c["circle"]["psnr_db"], result["reference"]["own_noise_psnr_db"])
        c["qualifies"] = _qualifies(c["circle"]["psnr_db"], c, fl["psnr_db"], SSIM_MIN, SSIM_MIN)
    qualifying = sorted((n for n in cands if cands[n]["qualifies"]), key=lambda n: cands[n]["s_per_frame"])
    chosen = choose_presets(cands, fl["psnr_db"], front)
    result["noise_corrected_reading"] = noise_corrected_reading(result)
    result.update({
        "ssim_min": SSIM_MIN, "time_tie_fraction": TIME_TIE_FRACTION,
        "pareto_front": front, "qualifying_fastest_first": qualifying, "presets_from_front": chosen,
        "recommended": chosen["default"],
        "recommended_within_target": next(
            (n for n in qualifying if cands[n]["s_per_frame"] <= result["target_s_per_frame"]), None)})
    return result


def report(result: dict, name: str) -> int:
    """Write bench/results/<name>.json and .png and print the table."""
    cands, fl, front = result["candidates"], result["jpeg_floor"], result["pareto_front"]
    path = write_result(name, {k: v for k, v in result.items() if k != "machine"})
    plot(result, RESULTS_DIR / f"{name}.png")
    print(f"reference {result['reference']['samples']} spp: own noise {result['reference']['own_noise_psnr_db']:.1f} "
          f"dB; JPEG q{result['jpeg_quality']} floor {fl['psnr_db']:.2f} dB (SSIM {fl['ssim']:.4f})")
    for n in sorted(cands, key=lambda n: cands[n]["s_per_frame"]):
        c = cands[n]
        print(f"{n:28s} {c['s_per_frame']:6.2f} s/frame x{c['ratio_to_current_default']:.3f}  circle "
              f"{c['circle']['psnr_db']:.2f} dB {c['circle']['ssim']:.4f} (noise-corrected "
              f"{c['circle']['psnr_noise_corrected_db'] or float('inf'):.2f} dB)  joints {c['joints']['psnr_db']:.2f} dB "
              f"{c['joints']['ssim']:.4f}  jpeg {c['circle_jpeg']['psnr_db']:.2f} dB"
              f"{'  front' if n in front else ''}{'  ok' if c['qualifies'] else ''}")
    print(f"recommended: {result['recommended']}; within {result['target_s_per_frame']} s: "
          f"{result['recommended_within_target']}; presets from the front: {result['presets_from_front']}")
    nc = result["noise_corrected_reading"]
    print(f"noise-corrected reading (SSIM >= {nc['ssim_min_circle']:.4f} circle, {nc['ssim_min_joints']:.4f} "
          f"joints): qualifying {nc['qualifying_fastest_first']}; presets {nc['presets_from_front']}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
