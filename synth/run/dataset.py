"""The resume/commit loop of a dataset, written once: which clips are left, commit each, split at the end.

`synth labels` and `synth render` run it in this process (run_dataset); the farm driver schedules the same
DatasetRun's clips on Ray workers and commits their outputs through it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from synth.config import RenderConfig
from synth.dataset import format as fmt
from synth.dataset.lock import DatasetLock
from synth.dataset.meta import dataset_meta
from synth.dataset.splits import finalize_dataset, split_of_identity
from synth.dataset.writer import DatasetWriter
from synth.geometry.rig import Rig
from synth.run.clip import ClipOutput, produce_clip
from synth.run.renderer import LabelOnlyRenderer, Renderer
from synth.scene.sampler import ClipSampler

log = logging.getLogger(__name__)


class DatasetRun:
    """A dataset directory being written or resumed by one process (the only writer of its index)."""

    def __init__(self, cfg: RenderConfig, rig: Rig, out_dir: Path, image_format: str | None,
                 blender_version: str | None, asset_manifest_hash: str | None):
        """Create the dataset, or resume it (DatasetError when it was made by another config)."""
        self.cfg = cfg
        self.writer = DatasetWriter(out_dir, dataset_meta(cfg, rig, image_format, blender_version,
                                                          asset_manifest_hash))

    @staticmethod
    def exists(out_dir: Path) -> bool:
        """Whether `out_dir` already holds a dataset (then DatasetRun resumes it)."""
        return (Path(out_dir) / fmt.DATASET_JSON).exists()

    @property
    def root(self) -> Path:
        return self.writer.root

    def todo(self, num_clips: int) -> list[int]:
        """Indices of the first `num_clips` clips not committed yet, in order."""
        done = set(self.writer.completed_clip_ids())
        todo = [i for i in range(num_clips) if fmt.clip_id(i) not in done]
        if len(todo) < num_clips:
            log.info("resuming: %d of %d clips already complete", num_clips - len(todo), num_clips)
        return todo

    def tmp_dir(self, clip_id: str) -> Path:
        """The clip's staging directory (emptied on first use in this run)."""
        return self.writer.clip_dir_tmp(clip_id)

    def commit(self, out: ClipOutput) -> None:
        """Move a finished clip into the dataset and append its index line (the commit point), with its split."""
        split = split_of_identity(out.meta["identity"]["identity_id"], self.cfg.seed, self.cfg.splits.val,
                                  self.cfg.splits.test)
        self.writer.write_clip(out.clip_id, out.meta, out.labels, out.heatmaps, out.seconds, split=split)

    def finish(self) -> dict[str, Any]:
        """Identity-disjoint splits over every committed clip into dataset.json; {"clips", "splits"} counts."""
        return finalize_dataset(self.writer, self.cfg.seed, self.cfg.splits.val, self.cfg.splits.test)


def run_dataset(sampler: ClipSampler, out_dir: Path, num_clips: int, renderer: Renderer,
                progress: bool = True) -> dict[str, Any]:
    """Write (or resume) a dataset of `num_clips` clips in this process, holding the directory's writer lock;
    {"clips", "splits"} counts."""
    with DatasetLock(out_dir):  # one writer per directory: a second run fails naming this one
        return _run_locked(sampler, Path(out_dir), num_clips, renderer, progress)


def _run_locked(sampler: ClipSampler, out_dir: Path, num_clips: int, renderer: Renderer,
                progress: bool) -> dict[str, Any]:
    from tqdm import tqdm

    run = DatasetRun(sampler.cfg, sampler.rig, out_dir, renderer.image_format, renderer.blender_version(),
                     sampler.assets.manifest_hash)
    todo = run.todo(num_clips)
    try:
        # The context manager ends the bar's line even when a clip fails, so an error message starts on its own line.
        with tqdm(total=len(todo) * sampler.cfg.clips.frames, unit="frame", disable=not progress or not todo,
                  desc=f"clips 0/{len(todo)}") as bar:
            for n, index in enumerate(todo):
                run.commit(produce_clip(sampler, index, renderer, run.tmp_dir, bar.update))
                bar.set_description(f"clips {n + 1}/{len(todo)}")
    except BaseException:
        run.writer.discard_if_empty()  # a new dataset whose first clip failed leaves nothing behind
        raise
    return run.finish()


def label_dataset(cfg: RenderConfig, out_dir: Path, num_clips: int, config_dir: Path | None = None,
                  progress: bool = True, sampler: ClipSampler | None = None) -> dict[str, Any]:
    """Write (or resume) a label-only dataset (`synth labels`): labels, heatmaps and clip.json, no images.

    The writer lock is taken first, so a second run into the same directory fails before loading anything."""
    with DatasetLock(out_dir):
        sampler = sampler if sampler is not None else ClipSampler(cfg, config_dir)
        return _run_locked(sampler, Path(out_dir), num_clips, LabelOnlyRenderer(), progress)


def render_dataset(cfg: RenderConfig, out_dir: Path, num_clips: int, config_dir: Path | None = None,
                   progress: bool = True) -> dict[str, Any]:
    """Render (or resume) a dataset in this process (`synth render`).

    The writer lock is taken first; then bad input fails before Blender starts (the sampler checks rig, body,
    motions, textures and HDRIs). The Blender scene is built when the first clip needs it, so a rerun with nothing
    left to do never starts it. Blender's own output is appended to <out>/logs/blender.log.
    """
    from synth.run.blender import LazyBlenderRenderer

    with DatasetLock(out_dir):
        sampler = ClipSampler(cfg, config_dir)
        return _run_locked(sampler, Path(out_dir), num_clips, LazyBlenderRenderer(cfg, Path(out_dir)), progress)
