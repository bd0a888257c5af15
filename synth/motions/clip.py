"""The canonical motion clip: SMPL-22 joint rotations plus root trajectory at a frame rate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: SMPL body joints in SMPL order (22 with the pelvis; SMPL-X body joints share this order).
SMPL22_JOINTS: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)
SMPL22_INDEX: dict[str, int] = {name: i for i, name in enumerate(SMPL22_JOINTS)}
#: Parent of each SMPL-22 joint (-1 for the pelvis).
SMPL22_PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
#: Standing pelvis height (m) of the body root_transl is authored for (the reference skeleton of
#: synth/motions/skeleton.py).
REFERENCE_PELVIS_HEIGHT_M = 0.98


@dataclass(frozen=True)
class MotionClip:
    """A motion in canonical form.

    Conventions:
    - body_pose: (F, 21, 3) float64 axis-angle rotations of joints 1..21 of SMPL22_JOINTS, each in its parent's
      frame, in SMPL's body axes (x = body's left, y = up, z = forward) with SMPL's T-pose as rest.
    - root_orient: (F, 3) float64 axis-angle of the pelvis in the WORLD frame (Z up), relative to the canonical
      standing body facing -Y (identity = upright, facing -Y, the body's left at +X).
    - root_transl: (F, 3) float64 metres, world frame: the pelvis displacement from its standing rest position
      (x, y horizontal; z = 0 when standing upright, negative in a squat, positive in flight), authored for a body
      whose standing pelvis is REFERENCE_PELVIS_HEIGHT_M above the floor; backends scale it by their own standing
      pelvis height over that (`scaled_root_transl`), so strides and squat depths fit the body's size.
    - grounded: (F,) bool, frames where the body's lowest point rests on the floor. Backends snap those frames
      onto z = 0 and interpolate the vertical correction in between, so contact never sinks or floats.
    - fps: frames per second.
    """

    name: str
    family: str
    fps: float
    root_orient: np.ndarray
    body_pose: np.ndarray
    root_transl: np.ndarray
    grounded: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        f = self.root_orient.shape[0]
        shapes = {
            "root_orient": (self.root_orient.shape, (f, 3)),
            "body_pose": (self.body_pose.shape, (f, 21, 3)),
            "root_transl": (self.root_transl.shape, (f, 3)),
            "grounded": (self.grounded.shape, (f,)),
        }
        for key, (got, want) in shapes.items():
            if tuple(got) != want:
                raise ValueError(f"motion clip {self.name!r}: {key} has shape {tuple(got)}, expected {want}")
        if not self.fps > 0:
            raise ValueError(f"motion clip {self.name!r}: fps must be > 0, got {self.fps}")

    @property
    def num_frames(self) -> int:
        return int(self.root_orient.shape[0])

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps


def scaled_root_transl(motion: MotionClip, pelvis_height_m: float) -> np.ndarray:
    """(F, 3) float64 metres: the clip's root_transl scaled to a body whose standing pelvis is `pelvis_height_m` high."""
    return np.asarray(motion.root_transl, dtype=np.float64) * (pelvis_height_m / REFERENCE_PELVIS_HEIGHT_M)
