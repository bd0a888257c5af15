"""Rendered datasets: one warm Blender scene per process renders every clip's views into the native format."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synth.config import RenderConfig
from synth.pipeline import ClipContent, ClipGenerator, generate_dataset

#: Blender's own output goes here, relative to the dataset directory.
BLENDER_LOG = Path("logs") / "blender.log"
PASS_EXTENSIONS = {"depth": ".exr", "parts": ".png"}


def load_blender(cfg: RenderConfig, threads: int | None = None, device: str | None = None) -> Any:
    """The config's resolved RenderSettings, with bpy loaded and Blender's own thread pool sized to their threads.

    Call it before anything else in the process imports synth.blender (only the first bpy import can size the
    pool). threads / device override render.threads / render.device for this process only.
    """
    from synth.blender.settings import RenderSettings
    from synth.blender.threads import import_bpy

    overrides = {k: v for k, v in (("threads", threads), ("device", device)) if v is not None}
    settings = RenderSettings.from_config(cfg.render, jpeg_quality=cfg.output.jpeg_quality, **overrides)
    import_bpy(settings.threads)
    return settings


class ClipRenderer:
    """Renders clips with one BlenderScene (built once; cameras, body, garments and world swapped per clip)."""

    def __init__(self, cfg: RenderConfig, log_path: Path | None = None, threads: int | None = None,
                 device: str | None = None):
        """threads / device override the config's render.threads / render.device for this process only (a farm
        worker uses exactly its reserved CPUs and GPUs); they change how fast, not what, is rendered."""
        self.cfg = cfg
        settings = load_blender(cfg, threads, device)
        from synth.blender.scene import BlenderScene

        self.scene = BlenderScene(settings, log_path=log_path)
        self._rig_key: Any = None

    @staticmethod
    def blender_version() -> str:
        from synth.blender.scene import blender_version

        return blender_version()

    def prepare(self, content: ClipContent, rig: Any) -> None:
        """Load one clip into the scene (cameras only when the rig changed)."""
        if self._rig_key is not id(rig):
            self.scene.set_cameras(rig)
            self._rig_key = id(rig)
        self.scene.set_body(content.posed, content.appearance)
        self.scene.set_garments(content.garments)
        self.scene.set_environment(content.environment)
        self.scene.set_seed(content.index)

    def render_frame(self, content: ClipContent, f: int, tmp_dir: Path, views: tuple[str, ...],
                     seconds: dict[str, float]) -> None:
        """Pose frame f and render its views into `tmp_dir`; adds the stage times to `seconds`."""
        t0 = time.perf_counter()
        self.scene.set_frame(f, content.T_world_from_device[f])
        seconds["scene_update"] += time.perf_counter() - t0
        ext = "." + self.cfg.output.image_format
        images = {v: tmp_dir / "rgb" / v / f"{f:06d}{ext}" for v in views}
        passes = {
            name: {v: tmp_dir / name / v / f"{f:06d}{PASS_EXTENSIONS[name]}" for v in views}
            for name in self.cfg.output.passes
        }
        self.scene.render_views(images, passes)
        timings = self.scene.timings
        seconds["render"] += timings["render_s"]
        seconds["image_write"] += timings["image_write_s"]
        if passes:
            seconds["passes"] = seconds.get("passes", 0.0) + timings["passes_s"]

    def __call__(self, content: ClipContent, tmp_dir: Path, advance: Callable[[int], None], rig: Any) -> dict:
        """Render every frame and view of the clip into `tmp_dir`; returns seconds per stage."""
        t0 = time.perf_counter()
        self.prepare(content, rig)
        seconds = {"scene_setup": time.perf_counter() - t0, "scene_update": 0.0, "render": 0.0, "image_write": 0.0}
        for f in range(content.posed.num_frames):
            self.render_frame(content, f, tmp_dir, tuple(rig.views), seconds)
            advance(1)
        return seconds


def render_dataset(
    cfg: RenderConfig, out_dir: Path, num_clips: int, config_dir: Path | None = None, progress: bool = True
) -> dict[str, Any]:
    """Render (or resume) a dataset of `num_clips` clips in this process.

    Bad input fails before Blender starts (ClipGenerator checks rig, body, motions, textures and HDRIs). The
    Blender scene is built when the first clip needs it, so a rerun with nothing left to do never starts it.
    Blender's own output is appended to <out>/logs/blender.log.
    """
    out_dir = Path(out_dir)
    gen = ClipGenerator(cfg, config_dir)
    load_blender(cfg)  # bpy loads here (blender_version below) with its thread pool sized to render.threads
    from synth.blender.scene import blender_version

    renderer: ClipRenderer | None = None

    def render_clip(content: ClipContent, tmp: Path, advance: Callable[[int], None]) -> dict:
        nonlocal renderer
        if renderer is None:
            (out_dir / BLENDER_LOG).parent.mkdir(parents=True, exist_ok=True)
            renderer = ClipRenderer(cfg, log_path=out_dir / BLENDER_LOG)
        return renderer(content, tmp, advance, gen.rig)

    return generate_dataset(
        cfg,
        out_dir,
        num_clips,
        config_dir=config_dir,
        render_clip=render_clip,
        image_format=cfg.output.image_format,
        blender_version=blender_version(),
        progress=progress,
        generator=gen,
    )


def save_blend_preview(dataset_dir: Path, clip_id: str | None, blend_path: Path) -> Path:
    """Rebuild one clip of a dataset from its recorded config and save the assembled scene as a .blend."""
    from synth.config import validate_config_dict
    from synth.dataset.reader import DatasetReader

    reader = DatasetReader(dataset_dir)
    clip_id = clip_id or reader.clip_ids[0]
    meta = reader.clip_meta(clip_id)
    cfg = validate_config_dict(reader.meta["config"], str(Path(dataset_dir) / "dataset.json"), None)
    gen = ClipGenerator(cfg, None)
    content = gen.content(int(meta["clip_index"]))
    renderer = ClipRenderer(cfg)
    renderer.prepare(content, gen.rig)
    renderer.scene.set_frame(0, content.T_world_from_device[0])
    renderer.scene.save_blend(blend_path)
    return Path(blend_path)
