"""Grid studies on Ray: each worker actor keeps a body model and a VariantLabeler (so the clips it has posed are
re-mounted, not re-posed, for the next variant) and labels the variants it is handed; the driver caches every
result as it arrives, so a killed study resumes like a one-process one."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from synth.config import RenderConfig
from synth.farm.driver import init_ray
from synth.farm.jobs import FarmError, FarmOptions
from synth.farm.pool import first_line
from synth.studies.study import VariantResult

log = logging.getLogger(__name__)

#: Ray restarts of a crashed study worker, and retries of the variant it was labelling.
STUDY_MAX_RESTARTS = 2


class StudyWorker:
    """One Ray actor: labels variants' clips with its own body model (loaded on the first variant)."""

    def __init__(self, config_dir: str, threads: int):
        import torch

        torch.set_num_threads(threads)  # Anny posing would otherwise use every core of the node
        self.config_dir = Path(config_dir)
        self.labeler: Any = None

    def label(self, name: str, cfg: RenderConfig, clips: int) -> VariantResult:
        from synth.studies.visibility import VariantLabeler

        if self.labeler is None:
            self.labeler = VariantLabeler(self.config_dir)
        return self.labeler.label(name, cfg, clips)


def label_in_parallel(todo: list[tuple[str, RenderConfig]], config_dir: Path, clips: int, workers: int,
                      done: Callable[[str, RenderConfig, VariantResult], None], address: str | None = None) -> None:
    """Label every (name, config) of `todo` on `workers` Ray actors (a local Ray instance unless `address` or
    RAY_ADDRESS names a cluster); done(name, cfg, result) runs in this process as each variant finishes.

    Raises FarmError after the others have finished when a variant failed for good (its worker's retries spent);
    the finished ones are already delivered."""
    import ray
    from ray.util import ActorPool

    shutdown = init_ray(FarmOptions(workers=workers, threads_per_worker=1, address=address, progress=False))
    try:
        actor = ray.remote(num_cpus=1, max_restarts=STUDY_MAX_RESTARTS,
                           max_task_retries=STUDY_MAX_RESTARTS)(StudyWorker)
        pool = ActorPool([actor.remote(str(config_dir), 1) for _ in range(workers)])
        configs = dict(todo)
        for item in todo:
            pool.submit(lambda a, it: a.label.remote(it[0], it[1], clips), item)
        failed: list[str] = []
        while pool.has_next():
            try:
                result = pool.get_next_unordered()
            except ray.exceptions.RayError as exc:  # one variant failed for good; the others go on
                failed.append(first_line(exc))
                log.warning("study: a grid point failed: %s", failed[-1])
                continue
            done(result.name, configs[result.name], result)
        if failed:
            raise FarmError(f"{len(failed)} grid point(s) failed (first: {failed[0]}); the others are cached: run "
                            "the same command again to retry the failed ones")
    finally:
        if shutdown is not None:
            shutdown()
