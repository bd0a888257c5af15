"""The process table of this machine, read from Linux /proc (elsewhere: empty): parents, start times, titles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
#: Bytes of a command line kept (enough for a program name or process title and a script path).
CMDLINE_BYTES = 256
#: Bound on parent-chain walks (a pid cycle cannot occur, but /proc is read while processes come and go).
MAX_DEPTH = 64


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    #: Start time in clock ticks since boot: with the pid, identifies a process (pids are reused).
    start_ticks: int
    cmdline: str


def _read(entry: Path) -> Proc | None:
    try:
        stat = (entry / "stat").read_text()
        fields = stat[stat.rfind(")") + 2:].split()
        argv = (entry / "cmdline").read_bytes()[:CMDLINE_BYTES].split(b"\0")
        return Proc(int(entry.name), int(fields[1]), int(fields[19]), b" ".join(argv).decode(errors="replace"))
    except (OSError, ValueError, IndexError):
        return None  # gone meanwhile, or a kernel thread without a readable stat


def process_table() -> dict[int, Proc]:
    """{pid: Proc} of every process readable now ({} without /proc)."""
    if not PROC.is_dir():
        return {}
    table = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (proc := _read(entry)) is not None:
            table[proc.pid] = proc
    return table


def start_ticks(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot, None when it does not exist (or /proc is missing)."""
    proc = _read(PROC / str(pid))
    return proc.start_ticks if proc is not None else None


def descendants(table: dict[int, Proc], root: int) -> list[Proc]:
    """Every process of `table` whose parent chain reaches `root` (children, grandchildren, ...)."""
    out = []
    for proc in table.values():
        pid, depth = proc.ppid, 0
        while pid > 1 and depth < MAX_DEPTH:
            if pid == root:
                out.append(proc)
                break
            parent = table.get(pid)
            pid, depth = (parent.ppid if parent else 0), depth + 1
    return out
