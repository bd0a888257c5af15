"""Variety sheets (`synth preview --random N`): captions from clip.json, random clips of a rendered dataset, and
real renders of random clips of a config (seeded: the same sheet twice, another seed other clips)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from synth.viz.variety import clip_caption, pick_clips

REPO = Path(__file__).resolve().parents[1]
GOLDEN_RENDER = REPO / "tests" / "golden" / "expected" / "render"


def test_caption_names_family_lighting_hair_garments_props_and_camera_effects():
    meta = json.loads(next(GOLDEN_RENDER.glob("clips/*/clip.json")).read_text())
    lines = clip_caption(meta)
    assert lines[0] == f"{meta['clip_id']}  {meta['motion']['family']}"
    hdri = meta["environment"]["hdri_path"]
    lamps = sum(o["name"].startswith("lamp_") for o in meta["environment"]["occluders"])
    assert lines[1].startswith(f"{lamps} lamp" if lamps else f"HDRI {Path(hdri).stem}" if hdri else "sky + sun")
    assert all(g["kind"] in lines[1] for g in meta["appearance"]["loose"])
    env = meta["environment"]
    where = "room, {} floor" if env["setting"] == "indoor" else "{} ground"
    assert lines[2].startswith(where.format(env["ground"]["pattern"]))
    meta["environment"]["setting"] = "outdoor"
    assert clip_caption(meta)[2].startswith(f"{env['ground']['pattern']} ground")
    meta["environment"]["occluders"] = [{"name": n} for n in ("table", "clutter_0", "shelf_0", "shelf_1", "walls")]
    meta["environment"]["setting"] = "indoor"
    meta["environment"]["ground"]["pattern"] = "carpet"
    meta["hair"] = {"style": "ponytail"}
    meta["camera_effects"] = {"views": {"a": {"exposure_ev": -0.25}, "b": {"exposure_ev": 0.5}},
                              "full_well_e": None, "monochrome": True, "jpeg_quality": 80, "exposure_time_s": 0.012}
    lines = clip_caption(meta)
    assert "ponytail hair" in lines[1] and lines[2] == "room, carpet floor  table  2 shelves  1 clutter"
    meta["environment"]["hdri_path"] = "builtin:hdri/city.exr"  # drawn, at strength 0 in a closed room
    meta["environment"]["occluders"] += [{"name": "ceiling"}, {"name": "lamp_0"}, {"name": "lamp_1"}]
    lines = clip_caption(meta)
    assert lines[1].startswith("2 lamps") and lines[2] == "room, carpet floor  table  ceiling  2 shelves  1 clutter"
    assert lines[3] == "EV -0.2..+0.5  clean  blur 12 ms  mono  q80"
    meta["camera_effects"]["readout_time_s"] = 0.021
    assert clip_caption(meta)[3] == "EV -0.2..+0.5  clean  blur 12 ms  rolling 21 ms  mono  q80"


def test_pick_clips_is_seeded_distinct_and_bounded():
    assert pick_clips(100, 5, 0) == pick_clips(100, 5, 0) != pick_clips(100, 5, 1)
    assert len(set(pick_clips(100, 5, 0))) == 5 and pick_clips(3, 10, 0) == [0, 1, 2]


def test_dataset_variety_shows_the_datasets_images(tmp_path):
    from PIL import Image

    from synth.cli import main
    from train.fixtures import write_fixture_dataset

    dataset = write_fixture_dataset(tmp_path / "ds", np.random.default_rng(0), identities=2, frames=3, image_size=64,
                                    image_format="png")
    out = tmp_path / "sheet.png"
    assert main(["preview", str(dataset), "--random", "4", "--out", str(out)]) == 0
    sheet = np.asarray(Image.open(out).convert("RGB")).astype(np.int16)
    clip = sorted(dataset.glob("clips/clip_*"))[0]
    view = np.asarray(Image.open(clip / "rgb" / "front_left" / "000001.png").convert("RGB").resize((160, 160),
                                                                                                 Image.BILINEAR))
    # The first cell's front-left tile holds the first clip's middle frame (frame 1 of 3), scaled to 160 px.
    best = min(np.abs(sheet[y:y + 160, 6:166] - view).mean() for y in range(6, sheet.shape[0] - 160))
    assert best < 1.0


def test_dataset_variety_of_a_label_only_dataset_says_what_to_do(tmp_path):
    from synth.errors import DatasetError
    from synth.viz.variety import dataset_variety

    from train.fixtures import write_fixture_dataset

    dataset = write_fixture_dataset(tmp_path / "ds", np.random.default_rng(0), identities=1, frames=2)
    with pytest.raises(DatasetError, match="label-only dataset"):
        dataset_variety(dataset, 2, out=tmp_path / "x.png")


@pytest.mark.blender
def test_config_variety_renders_random_clips(tmp_path):
    pytest.importorskip("bpy")
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    from PIL import Image

    from synth.cli import main

    config = str(REPO / "tests" / "golden" / "configs" / "render.yaml")
    sheets = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        out = tmp_path / f"{name}.png"
        assert main(["preview", config, "--random", "2", "--resolution", "32", "--threads", "1", "--seed", str(seed),
                     "--out", str(out)]) == 0
        sheets[name] = np.asarray(Image.open(out).convert("RGB"))
    assert np.array_equal(sheets["a"], sheets["b"]) and not np.array_equal(sheets["a"], sheets["c"])
    # Two cells side by side, each a caption band over a 2 x 2 block of 160 px tiles, every tile a rendered image.
    h, w, _ = sheets["a"].shape
    assert w == 2 * (2 * 160 + 6) + 6 and h > 2 * 160
    tiles = [sheets["a"][h - 6 - 160 * (r + 1):h - 6 - 160 * r, x:x + 160] for r in (0, 1) for x in (6, 166, 338, 498)]
    assert all(t.std() > 10 for t in tiles)
