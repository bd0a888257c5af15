"""Licensed assets without Blender: manifests, `synth assets check|lock`, preflight failures, checksum-gated
pickles, and label-only datasets that record what they used."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from synth.assets import load_manifest, resolve_config_assets, write_lock
from synth.cli import main as synth_main
from synth.config import load_config
from synth.errors import AssetError, ConfigError
from tests.asset_fixtures import SEQUENCE, SUBJECT, build_asset_tree
from tests.tiny_smplx import TRIPPED, Tripwire

os.environ.setdefault("EGORIG_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".cache" / "egorig"))

REPO = Path(__file__).resolve().parents[1]
MANIFEST_DIR = REPO / "assets_manifest"
BEDLAM = REPO / "render_configs" / "bedlam.yaml"
SMALL = {"rig": {"resolution": 64}, "clips": {"frames": 2, "count": 1}}
#: The bedlam config without the Alembic clothing (reading it needs Blender; see test_bedlam_render.py).
NO_CLOTHING = {"appearance": {"clothing_files": []}}
GATED = ("smplx", "smpl", "bedlam_textures", "bedlam_clothing", "bedlam_motions", "amass_motions")


def _bedlam(root: Path, **extra) -> object:
    overrides = {**SMALL, **NO_CLOTHING, "assets": {"root": str(root)}}
    for key, value in extra.items():
        overrides[key] = {**overrides.get(key, {}), **value}
    return load_config(BEDLAM, overrides=overrides)


@pytest.fixture()
def tree(tmp_path):
    return build_asset_tree(tmp_path / "assets")


# ----------------------------------------------------------------------------------------------------------------
def test_shipped_manifests_cover_every_source_and_gated_ones_are_not_redistributable():
    manifest = load_manifest()
    assert set(manifest.sources) == set(GATED) | {"hdri"}
    for sid in GATED:
        src = manifest.sources[sid]
        assert src.registration_required and not src.redistributable
        assert src.registration_url.startswith("https://") and src.licence
    kinds = {s.kind for s in manifest.sources.values()}
    assert kinds == {"body_model", "body_texture", "clothing", "motion", "hdri"}
    assert len(manifest.hash) == 64


@pytest.mark.parametrize("mutation, field, words", [
    ({"colour": "red"}, "colour", "unknown key 'colour'"),
    ({"redistributable": True}, "-", "cannot be redistributable"),
    ({"files": [{"path": "*.npz", "sha256": "0" * 64}]}, "files[0]", "without wildcards"),
    ({"homepage": "smpl-x.example"}, "homepage", "should match pattern"),
])
def test_bad_manifest_gives_one_line_naming_file_and_field(tmp_path, mutation, field, words):
    data = yaml.safe_load((MANIFEST_DIR / "smplx.yaml").read_text())
    data.update(mutation)
    (tmp_path / "smplx.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_manifest(tmp_path)
    assert err.value.file == str(tmp_path / "smplx.yaml") and err.value.field == field
    assert words in err.value.problem and "\n" not in str(err.value)


def test_unknown_asset_source_in_a_config_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"motion\.files\[0\]: unknown asset source 'mocap_x'"):
        load_config(BEDLAM, overrides={"motion": {"files": ["asset:mocap_x/*.npz"]}})


def test_check_lists_missing_files_with_registration_url_and_place(tmp_path, capsys):
    root = tmp_path / "empty"
    rc = synth_main(["assets", "check", "--config", str(BEDLAM), "--root", str(root)])
    out = capsys.readouterr().out
    assert rc == 1
    assert f"missing    smplx/SMPLX_NEUTRAL.npz -> put it at {root / 'smplx' / 'SMPLX_NEUTRAL.npz'}" in out
    assert "register at https://smpl-x.is.tue.mpg.de/register.php" in out
    assert f"put it at {root / 'bedlam' / 'motions' / '*/*.npz'}" in out
    assert "register at https://bedlam.is.tue.mpg.de/register.php" in out


def test_check_passes_when_present_and_lock_detects_a_changed_file(tree, tmp_path, capsys):
    config = tmp_path / "bedlam_no_clothing.yaml"
    config.write_text(yaml.safe_dump({"base": str(BEDLAM), **NO_CLOTHING}))
    assert synth_main(["assets", "check", "--config", str(config), "--root", str(tree.root)]) == 0
    out = capsys.readouterr().out
    assert f"unverified bedlam_motions/{SUBJECT}/{SEQUENCE}.npz" in out
    assert synth_main(["assets", "lock", "--root", str(tree.root)]) == 0
    lock = json.loads((tree.root / "egorig-assets.lock.json").read_text())
    entry = lock["files"][f"bedlam_motions/{SUBJECT}/{SEQUENCE}.npz"]
    assert entry["size"] == tree.motion.stat().st_size and len(entry["sha256"]) == 64
    assert "smplx/SMPLX_MALE.npz" in lock["files"] and "hdri/sky.hdr" in lock["files"]
    assert not list(tree.root.glob(".*tmp*")), "lock written without a temporary file left behind"
    capsys.readouterr()
    assert synth_main(["assets", "check", "--root", str(tree.root), "--source", "hdri"]) == 0
    assert "ok         hdri/sky.hdr (sha256 matches the lock)" in capsys.readouterr().out

    data = bytearray(tree.hdri.read_bytes())
    data[-2] ^= 0x01  # same size, different content
    tree.hdri.write_bytes(bytes(data))
    assert synth_main(["assets", "check", "--root", str(tree.root), "--source", "hdri"]) == 1
    out = capsys.readouterr().out
    assert "mismatch   hdri/sky.hdr (sha256 " in out and "recorded in the lock" in out
    assert "re-download it from https://polyhaven.com/hdris" in out


def test_missing_asset_fails_before_any_work(tree, tmp_path):
    from synth.run.dataset import label_dataset

    tree.texture.unlink()
    cfg = _bedlam(tree.root)
    out = tmp_path / "out"
    with pytest.raises(AssetError) as err:
        label_dataset(cfg, out, 1, config_dir=BEDLAM.parent, progress=False)
    message = str(err.value)
    assert "1 missing" in message and "nothing was generated" in message
    assert f"put it at {tree.root / 'bedlam' / 'body_textures' / '*/*.png'}" in message
    assert not out.exists()


def test_mismatched_asset_fails_before_any_work(tree):
    write_lock(load_manifest(), tree.root)
    tree.motion.write_bytes(tree.motion.read_bytes() + b"\0")
    with pytest.raises(AssetError, match=r"mismatch +bedlam_motions/subj_a/seq_000\.npz \(size \d+ B != \d+ B"):
        resolve_config_assets(_bedlam(tree.root), BEDLAM.parent)


def test_require_checksums_refuses_unlocked_files(tree):
    cfg = _bedlam(tree.root, assets={"require_checksums": True})
    with pytest.raises(AssetError, match="unverified"):
        resolve_config_assets(cfg, BEDLAM.parent)
    write_lock(load_manifest(), tree.root)
    assert resolve_config_assets(cfg, BEDLAM.parent).problems == []


def _plant_tripwire(path: Path) -> None:
    with np.load(path) as data:
        arrays = dict(data)
    arrays["part2num"] = np.array([Tripwire()], dtype=object)
    np.savez(path, **arrays)


def test_pickles_are_opened_only_for_files_whose_checksum_matches(tmp_path):
    from synth.bodies.smplx_backend import SmplxBackend
    from synth.scene.sampler import make_backend

    tree = build_asset_tree(tmp_path / "assets")
    model = tree.root / "smplx" / "SMPLX_NEUTRAL.npz"
    _plant_tripwire(model)
    cfg = _bedlam(tree.root, body={"gender": "neutral"})

    TRIPPED.clear()
    unlocked = resolve_config_assets(cfg, BEDLAM.parent)
    make_backend(cfg, unlocked, BEDLAM.parent)
    assert TRIPPED == [], "a file without a recorded checksum was unpickled"

    # A digest that does not match the file's content never unlocks pickles.
    SmplxBackend(tree.root / "smplx", gender="neutral", trusted_files={str(model.resolve()): "0" * 64})
    assert TRIPPED == []

    write_lock(load_manifest(), tree.root)
    locked = resolve_config_assets(cfg, BEDLAM.parent)
    assert str(model.resolve()) in locked.trusted_checksums()
    make_backend(cfg, locked, BEDLAM.parent)
    assert TRIPPED, "a file verified against the lock may carry pickled metadata"


def test_pkl_model_is_refused_unless_locked(tmp_path):
    import pickle

    from synth.bodies.smplx_backend import SmplxBackend

    tree = build_asset_tree(tmp_path / "assets")
    folder = tree.root / "smplx"
    npz = folder / "SMPLX_NEUTRAL.npz"
    with np.load(npz) as data:
        arrays = dict(data)
    pkl = folder / "SMPLX_NEUTRAL.pkl"
    pkl.write_bytes(pickle.dumps(arrays))
    npz.rename(folder / "SMPLX_NEUTRAL.npz.orig")  # only the pickle is left for the neutral model
    with pytest.raises(AssetError, match="synth assets lock"):
        SmplxBackend(folder, gender="neutral", trusted_files={})
    write_lock(load_manifest(), tree.root)
    lock = json.loads((tree.root / "egorig-assets.lock.json").read_text())
    digest = lock["files"]["smplx/SMPLX_NEUTRAL.pkl"]["sha256"]
    backend = SmplxBackend(folder, gender="neutral", trusted_files={str(pkl.resolve()): digest})
    assert backend.model_file(backend.sample_identity(np.random.default_rng(0))) == pkl
    pkl.write_bytes(pickle.dumps({**arrays, "extra": np.zeros(1)}))  # changed after the lock: refused again
    with pytest.raises(AssetError, match="allow_pickle=True"):
        SmplxBackend(folder, gender="neutral", trusted_files={str(pkl.resolve()): digest})


def test_label_only_bedlam_dataset_records_assets_and_manifest_hash(tree, tmp_path):
    from synth.run.dataset import label_dataset

    write_lock(load_manifest(), tree.root)
    out = tmp_path / "ds"
    label_dataset(_bedlam(tree.root), out, 1, config_dir=BEDLAM.parent, progress=False)
    meta = json.loads((out / "dataset.json").read_text())
    assert isinstance(meta["asset_manifest_hash"], str) and len(meta["asset_manifest_hash"]) == 64
    clip = json.loads((out / "clips" / "clip_000000" / "clip.json").read_text())
    ids = {a["id"]: a for a in clip["assets"]}
    assert set(ids) == {"smplx/SMPLX_NEUTRAL.npz", f"bedlam_motions/{SUBJECT}/{SEQUENCE}.npz",
                        f"bedlam_textures/{SUBJECT}/skin.png", "hdri/sky.hdr"}
    manifest = load_manifest()
    for a in ids.values():
        assert a["licence"] == manifest.sources[a["source"]].licence and len(a["sha256"]) == 64
    # The subject comes from the motion file (neutral, its betas), not from the identity sampler.
    assert clip["identity"]["sex"] == "neutral" and clip["identity"]["params"]["betas"] == [0.0] * 16
    assert clip["appearance"]["body_texture"] == str(tree.texture.resolve())
    assert clip["environment"]["hdri_path"] == str(tree.hdri.resolve())


def test_mixed_configs_anny_with_bedlam_motions_and_smplx_with_procedural_clothing(tree):
    from synth.scene.sampler import ClipSampler

    anny = load_config(REPO / "render_configs" / "default.yaml", overrides={
        **SMALL, "assets": {"root": str(tree.root)},
        "motion": {"source": "npz", "files": ["asset:bedlam_motions/*/*.npz"]}})
    gen = ClipSampler(anny, REPO / "render_configs")
    content = gen.sample(0)[0]
    assert content.identity.backend == "anny" and content.motion.params["source_fps"] == 30.0
    assert [a["source"] for a in gen.files.records(list(content.asset_files))] == ["bedlam_motions"]

    smplx = load_config(REPO / "render_configs" / "default.yaml", overrides={
        **SMALL, "assets": {"root": str(tree.root)},
        "body": {"backend": "smplx", "model_dir": "asset:smplx"},
        "appearance": {"loose_garment_probability": 1.0}})
    gen = ClipSampler(smplx, REPO / "render_configs")
    content = gen.sample(0)[0]
    assert content.identity.backend == "smplx" and content.motion.family != "mocap"
    assert [g.kind for g in content.garments] and all(g.kind != "simulated" for g in content.garments)
    assert content.garments[0].vertices.shape[0] == SMALL["clips"]["frames"]


def test_asset_reference_without_root_names_the_fix(monkeypatch):
    monkeypatch.delenv("EGORIG_ASSETS", raising=False)
    cfg = load_config(BEDLAM, overrides={**SMALL, **NO_CLOTHING})
    with pytest.raises(AssetError, match=r"no asset root is set: set assets\.root in the config or \$EGORIG_ASSETS"):
        resolve_config_assets(cfg, BEDLAM.parent)
