"""Sampling clip specs: identity, motion, appearance and environment drawn from a clip's own random streams.

A ClipSampler turns (config, resolved files, rig, body backend) into ClipSpecs; it never looks for files (that is
synth.scene.files.ContentFiles) and never writes anything. sample(index) depends only on (config seed, index).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from synth.config import RenderConfig
from synth.dataset.format import clip_id, clip_seed_sequence
from synth.geometry.rig import Rig, config_rig, fit_head_mount
from synth.motions.procedural.chair import CHAIR_PROP
from synth.scene.files import ContentFiles
from synth.scene.spec import ClipSpec, EnvironmentSpec

log = logging.getLogger(__name__)

#: Independent random streams per clip, so adding one never changes the others.
(STREAM_IDENTITY, STREAM_MOTION, STREAM_APPEARANCE, STREAM_ENVIRONMENT, STREAM_CAMERA, STREAM_HAIR,
 STREAM_SURROUNDINGS, STREAM_SKIN) = range(8)
NUM_STREAMS = 8
#: Shape coefficients loaded when identities come from mocap files (BEDLAM subjects use up to 16 betas).
MOTION_IDENTITY_NUM_BETAS = 16
#: Probabilities of the cloth texture patterns (CLOTH_PATTERNS order: solid, stripes, checks, noise, denim, knit,
#: dots) painted on simulated clothing.
SIMULATED_CLOTH_PATTERN_PROBS = (0.45, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05)


def clip_streams(seed: int, index: int) -> list[np.random.Generator]:
    """The clip's independent generators, derived only from (config seed, clip index)."""
    children = clip_seed_sequence(seed, index).spawn(NUM_STREAMS)
    return [np.random.default_rng(child) for child in children]


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


def log_refit(spec: ClipSpec) -> None:
    """One line when the device had to move on this clip's head to keep every camera clear of it."""
    m = spec.mount
    if m.refit_m:
        direction = "back" if m.refit_m > 0 else "forward"
        log.warning("%s: device moved %.1f cm %s on this head so every camera keeps %.1f cm from it (D-FH %.1f cm, "
                    "D-RH %.1f cm); give the rig more room to avoid refits", spec.clip_id, 100 * abs(m.refit_m),
                    direction, 100 * spec.rig.min_head_clearance_m, 100 * m.d_fh_m, 100 * m.d_rh_m)


def remount(spec: ClipSpec, rig: Rig) -> ClipSpec:
    """The same clip worn with another rig (ClipSpec.worn_with), logging a refit."""
    worn = spec.worn_with(rig)
    log_refit(worn)
    return worn


class ClipSampler:
    """Samples and poses clips for one config; holds the (expensive) body backend once per process."""

    def __init__(self, cfg: RenderConfig, config_dir: Path | None = None, rig: Rig | None = None, backend: Any = None,
                 files: ContentFiles | None = None):
        """Resolves the config's files first (cheap checks, so bad input fails before the body model loads), then
        the rig, then the body backend (unless given)."""
        self.cfg = cfg
        self.config_dir = config_dir
        self.files = files if files is not None else ContentFiles(cfg, config_dir)
        if cfg.motion.source == "procedural":
            from synth.motions.procedural import family_weights

            family_weights(cfg.motion.families, cfg.motion.weights)  # unknown names fail before the model loads
        self.rig = rig if rig is not None else config_rig(cfg, config_dir)
        self.backend = backend if backend is not None else make_backend(cfg, self.files.assets, config_dir)

    @property
    def assets(self) -> Any:
        return self.files.assets

    def _motion(self, rng: np.random.Generator) -> tuple[Any, Path | None, int]:
        """(clip, npz file or None, first frame of the window in the clip resampled to clips.fps)."""
        frames, fps = self.cfg.clips.frames, self.cfg.clips.fps
        if self.cfg.motion.source == "procedural":
            from synth.motions.procedural import sample_motion

            m = self.cfg.motion
            return sample_motion(rng, frames, fps, families=m.families, weights=m.weights, gaze=m.gaze), None, 0
        from synth.motions.npz_loader import load_motion_npz
        from synth.motions.resample import resample, take_frames

        motions = self.files.motions
        path = motions[int(rng.integers(len(motions)))]
        clip = resample(load_motion_npz(path), fps)
        start = int(rng.integers(max(1, clip.num_frames - frames + 1)))
        return take_frames(clip, start, frames), path, start

    @staticmethod
    def _props(motion: Any, posed: Any, rng: np.random.Generator) -> tuple[Any, ...]:
        """The scene props the clip's motion needs (a sit_chair clip's chair and table), fitted to the posed body."""
        if motion.params.get("prop") != CHAIR_PROP:
            return ()
        from synth.scene.props import seated_props

        return seated_props(posed.vertices, posed.joints_ego16, np.radians(motion.params["heading_deg"]), rng)

    def _simulated_clothing(self, motion: Any, motion_path: Path | None, start: int, posed: Any,
                            rng: np.random.Generator) -> tuple[list[Any], Path | None]:
        """The clip's simulated garments from the cache paired with its motion file ([] when there is none)."""
        cache = self.files.clothing_for(motion_path)
        if cache is None:
            return [], None
        from synth.appearance.clothing import cache_frame_positions, simulated_garments
        from synth.appearance.clothing_cache import load_clothing_cache
        from synth.appearance.sampling import sample_cloth

        src_fps = float(motion.params["source_fps"])
        positions = cache_frame_positions(start, motion.num_frames, motion.fps, src_fps,
                                          int(motion.params["source_frames"]))
        # Read only the cache frames the clip interpolates between (a long cache holds hundreds).
        lo = np.floor(positions).astype(np.int64)
        needed = np.unique(np.concatenate([lo, lo + 1]))
        meshes = load_clothing_cache(cache, fps=src_fps, scale_to_m=self.files.scale_to_m(cache),
                                     frames=needed.tolist(), sha256=self.files.assets.sha256_of(cache))
        positions = np.interp(positions, needed, np.arange(len(needed), dtype=np.float64))
        cloth = sample_cloth(rng, probs=SIMULATED_CLOTH_PATTERN_PROBS)
        return simulated_garments(meshes, posed.T_world_from_native, positions, cloth, str(cache)), cache

    def _environment(self, look: Any, props: tuple[Any, ...], posed: Any, T_world_from_device: np.ndarray,
                     rng: np.random.Generator) -> EnvironmentSpec:
        """The clip's environment: its look, the props its motion needs and, if configured, its surroundings (a
        room around everything the body and its cameras reach, clutter near it)."""
        cfg = self.cfg.appearance.surroundings
        if cfg is None:
            return EnvironmentSpec(look=look, occluders=props)
        from synth.scene.spec import camera_centres_world
        from synth.scene.surroundings import body_points, sample_surroundings

        cameras = camera_centres_world(T_world_from_device, self.rig)
        return sample_surroundings(rng, cfg, body_points(posed.vertices, cameras), props).environment(look, props)

    def _camera_effects(self, rng: np.random.Generator) -> Any:
        cfg = self.cfg.appearance.camera_effects
        if cfg is None:
            return None
        from synth.appearance.camera_effects import sample_camera_effects

        return sample_camera_effects(rng, cfg, self.rig.views, self.cfg.output.image_format)

    def _hair(self, rng: np.random.Generator, posed: Any, mount: Any, garments: tuple = ()) -> Any:
        cfg = self.cfg.appearance.hair
        if cfg is None:
            return None
        from synth.appearance.hair import sample_hair_style
        from synth.appearance.hair_dynamics import hair_on_body
        from synth.scene.spec import camera_centres_head

        style = sample_hair_style(rng, cfg)
        if style is None:
            return None
        hair = hair_on_body(style, posed, garments, moves=cfg.dynamics)
        return hair.worn_with_cameras(camera_centres_head(mount, self.rig))

    def sample(self, index: int) -> tuple[ClipSpec, dict[str, float]]:
        """Sample and pose clip `index` (deterministic in (seed, index)); returns (spec, seconds per stage)."""
        from synth.appearance.garments import posed_garments
        from synth.appearance.sampling import appearance_from_config, sample_environment

        seconds: dict[str, float] = {}
        t0 = time.perf_counter()
        (rng_id, rng_motion, rng_app, rng_env, rng_cam, rng_hair, rng_around,
         rng_skin) = clip_streams(self.cfg.seed, index)
        motion, motion_path, start = self._motion(rng_motion)
        if self.cfg.body.identity == "motion":
            identity = self.backend.identity_from_motion(motion)
        else:
            identity = self.backend.sample_identity(rng_id)
        seconds["sample"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        posed = self.backend.pose(identity, motion)
        seconds["pose"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        appearance = appearance_from_config(rng_app, self.cfg.appearance)
        if self.files.textures and rng_app.random() < self.cfg.appearance.body_texture_probability:
            candidates = self.files.subject_textures(motion_path)
            texture = candidates[int(rng_app.integers(len(candidates)))]
            appearance = replace(appearance, body_texture=str(Path(texture).resolve()))
        if self.cfg.appearance.skin_detail and self.cfg.body.backend == "anny" and appearance.body_texture is None:
            from synth.appearance.sampling import sample_skin_detail  # the masks are on Anny's UV layout

            appearance = replace(appearance, skin_detail=sample_skin_detail(
                rng_skin, appearance.skin_rgb, self.cfg.appearance.skin_subsurface_probability))
        simulated, cache = self._simulated_clothing(motion, motion_path, start, posed, rng_app)
        if simulated:
            appearance = replace(appearance, loose=())  # simulated clothing replaces procedural loose garments
        look = sample_environment(rng_env, self.files.hdris, self.cfg.appearance.hdri_probability)
        garments = posed_garments(posed, appearance) + simulated
        seconds["dress"] = time.perf_counter() - t0
        used = [motion_path, cache, appearance.body_texture, look.hdri_path]
        if hasattr(self.backend, "model_file"):
            used.insert(0, self.backend.model_file(identity))
        mount = fit_head_mount(posed.head_vertices_head_m, self.rig, clip=clip_id(index))
        t0 = time.perf_counter()
        hair = self._hair(rng_hair, posed, mount, tuple(garments))
        if hair is not None:
            appearance = replace(appearance, hair_rgb=hair.style.albedo_rgb())  # the scalp under the strands
        seconds["hair"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        T_world_from_device = posed.T_world_from_head @ mount.T_head_from_device
        environment = self._environment(look, self._props(motion, posed, rng_env), posed, T_world_from_device,
                                        rng_around)
        seconds["surroundings"] = time.perf_counter() - t0
        spec = ClipSpec(
            index=index,
            clip_id=clip_id(index),
            identity=identity,
            motion=motion,
            posed=posed,
            rig=self.rig,
            mount=mount,
            T_world_from_device=T_world_from_device,
            appearance=appearance,
            environment=environment,
            garments=tuple(garments),
            asset_files=tuple(str(p) for p in used if p is not None),
            camera_effects=self._camera_effects(rng_cam),
            hair=hair,
        )
        log_refit(spec)
        return spec, seconds
