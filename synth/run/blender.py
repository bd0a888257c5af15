"""The Cycles renderer of the run layer: one warm BlenderScene per process renders every clip's views."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synth.config import RenderConfig
from synth.dataset import format as fmt
from synth.scene.spec import ClipSpec

#: Blender's own output goes here, relative to the dataset directory.
BLENDER_LOG = Path(fmt.LOGS_DIR) / "blender.log"
#: File extension of each render pass.
PASS_EXTENSIONS = {"depth": ".exr", "parts": ".png", "objects": ".png"}


def load_blender(cfg: RenderConfig, threads: int | None = None, device: str | None = None) -> Any:
    """The config's resolved RenderSettings, with bpy loaded and Blender's own thread pool sized to their threads.

    Call it before anything else in the process imports synth.blender (only the first bpy import can size the
    pool). threads / device override render.threads / render.device for this process only.
    """
    from synth.render_settings import RenderSettings
    from synth.blender.threads import import_bpy

    overrides = {k: v for k, v in (("threads", threads), ("device", device)) if v is not None}
    settings = RenderSettings.from_config(cfg.render, jpeg_quality=cfg.output.jpeg_quality, **overrides)
    import_bpy(settings.threads)
    return settings


def blender_version() -> str:
    """The version of the bpy module this process renders with."""
    from synth.blender.scene import blender_version as version

    return version()


class BlenderRenderer:
    """Renders clips with one BlenderScene (built once; cameras, body, garments and world swapped per clip)."""

    def __init__(self, cfg: RenderConfig, log_path: Path | None = None, threads: int | None = None,
                 device: str | None = None):
        """threads / device override the config's render.threads / render.device for this process only (a farm
        worker uses exactly its reserved CPUs and GPUs); they change how fast, not what, is rendered."""
        self.cfg = cfg
        self.image_format: str | None = cfg.output.image_format
        settings = load_blender(cfg, threads, device)
        from synth.blender.scene import BlenderScene

        self.scene = BlenderScene(settings, log_path=log_path)

    @staticmethod
    def blender_version() -> str:
        return blender_version()

    def render_frame(self, spec: ClipSpec, f: int, tmp_dir: Path, seconds: dict[str, float],
                     views: tuple[str, ...] | None = None) -> None:
        """Pose frame f and render its views (default: all of the rig's) into `tmp_dir`; adds the stage times to
        `seconds`."""
        t0 = time.perf_counter()
        self.scene.set_frame(f, spec.T_world_from_device[f])
        seconds["scene_update"] += time.perf_counter() - t0
        views = tuple(spec.rig.views) if views is None else views
        stem = fmt.FRAME_STEM.format(frame=f)
        images = {v: tmp_dir / fmt.RGB_DIR / v / f"{stem}.{self.cfg.output.image_format}" for v in views}
        passes = {
            name: {v: tmp_dir / name / v / f"{stem}{PASS_EXTENSIONS[name]}" for v in views}
            for name in self.cfg.output.passes
        }
        self.scene.render_views(images, passes)
        timings = self.scene.timings
        seconds["render"] += timings["render_s"]
        seconds["image_write"] += timings["image_write_s"]
        if passes:
            seconds["passes"] = seconds.get("passes", 0.0) + timings["passes_s"]

    def render_clip(self, spec: ClipSpec, tmp_dir: Path, advance: Callable[[int], None]) -> dict[str, float]:
        """Render every frame and view of the clip into `tmp_dir`; returns seconds per stage."""
        t0 = time.perf_counter()
        self.scene.load(spec)
        seconds = {"scene_setup": time.perf_counter() - t0, "scene_update": 0.0, "render": 0.0, "image_write": 0.0}
        for f in range(spec.num_frames):
            self.render_frame(spec, f, tmp_dir, seconds)
            advance(1)
        return seconds


class LazyBlenderRenderer:
    """A BlenderRenderer built when the first clip needs it (a rerun with nothing left to do never starts Blender's
    scene); its log goes to <dataset>/logs/blender.log."""

    def __init__(self, cfg: RenderConfig, out_dir: Path):
        self.cfg, self.out_dir = cfg, Path(out_dir)
        self.image_format: str | None = cfg.output.image_format
        self._renderer: BlenderRenderer | None = None
        load_blender(cfg)  # bpy loads now (blender_version) with its thread pool sized to render.threads

    def blender_version(self) -> str:
        return blender_version()

    def render_clip(self, spec: ClipSpec, tmp_dir: Path, advance: Callable[[int], None]) -> dict[str, float]:
        if self._renderer is None:
            log_path = self.out_dir / BLENDER_LOG
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self._renderer = BlenderRenderer(self.cfg, log_path=log_path)
        return self._renderer.render_clip(spec, tmp_dir, advance)


def save_blend_preview(dataset_dir: Path, clip_id: str | None, blend_path: Path) -> Path:
    """Rebuild one clip of a dataset from its recorded config and save the assembled scene as a .blend."""
    from synth.config import validate_config_dict
    from synth.dataset.reader import DatasetReader
    from synth.scene.sampler import ClipSampler

    reader = DatasetReader(dataset_dir)
    clip_id = clip_id or reader.clip_ids[0]
    meta = reader.clip_meta(clip_id)
    cfg = validate_config_dict(reader.meta["config"], str(Path(dataset_dir) / fmt.DATASET_JSON), None)
    sampler = ClipSampler(cfg, None)
    spec, _ = sampler.sample(int(meta["clip_index"]))
    renderer = BlenderRenderer(cfg)
    renderer.scene.load(spec)
    renderer.scene.set_frame(0, spec.T_world_from_device[0])
    renderer.scene.save_blend(blend_path)
    return Path(blend_path)
