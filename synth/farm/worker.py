"""A farm worker: one process with a warm renderer (Cycles, or none for labels) that makes whole clips in the
dataset's staging dirs."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

from synth.farm.faults import crash_if_planned, fail_if_planned, parse_faults
from synth.farm.jobs import ClipFailed, ClipJob, ClipResult, WorkerSpec


def fresh_dir(path: Path) -> Path:
    """Empty `path` (removing whatever an earlier attempt left there) and return it."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def blender_renderer(spec: WorkerSpec, log_path: Path) -> Any:
    """The default renderer factory: a Cycles scene using exactly the worker's threads and device."""
    from synth.run.blender import BlenderRenderer

    log_path.parent.mkdir(parents=True, exist_ok=True)
    return BlenderRenderer(spec.cfg, log_path=log_path, threads=spec.threads, device=spec.device)


class ClipWorker:
    """Builds the clip sampler (body model) and the renderer once, then makes one clip per call.

    Plain Python; the driver turns it into a Ray actor. It never touches index.jsonl or a committed clip dir:
    it fills the job's tmp dir with images and returns labels, heatmaps, clip meta and stage times.
    """

    def __init__(self, spec: WorkerSpec):
        self.spec = spec
        self.label = f"{spec.name}@{socket.gethostname()}:{os.getpid()}"
        # A bad input (a missing asset, a config the body model rejects) fails every start the same way: keep the
        # process alive and report it on the first call instead of letting Ray restart it in a loop.
        self.startup_error: str | None = None
        try:
            self._build()
        except Exception as exc:  # noqa: BLE001 - reported by info() and render() with the worker's name
            self.startup_error = f"{type(exc).__name__}: {exc}".splitlines()[0]

    def _build(self) -> None:
        spec = self.spec
        if spec.threads > 0:
            # Keep every thread pool in this process to the worker's share of the CPUs: torch (Anny posing) would
            # otherwise use every core; BlenderRenderer sizes Blender's pools (synth.blender.threads).
            import torch

            torch.set_num_threads(spec.threads)
        from synth.run.blender import BLENDER_LOG
        from synth.scene.sampler import ClipSampler

        self.faults = parse_faults(spec.faults)
        log_path = spec.out_dir / BLENDER_LOG.parent / f"blender_{spec.name}.log"
        # The renderer first: it must be the first to load bpy to size Blender's thread pool to this worker.
        self.renderer = (spec.renderer or blender_renderer)(spec, log_path)
        self.sampler = ClipSampler(spec.cfg, spec.config_dir)

    def info(self) -> dict[str, Any]:
        """Who this worker is and what it renders with (the driver records the Blender version)."""
        if self.startup_error is not None:
            raise ClipFailed(self.label, self.startup_error)
        scene = getattr(self.renderer, "scene", None)
        return {
            "worker": self.label,
            "blender_version": self.renderer.blender_version(),
            "image_format": self.renderer.image_format,
            "device": scene.device if scene is not None else "none",
            "threads": scene.settings.threads if scene is not None else self.spec.threads,
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "bpy_loaded": "bpy" in sys.modules,
        }

    def render(self, job: ClipJob) -> ClipResult:
        """Render clip job.index into job.tmp_dir (emptied first, so a retry starts clean) and return the rest."""
        if self.startup_error is not None:
            raise ClipFailed(self.label, self.startup_error)
        try:
            return self._render(job)
        except Exception as exc:  # noqa: BLE001 - reported to the driver with the worker's name, then retried
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise ClipFailed(self.label, message) from exc

    def _render(self, job: ClipJob) -> ClipResult:
        from synth.run.clip import produce_clip

        fail_if_planned(self.faults, job.index)
        frames_done = [0]

        def advance(n: int) -> None:
            frames_done[0] += n
            if frames_done[0] - n < 1 <= frames_done[0]:  # mid-clip: a frame on disk, the rest not yet rendered
                crash_if_planned(self.faults, job.index, self.spec.out_dir)

        output = produce_clip(self.sampler, job.index, self.renderer, lambda clip_id: fresh_dir(job.tmp_dir), advance)
        return ClipResult(index=job.index, output=output, worker=self.label, attempt=job.attempt)
