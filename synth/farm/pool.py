"""Worker actor slots: creation, the in-flight cap, recycling after N clips and replacement after crashes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from synth.farm.jobs import ClipFailed, ClipJob, FarmError, FarmOptions, WorkerSpec

log = logging.getLogger(__name__)

#: Times Ray re-runs a clip on the restarted worker after its process died; further crashes reach the driver,
#: which counts them as failed attempts.
TASK_RETRIES_ON_CRASH = 1


@dataclass
class WorkerSlot:
    """One worker position. label: the current actor's name; queue: refs of its unfinished jobs (the actor runs
    them in order, so queue[0] is the one rendering); head_since: time.monotonic() when queue[0] started (None when
    idle); started: clips submitted to the current actor; generation: how many actors this slot has had;
    ready_ref: the new actor's info() call until it has answered (no clip is submitted before, so a clip's timeout
    never counts the worker's start-up)."""

    name: str
    label: str = ""
    actor: Any = None
    queue: list[Any] = field(default_factory=list)
    head_since: float | None = None
    started: int = 0
    generation: int = 0
    ready_ref: Any = None


class WorkerPool:
    """A fixed number of ClipWorker actors, each reserving its CPUs (and GPUs) for its whole life."""

    def __init__(self, options: FarmOptions, spec_for: Callable[[str], WorkerSpec]):
        import ray

        from synth.farm.worker import ClipWorker

        self.options = options
        self._spec_for = spec_for
        resources: dict[str, Any] = {"num_cpus": options.threads_per_worker}
        if options.gpus_per_worker > 0:
            resources["num_gpus"] = options.gpus_per_worker
        # A crashed process is restarted by Ray (its warm scene rebuilt in __init__) and the clip it was rendering,
        # like the ones queued behind it, is re-run there (idempotent: the worker empties the tmp dir first).
        # Exceptions raised by a clip are not retried by Ray; the driver retries them and counts attempts.
        self._actor_class = ray.remote(max_restarts=options.max_restarts, max_task_retries=TASK_RETRIES_ON_CRASH,
                                       **resources)(ClipWorker)
        self.slots = [WorkerSlot(name=f"w{i}") for i in range(options.workers)]

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        for slot in self.slots:
            self._new_actor(slot)

    def _new_actor(self, slot: WorkerSlot) -> None:
        slot.generation += 1
        slot.label = slot.name if slot.generation == 1 else f"{slot.name}.{slot.generation}"
        slot.actor = self._actor_class.remote(self._spec_for(slot.label))
        slot.ready_ref = slot.actor.info.remote()
        slot.started = 0

    def wait_ready(self, stop: Callable[[], bool], timeout_s: float, poll_s: float) -> list[dict[str, Any]] | None:
        """Block until every worker has built its scene (None when `stop()` turns true first); FarmError naming
        the cause when a worker cannot start or the workers do not fit the cluster within timeout_s."""
        import ray

        refs = [slot.ready_ref for slot in self.slots]
        deadline = time.monotonic() + timeout_s
        while not stop():
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=poll_s)
            if len(ready) == len(refs):
                for slot in self.slots:
                    slot.ready_ref = None
                try:
                    return ray.get(refs)
                except ray.exceptions.RayTaskError as exc:
                    cause = exc.cause
                    what = f"{cause.worker}: {cause.error}" if isinstance(cause, ClipFailed) else first_line(exc)
                    raise FarmError(f"a farm worker could not start: {what}") from None
                except ray.exceptions.RayError as exc:
                    raise FarmError(f"a farm worker could not start: {first_line(exc)}") from None
            if time.monotonic() > deadline:
                raise FarmError(
                    f"the workers did not start within {timeout_s:.0f} s; the cluster may lack "
                    f"{self.options.threads_per_worker} free CPUs (and {self.options.gpus_per_worker} GPUs) per "
                    f"worker"
                )
        return None

    def kill_all(self) -> None:
        import ray

        for slot in self.slots:
            if slot.actor is not None:
                ray.kill(slot.actor, no_restart=True)
                slot.actor = None
            slot.queue.clear()
            slot.head_since = None

    # ------------------------------------------------------------------ scheduling
    def free_slot(self) -> WorkerSlot | None:
        """The least-loaded slot that may take another job (under the in-flight cap and its clip quota)."""
        open_slots = [
            s for s in self.slots
            if len(s.queue) < self.options.jobs_per_worker and s.started < self.options.clips_per_worker
            and self._started_up(s)
        ]
        return min(open_slots, key=lambda s: len(s.queue)) if open_slots else None

    @staticmethod
    def _started_up(slot: WorkerSlot) -> bool:
        """Whether the slot's actor has answered its info() call (built its scene, or failed to: a failed start
        is reported by the first clip it is given)."""
        import ray

        if slot.ready_ref is not None:
            ready, _ = ray.wait([slot.ready_ref], timeout=0)
            if not ready:
                return False
            slot.ready_ref = None
        return True

    def submit(self, slot: WorkerSlot, job: ClipJob) -> Any:
        ref = slot.actor.render.remote(job)
        if not slot.queue:
            slot.head_since = time.monotonic()
        slot.queue.append(ref)
        slot.started += 1
        return ref

    def finished(self, slot: WorkerSlot, ref: Any) -> None:
        if ref in slot.queue:
            was_head = slot.queue[0] == ref
            slot.queue.remove(ref)
            if was_head:
                slot.head_since = time.monotonic() if slot.queue else None

    def overdue(self, timeout_s: float | None) -> list[tuple[WorkerSlot, Any]]:
        """(slot, ref of the clip it is rendering) for every worker whose current clip has run over timeout_s."""
        if timeout_s is None:
            return []
        now = time.monotonic()
        return [(s, s.queue[0]) for s in self.slots
                if s.queue and s.head_since is not None and now - s.head_since > timeout_s]

    def replace_now(self, slot: WorkerSlot) -> list[Any]:
        """Kill the slot's actor (a hung clip) and start a fresh one; returns the refs that were queued on it."""
        refs = list(slot.queue)
        self._replace(slot)
        return refs

    def recycle_spent(self) -> None:
        """Replace idle workers that reached clips_per_worker with fresh processes (bounds memory growth)."""
        for slot in self.slots:
            if not slot.queue and slot.started >= self.options.clips_per_worker:
                log.debug("recycling %s after %d clips", slot.label, slot.started)
                self._replace(slot)

    def lost(self, slot: WorkerSlot, generation: int) -> None:
        """A job died with its worker after Ray's restarts and task retries ran out: give the slot a new actor
        (once per lost actor; the jobs still queued on the dead one fail and are resubmitted by the driver)."""
        if slot.generation == generation:
            log.warning("%s is gone after repeated crashes; starting a new worker in its place", slot.label)
            self._replace(slot)

    def _replace(self, slot: WorkerSlot) -> None:
        import ray

        ray.kill(slot.actor, no_restart=True)
        slot.queue.clear()
        slot.head_since = None
        self._new_actor(slot)


def first_line(exc: BaseException) -> str:
    """The most useful single line of a (possibly Ray-wrapped) exception."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException) and not hasattr(cause, "cause"):
        return f"{type(cause).__name__}: {cause}".splitlines()[0]
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(("File ", "Traceback", "^"))]
    return (useful[-1] if useful else type(exc).__name__)[:500]
