"""The licensed (BEDLAM) render path end to end on tiny real-format fixtures: SMPL-X subject from its motion file,
a body texture, an Alembic clothing cache exported and re-imported by Blender, an HDRI; rendered through the
normal dataset writer at 64 px."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.blender

pytest.importorskip("bpy")
os.environ.setdefault("EGORIG_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".cache" / "egorig"))

from PIL import Image  # noqa: E402

from synth.appearance.clothing_cache import convert_clothing_caches  # noqa: E402
from synth.appearance.model import GARMENT_MASK_BASE, garment_mask_value  # noqa: E402
from synth.assets import load_manifest, write_lock  # noqa: E402
from synth.blender.alembic import read_alembic_samples  # noqa: E402
from synth.config import load_config  # noqa: E402
from synth.constants import EGO16_JOINTS, OCC_GARMENT, VIS_OUTSIDE  # noqa: E402
from synth.run.convert import clothing_conversions  # noqa: E402
from synth.scene.files import ContentFiles  # noqa: E402
from tests.asset_fixtures import DISC_DROP_M, SEQUENCE, SUBJECT, TEXTURE_RGB8, build_asset_tree  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BEDLAM = REPO / "render_configs" / "bedlam.yaml"
RES = 64
FRAMES = 2
#: Toe balls: in front of the shins, so from the front cameras the disc below the knees is their first hit.
BALLS = [EGO16_JOINTS.index(n) for n in ("left_ball", "right_ball")]
FRONT_VIEWS = [0, 1]
HIPS = [EGO16_JOINTS.index(n) for n in ("left_thigh", "right_thigh")]


def _config(root: Path, **extra):
    overrides = {"rig": {"resolution": RES}, "clips": {"frames": FRAMES, "count": 1},
                 "render": {"preset": "draft", "device": "cpu"}, "output": {"passes": ["parts"]},
                 "assets": {"root": str(root), "require_checksums": True}}
    overrides.update(extra)
    return load_config(BEDLAM, overrides=overrides)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from synth.run.dataset import render_dataset

    tmp = tmp_path_factory.mktemp("bedlam")
    tree = build_asset_tree(tmp / "assets", clothing=True)
    write_lock(load_manifest(), tree.root)
    # What `synth assets convert` does: clips read the clothing from arrays converted once, not through Blender.
    conversions, _ = clothing_conversions(ContentFiles(_config(tree.root), BEDLAM.parent))
    list(convert_clothing_caches(conversions, read_alembic_samples))
    out = tmp / "ds"
    # Under the open sky and the HDRI: the texture's colour check needs white light, and a closed room's lamps
    # may be as warm as 3000 K.
    render_dataset(_config(tree.root, appearance={"surroundings": None}), out, 1, config_dir=BEDLAM.parent,
                   progress=False)
    return tree, out


def test_alembic_round_trip_through_blender(tmp_path):
    from synth.blender.alembic import export_alembic_cache, read_alembic_cache

    rng = np.random.default_rng(3)
    verts = rng.uniform(-1.0, 1.0, size=(3, 5, 3))
    faces = np.array([[0, 1, 2], [0, 2, 3], [0, 3, 4]])
    path = export_alembic_cache(tmp_path / "c.abc", verts, faces, fps=30.0)
    (mesh,) = read_alembic_cache(path, fps=30.0, scale_to_m=0.5)
    np.testing.assert_allclose(mesh.vertices, 0.5 * verts, atol=1e-5)
    assert sorted(map(tuple, np.sort(mesh.faces, axis=1))) == sorted(map(tuple, np.sort(faces, axis=1)))


def test_files_and_dataset_records(rendered):
    tree, out = rendered
    clip = out / "clips" / "clip_000000"
    for view in ("front_left", "front_right", "back_left", "back_right"):
        for f in range(FRAMES):
            assert (clip / "rgb" / view / f"{f:06d}.jpg").is_file()
            assert (clip / "parts" / view / f"{f:06d}.png").is_file()
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["blender_version"] and len(meta["asset_manifest_hash"]) == 64
    assets = {a["id"]: a for a in json.loads((clip / "clip.json").read_text())["assets"]}
    assert set(assets) == {"smplx/SMPLX_NEUTRAL.npz", f"bedlam_motions/{SUBJECT}/{SEQUENCE}.npz",
                           f"bedlam_clothing/{SUBJECT}/{SEQUENCE}.abc", f"bedlam_textures/{SUBJECT}/skin.png",
                           "hdri/sky.hdr"}
    lock = json.loads((tree.root / "egorig-assets.lock.json").read_text())["files"]
    for asset_id, record in assets.items():
        assert record["sha256"] == lock[asset_id]["sha256"]
        assert record["licence"] == load_manifest().sources[record["source"]].licence


def test_clothing_follows_the_subject_in_our_world(rendered):
    from synth.scene.sampler import ClipSampler

    tree, _ = rendered
    gen = ClipSampler(_config(tree.root), BEDLAM.parent)
    content = gen.sample(0)[0]
    (cloth,) = [g for g in content.garments if g.kind == "simulated"]
    assert cloth.vertices.shape[0] == FRAMES
    centre = cloth.vertices.astype(np.float64).mean(axis=1)  # (F, 3) the disc's centre
    hips = content.posed.joints_ego16[:, HIPS].mean(axis=1)  # the tiny model's hip joints sit 8 cm below its pelvis
    np.testing.assert_allclose(centre[:, :2], hips[:, :2], atol=2e-3)
    np.testing.assert_allclose(centre[:, 2], hips[:, 2] + 0.08 - DISC_DROP_M, atol=2e-3)


def test_clothing_occludes_the_feet_in_the_labels(rendered):
    from synth.run.clip import clip_labels
    from synth.scene.sampler import ClipSampler

    tree, out = rendered
    with np.load(out / "clips" / "clip_000000" / "labels.npz") as data:
        vis, occ = data["visibility"], data["occluder"]
    front_vis, front_occ = vis[:, FRONT_VIEWS][:, :, BALLS], occ[:, FRONT_VIEWS][:, :, BALLS]
    assert (front_vis != VIS_OUTSIDE).all()
    assert (front_occ == OCC_GARMENT).all()
    bare = ClipSampler(_config(tree.root, appearance={"clothing_files": []}), BEDLAM.parent)
    labels, _ = clip_labels(bare, bare.sample(0)[0])
    assert not (labels.occluder == OCC_GARMENT).any()


def test_rendered_texture_and_clothing(rendered):
    _, out = rendered
    clip = out / "clips" / "clip_000000"
    garment = garment_mask_value("simulated")
    body_rgb, garment_pixels = [], 0
    for view in ("front_left", "front_right"):
        for f in range(FRAMES):
            mask = np.asarray(Image.open(clip / "parts" / view / f"{f:06d}.png"))
            rgb = np.asarray(Image.open(clip / "rgb" / view / f"{f:06d}.jpg").convert("RGB"), dtype=np.float64)
            garment_pixels += int((mask == garment).sum())
            body = (mask > 0) & (mask < GARMENT_MASK_BASE)
            body_rgb.append(rgb[body])
    assert garment_pixels > 20, "the simulated clothing is not in the rendered images"
    body_rgb = np.concatenate(body_rgb)
    assert len(body_rgb) > 20
    r, g, b = body_rgb.mean(axis=0)
    # The magenta texture replaced the procedural skin: red and blue well above green.
    assert TEXTURE_RGB8[1] < TEXTURE_RGB8[0] and r > 1.5 * g and b > 1.5 * g, (r, g, b)


def test_label_only_run_reads_the_clothing_without_blender_and_matches_the_render(rendered, tmp_path):
    """`synth labels` on the licensed config in a fresh process: no bpy import, the same labels as the render."""
    import subprocess
    import sys

    tree, out = rendered
    cfg_path = tmp_path / "bedlam_labels.yaml"
    overrides = {"rig": {"resolution": RES}, "clips": {"frames": FRAMES, "count": 1},
                 "render": {"preset": "draft", "device": "cpu"}, "output": {"passes": ["parts"]},
                 "assets": {"root": str(tree.root), "require_checksums": True}}
    import yaml

    cfg_path.write_text(yaml.safe_dump({"base": str(BEDLAM), **overrides}))
    labels_out = tmp_path / "labels"
    script = (
        "import sys; from pathlib import Path; from synth.config import load_config; "
        "from synth.run.dataset import label_dataset; "
        f"p = Path({str(cfg_path)!r}); label_dataset(load_config(p), Path({str(labels_out)!r}), 1, p.parent, False); "
        "print(sorted(m for m in sys.modules if m == 'bpy' or m.startswith('synth.blender')))"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]", "a label-only run imported Blender"
    for name in ("labels.npz", "heatmaps.npz"):
        assert (labels_out / "clips" / "clip_000000" / name).read_bytes() == \
            (out / "clips" / "clip_000000" / name).read_bytes(), name
