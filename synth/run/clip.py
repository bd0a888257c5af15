"""One clip, from its index to everything a commit needs: sample the spec, compute its labels, render it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synth.dataset.meta import clip_meta
from synth.labels.compute import HEATMAP_DTYPE, ClipLabels, compute_clip_labels
from synth.run.renderer import Renderer
from synth.scene.sampler import ClipSampler
from synth.scene.spec import ClipSpec


@dataclass
class ClipOutput:
    """What a clip commit needs besides the images already staged in its tmp dir.

    meta: clip.json content; labels: the labels.npz arrays (format.LABEL_SPECS); heatmaps: (F, V, 15, S, S)
    float16; seconds: time per stage, s.
    """

    clip_id: str
    meta: dict[str, Any]
    labels: dict[str, np.ndarray]
    heatmaps: np.ndarray
    seconds: dict[str, float]

    @property
    def frames(self) -> int:
        return int(self.labels["frame_index"].shape[0])


def clip_labels(sampler: ClipSampler, spec: ClipSpec) -> tuple[ClipLabels, dict[str, float]]:
    """The clip's labels with the config's heatmap settings, and seconds per label stage."""
    stage_times: dict[str, float] = {}
    labels_cfg = sampler.cfg.labels
    labels = compute_clip_labels(spec, labels_cfg.heatmap_size, labels_cfg.heatmap_sigma_px, stage_times)
    return labels, stage_times


def produce_clip(sampler: ClipSampler, index: int, renderer: Renderer, tmp_dir_for: Callable[[str], Path],
                 advance: Callable[[int], None] = lambda n: None) -> ClipOutput:
    """Sample, label and render clip `index` (images into tmp_dir_for(clip_id)); advance(n) after n frames.

    The one code path behind `synth labels`, `synth render` and the farm workers, so their outputs are identical.
    """
    spec, seconds = sampler.sample(index)
    labels, label_times = clip_labels(sampler, spec)
    seconds.update(label_times)
    seconds.update(renderer.render_clip(spec, tmp_dir_for(spec.clip_id), advance))
    meta = clip_meta(spec, sampler.cfg.seed, sampler.files.records(list(spec.asset_files)))
    return ClipOutput(spec.clip_id, meta, labels.label_arrays(), labels.heatmaps.astype(HEATMAP_DTYPE), seconds)
