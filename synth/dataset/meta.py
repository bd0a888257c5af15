"""What dataset.json and clip.json say about a run and a clip (DESIGN section 7), built from config and spec."""

from __future__ import annotations

import json
import math
from typing import Any

from synth import __version__
from synth.config import RenderConfig, config_hash, hashable_dict
from synth.constants import EGO16_JOINTS, HEATMAP_JOINTS
from synth.geometry.rig import Rig
from synth.io import jsonable, sha256_bytes
from synth.labels.heatmaps import heatmap_shape_for
from synth.scene.spec import ClipSpec


def dataset_meta(cfg: RenderConfig, rig: Rig, image_format: str | None, blender_version: str | None,
                 asset_manifest_hash: str | None = None) -> dict[str, Any]:
    """dataset.json contents before finalisation; asset_manifest_hash: ResolvedAssets.manifest_hash (None when the
    config uses no licensed assets); image_format None for a label-only dataset.

    image: the rig's one image size (px); heatmap: `size` cells on the image's longer side, `width` x `height` cells
    keeping the image's aspect ratio (synth.labels.heatmaps.heatmap_shape_for)."""
    width, height = rig.image_size
    heatmap_w, heatmap_h = heatmap_shape_for((width, height), cfg.labels.heatmap_size)
    return {
        "schema_version": 1,
        "egorig_version": __version__,
        "blender_version": blender_version,
        "config": cfg.model_dump(mode="json"),
        "config_hash": config_hash(cfg),
        "config_files": hashable_dict(cfg),
        "seed": cfg.seed,
        "joints": list(EGO16_JOINTS),
        "heatmap_joints": list(HEATMAP_JOINTS),
        "views": list(rig.views),
        "rig": rig.to_json(),
        "image": {"width": width, "height": height, "format": image_format},
        "heatmap": {"size": cfg.labels.heatmap_size, "width": heatmap_w, "height": heatmap_h,
                    "sigma": cfg.labels.heatmap_sigma_px},
        "asset_manifest_hash": asset_manifest_hash,
        "render_settings_hash": render_settings_hash(cfg, blender_version) if image_format is not None else None,
    }


def mount_meta(spec: "ClipSpec") -> dict:
    """How the device sat on this clip's head: D-FH (m), the refit shift along the head's y axis (m, back positive;
    0 = as configured) and every camera's signed distance from the head surface (m)."""
    m = spec.mount
    clearance = m.camera_clearance_m
    return {
        "d_fh_m": m.d_fh_m,
        "refit_m": m.refit_m,
        "camera_clearance_m": None if clearance is None else dict(zip(spec.rig.views, map(float, clearance))),
    }


def render_settings_hash(cfg: RenderConfig, blender_version: str | None) -> str:
    """16 hex digits of what decides a rendered image besides the scene: the render config section with the values
    its preset resolves to, the output section and the Blender version (two rendered datasets with equal hashes
    were rendered alike)."""
    settings = {"render": hashable_dict(cfg)["render"], "output": cfg.output.model_dump(mode="json"),
                "blender_version": blender_version}
    return sha256_bytes(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode())[:16]


def clip_meta(spec: ClipSpec, seed: int, asset_records: list[dict[str, Any]]) -> dict[str, Any]:
    """clip.json contents of a clip; seed: the config seed; asset_records: ContentFiles.records(spec.asset_files)."""
    motion, rig = spec.motion, spec.rig
    return {
        "clip_id": spec.clip_id,
        "clip_index": spec.index,
        "seed": [seed, spec.index],
        "identity": spec.identity.to_json(),
        "motion": {"name": motion.name, "family": motion.family, "params": jsonable(motion.params),
                   "fps": motion.fps},
        "appearance": spec.appearance.to_json(),
        "environment": spec.environment.to_json(),
        "hair": None if spec.hair is None else {**spec.hair.style.to_json(), "moves": spec.hair.moves},
        "camera_effects": None if spec.camera_effects is None else spec.camera_effects.to_json(),
        "frames": spec.posed.num_frames,
        "fps": spec.posed.fps,
        "views": list(rig.views),
        "d_fr_m": rig.front_to_rear_m,
        "d_rh_m": spec.mount.d_rh_m if math.isfinite(spec.mount.d_rh_m) else None,  # None: no rear cameras
        "front_clearance_m": rig.front_clearance_m,
        "mount_height_m": rig.mount_height_m,
        "mount": mount_meta(spec),
        "assets": asset_records,
    }
