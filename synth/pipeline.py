"""Clip generation without rendering: sample, pose, mount the rig, compute labels, and write label-only datasets."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from synth import __version__
from synth.config import RenderConfig, config_hash, hashable_dict
from synth.constants import EGO16_JOINTS, HEATMAP_JOINTS, OCC_SCENE
from synth.dataset.format import SPLITS, clip_id, clip_seed_sequence
from synth.errors import ConfigError
from synth.geometry.rig import HeadMount, Rig, build_rig, fit_head_mount
from synth.io import jsonable

log = logging.getLogger(__name__)

#: Independent random streams per clip, so adding one never changes the others.
STREAM_IDENTITY, STREAM_MOTION, STREAM_APPEARANCE, STREAM_ENVIRONMENT = range(4)
NUM_STREAMS = 4
#: Identity-disjoint split fractions (train, val, test).
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def clip_streams(seed: int, index: int) -> list[np.random.Generator]:
    """The clip's independent generators, derived only from (config seed, clip index)."""
    children = clip_seed_sequence(seed, index).spawn(NUM_STREAMS)
    return [np.random.default_rng(child) for child in children]


@dataclass
class ClipContent:
    """Everything sampled and posed for one clip (no labels yet)."""

    index: int
    clip_id: str
    identity: Any
    motion: Any
    posed: Any
    mount: HeadMount
    T_world_from_device: np.ndarray  # (F, 4, 4) float64
    appearance: Any
    environment: Any
    garments: list[Any]
    seconds: dict[str, float]
    asset_files: list[str] = field(default_factory=list)  # licensed files this clip used (clip.json "assets")


#: Shape coefficients loaded when identities come from mocap files (BEDLAM subjects use up to 16 betas).
MOTION_IDENTITY_NUM_BETAS = 16


def make_backend(cfg: RenderConfig, assets: Any = None, config_dir: Path | None = None) -> Any:
    """The body backend named by the config (constructed once per process: it loads the model).

    assets: the config's synth.assets.ResolvedAssets; `asset:` model folders resolve through it, and only files
    it verified by checksum may be unpickled.
    """
    from synth.assets import is_asset_ref
    from synth.bodies.registry import get_backend

    options: dict[str, Any] = {}
    if cfg.body.backend == "smplx":
        model_dir: Any = cfg.body.model_dir
        if is_asset_ref(model_dir) and assets is not None:
            model_dir = assets.directory(model_dir)
        elif model_dir and config_dir is not None and not Path(model_dir).expanduser().is_absolute():
            model_dir = Path(config_dir) / model_dir
        options = {"model_dir": model_dir, "model_type": cfg.body.model_type, "gender": cfg.body.gender}
        if assets is not None and assets.used:
            options["trusted_files"] = assets.trusted_checksums()
        if cfg.body.identity == "motion":
            options["num_betas"] = MOTION_IDENTITY_NUM_BETAS
    return get_backend(cfg.body.backend, **options)


def warn_if_rear_cameras_inside_head(mount: HeadMount, index: int) -> None:
    """Log when the rear cameras end up inside the back of the head (D-FR too short for this head)."""
    if mount.d_rh_m < 0:
        log.warning(
            "clip %d: the rear cameras sit %.1f cm inside the back of the head (D-RH < 0); their labels see the head "
            "from inside. Increase rig.front_to_rear_m or reduce rig.front_clearance_m.", index, -100 * mount.d_rh_m
        )


def remount(content: "ClipContent", rig: Rig) -> "ClipContent":
    """The same clip worn with another rig: only the head mount and the device trajectory change."""
    mount = fit_head_mount(content.posed.head_vertices_head_m, rig)
    warn_if_rear_cameras_inside_head(mount, content.index)
    return replace(content, mount=mount, T_world_from_device=content.posed.T_world_from_head @ mount.T_head_from_device)


class ClipGenerator:
    """Samples and poses clips for one config; holds the (expensive) body backend once per process."""

    def __init__(self, cfg: RenderConfig, config_dir: Path | None = None, rig: Rig | None = None, backend: Any = None):
        from synth.assets import resolve_config_assets

        self.cfg = cfg
        self.config_dir = config_dir
        # Preflight: every licensed file the config names is present and unchanged before any work starts.
        self.assets = resolve_config_assets(cfg, config_dir)
        # Cheap file checks before the rig fit and the body model load, so bad input fails in a blink.
        self._check_hdris()
        self._npz_files = self._resolve_motion_files() if cfg.motion.source == "npz" else []
        self._textures = self._resolve_files(cfg.appearance.body_textures, "appearance.body_textures")
        self._clothing = {self._pair_key(p): p
                          for p in self._resolve_files(cfg.appearance.clothing_files, "appearance.clothing_files")}
        self.rig = rig if rig is not None else build_rig(cfg.rig, config_dir)
        self.backend = backend if backend is not None else make_backend(cfg, self.assets, config_dir)

    def _resolve_files(self, values: tuple[str, ...], where: str, must_match: bool = True) -> list[Path]:
        """Files named by a config list: `asset:` references through the manifest, else paths/globs relative to
        the config file (ConfigError when a pattern matches nothing and must_match)."""
        import glob

        from synth.assets import is_asset_ref

        files: list[Path] = []
        for i, pattern in enumerate(values):
            if is_asset_ref(pattern):
                files.extend(self.assets.paths(pattern))
                continue
            p = Path(pattern).expanduser()
            if not p.is_absolute() and self.config_dir is not None:
                p = self.config_dir / p
            matches = sorted(glob.glob(str(p)))
            if not matches and must_match:
                raise ConfigError("<config>", f"{where}[{i}]", f"no file matches {str(p)!r}")
            files.extend([Path(m) for m in matches] if matches else [p])
        return files

    def _check_hdris(self) -> None:
        """Fail before any work when a configured HDRI is missing (AssetError names the file)."""
        from synth.appearance.sampling import validate_hdri_paths

        self._hdris = validate_hdri_paths(
            self._resolve_files(self.cfg.appearance.hdri_files, "appearance.hdri_files", must_match=False)
        )

    def _resolve_motion_files(self) -> list[Path]:
        return self._resolve_files(self.cfg.motion.files, "motion.files")

    def _pair_key(self, path: Path) -> str:
        """What pairs a motion file with its clothing cache: the path below its asset source directory without
        the extension (`<subject>/<sequence>`), or the file stem for plain paths."""
        source = self.assets.source_of(path)
        if source is not None and self.assets.root is not None:
            rel = Path(path).resolve().relative_to((self.assets.root / source.directory).resolve())
            return rel.with_suffix("").as_posix()
        return Path(path).stem

    def _motion(self, rng: np.random.Generator):
        return self._motion_with_source(rng)[0]

    def _motion_with_source(self, rng: np.random.Generator) -> tuple[Any, Path | None, int]:
        """(clip, npz file or None, first frame of the window in the clip resampled to clips.fps)."""
        frames, fps = self.cfg.clips.frames, self.cfg.clips.fps
        if self.cfg.motion.source == "procedural":
            from synth.motions.procedural import sample_motion

            return sample_motion(rng, frames, fps, families=self.cfg.motion.families), None, 0
        from synth.motions.npz_loader import load_motion_npz
        from synth.motions.resample import resample, take_frames

        path = self._npz_files[int(rng.integers(len(self._npz_files)))]
        clip = resample(load_motion_npz(path), fps)
        start = int(rng.integers(max(1, clip.num_frames - frames + 1)))
        return take_frames(clip, start, frames), path, start

    def _pick_texture(self, motion_path: Path | None, rng: np.random.Generator) -> Path:
        """A body texture: one of the motion subject's own (`<subject>/...` in both sources) when there are any,
        else any configured texture."""
        candidates = self._textures
        if motion_path is not None and "/" in self._pair_key(motion_path):
            subject = self._pair_key(motion_path).split("/")[0]
            own = [t for t in self._textures if self._pair_key(t).split("/")[0] == subject]
            candidates = own or candidates
        return candidates[int(rng.integers(len(candidates)))]

    def _simulated_clothing(self, motion: Any, motion_path: Path | None, start: int, posed: Any,
                            rng: np.random.Generator) -> tuple[list[Any], Path | None]:
        """The clip's simulated garments from the cache paired with its motion file ([] when there is none)."""
        if not self._clothing or motion_path is None:
            return [], None
        cache = self._clothing.get(self._pair_key(motion_path))
        if cache is None:
            return [], None
        from synth.appearance.clothing import cache_frame_positions, simulated_garments
        from synth.appearance.sampling import sample_cloth
        from synth.blender.alembic import read_alembic_cache

        source = self.assets.source_of(cache)
        src_fps = float(motion.params["source_fps"])
        positions = cache_frame_positions(start, motion.num_frames, motion.fps, src_fps,
                                          int(motion.params["source_frames"]))
        # Read only the cache frames the clip interpolates between (a long cache holds hundreds).
        lo = np.floor(positions).astype(np.int64)
        needed = np.unique(np.concatenate([lo, lo + 1]))
        meshes = read_alembic_cache(cache, fps=src_fps, scale_to_m=source.scale_to_m if source else 1.0,
                                    frames=needed.tolist())
        positions = np.interp(positions, needed, np.arange(len(needed), dtype=np.float64))
        cloth = sample_cloth(rng, probs=(0.6, 0.15, 0.1, 0.15))
        return simulated_garments(meshes, posed.T_world_from_native, positions, cloth, str(cache)), cache

    def content(self, index: int) -> ClipContent:
        """Sample and pose clip `index` (deterministic in (seed, index))."""
        from synth.appearance.garments import posed_garments
        from synth.appearance.sampling import appearance_from_config, sample_environment

        seconds: dict[str, float] = {}
        t0 = time.perf_counter()
        rng_id, rng_motion, rng_app, rng_env = clip_streams(self.cfg.seed, index)
        motion, motion_path, start = self._motion_with_source(rng_motion)
        if self.cfg.body.identity == "motion":
            identity = self.backend.identity_from_motion(motion)
        else:
            identity = self.backend.sample_identity(rng_id)
        seconds["sample"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        posed = self.backend.pose(identity, motion)
        seconds["pose"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        mount = fit_head_mount(posed.head_vertices_head_m, self.rig)
        warn_if_rear_cameras_inside_head(mount, index)
        T_world_from_device = posed.T_world_from_head @ mount.T_head_from_device
        appearance = appearance_from_config(rng_app, self.cfg.appearance)
        if self._textures and rng_app.random() < self.cfg.appearance.body_texture_probability:
            texture = self._pick_texture(motion_path, rng_app)
            appearance = replace(appearance, body_texture=str(Path(texture).resolve()))
        simulated, cache = self._simulated_clothing(motion, motion_path, start, posed, rng_app)
        if simulated:
            appearance = replace(appearance, loose=())  # simulated clothing replaces procedural loose garments
        environment = sample_environment(rng_env, self._hdris, self.cfg.appearance.hdri_probability)
        garments = posed_garments(posed, appearance) + simulated
        seconds["dress"] = time.perf_counter() - t0
        used = [motion_path, cache, appearance.body_texture, environment.hdri_path]
        if hasattr(self.backend, "model_file"):
            used.insert(0, self.backend.model_file(identity))
        return ClipContent(
            index=index,
            clip_id=clip_id(index),
            identity=identity,
            motion=motion,
            posed=posed,
            mount=mount,
            T_world_from_device=T_world_from_device,
            appearance=appearance,
            environment=environment,
            garments=garments,
            seconds=seconds,
            asset_files=[str(p) for p in used if p is not None],
        )

    def labels(self, content: ClipContent) -> tuple[Any, dict[str, float]]:
        """Compute the clip's labels (DESIGN section 6) with the rig's render lenses."""
        from synth.labels.compute import compute_clip_labels
        from synth.labels.visibility import ground_plane

        stage_times: dict[str, float] = {}
        ground_v, ground_f = ground_plane()
        labels = compute_clip_labels(
            posed_vertices_world=content.posed.vertices,
            body_faces=content.posed.faces,
            joints3d_world=content.posed.joints_ego16,
            T_world_from_device=content.T_world_from_device,
            T_device_from_camera=self.rig.T_device_from_camera,
            lenses=self.rig.lenses,
            garments=content.garments,
            scene_meshes=[(ground_v, ground_f, OCC_SCENE)],
            heatmap_size=self.cfg.labels.heatmap_size,
            sigma_px=self.cfg.labels.heatmap_sigma_px,
            stage_times=stage_times,
            body_part_of_face=content.posed.part_of_face,
        )
        return labels, stage_times

    def clip_meta(self, content: ClipContent) -> dict[str, Any]:
        """clip.json contents (DESIGN section 7)."""
        motion = content.motion
        return {
            "clip_id": content.clip_id,
            "clip_index": content.index,
            "seed": [self.cfg.seed, content.index],
            "identity": content.identity.to_json(),
            "motion": {"name": motion.name, "family": motion.family, "params": jsonable(motion.params),
                       "fps": motion.fps},
            "appearance": content.appearance.to_json(),
            "environment": content.environment.to_json(),
            "frames": content.posed.num_frames,
            "fps": content.posed.fps,
            "views": list(self.rig.views),
            "d_fr_m": self.rig.front_to_rear_m,
            "d_rh_m": content.mount.d_rh_m,
            "front_clearance_m": self.rig.front_clearance_m,
            "mount_height_m": self.rig.mount_height_m,
            "assets": self.asset_records(content),
        }

    def asset_records(self, content: ClipContent) -> list[dict[str, Any]]:
        """clip.json "assets": {"id", "source", "licence", "sha256"} of every licensed file the clip used."""
        records = [self.assets.record(p) for p in content.asset_files]
        return [r for r in records if r is not None]


def labels_to_arrays(labels: Any) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(labels.npz arrays, heatmaps (F, V, 15, S, S) float16) from a ClipLabels."""
    arrays = {
        "joints3d_world": labels.joints3d_world,
        "joints3d_device": labels.joints3d_device,
        "joints3d_camera": labels.joints3d_camera,
        "joints2d": labels.joints2d,
        "visibility": labels.visibility,
        "occluder": labels.occluder,
        "T_world_from_device": labels.T_world_from_device,
        "T_device_from_camera": labels.T_device_from_camera,
        "frame_index": np.arange(labels.joints3d_world.shape[0], dtype=np.int64),
    }
    return arrays, labels.heatmaps.astype(np.float16)


def dataset_meta(cfg: RenderConfig, rig: Rig, image_format: str | None, blender_version: str | None,
                 asset_manifest_hash: str | None = None) -> dict:
    """dataset.json contents before finalisation (DESIGN section 7); asset_manifest_hash from
    ClipGenerator.assets.manifest_hash (None when the config uses no licensed assets)."""
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
        "image": {"width": cfg.rig.resolution, "height": cfg.rig.resolution, "format": image_format},
        "heatmap": {"size": cfg.labels.heatmap_size, "sigma": cfg.labels.heatmap_sigma_px},
        "asset_manifest_hash": asset_manifest_hash,
    }


def identity_splits(identity_of_clip: dict[str, str], seed: int) -> dict[str, list[str]]:
    """Assign whole identities to train/val/test (no identity in two splits); returns clip ids per split."""
    identities = sorted(set(identity_of_clip.values()))
    order = np.random.default_rng([seed, len(identities)]).permutation(len(identities))
    n = len(identities)
    n_val = int(round(n * SPLIT_FRACTIONS[1]))
    n_test = int(round(n * SPLIT_FRACTIONS[2]))
    if n >= 3:
        n_val, n_test = max(1, n_val), max(1, n_test)
    split_of_identity = {}
    for rank, i in enumerate(order):
        split = "val" if rank < n_val else "test" if rank < n_val + n_test else "train"
        split_of_identity[identities[i]] = split
    out: dict[str, list[str]] = {name: [] for name in SPLITS}
    for clip, ident in sorted(identity_of_clip.items()):
        out[split_of_identity[ident]].append(clip)
    return out


@dataclass
class ClipOutput:
    """What a clip commit needs besides the images already staged in its tmp dir.

    meta: clip.json content; labels: the labels.npz arrays (labels_to_arrays); heatmaps: (F, V, 15, S, S) float16;
    seconds: time per stage, s.
    """

    clip_id: str
    meta: dict[str, Any]
    labels: dict[str, np.ndarray]
    heatmaps: np.ndarray
    seconds: dict[str, float]

    @property
    def frames(self) -> int:
        return int(self.labels["frame_index"].shape[0])


def produce_clip(
    gen: ClipGenerator,
    index: int,
    tmp_dir_for: Callable[[str], Path],
    render_clip: Callable[[ClipContent, Path, Callable[[int], None]], dict[str, float]] | None = None,
    advance: Callable[[int], None] = lambda n: None,
) -> ClipOutput:
    """Sample, pose and label clip `index`, and render it into tmp_dir_for(clip_id) when a renderer is given.

    The one code path behind `synth labels`, `synth render` and the farm workers, so their labels are identical.
    advance(n) is called after n frames.
    """
    content = gen.content(index)
    labels, label_times = gen.labels(content)
    seconds = dict(content.seconds)
    seconds.update(label_times)
    tmp = tmp_dir_for(content.clip_id)
    if render_clip is not None:
        seconds.update(render_clip(content, tmp, advance))
    else:
        advance(content.posed.num_frames)
    arrays, heatmaps = labels_to_arrays(labels)
    return ClipOutput(content.clip_id, gen.clip_meta(content), arrays, heatmaps, seconds)


def generate_dataset(
    cfg: RenderConfig,
    out_dir: Path,
    num_clips: int,
    config_dir: Path | None = None,
    render_clip: Callable[[ClipContent, Path, Callable[[int], None]], dict[str, float]] | None = None,
    image_format: str | None = None,
    blender_version: str | None = None,
    progress: bool = True,
    generator: "ClipGenerator | None" = None,
) -> dict[str, Any]:
    """Write (or resume) a dataset of `num_clips` clips.

    render_clip(content, tmp_dir, advance): renders the clip's images into its tmp dir, calling advance(n) after n
    frames, and returns seconds per stage. Without it the dataset is label-only.
    """
    from tqdm import tqdm

    from synth.dataset.writer import DatasetWriter

    gen = generator if generator is not None else ClipGenerator(cfg, config_dir)
    writer = DatasetWriter(out_dir, dataset_meta(cfg, gen.rig, image_format, blender_version,
                                                 gen.assets.manifest_hash))
    done = set(writer.completed_clip_ids())
    todo = [i for i in range(num_clips) if clip_id(i) not in done]
    skipped = num_clips - len(todo)
    if skipped:
        log.info("resuming: %d of %d clips already complete", skipped, num_clips)
    frames_total = len(todo) * cfg.clips.frames
    # The context manager ends the bar's line even when a clip fails, so an error message starts on its own line.
    with tqdm(total=frames_total, unit="frame", disable=not progress or not todo,
              desc="clips 0/%d" % len(todo)) as bar:
        for n, index in enumerate(todo):
            out = produce_clip(gen, index, writer.clip_dir_tmp, render_clip, bar.update)
            writer.write_clip(out.clip_id, out.meta, out.labels, out.heatmaps, out.seconds)
            bar.set_description(f"clips {n + 1}/{len(todo)}")
    return finalize_dataset(writer, out_dir, cfg.seed)


def finalize_dataset(writer: Any, out_dir: Path, seed: int) -> dict[str, Any]:
    """Compute identity-disjoint splits over every completed clip and rewrite dataset.json."""
    import json

    identity_of_clip = {}
    for clip_id in sorted(writer.completed_clip_ids()):
        meta = json.loads((Path(out_dir) / "clips" / clip_id / "clip.json").read_text())
        identity_of_clip[clip_id] = meta["identity"]["identity_id"]
    splits = identity_splits(identity_of_clip, seed)
    writer.finalize(splits)
    return {"clips": len(identity_of_clip), "splits": {k: len(v) for k, v in splits.items()}}
