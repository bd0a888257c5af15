"""Cycles' device and integrator settings from a RenderSettings: the one place they are written to a scene."""

from __future__ import annotations

import bpy

from synth.render_settings import RenderSettings
from synth.errors import ConfigError


def select_device(scene: "bpy.types.Scene", device: str) -> str:
    """Configure Cycles' device ("auto": OptiX, then CUDA, then CPU). Returns "OPTIX", "CUDA" or "CPU".

    Must run after any factory reset (it clears the Cycles preferences). An explicitly requested GPU type that is
    not available raises ConfigError.
    """
    if device == "cpu":
        scene.cycles.device = "CPU"
        return "CPU"
    prefs = bpy.context.preferences.addons["cycles"].preferences
    for kind in (["OPTIX", "CUDA"] if device == "auto" else [device.upper()]):
        try:
            prefs.compute_device_type = kind
        except TypeError:
            continue
        prefs.refresh_devices()
        usable = [d for d in prefs.devices if d.type == kind]
        if usable:
            for d in prefs.devices:
                d.use = d.type == kind
            scene.cycles.device = "GPU"
            return kind
    if device != "auto":
        raise ConfigError("render config", "render.device",
                          f"device {device!r} is not available on this machine; use 'auto' or 'cpu'")
    prefs.compute_device_type = "NONE"
    scene.cycles.device = "CPU"
    return "CPU"


def apply_integrator(scene: "bpy.types.Scene", s: RenderSettings, device: str) -> None:
    """Write every sampling, denoising, bounce, clamping, filter, tile and thread setting of `s` to `scene`
    (device: what select_device returned). Safe to call again on a live scene to switch settings."""
    cy = scene.cycles
    cy.samples = s.samples
    cy.use_adaptive_sampling = s.adaptive_threshold > 0
    cy.adaptive_threshold = s.adaptive_threshold if s.adaptive_threshold > 0 else cy.adaptive_threshold
    cy.adaptive_min_samples = s.adaptive_min_samples
    cy.use_denoising = s.denoise
    cy.denoiser = "OPTIX" if device == "OPTIX" else "OPENIMAGEDENOISE"
    cy.denoising_prefilter = s.denoise_prefilter
    cy.denoising_input_passes = s.denoise_passes
    cy.denoising_use_gpu = device != "CPU"
    cy.max_bounces = s.max_bounces
    cy.diffuse_bounces = s.diffuse_bounces
    cy.glossy_bounces = s.glossy_bounces
    cy.transmission_bounces = s.transmission_bounces
    cy.use_light_tree = s.light_tree
    cy.sample_clamp_direct = s.clamp_direct
    cy.sample_clamp_indirect = s.clamp_indirect
    cy.filter_width = s.filter_width_px
    scene.cycles_curves.shape = s.curve_shape
    cy.use_guiding = s.path_guiding
    cy.guiding_training_samples = s.guiding_training_samples
    cy.use_fast_gi = s.fast_gi_bounces > 0
    cy.fast_gi_method = "REPLACE"
    cy.ao_bounces = cy.ao_bounces_render = max(s.fast_gi_bounces, 1)
    cy.use_auto_tile = True
    cy.tile_size = s.tile_size
    scene.render.threads_mode = "FIXED" if s.threads > 0 else "AUTO"
    if s.threads > 0:
        scene.render.threads = s.threads


def apply_world_sampling(world: "bpy.types.World", s: RenderSettings, image_based: bool) -> None:
    """How Cycles samples `world` as a light: multiple importance sampling with an automatic or fixed-size
    importance map, or none (the sky then lights the scene through BSDF rays only). image_based: the world is an
    image (HDRI), whose bright spots need importance sampling; world_sampling "images" samples only those. Under
    persistent data a change takes effect only for a new world or a fresh render session."""
    wc = world.cycles
    if s.world_sampling == "none" or (s.world_sampling == "images" and not image_based):
        wc.sampling_method = "NONE"
    elif s.world_map_resolution > 0:
        wc.sampling_method = "MANUAL"
        wc.sample_map_resolution = s.world_map_resolution
    else:
        wc.sampling_method = "AUTOMATIC"
