"""Redirect C-level stdout/stderr (file descriptors 1 and 2) into a log file around Blender calls."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def captured_output(log_path: Path | str | None) -> Iterator[None]:
    """Send everything written to fds 1 and 2 (Blender's CLOG lines, CUDA probing noise) to `log_path` (appended).

    contextlib.redirect_stdout is not enough: Blender writes from C. With log_path None the output is discarded.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    target = os.open(os.fspath(log_path) if log_path else os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)
