"""Simulated-clothing caches as plain arrays: converted from Alembic once (with Blender), then read without it.

Only Blender reads Alembic in egorig, and computing labels must not need Blender. So `synth assets convert` reads
each Alembic clothing cache a config uses once, through synth/blender/alembic.py, and stores what Blender
evaluated: per mesh and frame, the local vertices in the file's unit (float32, as Blender holds them) and the
object's T_world_from_local (float64). load_clothing_cache later turns them into CacheMeshes with cache_mesh, the
same function read_alembic_cache applies to freshly read samples, so both give bit-identical arrays for the same
frames and any scale_to_m.

A converted cache lives at `<cache root>/clothing/<sha256 of the .abc>-<fps>fps.npz`. The digest ties it to the
file's content, not its path. The fps is the rate Blender samples the file at (it maps the file's sample times onto
frames at that rate), which the pipeline takes from the paired motion file (`source_fps`); a different rate gives
different frames, so it is part of the key. The unit scale is applied at load time and is not.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from synth.errors import AssetError

#: Folder of converted caches under the cache root.
CLOTHING_DIR = "clothing"
#: Bumped whenever the content or meaning of a converted file changes (older files are converted again).
FORMAT_VERSION = 1
#: The command that writes converted caches (shown in errors).
CONVERT_COMMAND = "synth assets convert --config CONFIG.yaml"
_META_KEYS = ("format_version", "abc_sha256", "fps", "num_frames", "mesh_names")


@dataclass(frozen=True)
class CacheMesh:
    """One animated mesh of an Alembic cache.

    vertices: (F, V, 3) float32, world frame (Z up), metres after the caller's scale.
    faces: (T, 3) int32 triangles. uv: (L, 2) float32 or None; face_uv_idx: (T, 3) int32 per-corner index into
    uv (None without UVs).
    """

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray | None
    face_uv_idx: np.ndarray | None


@dataclass(frozen=True)
class CacheSamples:
    """One mesh of an Alembic cache as Blender evaluates it, before the world transform and the unit scale.

    local_vertices: (F, V, 3) float32 object-local vertices, file unit. T_world_from_local: (F, 4, 4) float64 the
    object's world matrix per frame. faces, uv, face_uv_idx: as in CacheMesh.
    """

    name: str
    local_vertices: np.ndarray
    T_world_from_local: np.ndarray
    faces: np.ndarray
    uv: np.ndarray | None
    face_uv_idx: np.ndarray | None

    def take(self, frames: Sequence[int]) -> "CacheSamples":
        """These samples at the given frame indices (already clamped, see clamp_frames), in that order."""
        idx = np.asarray(frames, dtype=np.int64)
        return CacheSamples(self.name, self.local_vertices[idx], self.T_world_from_local[idx], self.faces, self.uv,
                            self.face_uv_idx)


@dataclass(frozen=True)
class ClothingConversion:
    """One cache to convert: the .abc file, the rate it is read at, its digest when the asset layer verified it,
    and the motion files whose `source_fps` gave that rate."""

    abc: Path
    fps: float
    sha256: str | None
    motions: tuple[Path, ...]


@dataclass(frozen=True)
class ConversionResult:
    """What convert_clothing_caches did for one ClothingConversion ("converted" or "skipped") and where."""

    conversion: ClothingConversion
    status: Literal["converted", "skipped"]
    target: Path
    num_frames: int
    num_meshes: int
    seconds: float


def clamp_frames(frames: Sequence[int], num_frames: int) -> list[int]:
    """0-based cache frames clamped into [0, num_frames - 1] (past the end reads the last, negative the first)."""
    return [min(max(int(k), 0), num_frames - 1) for k in frames]


def world_vertices_m(local_vertices: np.ndarray, T_world_from_local: np.ndarray, scale_to_m: float) -> np.ndarray:
    """(V, 3) float32 world metres of one frame: (V, 3) float32 local vertices (file unit) through a (4, 4)
    world matrix, in float64, times scale_to_m (file unit in metres)."""
    world = local_vertices.astype(np.float64) @ T_world_from_local[:3, :3].T + T_world_from_local[:3, 3]
    return (world * scale_to_m).astype(np.float32)


def cache_mesh(samples: CacheSamples, scale_to_m: float = 1.0) -> CacheMesh:
    """The CacheMesh (vertices (F, V, 3) float32 world m) of every frame of `samples`."""
    frames = [world_vertices_m(samples.local_vertices[i], samples.T_world_from_local[i], scale_to_m)
              for i in range(len(samples.local_vertices))]
    vertices = np.stack(frames) if frames else np.empty((0, samples.local_vertices.shape[1], 3), np.float32)
    return CacheMesh(samples.name, vertices, samples.faces, samples.uv, samples.face_uv_idx)


# ----------------------------------------------------------------------------------------------------------------
# Where converted caches live, writing and reading them
def clothing_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The folder of converted caches: `cache_dir` if given, else `<$EGORIG_CACHE_DIR>/clothing`."""
    if cache_dir is not None:
        return Path(cache_dir)
    from synth.bodies.anny_data import cache_root

    return cache_root() / CLOTHING_DIR


def converted_path(sha256: str, fps: float, cache_dir: str | Path | None = None) -> Path:
    """Where the cache of the .abc file with this digest, read at `fps`, is stored (repr(fps) round-trips)."""
    return clothing_cache_dir(cache_dir) / f"{sha256}-{float(fps)!r}fps.npz"


def save_clothing_cache(path: str | Path, samples: Sequence[CacheSamples], sha256: str, fps: float) -> Path:
    """Write the samples of every frame of one .abc file (digest `sha256`, read at `fps`) atomically to `path`."""
    from synth.io import atomic_path

    if not samples:
        raise AssetError(f"{path}: no mesh to store")
    num_frames = len(samples[0].local_vertices)
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(FORMAT_VERSION), "abc_sha256": np.array(sha256), "fps": np.array(float(fps)),
        "num_frames": np.array(num_frames), "mesh_names": np.array([s.name for s in samples]),
    }
    for i, s in enumerate(samples):
        if len(s.local_vertices) != num_frames or len(s.T_world_from_local) != num_frames:
            raise AssetError(f"{path}: mesh {s.name!r} has {len(s.local_vertices)} frames, expected {num_frames}")
        arrays[f"m{i}_local"] = np.asarray(s.local_vertices, dtype=np.float32)
        arrays[f"m{i}_T_world_from_local"] = np.asarray(s.T_world_from_local, dtype=np.float64)
        arrays[f"m{i}_faces"] = np.asarray(s.faces, dtype=np.int32)
        if s.uv is not None:
            arrays[f"m{i}_uv"] = np.asarray(s.uv, dtype=np.float32)
            arrays[f"m{i}_face_uv_idx"] = np.asarray(s.face_uv_idx, dtype=np.int32)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return Path(path)


def _unreadable(path: Path, abc: Path | str, problem: str) -> AssetError:
    return AssetError(f"{path}: converted clothing cache of {abc} is unusable ({problem}); delete it and re-run "
                      f"`{CONVERT_COMMAND}`")


def _check_meta(path: Path, data: Any, sha256: str, fps: float, abc: Path | str) -> tuple[int, list[str]]:
    """(num_frames, mesh names) of an open converted file, after checking it is this format, file and rate."""
    missing = [k for k in _META_KEYS if k not in data.files]
    if missing:
        raise _unreadable(path, abc, f"no {', '.join(missing)}")
    if int(data["format_version"]) != FORMAT_VERSION:
        raise _unreadable(path, abc, f"format {int(data['format_version'])}, this egorig reads {FORMAT_VERSION}")
    if str(data["abc_sha256"]) != sha256 or float(data["fps"]) != float(fps):
        raise _unreadable(path, abc, f"it holds {str(data['abc_sha256'])[:12]}... at {float(data['fps'])!r} fps, "
                                     f"expected {sha256[:12]}... at {float(fps)!r} fps")
    num_frames = int(data["num_frames"])
    if num_frames < 1:
        raise _unreadable(path, abc, "no frames")
    return num_frames, [str(n) for n in data["mesh_names"]]


def _read_samples(path: Path, sha256: str, fps: float, abc: Path | str) -> list[CacheSamples]:
    """Every mesh of a converted file, all frames; AssetError naming it when it is unreadable or inconsistent."""
    try:
        with np.load(path, allow_pickle=False) as data:
            num_frames, names = _check_meta(path, data, sha256, fps, abc)
            out = []
            for i, name in enumerate(names):
                local, T = data[f"m{i}_local"], data[f"m{i}_T_world_from_local"]
                faces = data[f"m{i}_faces"]
                uv = data[f"m{i}_uv"] if f"m{i}_uv" in data.files else None
                fuv = data[f"m{i}_face_uv_idx"] if uv is not None else None
                if (local.dtype != np.float32 or local.ndim != 3 or local.shape[0] != num_frames or local.shape[2] != 3
                        or T.shape != (num_frames, 4, 4) or faces.ndim != 2 or faces.shape[1] != 3):
                    raise _unreadable(path, abc, f"mesh {name!r} has arrays of the wrong shape or type")
                out.append(CacheSamples(name, local, T, faces, uv, fuv))
            return out
    except AssetError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise _unreadable(path, abc, f"{type(exc).__name__}: {exc}") from None


def _digest(abc: Path, sha256: str | None) -> str:
    if sha256 is not None:
        return sha256
    if not abc.is_file():
        raise AssetError(f"{abc}: Alembic clothing cache not found")
    from synth.io import sha256_file

    return sha256_file(abc)


def load_clothing_cache(path: str | Path, fps: float, scale_to_m: float = 1.0, frames: "Sequence[int] | None" = None,
                        sha256: str | None = None, cache_dir: str | Path | None = None) -> list[CacheMesh]:
    """Every mesh of an Alembic cache from its converted arrays: what read_alembic_cache returns, without Blender.

    path: the .abc file. fps, scale_to_m, frames: as read_alembic_cache (frames: 0-based, default all; past the end
    reads the last frame, negative the first; in the order given). sha256: the file's digest when the caller has
    it (the asset layer verified it), else it is computed. cache_dir: the folder of converted caches (default
    `$EGORIG_CACHE_DIR/clothing`). Raises AssetError naming the file and the command to run when it has not been
    converted at this fps, or naming the converted file when that is unusable.
    """
    abc = Path(path).resolve()
    digest = _digest(abc, sha256)
    target = converted_path(digest, fps, cache_dir)
    if not target.is_file():
        others = sorted(p.name[len(digest) + 1:-len("fps.npz")] for p in target.parent.glob(f"{digest}-*fps.npz"))
        have = f"; it is converted for {', '.join(others)} fps only" if others else ""
        raise AssetError(f"{abc}: this Alembic clothing cache has not been converted to arrays for {float(fps)!r} fps "
                         f"(no {target}{have}); run `{CONVERT_COMMAND}` once with the render config that uses it "
                         f"(needs Blender), then re-run")
    samples = _read_samples(target, digest, fps, abc)
    num_frames = len(samples[0].local_vertices)
    idx = clamp_frames(range(num_frames) if frames is None else frames, num_frames)
    return [cache_mesh(s.take(idx), scale_to_m) for s in samples]


# ----------------------------------------------------------------------------------------------------------------
# Converting caches (which ones a config uses: synth.run.convert)
def _is_current(target: Path, sha256: str, fps: float, abc: Path) -> tuple[int, int] | None:
    """(num_frames, num_meshes) of an existing usable converted file, else None (cheap: metadata only)."""
    if not target.is_file():
        return None
    try:
        with np.load(target, allow_pickle=False) as data:
            num_frames, names = _check_meta(target, data, sha256, fps, abc)
            if not all(f"m{i}_local" in data.files for i in range(len(names))):
                return None
            return num_frames, len(names)
    except (AssetError, OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def convert_clothing_caches(conversions: Sequence[ClothingConversion],
                            read_samples: Callable[[Path, float], list[CacheSamples]], force: bool = False,
                            cache_dir: str | Path | None = None) -> Iterator[ConversionResult]:
    """Convert each cache not yet converted (all with `force`), yielding a ConversionResult as each is done.

    read_samples(abc, fps): every frame of every mesh of the file (synth.blender.alembic.read_alembic_samples).
    A converted file that is unreadable or of an older format is converted again.
    """
    for job in conversions:
        t0 = time.perf_counter()
        abc = Path(job.abc).resolve()
        digest = _digest(abc, job.sha256)
        target = converted_path(digest, job.fps, cache_dir)
        current = None if force else _is_current(target, digest, job.fps, abc)
        if current is not None:
            yield ConversionResult(job, "skipped", target, current[0], current[1], time.perf_counter() - t0)
            continue
        samples = read_samples(abc, job.fps)
        save_clothing_cache(target, samples, digest, job.fps)
        yield ConversionResult(job, "converted", target, len(samples[0].local_vertices), len(samples),
                               time.perf_counter() - t0)
