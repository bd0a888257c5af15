"""Local Ray processes die with the farm driver, even when it is SIGKILLed.

A local Ray instance is a tree of the driver's child processes (GCS, raylet, workers, and agents under the raylet).
When the driver dies without `ray.shutdown()` (SIGKILL, the out-of-memory killer), GCS, raylet and workers exit,
but the dashboard and runtime-env agents were measured to stay alive indefinitely. So the driver starts this
reaper beside the local instance: a small process in its own session that holds the read end of a pipe whose write
end only the driver has. Every REFRESH_S it records the driver's descendants (pid and start time, so a reused pid
is never touched). When the pipe reaches end-of-file (the driver exited, however it exited), it sends SIGTERM to
every recorded Ray process still alive, waits up to GRACE_S, sends SIGKILL to the rest, and exits.

Run as `python -m synth.farm.reaper DRIVER_PID` with the pipe on stdin; `start_reaper()` does that.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

from synth.farm.procs import PROC, descendants, process_table, start_ticks

#: Seconds between snapshots of the driver's process tree.
REFRESH_S = 1.0
#: Seconds between SIGTERM and SIGKILL.
GRACE_S = 3.0
#: Poll interval while waiting for terminated processes to exit, s.
POLL_S = 0.1
#: Command-line fragments of Ray's processes (binaries under site-packages/ray/, `ray::` process titles): only
#: those descendants are ended, never another child of the driver.
RAY_MARKERS = ("/ray/", "ray::")


def start_reaper(driver_pid: int | None = None) -> subprocess.Popen | None:
    """Start the reaper of `driver_pid`'s (default: this process') descendants; None where /proc is missing.

    Keep the returned Popen: closing its stdin (stop_reaper) or the death of this process triggers the cleanup.
    """
    if not PROC.is_dir():
        return None
    driver_pid = os.getpid() if driver_pid is None else driver_pid
    return subprocess.Popen([sys.executable, "-m", "synth.farm.reaper", str(driver_pid)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            close_fds=True)


def stop_reaper(reaper: subprocess.Popen | None, timeout_s: float = GRACE_S + 2.0) -> None:
    """After ray.shutdown(): let the reaper clean what is left and wait for it."""
    if reaper is None:
        return
    try:
        reaper.stdin.close()
        reaper.wait(timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired):
        reaper.kill()


def _alive(pid: int, ticks: int) -> bool:
    return start_ticks(pid) == ticks


def _signal_all(targets: dict[int, int], sig: int) -> None:
    for pid, ticks in targets.items():
        if _alive(pid, ticks):
            try:
                os.kill(pid, sig)
            except OSError:
                continue


def reap(driver_pid: int, pipe_fd: int = 0) -> int:
    """Watch `driver_pid` until `pipe_fd` closes, then end its recorded descendants; returns how many were signalled."""
    driver_ticks = start_ticks(driver_pid)
    targets: dict[int, int] = {}
    while True:
        if start_ticks(driver_pid) == driver_ticks:  # still the driver (after its death, the tree is gone)
            for proc in descendants(process_table(), driver_pid):
                if proc.pid != os.getpid() and any(m in proc.cmdline for m in RAY_MARKERS):
                    targets[proc.pid] = proc.start_ticks
        readable, _, _ = select.select([pipe_fd], [], [], REFRESH_S)
        if readable and not os.read(pipe_fd, 4096):
            break
    targets = {pid: ticks for pid, ticks in targets.items() if _alive(pid, ticks)}
    _signal_all(targets, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and any(_alive(p, t) for p, t in targets.items()):
        time.sleep(POLL_S)
    _signal_all(targets, signal.SIGKILL)
    return len(targets)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for the driver must not stop the cleanup
    reap(int(sys.argv[1]))
