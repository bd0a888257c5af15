"""Plain data passed between the farm driver and its workers: options, worker specs, jobs, results, failures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth.config import RenderConfig
from synth.errors import EgorigError

#: In-flight jobs per worker: one rendering, one queued so the worker never idles between clips.
JOBS_PER_WORKER = 2
#: Clips a worker renders before it is replaced by a fresh process (bounds Blender's memory growth).
CLIPS_PER_WORKER = 50
#: Extra attempts a clip gets after its first one fails.
RETRIES = 2
#: Ray restarts of a crashed worker before the driver replaces it with a new actor.
MAX_RESTARTS = 3


class FarmError(EgorigError):
    """The farm could not run (bad options, a worker that cannot start, an unreachable cluster)."""


class ClipFailed(RuntimeError):
    """Raised by a worker when a clip fails: names the worker (host and pid) and the original error in one line."""

    def __init__(self, worker: str, error: str):
        super().__init__(f"{worker}: {error}")
        self.worker = worker
        self.error = error

    def __reduce__(self):
        return ClipFailed, (self.worker, self.error)


@dataclass(frozen=True)
class FarmOptions:
    """How the farm runs. workers: Blender actors; threads_per_worker: CPUs each reserves and Cycles uses;
    gpus_per_worker: GPUs each reserves (0: render on the CPU); clips_per_worker: clips before a worker is
    recycled; retries: extra attempts per clip; max_restarts: Ray restarts of a crashed worker; jobs_per_worker:
    in-flight cap per worker; clip_timeout_s: a clip running longer than this on its worker counts as a failed
    attempt and its worker is replaced (None: no limit); address: a running Ray cluster (None: RAY_ADDRESS, else
    a local one); faults: the EGORIG_FARM_FAULT test hook (synth/farm/faults.py)."""

    workers: int = 2
    threads_per_worker: int = 1
    gpus_per_worker: float = 0.0
    clips_per_worker: int = CLIPS_PER_WORKER
    retries: int = RETRIES
    max_restarts: int = MAX_RESTARTS
    jobs_per_worker: int = JOBS_PER_WORKER
    clip_timeout_s: float | None = None
    address: str | None = None
    progress: bool = True
    faults: str = ""

    def validate(self) -> "FarmOptions":
        checks = [
            (self.workers >= 1, "--workers", "must be at least 1"),
            (self.threads_per_worker >= 1, "--threads-per-worker", "must be at least 1"),
            (self.gpus_per_worker >= 0, "--gpus-per-worker", "must be 0 or more"),
            (self.clips_per_worker >= 1, "--clips-per-worker", "must be at least 1"),
            (self.retries >= 0, "--retries", "must be 0 or more"),
            (self.max_restarts >= 0, "--max-restarts", "must be 0 or more"),
            (self.jobs_per_worker >= 1, "jobs_per_worker", "must be at least 1"),
            (self.clip_timeout_s is None or self.clip_timeout_s > 0, "--clip-timeout",
             "must be more than 0 seconds (leave it out for no limit)"),
        ]
        for ok, name, problem in checks:
            if not ok:
                raise FarmError(f"synth farm: {name} {problem}")
        return self


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs to build its warm scene (sent once, at actor creation).

    config_dir and out_dir are absolute and must be on storage every node sees. threads: Cycles threads (FIXED);
    device: render.device override ("cpu" for CPU-only workers, None keeps the config's, usually "auto", which
    picks the GPU Ray assigned through CUDA_VISIBLE_DEVICES). renderer: a module-level factory
    renderer(spec, log_path) -> synth.run.renderer.Renderer (None: Cycles, synth.run.blender.BlenderRenderer;
    synth.run.renderer.label_only_renderer makes a label-only farm that needs no Blender).
    """

    cfg: RenderConfig
    config_dir: Path | None
    out_dir: Path
    name: str
    threads: int
    device: str | None
    faults: str = ""
    renderer: Callable[..., Any] | None = None


@dataclass(frozen=True)
class ClipJob:
    """One clip to render: its index, the staging dir the worker fills (wiped first), and the attempt (1-based)."""

    index: int
    tmp_dir: Path
    attempt: int = 1


@dataclass
class ClipResult:
    """A rendered clip: its images are in the job's tmp_dir; `output` holds the rest (synth.run.clip.ClipOutput)."""

    index: int
    output: Any
    worker: str
    attempt: int


def failure_record(clip_id: str, index: int, seed: int, error: str, worker: str, attempts: int) -> dict[str, Any]:
    """One failures.jsonl line: the clip, the (config seed, clip index) it derives from, the last error."""
    return {"clip_id": clip_id, "clip_index": index, "seed": [seed, index], "error": error, "worker": worker,
            "attempts": attempts}
