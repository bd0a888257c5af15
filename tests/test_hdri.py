"""The CC0 world HDRIs of the bpy wheel as lighting and background: portable `builtin:` references in configs and
clip.json, a white-balance tint, and real renders whose background shows the HDRI, turned and tinted as sampled."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from synth.appearance.sampling import sample_environment, white_balance_tint
from synth.builtin import builtin_file, expand_builtin
from synth.config import load_config
from synth.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
RES = 64


def test_builtin_hdris_expand_to_portable_references_of_existing_files():
    pytest.importorskip("bpy")
    refs = expand_builtin("builtin:hdri/*.exr")
    assert len(refs) == 8 and all(r.startswith("builtin:hdri/") and r.endswith(".exr") for r in refs)
    assert "builtin:hdri/forest.exr" in refs
    assert all(builtin_file(r).is_file() and builtin_file(r).stat().st_size > 50_000 for r in refs)
    assert (builtin_file(refs[0]).parent / "license.txt").read_text().count("CC0") >= 1
    for bad, needle in (("builtin:textures/*.png", "folder"), ("builtin:hdri/*.nothing", "matches no file")):
        with pytest.raises(ConfigError) as err:
            expand_builtin(bad, "appearance.hdri_files[0]")
        assert err.value.field == "appearance.hdri_files[0]" and needle in err.value.problem


def test_sampled_environments_keep_the_reference_and_a_unit_mean_tint():
    pytest.importorskip("bpy")
    refs = expand_builtin("builtin:hdri/*.exr")
    rng = np.random.default_rng(0)
    looks = [sample_environment(rng, refs, hdri_probability=1.0) for _ in range(30)]
    assert {look.hdri_path for look in looks} <= set(refs) and len({look.hdri_path for look in looks}) > 4
    tints = np.array([look.hdri_tint_rgb for look in looks])
    assert np.allclose(tints.mean(axis=1), 1.0, atol=1e-3) and tints.std(axis=0).min() > 0.02
    assert np.allclose(white_balance_tint(6500.0), 1.0, atol=1e-3)
    warm, cold = white_balance_tint(9000.0), white_balance_tint(4500.0)
    assert warm[0] > warm[2] and cold[2] > cold[0]  # set for bluer light: the image turns warm, and vice versa


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    pytest.importorskip("bpy")
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    from PIL import Image

    from synth.blender.scene import BlenderScene
    from synth.run.blender import load_blender
    from synth.scene.sampler import ClipSampler

    cfg = load_config(REPO / "render_configs" / "default.yaml", overrides={
        "rig": {"resolution": RES}, "clips": {"frames": 1}, "appearance": {"surroundings": None},  # open sky
        "render": {"preset": "draft", "samples": 2, "device": "cpu", "threads": 1}})
    spec, _ = ClipSampler(cfg, REPO / "render_configs").sample(0)
    base = dataclasses.replace(spec.environment.look, hdri_path="builtin:hdri/forest.exr", hdri_strength=1.0,
                               hdri_rotation_rad=0.0, hdri_tint_rgb=(1.0, 1.0, 1.0))
    looks = {
        "forest": base,
        "turned": dataclasses.replace(base, hdri_rotation_rad=np.pi),
        "warm": dataclasses.replace(base, hdri_tint_rgb=white_balance_tint(9000.0)),
        "sky": dataclasses.replace(base, hdri_path=None),
    }
    out = tmp_path_factory.mktemp("hdri")
    scene = BlenderScene(load_blender(cfg), log_path=out / "blender.log")
    views = ("back_left", "front_left")
    images, codes = {}, {}
    for name, look in looks.items():
        s = dataclasses.replace(spec, environment=dataclasses.replace(spec.environment, look=look))
        scene.load(s)
        scene.set_frame(0, s.T_world_from_device[0])
        rgb = {v: out / name / f"{v}.png" for v in views}
        obj = {v: out / name / f"{v}_objects.png" for v in views}
        scene.render_views(rgb, passes={"objects": obj})
        images[name] = np.stack([np.asarray(Image.open(rgb[v]).convert("RGB"), np.float64) for v in views])
        codes[name] = np.stack([np.asarray(Image.open(obj[v])) for v in views])
    scene.close()
    return images, codes


@pytest.mark.blender
def test_the_background_shows_the_hdri_turned_and_tinted(renders):
    images, codes = renders
    background = codes["forest"] == 0  # pixels that see the world, not the body, garments or ground
    assert background.sum() > 50, "no background pixels in the rendered views"

    def diff(a: str, b: str) -> float:  # mean absolute difference on the background, 0-255 levels
        return float(np.abs(images[a] - images[b])[background].mean())

    assert diff("forest", "sky") > 20  # the HDRI, not the gradient sky
    assert diff("forest", "turned") > 10  # rotation about the vertical moves the image

    def ratio(name: str) -> float:  # mean blue over mean red of the background, 8-bit sRGB
        px = images[name][background]
        return (px[:, 2] + 1).mean() / (px[:, 0] + 1).mean()

    # Linear gains B/R 0.67; after the sRGB curve and clipped highlights the 8-bit ratio falls by less.
    assert ratio("warm") < 0.95 * ratio("forest")  # the warm white-balance error lowers blue against red
