"""The clip specification: everything one clip is made of, frozen, and the only input of labels and rendering.

`synth.labels.compute.compute_clip_labels(spec)` ray-casts exactly the meshes a spec lists (body, garments,
`environment.meshes()`), and `synth.blender.scene.BlenderScene.load(spec)` draws exactly those, each with its
occluder code as object pass index, so what the labels call an occluder is what Cycles renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from synth.constants import GROUND_HALF_SIZE_M, OCC_BODY, OCC_GARMENT, OCC_HAIR, OCC_SCENE

if TYPE_CHECKING:  # types only: the spec module sits below the packages that build its parts
    from synth.appearance.camera_effects import CameraEffects
    from synth.appearance.garments import GarmentMesh
    from synth.appearance.hair import Hair
    from synth.appearance.model import GroundSpec
    from synth.appearance.model import Appearance, Environment
    from synth.bodies.base import BodyIdentity, PosedBody
    from synth.geometry.rig import HeadMount, Rig
    from synth.motions.clip import MotionClip

#: Occluder codes a scene mesh may carry (the body and garments have their own).
SCENE_CODES: tuple[int, ...] = (OCC_SCENE,)
#: Every occluder code a spec's meshes carry, i.e. every non-background value of the object-index pass.
SPEC_CODES: tuple[int, ...] = (OCC_BODY, OCC_GARMENT, OCC_SCENE, OCC_HAIR)
#: Where a clip happens (EnvironmentSpec.setting).
SETTINGS: tuple[str, ...] = ("outdoor", "indoor")


@dataclass(frozen=True)
class SceneMesh:
    """A static mesh of the environment that occludes joints and is rendered.

    vertices: (N, 3) float64, world frame, m. faces: (T, 3) int32 triangles. code: occluder code (SCENE_CODES),
    also its object pass index. material: what it is painted as ("ground": the environment's ground;
    "furniture": its own `surface`; "lamp": it glows in surface.color_a, linear RGB). surface: a procedural surface
    of its own (None: the environment's ground). emission_strength: a lamp's emission strength (Blender's
    emission units: 1 renders the surface at exactly its colour), 0 for everything else.
    """

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    code: int = OCC_SCENE
    material: str = "ground"
    surface: "GroundSpec | None" = None
    emission_strength: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """clip.json's record of a prop: name, material, surface and its world bounding box (m)."""
        from dataclasses import asdict

        record = {"name": self.name, "material": self.material,
                  "surface": None if self.surface is None else asdict(self.surface),
                  "bbox_min_m": [round(float(x), 4) for x in self.vertices.min(axis=0)],
                  "bbox_max_m": [round(float(x), 4) for x in self.vertices.max(axis=0)]}
        if self.material == "lamp":
            record["emission_strength"] = self.emission_strength
        return record

    def __post_init__(self) -> None:
        if self.code not in SCENE_CODES:
            raise ValueError(f"scene mesh {self.name!r}: occluder code {self.code} is not one of {SCENE_CODES}")
        if self.material == "lamp" and (self.surface is None or not self.emission_strength > 0.0):
            raise ValueError(f"lamp {self.name!r} needs a surface (its colour) and an emission_strength > 0")


def ground_plane(half_size_m: float = GROUND_HALF_SIZE_M, height_m: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A square floor at z = height_m: (vertices (4, 3) float64 world m, faces (2, 3) int32)."""
    s = float(half_size_m)
    z = float(height_m)
    verts = np.array([[-s, -s, z], [s, -s, z], [s, s, z], [-s, s, z]], dtype=np.float64)
    return verts, np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32)


def ground_mesh(half_size_m: float = GROUND_HALF_SIZE_M) -> SceneMesh:
    """The ground every clip stands on: the z = 0 square of side 2 * half_size_m."""
    vertices, faces = ground_plane(half_size_m)
    return SceneMesh("ground", vertices, faces, OCC_SCENE, "ground")


@dataclass(frozen=True)
class EnvironmentSpec:
    """Where the clip happens: its look (sky, sun, HDRI, ground material), ONE ground and every other occluder
    (props, clutter, shelves, walls); setting: "indoor" (inside walls) or "outdoor"."""

    look: "Environment"
    ground: SceneMesh = field(default_factory=ground_mesh)
    occluders: tuple[SceneMesh, ...] = ()
    setting: str = "outdoor"

    def __post_init__(self) -> None:
        if self.setting not in SETTINGS:
            raise ValueError(f"environment setting {self.setting!r} is not one of {SETTINGS}")

    def meshes(self) -> tuple[SceneMesh, ...]:
        """Every static mesh of the environment: the ground first, then the other occluders."""
        return (self.ground, *self.occluders)

    def to_json(self) -> dict[str, Any]:
        """clip.json "environment": the look, the setting and the props (`occluders`: the meshes other than the
        ground)."""
        return {**self.look.to_json(), "setting": self.setting, "occluders": [m.to_json() for m in self.occluders]}


@dataclass(frozen=True)
class ClipSpec:
    """One clip, complete: what it is (identity, motion, appearance, environment), how it moves (posed body,
    T_world_from_device) and who sees it (rig and its mount on this head).

    index: clip index (its seed is (config seed, index)); clip_id: its directory name.
    T_world_from_device: (F, 4, 4) float64, the rig's device frame in the world per frame, m.
    garments: loose garments, posed (vertices world m per frame). asset_files: licensed files the clip used.
    camera_effects: what the cameras do to the light (None: images as Cycles renders them). hair: strands grown in
    the head frame (None: no strands), carried by the head (posed.T_world_from_head) and, where hair.motion is set,
    moving in it.
    """

    index: int
    clip_id: str
    identity: "BodyIdentity"
    motion: "MotionClip"
    posed: "PosedBody"
    rig: "Rig"
    mount: "HeadMount"
    T_world_from_device: np.ndarray
    appearance: "Appearance"
    environment: EnvironmentSpec
    garments: tuple["GarmentMesh", ...] = ()
    asset_files: tuple[str, ...] = ()
    camera_effects: "CameraEffects | None" = None
    hair: "Hair | None" = None

    def __post_init__(self) -> None:
        frames = self.posed.num_frames
        if self.T_world_from_device.shape != (frames, 4, 4):
            raise ValueError(f"{self.clip_id}: T_world_from_device must be ({frames}, 4, 4), got "
                             f"{self.T_world_from_device.shape}")

    @property
    def num_frames(self) -> int:
        return int(self.posed.num_frames)

    def rolling_shutter(self) -> tuple[float, int] | None:
        """(readout time in frames, bands) of the clip's rolling-shutter cameras, or None (a global shutter)."""
        fx = self.camera_effects
        if fx is None or fx.readout_time_s is None:
            return None
        return fx.readout_frames(self.motion.fps), int(fx.readout_bands)

    def rigid_occluders(self) -> tuple:
        """Occluders carried by the head, as the labels take them: the hair's prisms, ((vertices, faces (Tr, 3),
        T_world_from_head (F, 4, 4), OCC_HAIR),) or (). vertices: (Vr, 3) head frame m, or for moving hair
        Hair.label_vertices (frame -> (Vr, 3))."""
        if self.hair is None:
            return ()
        verts = self.hair.label_vertices if self.hair.moves else self.hair.label_vertices()
        return ((verts, self.hair.label_faces(), self.posed.T_world_from_head, OCC_HAIR),)

    def worn_with(self, rig: "Rig") -> "ClipSpec":
        """The same clip worn with another rig: the rig, its head mount and the device trajectory change, and the
        hair (grown and moved free of any headset) is held off the new cameras, so the clip equals the one sampled
        with that rig (a placement study gives the same result on any split of its variants over workers)."""
        from synth.geometry.rig import fit_head_mount

        mount = fit_head_mount(self.posed.head_vertices_head_m, rig, clip=self.clip_id)
        hair = self.hair
        if hair is not None:  # the same strands held off this rig's cameras: what sampling with this rig gives
            hair = hair.worn_with_cameras(camera_centres_head(mount, rig))
        return replace(self, rig=rig, mount=mount, hair=hair,
                       T_world_from_device=self.posed.T_world_from_head @ mount.T_head_from_device)


def camera_centres_world(T_world_from_device: np.ndarray, rig: "Rig") -> np.ndarray:
    """(F, V, 3) float64 camera centres in the world per frame, m, of a rig at T_world_from_device (F, 4, 4)."""
    T = np.asarray(T_world_from_device, dtype=np.float64)[:, None] @ np.asarray(rig.T_device_from_camera)
    return T[..., :3, 3]


def camera_centres_head(mount: "HeadMount", rig: "Rig") -> np.ndarray:
    """(V, 3) float64 camera centres in the head frame, m, for a rig worn with `mount`."""
    T_head_from_camera = mount.T_head_from_device[None] @ np.asarray(rig.T_device_from_camera, dtype=np.float64)
    return T_head_from_camera[:, :3, 3]
