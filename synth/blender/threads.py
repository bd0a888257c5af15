"""Size Blender's process-wide thread pools to a CPU budget before bpy is first imported.

Cycles' `render.threads` only bounds the render threads. Blender's task scheduler (oneTBB, used by mesh updates,
BVH builds and Cycles' own task pools) is created when bpy is imported and sized from the CPUs the process may
run on. With `render.threads = 1` on a 2-core machine that pool keeps a second worker thread that busy-waits for
the whole render: it doubles the process' CPU use for no extra output, and two such workers on one machine steal
each other's cores. Restricting the CPU affinity mask to `threads` CPUs while bpy initialises makes the pool that
size; the mask is restored right after, so the OS still schedules the threads on any CPU.
OpenImageDenoise reads OIDN_NUM_THREADS when Blender creates its denoiser.
"""

from __future__ import annotations

import logging
import os
import sys
from types import ModuleType

log = logging.getLogger(__name__)

#: CPUs the pool was sized to by import_bpy in this process (0 = all); None until import_bpy imported bpy.
_pool_threads: int | None = None


def import_bpy(threads: int) -> ModuleType:
    """Import bpy with its thread pools sized to `threads` CPUs (0 = every CPU the process may use) and return it.

    Only the first import in a process can size the pool: if bpy is already loaded with a larger pool, a warning
    says so (renders stay correct, they only burn the extra CPU).
    """
    if threads < 0:
        raise ValueError(f"threads must be >= 0 (0 = all CPUs), got {threads}")
    if threads > 0:
        os.environ["OIDN_NUM_THREADS"] = str(threads)
    global _pool_threads
    if "bpy" in sys.modules:
        if 0 < threads < _cpus_allowed() and _pool_threads != threads:
            log.warning("bpy was imported before its thread pool could be sized to %d CPU(s); Blender's task "
                        "scheduler keeps one thread per CPU in this process", threads)
        return sys.modules["bpy"]
    _pool_threads = threads
    if threads == 0 or not hasattr(os, "sched_setaffinity"):
        import bpy

        return bpy
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, sorted(allowed)[: min(threads, len(allowed))])
    try:
        import bpy
    finally:
        os.sched_setaffinity(0, allowed)
    return bpy


def _cpus_allowed() -> int:
    """Number of CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
