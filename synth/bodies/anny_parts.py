"""Per-face body-part labels for the Anny topology (skinning groups + official UV masks + waist and scalp cuts)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from synth.bodies.determinism import fixed_torch_threads
from synth.constants import BODY_PARTS, PART_INDEX

#: Phenotype of the body the geometric cuts are measured on (an average adult; labels are topology-level).
LABEL_PHENOTYPE: dict[str, float] = {
    "gender": 0.5,
    "age": 0.8,
    "muscle": 0.5,
    "weight": 0.5,
    "height": 0.5,
    "proportions": 0.5,
}
#: Head faces higher than this above the eyes are scalp (hair).
SCALP_ABOVE_EYES_M = 0.035
#: Head faces behind the head bone's head by more than this (and above it) are scalp; the margin spares the ears.
SCALP_BEHIND_HEAD_BONE_M = 0.02

#: Bone-name patterns -> part (side suffix ".L"/".R" resolved to left_/right_ below).
_BONE_GROUPS: tuple[tuple[str, str], ...] = (
    (r"^root$|^spine\d+$|^clavicle\.|^shoulder01\.", "torso"),
    (r"^pelvis\.", "hips"),
    (r"^neck\d+$", "neck"),
    (r"^head$|^eye\.", "head"),
    (r"^upperarm0[12]\.", "upperarm"),
    (r"^lowerarm0[12]\.", "forearm"),
    (r"^wrist\.|^finger|^metacarpal", "hand"),
    (r"^upperleg0[12]\.", "thigh"),
    (r"^lowerleg0[12]\.", "shin"),
    (r"^foot\.|^toe", "foot"),
)
#: Official segmentation labels (anny data/segmentation) -> part; they override the skinning groups.
_UV_MASK_PARTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("head",), "head"),
    (("hand.L",), "left_hand"),
    (("hand.R",), "right_hand"),
    (("foot.L",), "left_foot"),
    (("foot.R",), "right_foot"),
    (("eye_back.L", "eye_front.L", "eye_cavity.L", "eye_back.R", "eye_front.R", "eye_cavity.R"), "eyes"),
    (("mouth_cavity", "tongue"), "mouth"),
)
_SIDED = {"upperarm", "forearm", "hand", "thigh", "shin", "foot"}


def bone_part_index(bone_labels: list[str]) -> np.ndarray:
    """(J,) int64 BODY_PARTS index of every bone (the part its skinned vertices belong to)."""
    out = np.full(len(bone_labels), PART_INDEX["torso"], dtype=np.int64)
    for j, label in enumerate(bone_labels):
        for pattern, group in _BONE_GROUPS:
            if re.search(pattern, label):
                if group in _SIDED:
                    side = "left" if label.endswith(".L") else "right"
                    group = f"{side}_{group}"
                out[j] = PART_INDEX[group]
                break
    return out


def compute_part_labels(model: Any) -> np.ndarray:
    """(T,) uint8 BODY_PARTS index of every face of the Anny topology.

    1. Sum the skinning weights of each vertex per part, average over each face's corners, take the argmax.
    2. Override with the official UV-painted masks (head, hands, feet, eyes, mouth).
    3. Split the trunk into torso / hips at the waist loop height (anny.anthropometry waist vertices).
    4. Head faces above the eyes + SCALP_ABOVE_EYES_M, or behind the head bone and above the skull base, are
       scalp.
    Geometric cuts use the reference (identity) pose of an average adult, root at the origin, metres.
    """
    import torch
    from anny.anthropometry import Anthropometry
    from anny.face_segmentation import get_face_segmentation_mask

    faces = model.faces.detach().cpu().numpy()
    num_vertices = int(model.template_vertices.shape[0])
    # 1. skinning-weight groups
    bone_part = bone_part_index(list(model.bone_labels))
    weights = model.vertex_bone_weights.detach().cpu().numpy().astype(np.float64)
    bones = model.vertex_bone_indices.detach().cpu().numpy()
    vertex_part_weight = np.zeros((num_vertices, len(BODY_PARTS)))
    rows = np.repeat(np.arange(num_vertices), bones.shape[1])
    np.add.at(vertex_part_weight, (rows, bone_part[bones.ravel()]), weights.ravel())
    labels = vertex_part_weight[faces].mean(axis=1).argmax(axis=1)
    # 2. official UV masks
    for seg_labels, part in _UV_MASK_PARTS:
        mask = get_face_segmentation_mask(model, list(seg_labels)).cpu().numpy()
        labels[mask] = PART_INDEX[part]
    # 3. and 4. geometric cuts on the reference pose
    with torch.no_grad(), fixed_torch_threads():
        out = model(phenotype_kwargs=dict(LABEL_PHENOTYPE))
    vertices = out["vertices"][0].detach().cpu().numpy().astype(np.float64)
    heads = out["bone_poses"][0, :, :3, 3].detach().cpu().numpy().astype(np.float64)
    index = {label: i for i, label in enumerate(model.bone_labels)}
    centroid = vertices[faces].mean(axis=1)
    waist_z = vertices[Anthropometry(model).waist_vertex_indices, 2].mean()
    trunk = np.isin(labels, [PART_INDEX["torso"], PART_INDEX["hips"]])
    labels[trunk & (centroid[:, 2] < waist_z)] = PART_INDEX["hips"]
    labels[trunk & (centroid[:, 2] >= waist_z)] = PART_INDEX["torso"]
    eye_z = heads[[index["eye.L"], index["eye.R"]], 2].mean()
    head_bone = heads[index["head"]]
    above_eyes = centroid[:, 2] > eye_z + SCALP_ABOVE_EYES_M
    back_of_head = (centroid[:, 1] > head_bone[1] + SCALP_BEHIND_HEAD_BONE_M) & (centroid[:, 2] > head_bone[2])
    labels[(labels == PART_INDEX["head"]) & (above_eyes | back_of_head)] = PART_INDEX["scalp"]
    return labels.astype(np.uint8)


def head_vertex_ids(faces: np.ndarray, part_of_face: np.ndarray) -> np.ndarray:
    """(K,) int64 sorted ids of the vertices of head and scalp faces.

    faces: (T, 3) int vertex indices; part_of_face: (T,) BODY_PARTS indices.
    """
    keep = np.isin(part_of_face, [PART_INDEX["head"], PART_INDEX["scalp"]])
    return np.unique(faces[keep].ravel()).astype(np.int64)
