"""Render presets: derived from the measured quality-vs-time front, and how world sampling reaches Cycles."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from synth.render_settings import PRESETS, RenderSettings

REPO = Path(__file__).resolve().parents[1]
QUALITY_RESULT = REPO / "bench" / "results" / "quality_256px.json"
ROOMS_RESULT = REPO / "bench" / "results" / "quality_256px_rooms_bounces.json"


def test_presets_are_the_settings_the_quality_front_chose():
    """Every preset value equals the setting bench/quality.py measured for the candidate its selection rule picks
    (re-running the bench with a different outcome makes this fail until the presets follow), but for the room
    correction (ROOM_BOUNCES), which its own measured run checks below."""
    sys.path.insert(0, str(REPO))
    from bench.quality import choose_presets
    from synth.render_settings import ROOM_BOUNCES

    result = json.loads(QUALITY_RESULT.read_text())
    cands = result["candidates"]
    chosen = choose_presets(cands, result["jpeg_floor"]["psnr_db"], result["pareto_front"])
    assert chosen == {k: result["presets_from_front"][k] for k in ("default", "draft", "final")}
    for preset, name in chosen.items():
        assert name is not None, f"the front gave no {preset} candidate"
        measured = cands[name]["settings"]
        for key, value in PRESETS[preset].items():
            if key in ROOM_BOUNCES and preset != "final":
                assert value == ROOM_BOUNCES[key], (preset, key)
                continue
            assert measured[key] == value, \
                f"preset {preset}.{key} = {value!r}, candidate {name} measured {measured[key]!r}"
    default = cands[chosen["default"]]
    assert default["qualifies"] and default["circle"]["psnr_db"] >= result["jpeg_floor"]["psnr_db"]
    assert default["s_per_frame"] < cands["previous_default"]["s_per_frame"]


def test_the_room_correction_is_what_the_rooms_run_measured():
    """In closed lamp-lit rooms a third diffuse bounce is worth its time at every measured sample count (>= 0.5 dB
    noise-corrected at <= 1.1x), and more bounces add nothing beyond it; the presets carry that bounce count."""
    from synth.render_settings import ROOM_BOUNCES

    cands = json.loads(ROOMS_RESULT.read_text())["candidates"]
    for spp in (16, 24):
        lean, more, most = (cands[f"{spp}spp_fast_{k}"] for k in ("lean", "diffuse3", "bounces6324"))
        gain = more["circle"]["psnr_noise_corrected_db"] - lean["circle"]["psnr_noise_corrected_db"]
        assert gain >= 0.5 and more["s_per_frame"] <= 1.1 * lean["s_per_frame"], (spp, gain)
        assert abs(most["circle"]["psnr_noise_corrected_db"] - more["circle"]["psnr_noise_corrected_db"]) < 0.1
        assert more["settings"]["diffuse_bounces"] == ROOM_BOUNCES["diffuse_bounces"]
    assert all(RenderSettings(preset=p).diffuse_bounces >= ROOM_BOUNCES["diffuse_bounces"] for p in PRESETS)


def test_choose_presets_breaks_time_ties_by_quality():
    sys.path.insert(0, str(REPO))
    from bench.quality import choose_presets

    def cand(t, psnr, ok):
        return {"s_per_frame": t, "circle": {"psnr_db": psnr}, "qualifies": ok}

    cands = {"a": cand(1.0, 40.0, False), "b": cand(5.0, 45.0, True), "c": cand(5.05, 46.0, True),
             "d": cand(9.0, 47.0, True)}
    got = choose_presets(cands, floor_psnr_db=42.0, front=["a", "b", "c", "d"])
    assert got == {"default": "c", "draft": "b", "final": "d"}
    assert choose_presets({"a": cand(1.0, 40.0, False)}, 42.0, ["a"]) == {"default": None, "draft": None,
                                                                             "final": "a"}


def test_the_noise_corrected_reading_holds_candidates_to_the_floors_own_ssim():
    """Read without the reference's noise, a candidate qualifies on its corrected PSNR and on SSIM no worse than the
    floor's own (when that is below SSIM_MIN); one closer to the truth than the reference can tell counts as best."""
    sys.path.insert(0, str(REPO))
    from bench.quality import SSIM_MIN, noise_corrected_reading

    def cand(t, corrected_db, ssim, joints_ssim):
        return {"s_per_frame": t, "circle": {"psnr_db": 30.0, "psnr_noise_corrected_db": corrected_db,
                                             "ssim": ssim}, "joints": {"ssim": joints_ssim}}

    result = {"jpeg_floor": {"psnr_db": 38.0, "ssim": 0.96, "joints": {"ssim": 0.95}}, "candidates": {
        "current_default": cand(20.0, 38.8, 0.961, 0.951),
        "fast_low": cand(5.0, 35.0, 0.97, 0.96),          # below the floor
        "fast_blurry": cand(8.0, 38.5, 0.955, 0.96),      # at the floor, SSIM below the floor's
        "ok": cand(10.0, 38.2, 0.96, 0.95),               # at the floor on both counts
        "ok_tied": cand(10.5, 38.4, 0.962, 0.955),        # within the 10 % tie, better PSNR
        "beyond": cand(30.0, None, 0.97, 0.96)}}          # the reference cannot tell its error
    read = noise_corrected_reading(result)
    assert (read["ssim_min_circle"], read["ssim_min_joints"]) == (0.96, 0.95) and SSIM_MIN > 0.96
    assert read["qualifying_fastest_first"] == ["ok", "ok_tied", "current_default", "beyond"]
    assert read["presets_from_front"] == {"default": "ok_tied", "draft": "fast_blurry", "final": "beyond"}


def test_the_noise_corrected_psnr_recovers_the_error_against_the_noise_free_image():
    """A reference averaged from two noisy halves, its own noise estimated as bench/quality.py does (PSNR between
    the halves + 10 log10 4): the corrected PSNR of a candidate measured against it matches the candidate's PSNR
    against the noise-free image, where the measured one is dB lower."""
    sys.path.insert(0, str(REPO))
    from bench.quality import noise_corrected_psnr_db, psnr_from_mse

    rng = np.random.default_rng(0)
    truth = rng.uniform(0.2, 0.8, (400, 400, 3))
    halves = [truth + rng.normal(0.0, 0.012, truth.shape) for _ in range(2)]
    reference = (halves[0] + halves[1]) / 2
    own_noise_db = psnr_from_mse(float(np.mean((halves[0] - halves[1]) ** 2))) + 10 * np.log10(4.0)
    for sigma in (0.006, 0.012, 0.03):
        candidate = truth + rng.normal(0.0, sigma, truth.shape)
        measured = psnr_from_mse(float(np.mean((candidate - reference) ** 2)))
        true = psnr_from_mse(float(np.mean((candidate - truth) ** 2)))
        corrected = noise_corrected_psnr_db(measured, own_noise_db)
        assert abs(corrected - true) < 0.1 and true - measured > 0.2, (sigma, measured, corrected, true)
    assert noise_corrected_psnr_db(45.0, 44.0) is None  # the reference is noisier than the candidate's error


@pytest.mark.blender
@pytest.mark.parametrize("mode,image_based,expected", [
    ("images", True, "AUTOMATIC"), ("images", False, "NONE"), ("auto", False, "AUTOMATIC"),
    ("none", True, "NONE")])
def test_world_sampling_reaches_cycles(mode, image_based, expected):
    pytest.importorskip("bpy")
    import bpy

    from synth.blender.cycles import apply_world_sampling

    world = bpy.data.worlds.new("test_world")
    try:
        apply_world_sampling(world, RenderSettings(world_sampling=mode), image_based)
        assert world.cycles.sampling_method == expected
        apply_world_sampling(world, RenderSettings(world_sampling="auto", world_map_resolution=256), image_based)
        assert (world.cycles.sampling_method, world.cycles.sample_map_resolution) == ("MANUAL", 256)
    finally:
        bpy.data.worlds.remove(world)


def test_default_preset_samples_hdri_worlds_as_lights():
    """The default skips importance sampling only for procedural skies: an HDRI's sun would be noise without it."""
    assert RenderSettings().world_sampling == "images"
    assert RenderSettings(preset="final").world_sampling == "auto"


@pytest.mark.blender
@pytest.mark.parametrize("shape", ["THICK", "RIBBONS"])
def test_curve_shape_reaches_cycles(shape):
    pytest.importorskip("bpy")
    import bpy

    from synth.blender.cycles import apply_integrator

    scene = bpy.data.scenes.new("test_curves")
    try:
        scene.render.engine = "CYCLES"
        apply_integrator(scene, RenderSettings(curve_shape=shape), "CPU")
        assert scene.cycles_curves.shape == shape
    finally:
        bpy.data.scenes.remove(scene)


@pytest.mark.blender
def test_light_transport_settings_reach_cycles():
    """Path guiding and the fast GI approximation are off in every preset and reach Cycles when asked for."""
    pytest.importorskip("bpy")
    import bpy

    from synth.blender.cycles import apply_integrator

    assert not any(RenderSettings(preset=p).path_guiding or RenderSettings(preset=p).fast_gi_bounces
                   for p in PRESETS)
    scene = bpy.data.scenes.new("test_transport")
    try:
        scene.render.engine = "CYCLES"
        apply_integrator(scene, RenderSettings(), "CPU")
        assert (scene.cycles.use_guiding, scene.cycles.use_fast_gi) == (False, False)
        apply_integrator(scene, RenderSettings(path_guiding=True, guiding_training_samples=16, fast_gi_bounces=2),
                         "CPU")
        cy = scene.cycles
        assert (cy.use_guiding, cy.guiding_training_samples, cy.use_fast_gi, cy.fast_gi_method,
                cy.ao_bounces_render) == (True, 16, True, "REPLACE", 2)
    finally:
        bpy.data.scenes.remove(scene)
