"""Simulated clothing from geometry caches (BEDLAM's Alembic files): timing, placement in our world, GarmentMesh.

A cache is simulated on one subject performing one motion file and stored in that file's world frame, one cache
frame per motion frame. A clip uses a window of the motion resampled to the clip's frame rate, so clip frame f
sits at fractional cache frame `(start + f) * source_fps / clip_fps`; vertices are interpolated linearly between
the two neighbouring cache frames (topology is fixed), then moved by the posed body's T_world_from_native of
that frame (the same map that placed the body). The result is a GarmentMesh of kind "simulated", which the
renderer draws and visibility ray casting treats as a garment occluder (code 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from synth.appearance.garments import GarmentMesh
from synth.appearance.model import ClothTexture
from synth.errors import AssetError

SIMULATED_KIND = "simulated"


def cache_frame_positions(start: int, num_frames: int, clip_fps: float, source_fps: float,
                          source_frames: int) -> np.ndarray:
    """(F,) float64 fractional source (cache) frame of each clip frame, held at the last source frame."""
    pos = (start + np.arange(num_frames, dtype=np.float64)) * (float(source_fps) / float(clip_fps))
    return np.minimum(pos, source_frames - 1)


def sample_frames(vertices: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """(F, V, 3) float32: (K, V, 3) cache vertices linearly interpolated at (F,) fractional frames (clamped)."""
    k = len(vertices)
    pos = np.clip(np.asarray(positions, dtype=np.float64), 0.0, k - 1)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, k - 1)
    w = (pos - i0)[:, None, None]
    v = np.asarray(vertices, dtype=np.float64)
    return ((1.0 - w) * v[i0] + w * v[i1]).astype(np.float32)


def _planar_uv(rest: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Front projection (world x-z) scaled into [0, 1] when a cache has no UVs: uv (V, 2), face_uv_idx = faces."""
    xz = rest[:, [0, 2]].astype(np.float64)
    lo = xz.min(axis=0)
    extent = max(float((xz.max(axis=0) - lo).max()), 1e-9)
    return ((xz - lo) / extent).astype(np.float32), np.asarray(faces, dtype=np.int32)


def simulated_garments(meshes: Sequence[Any], T_world_from_native: np.ndarray | None, positions: np.ndarray,
                       cloth: ClothTexture, source: str) -> list[GarmentMesh]:
    """GarmentMeshes (vertices (F, Vg, 3) float32 world m) of a cache's meshes for one clip.

    meshes: items with name, vertices (K, Vg, 3) in the motion file's frame (m), faces (T, 3), uv, face_uv_idx
    (synth.appearance.clothing_cache.CacheMesh). T_world_from_native: (F, 4, 4) from the posed body. positions: (F,)
    fractional cache frames (cache_frame_positions). cloth: the procedural material the garments are drawn with.
    """
    if T_world_from_native is None:
        raise AssetError(f"{source}: simulated clothing needs a body posed from its motion file "
                         f"(body.backend smplx, body.identity motion)")
    T = np.asarray(T_world_from_native, dtype=np.float64)
    if len(T) != len(positions):
        raise ValueError(f"{len(T)} body frames but {len(positions)} cache positions")
    out = []
    for i, m in enumerate(meshes):
        native = sample_frames(m.vertices, positions).astype(np.float64)
        world = np.einsum("fij,fvj->fvi", T[:, :3, :3], native) + T[:, None, :3, 3]
        rest = np.asarray(m.vertices[0], dtype=np.float32)
        faces = np.asarray(m.faces, dtype=np.int32)
        if m.uv is not None and m.face_uv_idx is not None:
            uv, fuv = np.asarray(m.uv, np.float32), np.asarray(m.face_uv_idx, np.int32)
        else:
            uv, fuv = _planar_uv(rest, faces)
        out.append(GarmentMesh(name=f"{SIMULATED_KIND}_{i}", kind=SIMULATED_KIND, vertices=world.astype(np.float32),
                               faces=faces, uv=uv, face_uv_idx=fuv, rest_vertices=rest, cloth=cloth))
    return out
