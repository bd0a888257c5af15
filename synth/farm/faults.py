"""Fault injection for testing the farm (EGORIG_FARM_FAULT): crash or hang a worker once, fail a clip always,
interrupt."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from synth.dataset import format as fmt
from synth.errors import ConfigError

#: The environment variable the `synth farm` command reads; a testing hook, never needed in production.
FAULT_ENV = "EGORIG_FARM_FAULT"
#: Exit status of a worker killed by crash_once (any non-zero status looks like a crash to Ray).
CRASH_EXIT_CODE = 70
_KINDS = ("crash_once", "hang_once", "always_fail", "interrupt_after")
#: How long hang_once blocks a worker, s (far beyond any clip timeout a test sets).
HANG_S = 3600.0


class InjectedFault(RuntimeError):
    """Raised by a worker for a clip named in always_fail."""


@dataclass(frozen=True)
class FaultPlan:
    """crash_once: clip indices whose worker process exits (os._exit) mid-clip, once per output dir;
    hang_once: clip indices whose worker stops responding (sleeps) mid-clip, once per output dir;
    always_fail: clip indices whose every attempt raises InjectedFault; interrupt_after: the driver sends itself
    SIGINT after committing this many clips (None: never)."""

    crash_once: frozenset[int] = field(default_factory=frozenset)
    hang_once: frozenset[int] = field(default_factory=frozenset)
    always_fail: frozenset[int] = field(default_factory=frozenset)
    interrupt_after: int | None = None


def parse_faults(text: str | None) -> FaultPlan:
    """Parse "crash_once:1,hang_once:3,always_fail:2,interrupt_after:1" (empty or None: no faults)."""
    crash, hang, fail, interrupt = set(), set(), set(), None
    for item in (text or "").replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        kind, _, value = item.partition(":")
        if kind not in _KINDS or not value.strip().isdigit():
            raise ConfigError(FAULT_ENV, item, f"expected KIND:N with KIND one of {list(_KINDS)} and N >= 0, "
                                               f"comma separated (e.g. crash_once:1,always_fail:2)")
        n = int(value)
        if kind == "crash_once":
            crash.add(n)
        elif kind == "hang_once":
            hang.add(n)
        elif kind == "always_fail":
            fail.add(n)
        else:
            interrupt = n
    return FaultPlan(frozenset(crash), frozenset(hang), frozenset(fail), interrupt)


def fault_marker(out_dir: Path, index: int, kind: str = "crash_once") -> Path:
    """The file that records that crash_once (or hang_once) already fired for clip `index` in this output dir."""
    return Path(out_dir) / fmt.LOGS_DIR / f"fault_{kind}_{index:06d}"


def _first_time(out_dir: Path, index: int, kind: str) -> bool:
    """True (and a durable marker written) the first time `kind` fires for clip `index` in this output dir."""
    marker = fault_marker(out_dir, index, kind)
    if marker.exists():
        return False
    marker.parent.mkdir(parents=True, exist_ok=True)
    with open(marker, "w") as fh:
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        os.fsync(fh.fileno())
    return True


def fail_if_planned(plan: FaultPlan, index: int) -> None:
    """always_fail: raise for this clip on every attempt."""
    if index in plan.always_fail:
        raise InjectedFault(f"injected failure for clip index {index} ({FAULT_ENV}=always_fail:{index})")


def crash_if_planned(plan: FaultPlan, index: int, out_dir: Path) -> None:
    """crash_once: exit this process without cleanup the first time it reaches clip `index` (mid-clip)."""
    if index in plan.crash_once and _first_time(out_dir, index, "crash_once"):
        os._exit(CRASH_EXIT_CODE)
    if index in plan.hang_once and _first_time(out_dir, index, "hang_once"):
        time.sleep(HANG_S)
