"""The default body backend: Anny adults sampled from its calibrated shape distribution, posed by motion clips."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.bodies import anny_data
from synth.bodies.anny_retarget import AnnyRetargeter, zero_motion
from synth.bodies.base import BodyIdentity, PosedBody
from synth.bodies.determinism import fixed_torch_threads
from synth.constants import EGO16_JOINTS
from synth.errors import CONFIG_PLACEHOLDER, ConfigError
from synth.motions.clip import MotionClip

BACKEND_NAME = "anny"
#: Adult age range sampled (years; anny's calibrated morphological age).
ADULT_AGE_YEARS = (18.0, 65.0)
#: Anny gender 0 = male, 1 = female. Sexes are drawn 50/50 and gender lies within this distance of the pole.
GENDER_SPREAD = 0.1
#: Statures accepted by the sampler (about the 0.5th-99.5th percentile of adults); others are redrawn.
STATURE_RANGE_M = (1.47, 2.05)
MAX_SHAPE_DRAWS = 16
#: Frames per batched forward pass (anny is ~1 ms/frame on CPU at 32-128 frames per batch).
DEFAULT_BATCH_FRAMES = 64
#: Prepared bodies kept per backend instance (rest mesh, skeleton, retargeting).
BODY_CACHE_SIZE = 8
#: R_head_from_world in the canonical pose: head x = wearer's right (-X), y = back (+Y), z = down (-Z).
R_WORLD_FROM_HEAD_CANONICAL = np.diag([-1.0, 1.0, -1.0])

#: EGO16 joint -> Anny bones whose (posed) heads are averaged; ball = the five toe roots (MTP line).
EGO16_BONES: dict[str, tuple[str, ...]] = {
    "head": ("head",),
    "neck": ("neck01",),
    **{
        f"{side}_{joint}": (f"{bone}.{s}",)
        for side, s in (("left", "L"), ("right", "R"))
        for joint, bone in (
            ("upperarm", "upperarm01"),
            ("lowerarm", "lowerarm01"),
            ("hand", "wrist"),
            ("thigh", "upperleg01"),
            ("calf", "lowerleg01"),
            ("foot", "foot"),
        )
    },
    **{f"{side}_ball": tuple(f"toe{i}-1.{s}" for i in range(1, 6)) for side, s in (("left", "L"), ("right", "R"))},
}


def grounding_offsets_m(min_z_m: np.ndarray, grounded: np.ndarray) -> np.ndarray:
    """(F,) float64 vertical shift per frame: grounded frames put their lowest point on z = 0.

    min_z_m: (F,) lowest vertex height per frame (m); grounded: (F,) bool. Shifts of non-grounded frames are
    linearly interpolated between the neighbouring grounded frames and held at the ends, so flight keeps its
    authored height; a clip without any grounded frame is not shifted.
    """
    grounded = np.asarray(grounded, dtype=bool)
    frames = np.arange(len(min_z_m))
    if not grounded.any():
        return np.zeros(len(min_z_m))
    return np.interp(frames, frames[grounded], -np.asarray(min_z_m, np.float64)[grounded])


def _orthonormalize(rotations: np.ndarray) -> np.ndarray:
    """(..., 3, 3) nearest rotations (removes float32 round-off)."""
    u, _, vt = np.linalg.svd(rotations)
    return u @ vt


def _identity_id(params: dict[str, float]) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    return f"{BACKEND_NAME}-{digest[:12]}"


@dataclass(frozen=True)
class _PreparedBody:
    """One identity ready to pose: rest model tensors, retargeting and its canonical (T-pose, grounded) state."""

    rest: dict[str, Any]  # anny rest model: rest_vertices (1, V, 3), rest_bone_poses (1, J, 4, 4), float32 torch
    retargeter: AnnyRetargeter
    pelvis_height_m: float
    rest_vertices: np.ndarray  # (V, 3) float32 canonical pose standing on z = 0
    T_world_from_head: np.ndarray  # (4, 4) float64 canonical pose


class AnnyBackend:
    """BodyBackend over the Anny model (13 718 vertices, 104 bones, CC0 data, no licence-restricted files).

    EGO16 joints are posed bone heads (rotation centres): head = `head` (skull base), neck = `neck01`, shoulders
    `upperarm01`, elbows `lowerarm01`, wrists `wrist`, hips `upperleg01`, knees `lowerleg01`, ankles `foot`, balls
    = mean of the `toe1-1`..`toe5-1` heads.
    """

    name = BACKEND_NAME

    def __init__(self, batch_frames: int = DEFAULT_BATCH_FRAMES) -> None:
        if batch_frames < 1:
            raise ConfigError(CONFIG_PLACEHOLDER, "body.options.batch_frames", f"must be >= 1, got {batch_frames}")
        self.batch_frames = int(batch_frames)
        self._model = anny_data.load_model()
        self._topology = anny_data.load_topology()
        labels = list(self._model.bone_labels)
        self._bone_index = {label: i for i, label in enumerate(labels)}
        weights = np.zeros((len(EGO16_JOINTS), len(labels)))
        for j, joint in enumerate(EGO16_JOINTS):
            bones = EGO16_BONES[joint]
            weights[j, [self._bone_index[b] for b in bones]] = 1.0 / len(bones)
        self._ego16_from_bone_heads = weights  # (16, J)
        head = self._bone_index["head"]
        self._head_bone = head
        self._U_head = self._model.reference_bone_orientations[head].detach().cpu().numpy().astype(np.float64)
        self._shape_distribution: Any = None
        self._bodies: OrderedDict[str, _PreparedBody] = OrderedDict()  # keyed by the params' JSON

    # ------------------------------------------------------------------ identities

    def _shape_sampler(self) -> Any:
        if self._shape_distribution is None:
            from anny.shape_distribution import SimpleShapeDistribution

            self._shape_distribution = SimpleShapeDistribution(self._model)
        return self._shape_distribution

    def _blendshape_coeffs(self, params: dict[str, Any]) -> Any:
        import torch

        missing = [label for label in self._model.phenotype_labels if label not in params]
        if missing:
            raise ConfigError("<identity>", "identity.params", f"missing Anny phenotypes {missing}")
        phenotype = torch.tensor(
            [[float(params[label]) for label in self._model.phenotype_labels]], dtype=self._model.dtype
        )
        empty = torch.zeros((1, 0), dtype=self._model.dtype)
        return self._model._get_phenotype_blendshape_coefficients(phenotype, empty, empty)

    def stature_m(self, params: dict[str, Any]) -> float:
        """Stature (m) of the rest mesh (top of head to sole) for Anny phenotype params."""
        import torch

        with torch.no_grad(), fixed_torch_threads():
            rest_vertices = self._model.get_rest_vertices(self._blendshape_coeffs(params))[0]
        return float(rest_vertices[:, 2].max() - rest_vertices[:, 2].min())

    def identity_from_params(self, params: dict[str, Any], age_years: float | None = None) -> BodyIdentity:
        """Rebuild an identity from its phenotype params (e.g. read back from clip.json)."""
        import torch

        params = {k: float(v) for k, v in params.items()}
        if age_years is None:
            mapping = self._shape_sampler().morphological_age_mapping
            age = torch.tensor([params["age"]], dtype=self._model.dtype)
            age_years = float(mapping.anny_to_morphological_age(age)[0])
        return BodyIdentity(
            backend=BACKEND_NAME,
            identity_id=_identity_id(params),
            sex="male" if params["gender"] < 0.5 else "female",
            age_years=float(age_years),
            stature_m=self.stature_m(params),
            params=params,
        )

    def sample_identity(self, rng: np.random.Generator) -> BodyIdentity:
        """Draw one adult (18-65 years) from anny's WHO-calibrated shape distribution.

        Sex is drawn 50/50 with a near-pole gender value; height, weight, muscle and proportions come from anny's
        age-conditioned Beta distributions of that sex, drawn with `rng` (no torch RNG is used). Bodies whose
        stature falls outside STATURE_RANGE_M are redrawn.
        """
        import torch

        sampler = self._shape_sampler()
        years = float(rng.uniform(*ADULT_AGE_YEARS))
        male = bool(rng.random() < 0.5)
        spread = float(rng.uniform(0.0, GENDER_SPREAD))
        gender = spread if male else 1.0 - spread
        age_t = sampler.morphological_age_mapping.morphological_to_anny_age(
            torch.tensor([years], dtype=self._model.dtype)
        )
        prefix = "boys" if male else "girls"
        conditionals = {
            key: getattr(sampler, f"{prefix}_conditional_{key}_distribution")
            for key in ("height", "weight", "muscle", "proportions")
        }
        beta_params = {
            key: tuple(float(p[0]) for p in dist.get_distribution_params(age_t)) for key, dist in conditionals.items()
        }
        params: dict[str, float] = {}
        for _ in range(MAX_SHAPE_DRAWS):
            params = {"gender": gender, "age": float(age_t[0])}
            params.update({key: float(rng.beta(a, b)) for key, (a, b) in beta_params.items()})
            stature = self.stature_m(params)
            if STATURE_RANGE_M[0] <= stature <= STATURE_RANGE_M[1]:
                break
        return self.identity_from_params(params, age_years=years)

    # ------------------------------------------------------------------ posing

    def _forward(self, rest: dict[str, Any], deltas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Skin (F, J, 4, 4) 'local-ref' deltas -> vertices (F, V, 3) float32 m, bone poses (F, J, 4, 4) float64."""
        import torch

        vertices, bone_poses = [], []
        with torch.no_grad(), fixed_torch_threads():
            for start in range(0, len(deltas), self.batch_frames):
                batch = torch.as_tensor(deltas[start : start + self.batch_frames], dtype=self._model.dtype)
                transforms, poses = self._model.get_bone_transforms(batch, rest["rest_bone_poses"])
                skinned = self._model.get_skinned_vertices(
                    rest["rest_vertices"].expand(batch.shape[0], -1, -1), transforms
                )
                vertices.append(skinned.cpu().numpy().astype(np.float32, copy=False))
                bone_poses.append(poses.cpu().numpy().astype(np.float64))
        return np.concatenate(vertices), np.concatenate(bone_poses)

    def _head_transforms(self, bone_poses: np.ndarray) -> np.ndarray:
        """(F, 4, 4) T_world_from_head from posed bone poses (F, J, 4, 4): the head bone's world-aligned rotation
        G = R_bone U_head^T (identity in the canonical pose) composed with the device axes, at the head joint."""
        head = bone_poses[:, self._head_bone]
        T = np.tile(np.eye(4), (len(bone_poses), 1, 1))
        T[:, :3, :3] = _orthonormalize(head[:, :3, :3] @ self._U_head.T) @ R_WORLD_FROM_HEAD_CANONICAL
        T[:, :3, 3] = head[:, :3, 3]
        return T

    def _prepare(self, identity: BodyIdentity) -> _PreparedBody:
        key = json.dumps(identity.params, sort_keys=True)
        cached = self._bodies.get(key)
        if cached is not None:
            self._bodies.move_to_end(key)
            return cached
        import torch

        with torch.no_grad(), fixed_torch_threads():
            rest = self._model.get_rest_model(self._blendshape_coeffs(identity.params))
            identity_deltas = torch.eye(4, dtype=self._model.dtype).expand(1, self._model.bone_count, 4, 4)
            reference = self._model.get_bone_transforms(identity_deltas, rest["rest_bone_poses"])[1]
        heads = reference[0, :, :3, 3].cpu().numpy().astype(np.float64)
        retargeter = AnnyRetargeter.for_body(heads, list(self._model.bone_labels), list(self._model.bone_parents))
        canonical = zero_motion(1)
        vertices, bone_poses = self._forward(rest, retargeter.pose_parameters(canonical, pelvis_height_m=0.0))
        pelvis_height = -float(vertices[0, :, 2].min())
        T_head = self._head_transforms(bone_poses)[0]
        T_head[2, 3] += pelvis_height
        body = _PreparedBody(
            rest=rest,
            retargeter=retargeter,
            pelvis_height_m=pelvis_height,
            rest_vertices=vertices[0] + np.float32([0.0, 0.0, pelvis_height]),
            T_world_from_head=T_head,
        )
        self._bodies[key] = body
        while len(self._bodies) > BODY_CACHE_SIZE:
            self._bodies.popitem(last=False)
        return body

    def pose(self, identity: BodyIdentity, motion: MotionClip) -> PosedBody:
        """Pose `identity` through every frame of `motion` (one batched pass; grounded as in grounding_offsets_m)."""
        if identity.backend != BACKEND_NAME:
            raise ConfigError(
                "<identity>", "identity.backend", f"the anny backend cannot pose a {identity.backend!r} identity"
            )
        if motion.num_frames == 0:
            raise ConfigError("<motion>", f"motion {motion.name!r}", "the clip has no frames")
        body = self._prepare(identity)
        deltas = body.retargeter.pose_parameters(motion, pelvis_height_m=body.pelvis_height_m)
        vertices, bone_poses = self._forward(body.rest, deltas)
        dz = grounding_offsets_m(vertices[:, :, 2].min(axis=1), motion.grounded)
        vertices[:, :, 2] += dz[:, None].astype(np.float32)
        joints = np.einsum("jb,fbk->fjk", self._ego16_from_bone_heads, bone_poses[:, :, :3, 3])
        joints[:, :, 2] += dz[:, None]
        T_world_from_head = self._head_transforms(bone_poses)
        T_world_from_head[:, 2, 3] += dz
        T_head_from_world = np.linalg.inv(body.T_world_from_head)
        head_vertices = body.rest_vertices[self._topology.head_vertex_ids].astype(np.float64)
        head_vertices_head_m = head_vertices @ T_head_from_world[:3, :3].T + T_head_from_world[:3, 3]
        topo = self._topology
        return PosedBody(
            vertices=vertices,
            faces=topo.faces,
            part_of_face=topo.part_of_face,
            uv=topo.uv,
            face_uv_idx=topo.face_uv_idx,
            joints_ego16=joints,
            T_world_from_head=T_world_from_head,
            head_vertices_head_m=head_vertices_head_m,
            rest_vertices=body.rest_vertices.copy(),
            fps=float(motion.fps),
        )
