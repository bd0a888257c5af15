"""Render configs: presets load, the hash is stable, sweeps resolve, and bad input gives one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synth.config import config_hash, load_config, load_sweep
from synth.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "render_configs"


@pytest.mark.parametrize("name", ["default", "smoke", "ego4view"])
def test_presets_load(name):
    cfg = load_config(CONFIGS / f"{name}.yaml")
    assert cfg.rig.preset == "ego4view"
    assert len(config_hash(cfg)) == 16


def test_preset_values():
    default = load_config(CONFIGS / "default.yaml")
    assert default.rig.resolution == 256 and default.rig.front_to_rear_m == pytest.approx(0.37)
    assert load_config(CONFIGS / "ego4view.yaml").rig.resolution == 872
    smoke = load_config(CONFIGS / "smoke.yaml")
    assert 64 <= smoke.rig.resolution <= 128 and smoke.clips.frames <= 4
    # `base:` inheritance keeps what the child does not override.
    assert smoke.rig.front_to_rear_m == default.rig.front_to_rear_m


def test_hash_is_stable_and_sensitive(tmp_path):
    base = yaml.safe_load((CONFIGS / "default.yaml").read_text())
    a = tmp_path / "a.yaml"
    a.write_text(yaml.safe_dump(base, sort_keys=True))
    b = tmp_path / "b.yaml"
    # Same content, different key order and formatting, plus an explicit default value.
    reordered = dict(reversed(list(base.items())))
    reordered["labels"] = {"heatmap_sigma_px": 1.0, "heatmap_size": 64}
    b.write_text(yaml.safe_dump(reordered, sort_keys=False, default_flow_style=True))
    assert config_hash(load_config(a)) == config_hash(load_config(b)) == config_hash(load_config(CONFIGS / "default.yaml"))
    changed = load_config(a, overrides={"rig": {"front_to_rear_m": 0.42}})
    assert config_hash(changed) != config_hash(load_config(a))


def test_hash_follows_what_the_render_preset_resolves_to(monkeypatch):
    """A dataset resumed after a preset's values changed must not pass as the same config."""
    import synth.render_settings as rs
    from synth.dataset.meta import render_settings_hash

    cfg = load_config(CONFIGS / "default.yaml")
    before = config_hash(cfg), render_settings_hash(cfg, "5.0.1")
    monkeypatch.setitem(rs.PRESETS, "default", {**rs.PRESETS["default"], "samples": rs.PRESETS["default"]["samples"] + 1})
    after = config_hash(cfg), render_settings_hash(cfg, "5.0.1")
    assert after[0] != before[0] and after[1] != before[1]


def test_render_section_takes_every_cycles_knob():
    from synth.render_settings import RenderSettings

    cfg = load_config(CONFIGS / "default.yaml", overrides={"render": {
        "adaptive_min_samples": 4, "denoise_prefilter": "ACCURATE", "denoise_passes": "RGB_ALBEDO",
        "diffuse_bounces": 1, "light_tree": False, "clamp_indirect": 2.5, "filter_width_px": 1.0,
        "world_sampling": "none", "world_map_resolution": 128}})
    s = RenderSettings.from_config(cfg.render)
    assert (s.adaptive_min_samples, s.denoise_prefilter, s.denoise_passes, s.diffuse_bounces, s.light_tree,
            s.clamp_indirect, s.filter_width_px, s.world_sampling, s.world_map_resolution) == \
        (4, "ACCURATE", "RGB_ALBEDO", 1, False, 2.5, 1.0, "none", 128)
    with pytest.raises(ConfigError, match="world_sampling"):
        load_config(CONFIGS / "default.yaml", overrides={"render": {"world_sampling": "sometimes"}})


def test_sweep_resolves_variants():
    sweep, variants = load_sweep(CONFIGS / "sweeps" / "rig_distance.yaml")
    dfr = {name: cfg.rig.front_to_rear_m for name, cfg in variants}
    assert {0.26, 0.37, 0.42} <= set(dfr.values())
    assert len(variants) >= 5
    hashes = {config_hash(cfg) for _, cfg in variants}
    assert len(hashes) == len(variants)
    # Everything but the rig comes from the base config.
    assert all(cfg.rig.resolution == 256 for _, cfg in variants)


BAD_CONFIGS = [
    # (label, yaml text, expected field path, expected words in the problem)
    ("unknown top-level key", "foo: 1\n", "foo", "unknown key 'foo'"),
    ("unknown nested key", "rig:\n  resolutoin: 256\n", "rig.resolutoin", "allowed keys here"),
    ("wrong type", "rig:\n  resolution: big\n", "rig.resolution", "valid integer"),
    ("negative distance", "rig:\n  front_to_rear_m: -0.3\n", "rig.front_to_rear_m", "greater than 0"),
    ("zero resolution", "rig:\n  resolution: 0\n", "rig.resolution", "greater than 0"),
    (
        "missing calibration file",
        "rig:\n  lenses:\n    front_left: {type: ocamcalib, file: no_such_calib.json}\n",
        "rig.lenses.front_left.file",
        "calibration file not found",
    ),
    (
        "unknown lens type",
        "rig:\n  lenses:\n    front_left: {type: fisheye9, fov_deg: 180}\n",
        "rig.lenses.front_left",
        "unknown type 'fisheye9'",
    ),
    ("lens without type", "rig:\n  lenses:\n    front_left: {fov_deg: 180}\n", "rig.lenses.front_left", "missing 'type'"),
    (
        "polynomial with 4 coefficients",
        "rig:\n  lenses:\n    front_left: {type: polynomial, k: [0, -0.5, 0, 0], sensor_width_mm: 6}\n",
        "rig.lenses.front_left.k",
        "",
    ),
    (
        "sensor smaller than Blender allows",
        "rig:\n  lenses:\n    back_left: {type: equisolid, focal_mm: 2.7, sensor_width_mm: 0.5}\n",
        "rig.lenses.back_left.sensor_width_mm",
        "greater than or equal to 1",
    ),
    ("unknown view name", "rig:\n  lenses:\n    top: {type: equidistant}\n", "rig", "unknown view"),
    ("custom rig without cameras", "rig:\n  preset: custom\n", "rig", "needs a non-empty 'cameras'"),
    ("zero frames", "clips:\n  frames: 0\n", "clips.frames", "greater than or equal to 1"),
    ("negative seed", "seed: -1\n", "seed", "greater than or equal to 0"),
    ("unknown body backend", "body:\n  backend: mannequin\n", "body.backend", "'anny' or 'smplx'"),
    ("smplx without model files", "body:\n  backend: smplx\n", "body", "model_dir"),
    ("unknown image format", "output:\n  image_format: tiff\n", "output.image_format", "'jpg' or 'png'"),
    ("yaml syntax error", "rig: [1, 2\n", "line", "YAML syntax error"),
    ("top level is a list", "- 1\n- 2\n", "-", "must be a mapping"),
    ("missing base file", "base: nowhere.yaml\n", "base", "base config not found"),
]


@pytest.mark.parametrize("label,text,field,words", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_configs_give_one_clear_line(tmp_path, label, text, field, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(str(path)), message
    assert info.value.field.startswith(field), message
    assert words in info.value.problem, message


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.yaml")


def test_cli_validate_prints_config_and_hash():
    proc = subprocess.run(
        [sys.executable, "-m", "synth.cli", "validate", str(CONFIGS / "default.yaml")],
        capture_output=True, text=True, check=True,
    )
    cfg = load_config(CONFIGS / "default.yaml")
    assert f"# config_hash: {config_hash(cfg)}" in proc.stdout
    printed = yaml.safe_load(proc.stdout)
    assert printed["rig"]["front_to_rear_m"] == pytest.approx(0.37)


def test_cli_validate_bad_config_exits_nonzero_with_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("rig:\n  front_to_rear_m: -1\n")
    proc = subprocess.run([sys.executable, "-m", "synth.cli", "validate", str(path)], capture_output=True, text=True)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "rig.front_to_rear_m" in lines[0] and str(path) in lines[0]
    assert "Traceback" not in proc.stderr
