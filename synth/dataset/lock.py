"""One writer per dataset directory: an exclusive lock file naming its holder, with stale-lock detection.

The lock is `<out>/.egorig-writer.lock`, created with O_CREAT | O_EXCL (atomic on local disks and on NFS v3+),
holding {"host", "pid", "started", "command"}. A lock left by a process of this host that no longer runs (or
whose pid now belongs to a younger process) is stale and taken over; a lock of another host is only reported,
since its liveness cannot be checked from here: the message names the holder and the file to delete.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from synth.errors import DatasetError
from synth.io import tmp_sibling

#: Name of the lock file inside a dataset directory.
LOCK_NAME = ".egorig-writer.lock"


def _process_start_ticks(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (Linux /proc), or None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rfind(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def describe(holder: dict[str, Any]) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder.get("started", 0))))
    return f"pid {holder.get('pid')} on {holder.get('host')} ({holder.get('command', '?')}, started {started})"


class DatasetLock:
    """Exclusive writer lock of a dataset directory; use as a context manager (or acquire/release)."""

    def __init__(self, out_dir: str | os.PathLike, command: str | None = None):
        self.root = Path(out_dir)
        self.path = self.root / LOCK_NAME
        self.command = command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:2]])
        self._held = False
        self._created_root = False

    def _record(self) -> dict[str, Any]:
        return {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(),
                "start_ticks": _process_start_ticks(os.getpid()), "command": self.command}

    def holder(self) -> dict[str, Any] | None:
        """The current holder's record (None when unlocked; {} when the lock file is unreadable)."""
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def _is_stale(self, holder: dict[str, Any]) -> bool:
        if not holder or holder.get("host") != socket.gethostname():
            return False
        pid = int(holder.get("pid", -1))
        if pid <= 0 or not _alive(pid):
            return True
        ticks = holder.get("start_ticks")
        return ticks is not None and _process_start_ticks(pid) not in (None, ticks)

    def _remove_stale(self, stale: dict[str, Any]) -> None:
        """Move the stale lock aside atomically; if another process replaced it meanwhile, put theirs back."""
        aside = tmp_sibling(self.path)
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            return
        try:
            moved = json.loads(aside.read_text())
        except (OSError, ValueError):
            moved = {}
        if moved and moved != stale:
            try:
                os.link(aside, self.path)  # fails if a third process already holds a new lock
            except OSError:
                pass
        aside.unlink(missing_ok=True)

    def acquire(self) -> "DatasetLock":
        """Take the lock, or raise DatasetError naming the holder."""
        self._created_root = not self.root.exists()
        if self.root.exists() and not self.root.is_dir():
            raise DatasetError(f"{self.root}: exists and is not a directory; choose another --out")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatasetError(f"{self.root}: cannot create the output directory ({exc.strerror or exc}); "
                               f"choose another --out") from None
        data = json.dumps(self._record(), sort_keys=True).encode()
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self.holder()
                if holder is None:
                    continue  # released meanwhile: try again
                if holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
                    raise DatasetError(f"{self.root}: this process already writes this dataset")
                if self._is_stale(holder):
                    self._remove_stale(holder)
                    continue
                who = describe(holder) if holder else "an unknown process (unreadable lock)"
                raise DatasetError(f"{self.root}: another run writes this dataset: {who}; wait for it to finish, "
                                   f"or delete {self.path} if that run is gone") from None
            except OSError as exc:
                raise DatasetError(f"{self.root}: cannot write here ({exc.strerror or exc}); choose another --out") \
                    from None
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            self._held = True
            return self
        raise DatasetError(f"{self.root}: could not take the writer lock {self.path}; retry")

    def release(self) -> None:
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False
            if self._created_root and not any(self.root.iterdir()):
                self.root.rmdir()  # a run that failed before writing anything leaves no directory behind

    def __enter__(self) -> "DatasetLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
