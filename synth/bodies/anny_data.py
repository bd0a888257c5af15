"""Own the Anny model data: build it once into egorig's cache, then load it fast without anny's own cache."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from synth.errors import AssetError
from synth.io import atomic_path

#: Environment variable naming egorig's cache root (default ~/.cache/egorig).
CACHE_ENV = "EGORIG_CACHE_DIR"
DEFAULT_CACHE_DIR = Path("~/.cache/egorig")
MODEL_FILE = "model_f64.safetensors"
TOPOLOGY_FILE = "topology.npz"
#: Bumped whenever the content or meaning of TOPOLOGY_FILE changes (forces a rebuild).
TOPOLOGY_FORMAT = 1
#: The exact keyword arguments that make `Anny.from_model_data` equal to `anny.Anny()` (its defaults differ).
FROM_MODEL_DATA_KWARGS: dict[str, Any] = {
    "pose_parameterization": "local-ref",
    "bone_orientation": "cached",
    "root_identity_orientation": False,
}
#: Permissions of the written data files (readable by every user of a shared cache).
DATA_FILE_MODE = 0o644
FIX_HINT = "run `make setup` (or `python -m synth.bodies.anny_data build`)"


@dataclass(frozen=True)
class AnnyTopology:
    """Topology-level data shared by every Anny body (same mesh connectivity for all phenotypes and poses).

    faces: (T, 3) int32 triangle vertex indices.
    part_of_face: (T,) uint8 index into synth.constants.BODY_PARTS.
    uv: (L, 2) float32 texture coordinates in [0, 1] (MakeHuman hm08 layout).
    face_uv_idx: (T, 3) int32 per-corner index into `uv`.
    head_vertex_ids: (K,) int64 ids of the vertices of head and scalp faces (the rigid head).
    anny_version: the anny version the data was built with.
    """

    faces: np.ndarray
    part_of_face: np.ndarray
    uv: np.ndarray
    face_uv_idx: np.ndarray
    head_vertex_ids: np.ndarray
    anny_version: str


def anny_version() -> str:
    """The installed anny version (read from package metadata, without importing anny)."""
    try:
        return metadata.version("anny")
    except metadata.PackageNotFoundError as exc:
        raise AssetError(f"the `anny` package is not installed; {FIX_HINT}") from exc


def cache_root() -> Path:
    """$EGORIG_CACHE_DIR (default ~/.cache/egorig): where egorig keeps data it builds from installed inputs."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR).expanduser()


def data_dir() -> Path:
    """$EGORIG_CACHE_DIR/anny-<version>: where the owned model data lives."""
    return cache_root() / f"anny-{anny_version()}"


def model_path() -> Path:
    return data_dir() / MODEL_FILE


def topology_path() -> Path:
    return data_dir() / TOPOLOGY_FILE


def _quiet_warp() -> None:
    """Silence warp's start-up banner and CPU-only CUDA warning (anny initialises warp for its skinning kernel)."""
    try:
        import warp

        warp.config.log_level = logging.ERROR
    except ImportError:
        pass


def _save_model(model: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        model.to_model_data().save_safetensors(str(tmp))
        os.chmod(tmp, DATA_FILE_MODE)


def _save_topology(arrays: dict[str, np.ndarray], path: Path) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.chmod(tmp, DATA_FILE_MODE)


def _topology_is_current(path: Path) -> bool:
    try:
        with np.load(path) as z:
            return int(z["format"]) == TOPOLOGY_FORMAT and str(z["anny_version"]) == anny_version()
    except (OSError, KeyError, ValueError):
        return False


def is_built() -> bool:
    """True when both owned files exist and the topology file matches this code and anny version."""
    return model_path().is_file() and topology_path().is_file() and _topology_is_current(topology_path())


def build(force: bool = False) -> bool:
    """Build the owned model data and topology file; returns False when they were already present.

    Constructs `anny.Anny()` once (anny builds its own cache in $ANNY_CACHE_DIR first if needed, about 90 s and
    1.7 GB RAM), saves its float64 model data, and derives the topology-level arrays (part labels, UVs, head ids).
    """
    if is_built() and not force:
        return False
    _quiet_warp()
    import anny
    import torch

    from synth.bodies import anny_parts

    model = anny.Anny()
    model_file = model_path()
    _save_model(model, model_file)
    # Derive the topology data from the model exactly as it is loaded at runtime.
    owned = load_model(dtype=torch.float64)
    part_of_face = anny_parts.compute_part_labels(owned)
    faces = owned.faces.detach().cpu().numpy().astype(np.int32)
    head_ids = anny_parts.head_vertex_ids(faces, part_of_face)
    arrays = {
        "format": np.array(TOPOLOGY_FORMAT),
        "anny_version": np.array(anny_version()),
        "faces": faces,
        "part_of_face": part_of_face.astype(np.uint8),
        "uv": owned.texture_coordinates.detach().cpu().numpy().astype(np.float32),
        "face_uv_idx": owned.face_texture_coordinate_indices.detach().cpu().numpy().astype(np.int32),
        "head_vertex_ids": head_ids.astype(np.int64),
    }
    _save_topology(arrays, topology_path())
    return True


def load_model(dtype: Any = None) -> Any:
    """Load the owned Anny model (identical to `anny.Anny()`) in well under 2 s; never touches anny's cache.

    dtype: torch dtype of the returned model (float32 by default: the runtime precision).
    """
    path = model_path()
    if not path.is_file():
        raise AssetError(f"Anny model data not found at {path}; {FIX_HINT}")
    _quiet_warp()
    import anny
    import torch
    from anny.models.model_data import ModelData

    try:
        data = ModelData.load_safetensors(str(path))
    except Exception as exc:  # corrupt or from an incompatible anny data version
        raise AssetError(f"Anny model data at {path} is unreadable ({exc}); {FIX_HINT}") from exc
    model = anny.Anny.from_model_data(data, **FROM_MODEL_DATA_KWARGS)
    model.to(torch.float32 if dtype is None else dtype)
    model.eval()
    return model


def load_topology() -> AnnyTopology:
    """Load the topology-level arrays written by `build()`."""
    path = topology_path()
    if not path.is_file():
        raise AssetError(f"Anny topology data not found at {path}; {FIX_HINT}")
    if not _topology_is_current(path):
        raise AssetError(f"Anny topology data at {path} is outdated or corrupt; {FIX_HINT}")
    with np.load(path) as z:
        return AnnyTopology(
            faces=z["faces"],
            part_of_face=z["part_of_face"],
            uv=z["uv"],
            face_uv_idx=z["face_uv_idx"],
            head_vertex_ids=z["head_vertex_ids"],
            anny_version=str(z["anny_version"]),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synth.bodies.anny_data", description=__doc__)
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--force", action="store_true", help="rebuild even when the data is present")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    built = build(force=args.force)
    state = f"built in {time.perf_counter() - start:.1f} s" if built else "already present"
    print(f"anny model data {state}: {data_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
