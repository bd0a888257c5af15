"""Files written whole or not at all, file digests, and the JSON form of numpy values.

Every file egorig writes goes through `atomic_path` or `write_bytes_atomic`: the bytes land in a hidden sibling
(`.<stem>.tmp<pid><suffix>`, so two processes never share one and writers that pick a format by extension still
see it) and are renamed over the target only once complete. A reader therefore sees the old file or the new one,
never a torn one, and a failed write leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

#: Bytes read at a time while hashing a file.
HASH_CHUNK_BYTES = 1 << 20


def tmp_sibling(path: str | os.PathLike) -> Path:
    """The staging name of `path`: a hidden file in the same directory (same file system), unique per process."""
    path = Path(path)
    return path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a directory's entries (a rename inside it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def naming_os_errors(path: str | os.PathLike) -> Iterator[None]:
    """Give an OSError raised without a file name (a write on an open handle: a full disk, EFBIG, EIO) the name
    `path`, so the error message says which file could not be written."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, make_parents: bool = True) -> Iterator[Path]:
    """Yield a staging path to write `path` through; on success it replaces `path`, on an error it is removed.

    For writers that take a file name (Blender, OpenImageIO, PIL, numpy): `with atomic_path(p) as tmp: save(tmp)`.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_sibling(path)
    try:
        with naming_os_errors(path):
            yield tmp
            if not tmp.exists():
                raise OSError(f"{path}: the writer produced no file")
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, durable: bool = True) -> None:
    """Write `data` to `path` atomically; durable: fsync the file and its directory (survives a power cut)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
    if durable:
        fsync_dir(path.parent)


def write_text_atomic(path: str | os.PathLike, text: str, durable: bool = True) -> None:
    """write_bytes_atomic of UTF-8 text."""
    write_bytes_atomic(path, text.encode("utf-8"), durable)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (read in HASH_CHUNK_BYTES blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(HASH_CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes already in memory."""
    return hashlib.sha256(data).hexdigest()


def jsonable(value: Any) -> Any:
    """`value` with numpy arrays and scalars as lists and Python numbers, tuples as lists, keys and paths as str."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def json_bytes(obj: Any) -> bytes:
    """Canonical JSON of `obj` (through `jsonable`): sorted keys, 2-space indent, UTF-8, a trailing newline."""
    return (json.dumps(jsonable(obj), sort_keys=True, indent=2) + "\n").encode("utf-8")


def json_line(obj: Any) -> bytes:
    """One JSON Lines record of `obj`: compact, sorted keys, a trailing newline."""
    return json.dumps(jsonable(obj), sort_keys=True).encode("utf-8") + b"\n"
