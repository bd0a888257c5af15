"""The farm driver: starts Ray and the workers, schedules clips, commits finished ones, records failures."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from synth.config import RenderConfig
from synth.dataset import format as fmt
from synth.farm.faults import parse_faults
from synth.farm.jobs import ClipFailed, ClipJob, FarmError, FarmOptions, WorkerSpec, failure_record
from synth.farm.pool import WorkerPool, first_line
from synth.farm.procs import descendants, process_table
from synth.farm.reaper import start_reaper, stop_reaper
from synth.io import json_line, write_bytes_atomic
from synth.dataset.lock import DatasetLock
from synth.run.dataset import DatasetRun
from synth.run.renderer import factory_image_format

log = logging.getLogger(__name__)

#: Written next to index.jsonl: one JSON line per clip that failed its last attempt in the latest run.
FAILURES_JSONL = fmt.FAILURES_JSONL
#: Environment variables forwarded to workers on a remote cluster (caches of the body model and warp kernels).
FORWARDED_ENV = ("EGORIG_CACHE_DIR", "ANNY_CACHE_DIR", "WARP_CACHE_PATH")
#: How often the driver wakes up to notice a stop request while waiting for results, s.
POLL_S = 0.5
#: How long the workers may take to build their scenes before the run gives up, s.
STARTUP_TIMEOUT_S = 600.0


@dataclass
class FarmSummary:
    """What a farm run did. completed: committed clips in the dataset (this run and earlier ones); rendered: clips
    committed by this run; failed: failure records; interrupted: the signal's name when stopped early; wall_s: the
    whole run, s; render_s: from all workers ready to the last commit, s (the steady-state throughput window)."""

    requested: int
    completed: int = 0
    rendered: int = 0
    skipped: int = 0
    frames: int = 0
    retried: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    interrupted: str | None = None
    splits: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    render_s: float = 0.0
    workers: list[dict[str, Any]] = field(default_factory=list)


class StopRequest:
    """Turns SIGINT/SIGTERM into a flag the scheduling loop polls; a second signal aborts at once."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal_name is not None:
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name

    def __bool__(self) -> bool:
        return self.signal_name is not None


def init_ray(options: FarmOptions) -> Callable[[], None] | None:
    """Connect to the cluster named by options.address / RAY_ADDRESS, or start a local one sized to the workers.

    Returns the function that shuts down what this call started (None when Ray was already initialised). A local
    instance gets a reaper (synth/farm/reaper.py), so its processes die with this one even after a SIGKILL.
    """
    import ray

    if ray.is_initialized():
        return None
    reaper = None
    address = options.address or os.environ.get("RAY_ADDRESS")
    quiet = dict(logging_level=logging.WARNING, log_to_driver=False)
    try:
        if address:
            env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
            ray.init(address=address, runtime_env={"env_vars": env} if env else None, **quiet)
        else:
            gpus = None if options.gpus_per_worker > 0 else 0
            ray.init(address="local", num_cpus=options.workers * options.threads_per_worker, num_gpus=gpus,
                     include_dashboard=False, **quiet)
            reaper = start_reaper()
            lower_monitor_priority()
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
        raise FarmError(f"could not start or reach {where}: {first_line(exc)}") from None

    def shutdown() -> None:
        ray.shutdown()
        stop_reaper(reaper)

    return shutdown


#: Command-line fragments of the local Ray instance's monitoring processes (metrics and dashboard agents, the
#: runtime-env agent, the autoscaler monitor, the log monitor, the API server). The farm uses none of them.
RAY_MONITOR_PROCESSES = ("ray::DashboardAgent", "ray::RuntimeEnvAgent", "ray/dashboard/", "autoscaler/_private/monitor",
                         "_private/log_monitor")
#: Nice value given to those processes: the lowest priority.
MONITOR_NICE = 19


def lower_monitor_priority() -> int:
    """Run this process' local Ray monitoring processes at the lowest CPU priority; returns how many were found.

    They poll every few seconds and took about 7 % of a 2-core machine while both cores rendered; at nice 19 they
    run in the gaps instead of taking turns with the Blender workers. GCS, the raylet and the workers keep their
    priority. Linux only (reads /proc); elsewhere nothing changes.
    """
    lowered = 0
    for proc in descendants(process_table(), os.getpid()):  # never another user's Ray
        if any(tag in proc.cmdline for tag in RAY_MONITOR_PROCESSES):
            try:
                os.setpriority(os.PRIO_PROCESS, proc.pid, MONITOR_NICE)
                lowered += 1
            except OSError:
                continue
    return lowered


def run_farm(cfg: RenderConfig, out_dir: Path, num_clips: int, config_dir: Path | None = None,
             options: FarmOptions | None = None, renderer: Callable[..., Any] | None = None) -> FarmSummary:
    """Render (or resume) a dataset of `num_clips` clips with `options.workers` Ray actors.

    The workers fill clips/.<clip_id>.tmp/ and return labels, heatmaps and clip meta; this process alone commits
    (rename + index.jsonl line) through a synth.run.dataset.DatasetRun, so the index has one writer. Output equals
    `synth render`'s for the same config. renderer: the workers' renderer factory (WorkerSpec.renderer; None:
    Cycles; synth.run.renderer.label_only_renderer: the output of `synth labels`, without Blender).
    """
    from synth.assets import resolve_config_assets
    from synth.geometry.rig import config_rig

    options = options if options is not None else FarmOptions()
    options.validate()
    faults = parse_faults(options.faults)
    out_dir = Path(out_dir).resolve()
    config_dir = Path(config_dir).resolve() if config_dir is not None else None
    rig = config_rig(cfg, config_dir)  # fail on a bad rig before any worker starts
    asset_hash = resolve_config_assets(cfg, config_dir).manifest_hash  # and on missing licensed assets
    image_format = factory_image_format(renderer, cfg.output.image_format)
    lock = DatasetLock(out_dir).acquire()  # one writer per directory, also across hosts on shared storage
    try:
        # Resume an existing dataset now, so a config-hash or kind mismatch fails before any worker starts.
        run = DatasetRun(cfg, rig, out_dir, image_format, None, asset_hash) if DatasetRun.exists(out_dir) else None
        if run is not None and not run.todo(num_clips):
            return _finish_complete(run, num_clips)  # nothing to render: no Ray, no workers
        return _run_locked(cfg, out_dir, num_clips, config_dir, options, renderer, faults, rig, asset_hash, run)
    finally:
        lock.release()


def _finish_complete(run: DatasetRun, num_clips: int) -> FarmSummary:
    """The summary of a resumed dataset whose first `num_clips` clips are all committed (splits refreshed)."""
    start = time.perf_counter()
    failures_path = run.root / FAILURES_JSONL
    if failures_path.exists():
        failures_path.unlink()  # every clip it named has been committed since
    summary = FarmSummary(requested=num_clips, skipped=num_clips)
    result = run.finish()
    summary.completed, summary.splits = result["clips"], result["splits"]
    summary.wall_s = time.perf_counter() - start
    log.info("farm: all %d clips already complete; nothing to render", num_clips)
    return summary


def _run_locked(cfg, out_dir, num_clips, config_dir, options, renderer, faults, rig, asset_hash, run) -> FarmSummary:
    """run_farm while holding the directory's writer lock (run: the resumed dataset, or None for a new one)."""
    def spec_for(name: str) -> WorkerSpec:
        return WorkerSpec(cfg=cfg, config_dir=config_dir, out_dir=out_dir, name=name,
                          threads=options.threads_per_worker,
                          device="cpu" if options.gpus_per_worker <= 0 else None, faults=options.faults,
                          renderer=renderer)

    summary = FarmSummary(requested=num_clips)
    start = time.perf_counter()
    shutdown_ray = init_ray(options)
    stop = StopRequest()
    stop.install()
    pool = None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        pool = WorkerPool(options, spec_for)
        pool.start()
        summary.workers = pool.wait_ready(lambda: bool(stop), STARTUP_TIMEOUT_S, POLL_S) or []
        if not stop:
            log.info("farm: %d workers ready (%s)", len(summary.workers),
                     ", ".join(f"{w['worker']} {w['device']} x{w['threads']}" for w in summary.workers))
            if run is None:
                first = summary.workers[0]
                run = DatasetRun(cfg, rig, out_dir, first["image_format"], first["blender_version"], asset_hash)
            t0 = time.perf_counter()
            _schedule(cfg, num_clips, options, faults, run, pool, stop, summary)
            summary.render_s = time.perf_counter() - t0
    finally:
        if pool is not None:
            pool.kill_all()
        stop.restore()
        if shutdown_ray is not None:
            shutdown_ray()
    summary.interrupted = stop.signal_name
    if run is not None:  # splits over every committed clip (also after failures or a stop request)
        result = run.finish()
        summary.completed, summary.splits = result["clips"], result["splits"]
    summary.wall_s = time.perf_counter() - start
    return summary


def _schedule(cfg, num_clips, options, faults, run: DatasetRun, pool, stop, summary) -> None:
    """Submit clips under the in-flight cap, commit results in completion order, retry or record failures."""
    import ray
    from tqdm import tqdm

    failures_path = run.root / FAILURES_JSONL
    if failures_path.exists():
        failures_path.unlink()  # the clips it names are retried by this run
    todo = deque(run.todo(num_clips))
    summary.skipped = num_clips - len(todo)
    attempts: dict[int, int] = {}
    inflight: dict[Any, tuple[ClipJob, Any, int, str]] = {}
    total = len(todo)
    bar = tqdm(total=total * cfg.clips.frames, unit="frame", disable=not options.progress,
               desc=f"clips 0/{total}", dynamic_ncols=True)

    def retry_or_fail(job: ClipJob, error: str, worker: str) -> None:
        if job.attempt <= options.retries:
            log.warning("clip %s attempt %d failed on %s (%s); retrying", fmt.clip_id(job.index), job.attempt,
                        worker, error)
            summary.retried += 1
            todo.appendleft(job.index)
            return
        record = failure_record(fmt.clip_id(job.index), job.index, cfg.seed, error, worker, job.attempt)
        summary.failed.append(record)
        shutil.rmtree(job.tmp_dir, ignore_errors=True)  # no attempt is left that could still write there
        write_bytes_atomic(failures_path, b"".join(json_line(r) for r in summary.failed))
        log.error("clip %s failed after %d attempts: %s", record["clip_id"], job.attempt, error)

    try:
        while (todo or inflight) and not stop:
            if todo:
                pool.recycle_spent()
            while todo and (slot := pool.free_slot()) is not None:
                index = todo.popleft()
                attempts[index] = attempts.get(index, 0) + 1
                job = ClipJob(index=index, tmp_dir=run.tmp_dir(fmt.clip_id(index)), attempt=attempts[index])
                inflight[pool.submit(slot, job)] = (job, slot, slot.generation, slot.label)
            if not inflight:  # every worker with room is still starting up
                time.sleep(POLL_S)
                continue
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=POLL_S)
            for ref in ready:
                job, slot, generation, worker = inflight.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    pool.finished(slot, ref)
                    pool.lost(slot, generation)
                    retry_or_fail(job, f"worker process died: {first_line(exc)}", worker)
                    continue
                except ray.exceptions.RayTaskError as exc:
                    pool.finished(slot, ref)
                    cause = exc.cause
                    if isinstance(cause, ClipFailed):
                        retry_or_fail(job, cause.error, cause.worker)
                    else:
                        retry_or_fail(job, first_line(exc), worker)
                    continue
                pool.finished(slot, ref)
                out = result.output
                run.commit(out)
                summary.rendered += 1
                summary.frames += out.frames
                bar.update(out.frames)
                bar.set_description(f"clips {summary.rendered}/{total}")
                if summary.failed or summary.retried:
                    bar.set_postfix(retried=summary.retried, failed=len(summary.failed))
                if faults.interrupt_after is not None and summary.rendered == faults.interrupt_after:
                    os.kill(os.getpid(), signal.SIGINT)  # test hook: behave as if the user pressed Ctrl-C
            for slot, hung in pool.overdue(options.clip_timeout_s):
                for ref in pool.replace_now(slot):
                    if ref not in inflight:
                        continue
                    job, _, _, worker = inflight.pop(ref)
                    if ref == hung:
                        retry_or_fail(job, f"timed out after {options.clip_timeout_s:g} s; worker replaced", worker)
                    else:  # queued behind the hung clip, never started: not an attempt
                        attempts[job.index] -= 1
                        todo.appendleft(job.index)
    finally:
        bar.close()
    if stop:
        log.warning("farm: %s received; stopped with %d clips in flight (not committed)", stop.signal_name,
                    len(inflight))
