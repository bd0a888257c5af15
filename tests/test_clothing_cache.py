"""Converted clothing caches: the arrays read without Blender equal Blender's reads bit for bit, missing or broken
conversions name the fix, `synth assets convert` converts once, and loading never imports Blender."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.spatial.transform import Rotation

from synth.appearance.clothing_cache import (
    CONVERT_COMMAND,
    CacheSamples,
    ClothingConversion,
    cache_mesh,
    clamp_frames,
    convert_clothing_caches,
    converted_path,
    load_clothing_cache,
    save_clothing_cache,
)
from synth.config import load_config
from synth.run.convert import clothing_conversions
from synth.scene.files import ContentFiles
from synth.errors import AssetError
from synth.io import sha256_file
from tests.asset_fixtures import MOTION_FPS, SEQUENCE, SUBJECT, build_asset_tree

REPO = Path(__file__).resolve().parents[1]
BEDLAM = REPO / "render_configs" / "bedlam.yaml"
#: Out of range on both sides, repeated and unordered: read as clamped, in the order given.
FRAMES = [5, 0, 17, -4, 2, 2]
SCALE_TO_M = 0.01
requires_bpy = pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="needs the bpy module")


def _samples(num_frames: int = 6, num_vertices: int = 5) -> list[CacheSamples]:
    """One mesh with random local vertices and a rotating, moving world matrix (so the transform matters)."""
    rng = np.random.default_rng(7)
    T = np.tile(np.eye(4), (num_frames, 1, 1))
    T[:, :3, :3] = Rotation.from_rotvec(rng.normal(size=(num_frames, 3))).as_matrix()
    T[:, :3, 3] = rng.uniform(-50.0, 50.0, size=(num_frames, 3))
    local = rng.uniform(-80.0, 80.0, size=(num_frames, num_vertices, 3)).astype(np.float32)
    faces = np.array([[0, 1, 2], [0, 2, 3], [0, 3, 4]], dtype=np.int32)
    return [CacheSamples("cloth", local, T, faces, rng.uniform(size=(9, 2)).astype(np.float32),
                         np.arange(9, dtype=np.int32).reshape(3, 3))]


def _fake_abc(path: Path, content: bytes = b"not really alembic") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _assert_same(got, want) -> None:
    assert [m.name for m in got] == [m.name for m in want]
    for g, w in zip(got, want):
        assert g.vertices.dtype == w.vertices.dtype == np.float32
        assert np.array_equal(g.vertices, w.vertices)
        assert np.array_equal(g.faces, w.faces)
        assert (g.uv is None) == (w.uv is None)
        if w.uv is not None:
            assert np.array_equal(g.uv, w.uv) and np.array_equal(g.face_uv_idx, w.face_uv_idx)


# ----------------------------------------------------------------------------------------------------------------
def test_load_equals_the_transform_of_the_clamped_frames(tmp_path):
    abc = _fake_abc(tmp_path / "c.abc")
    samples = _samples()
    save_clothing_cache(converted_path(sha256_file(abc), 30.0, tmp_path / "cc"), samples, sha256_file(abc), 30.0)
    got = load_clothing_cache(abc, 30.0, SCALE_TO_M, frames=FRAMES, cache_dir=tmp_path / "cc")
    assert clamp_frames(FRAMES, 6) == [5, 0, 5, 0, 2, 2]
    _assert_same(got, [cache_mesh(s.take([5, 0, 5, 0, 2, 2]), SCALE_TO_M) for s in samples])
    world = samples[0].local_vertices[5].astype(np.float64) @ samples[0].T_world_from_local[5, :3, :3].T
    np.testing.assert_allclose(got[0].vertices[0], SCALE_TO_M * (world + samples[0].T_world_from_local[5, :3, 3]),
                               rtol=1e-6, atol=1e-6)
    (every,) = load_clothing_cache(abc, 30.0, cache_dir=tmp_path / "cc")
    assert every.vertices.shape == (6, 5, 3)


def test_missing_conversion_names_the_abc_file_and_the_command(tmp_path):
    abc = _fake_abc(tmp_path / "assets" / "subj" / "seq.abc")
    with pytest.raises(AssetError) as err:
        load_clothing_cache(abc, 30.0, frames=[0], cache_dir=tmp_path / "cc")
    assert str(abc.resolve()) in str(err.value) and f"`{CONVERT_COMMAND}`" in str(err.value)
    digest = sha256_file(abc)
    save_clothing_cache(converted_path(digest, 30.0, tmp_path / "cc"), _samples(), digest, 30.0)
    with pytest.raises(AssetError, match="converted for 30.0 fps only"):
        load_clothing_cache(abc, 25.0, sha256=digest, cache_dir=tmp_path / "cc")


def test_corrupt_conversion_names_the_file_and_is_converted_again(tmp_path):
    abc = _fake_abc(tmp_path / "c.abc")
    digest = sha256_file(abc)
    target = save_clothing_cache(converted_path(digest, 30.0, tmp_path / "cc"), _samples(), digest, 30.0)
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])  # an interrupted copy, say
    with pytest.raises(AssetError) as err:
        load_clothing_cache(abc, 30.0, cache_dir=tmp_path / "cc")
    assert str(target) in str(err.value) and f"re-run `{CONVERT_COMMAND}`" in str(err.value)
    (result,) = convert_clothing_caches([ClothingConversion(abc, 30.0, None, ())], lambda p, fps: _samples(),
                                        cache_dir=tmp_path / "cc")
    assert result.status == "converted" and load_clothing_cache(abc, 30.0, cache_dir=tmp_path / "cc")


def test_a_config_converts_each_paired_cache_once_at_its_motion_rate(tmp_path):
    tree = build_asset_tree(tmp_path / "assets")
    abc = _fake_abc(tree.root / "bedlam" / "clothing_abc" / SUBJECT / f"{SEQUENCE}.abc")
    lonely = _fake_abc(tree.root / "bedlam" / "clothing_abc" / SUBJECT / "no_motion.abc", b"other")
    cfg = load_config(BEDLAM, overrides={"assets": {"root": str(tree.root)}})
    jobs, unpaired = clothing_conversions(ContentFiles(cfg, BEDLAM.parent))
    assert [(j.abc.resolve(), j.fps, j.motions) for j in jobs] == [(abc.resolve(), MOTION_FPS, (tree.motion,))]
    assert unpaired == [lonely]
    reads = []

    def reader(path, fps):
        reads.append((path, fps))
        return _samples()

    cc = tmp_path / "cc"
    assert [r.status for r in convert_clothing_caches(jobs, reader, cache_dir=cc)] == ["converted"]
    assert [r.status for r in convert_clothing_caches(jobs, reader, cache_dir=cc)] == ["skipped"]
    assert [r.status for r in convert_clothing_caches(jobs, reader, force=True, cache_dir=cc)] == ["converted"]
    assert reads == [(abc.resolve(), MOTION_FPS)] * 2
    assert [p.name for p in cc.iterdir()] == [f"{sha256_file(abc)}-{MOTION_FPS!r}fps.npz"], "no temporary file left"


def test_loading_a_converted_cache_does_not_import_blender(tmp_path):
    abc = _fake_abc(tmp_path / "c.abc")
    digest = sha256_file(abc)
    save_clothing_cache(converted_path(digest, 30.0, tmp_path / "cc"), _samples(), digest, 30.0)
    script = (
        "import json, sys\n"
        "from synth.appearance.clothing_cache import load_clothing_cache\n"
        f"(m,) = load_clothing_cache({str(abc)!r}, 30.0, 0.5, frames=[0, 9], cache_dir={str(tmp_path / 'cc')!r})\n"
        "print(json.dumps([m.vertices.shape, sorted(k for k in sys.modules if k == 'bpy' or"
        " k.startswith('synth.blender'))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [[2, 5, 3], []]


# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.blender
@requires_bpy
def test_converted_arrays_equal_blender_reads_bit_for_bit(tmp_path):
    from synth.blender.alembic import export_alembic_cache, read_alembic_cache, read_alembic_samples

    rng = np.random.default_rng(3)
    verts = rng.uniform(-100.0, 100.0, size=(6, 5, 3))  # centimetres, say
    faces = np.array([[0, 1, 2], [0, 2, 3], [0, 3, 4]])
    uv = rng.uniform(size=(9, 2))
    abc = export_alembic_cache(tmp_path / "c.abc", verts, faces, fps=MOTION_FPS, uv=uv,
                               face_uv_idx=np.arange(9).reshape(3, 3))
    job = ClothingConversion(abc, MOTION_FPS, None, ())
    (result,) = convert_clothing_caches([job], read_alembic_samples, cache_dir=tmp_path / "cc")
    assert result.num_frames == 6
    for frames in (FRAMES, None):
        got = load_clothing_cache(abc, MOTION_FPS, SCALE_TO_M, frames=frames, cache_dir=tmp_path / "cc")
        _assert_same(got, read_alembic_cache(abc, fps=MOTION_FPS, scale_to_m=SCALE_TO_M, frames=frames))
    assert got[0].uv is not None


@pytest.mark.blender
@requires_bpy
def test_synth_assets_convert_converts_then_skips(tmp_path):
    tree = build_asset_tree(tmp_path / "assets", clothing=True)
    config = tmp_path / "bedlam_here.yaml"
    config.write_text(yaml.safe_dump({"base": str(BEDLAM), "assets": {"root": str(tree.root)}}))
    env = {**os.environ, "EGORIG_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "synth.cli", "assets", "convert", "--config", str(config)]
    first = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    target = converted_path(sha256_file(tree.clothing), MOTION_FPS, tmp_path / "cache" / "clothing")
    assert f"converted  {tree.clothing} at {MOTION_FPS!r} fps" in first.stdout and target.is_file()
    assert "1 clothing caches converted, 0 already converted" in first.stdout
    again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"skipped    {tree.clothing} at {MOTION_FPS!r} fps" in again.stdout
    assert "0 clothing caches converted, 1 already converted" in again.stdout
    (mesh,) = load_clothing_cache(tree.clothing, MOTION_FPS, frames=[0], cache_dir=tmp_path / "cache" / "clothing")
    assert mesh.vertices.shape[0] == 1
