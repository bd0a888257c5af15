"""A farm worker: one process with a warm Blender scene that renders whole clips into the dataset's staging dirs."""

from __future__ import annotations

import os
import shutil
import socket
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


class ClipWorker:
    """Builds the clip generator (body model) and the Blender scene once, then renders one clip per call.

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
            # otherwise use every core; ClipRenderer sizes Blender's pools (synth.blender.threads).
            import torch

            torch.set_num_threads(spec.threads)
        from synth.pipeline import ClipGenerator
        from synth.render import BLENDER_LOG, ClipRenderer

        self.faults = parse_faults(spec.faults)
        log_path = spec.out_dir / BLENDER_LOG.parent / f"blender_{spec.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        # The renderer first: it must be the first to load bpy to size Blender's thread pool to this worker.
        self.renderer = ClipRenderer(spec.cfg, log_path=log_path, threads=spec.threads, device=spec.device)
        self.generator = ClipGenerator(spec.cfg, spec.config_dir)

    def info(self) -> dict[str, Any]:
        """Who this worker is and what it renders with (the driver records the Blender version)."""
        if self.startup_error is not None:
            raise ClipFailed(self.label, self.startup_error)
        scene = self.renderer.scene
        return {
            "worker": self.label,
            "blender_version": self.renderer.blender_version(),
            "device": scene.device,
            "threads": scene.settings.threads,
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
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
        from synth.pipeline import produce_clip

        fail_if_planned(self.faults, job.index)
        rig = self.generator.rig
        frames_done = [0]

        def advance(n: int) -> None:
            frames_done[0] += n
            if frames_done[0] == 1:  # mid-clip: one frame on disk, the rest not yet rendered
                crash_if_planned(self.faults, job.index, self.spec.out_dir)

        output = produce_clip(
            self.generator,
            job.index,
            lambda clip_id: fresh_dir(job.tmp_dir),
            lambda content, tmp, adv: self.renderer(content, tmp, adv, rig),
            advance,
        )
        return ClipResult(index=job.index, output=output, worker=self.label, attempt=job.attempt)
