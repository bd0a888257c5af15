"""A whole output directory written aside and renamed into place: the target holds the old tree or the new one.

Used by exports. The tree is built in `<parent>/.<name>.egorig-partial`, which carries the writer lock (so two
exports into one target are refused in one line naming the holder, and a crashed export's leftovers are stale and
cleared by the next run). On success the staging directory is renamed to the target (a replaced target is moved
aside first and deleted after); on any error, including Ctrl-C, the staging directory is deleted and the target is
untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from synth.dataset.lock import LOCK_NAME, DatasetLock
from synth.errors import DatasetError
from synth.io import fsync_dir

#: Suffix of the hidden staging directory beside the target.
PARTIAL_SUFFIX = ".egorig-partial"


def staging_dir_of(out: Path) -> Path:
    """The staging directory of target `out` (same parent, so the final rename stays on one file system)."""
    return out.parent / f".{out.name}{PARTIAL_SUFFIX}"


def _check_target(out: Path, overwrite: bool, marker: str, flag: str) -> None:
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out}: exists and is not a directory; choose another output directory")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not overwrite:
        raise DatasetError(f"{out}: not empty; choose a new output directory or pass {flag} to replace it")
    if not (out / marker).is_file():
        raise DatasetError(f"{out}: not empty and has no {marker}, so it is not an earlier output of this command; "
                           f"{flag} replaces only such a directory: choose another output directory")


@contextlib.contextmanager
def staged_output_dir(out: str | os.PathLike, overwrite: bool = False, marker: str = "README_egorig.md",
                      flag: str = "--overwrite", command: str | None = None) -> Iterator[Path]:
    """Yield an empty staging directory; on success it becomes `out`.

    overwrite: replace an existing non-empty `out`, which must hold `marker` (the file every output of the command
    writes), so a mistyped path never deletes unrelated data. flag: the option named in error messages.
    """
    out = Path(out).absolute()
    _check_target(out, overwrite, marker, flag)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"{out.parent}: cannot create the directory ({exc.strerror or exc}); "
                           f"choose another output directory") from None
    stage = staging_dir_of(out)
    lock = DatasetLock(stage, command)
    lock.acquire()
    committed = False
    try:
        for entry in stage.iterdir():  # leftovers of a crashed run: the lock proves nobody else writes them
            if entry.name != LOCK_NAME:
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        yield stage
        _check_target(out, overwrite, marker, flag)  # another process may have written `out` meanwhile
        old = out.parent / f".{out.name}.egorig-old{os.getpid()}"
        replaced = out.exists()
        if replaced:
            os.rename(out, old)
        try:
            os.rename(stage, out)
        except OSError:
            if replaced:
                os.rename(old, out)
            raise
        committed = True
        (out / LOCK_NAME).unlink(missing_ok=True)
        fsync_dir(out.parent)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise DatasetError(f"{out}: cannot write the output ({exc.strerror or exc}"
                           f"{': ' + str(exc.filename) if getattr(exc, 'filename', None) else ''}); "
                           f"nothing was changed there: free space or choose another output directory") from None
    finally:
        if not committed:
            shutil.rmtree(stage, ignore_errors=True)
