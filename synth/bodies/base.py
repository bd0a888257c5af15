"""The body backend interface (DESIGN section 5): identities, posed meshes and EGO16 joints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from synth.motions.clip import MotionClip


@dataclass(frozen=True)
class BodyIdentity:
    """One body shape, serialisable into clip.json.

    backend: the backend name ("anny", "smplx").
    identity_id: a stable id string (unique per backend and parameters).
    sex: "female" | "male" | "neutral" (the nominal sex used for balancing and reporting).
    age_years, stature_m: descriptive measurements of the rest body.
    params: JSON-serialisable shape parameters (phenotypes or betas) that reproduce the body exactly.
    """

    backend: str
    identity_id: str
    sex: str
    age_years: float
    stature_m: float
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "identity_id": self.identity_id,
            "sex": self.sex,
            "age_years": self.age_years,
            "stature_m": self.stature_m,
            "params": self.params,
        }


@dataclass
class PosedBody:
    """A body animated by a motion clip, in the world frame (Z up, metres).

    vertices: (F, V, 3) float32, world frame, metres.
    faces: (T, 3) int32 triangle vertex indices.
    part_of_face: (T,) uint8, index into synth.constants.BODY_PARTS.
    uv: (L, 2) float32 texture coordinates in [0, 1].
    face_uv_idx: (T, 3) int32, per-corner index into `uv`.
    joints_ego16: (F, 16, 3) float64, world frame, metres (synth.constants.EGO16_JOINTS order).
    T_world_from_head: (F, 4, 4) float64. The head frame has its origin at the EGO16 head joint and the
        device's axes when the device is worn: x = wearer's right, y = backward, z = down; it follows the head.
    head_vertices_head_m: (K, 3) float64, head frame: the head and scalp vertices in the canonical pose (the head
        is rigid); the head-mount fit slices them at the mount height to find the face and the back of the head.
    rest_vertices: (V, 3) float32, the identity in its canonical pose standing on z = 0 (used for smooth
        garment hems painted in a pose-independent space).
    fps: frames per second of the posed sequence.
    T_world_from_native: (F, 4, 4) float64 or None: for a clip posed from a mocap file, the map from that file's
        own world frame to ours at each frame (a translation for SMPL-family backends); simulated clothing stored
        in the file's frame is moved with it. None for procedural motions.
    """

    vertices: np.ndarray
    faces: np.ndarray
    part_of_face: np.ndarray
    uv: np.ndarray
    face_uv_idx: np.ndarray
    joints_ego16: np.ndarray
    T_world_from_head: np.ndarray
    head_vertices_head_m: np.ndarray
    rest_vertices: np.ndarray
    fps: float
    T_world_from_native: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return int(self.vertices.shape[0])


class BodyBackend(Protocol):
    """What every body backend provides."""

    name: str

    def sample_identity(self, rng: np.random.Generator) -> BodyIdentity:
        """Draw one adult identity."""

    def pose(self, identity: BodyIdentity, motion: MotionClip) -> PosedBody:
        """Pose the identity through every frame of the clip (retargeting included), standing on z = 0."""
