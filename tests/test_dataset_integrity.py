"""Datasets that stay right: splits stable under growth, one writer per directory, damaged clips detected and redone
on resume, label-only and rendered clips never mixed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
os.environ.setdefault("WARP_CACHE_PATH", str(REPO / ".cache" / "egorig" / "warp"))

from synth.config import load_config  # noqa: E402
from synth.dataset.lock import LOCK_NAME, DatasetLock  # noqa: E402
from synth.dataset.reader import DatasetReader  # noqa: E402
from synth.dataset.splits import split_of_identity  # noqa: E402
from synth.dataset.verify import verify_dataset  # noqa: E402
from synth.errors import DatasetError  # noqa: E402
from synth.run.dataset import label_dataset, run_dataset  # noqa: E402
from synth.run.renderer import LabelOnlyRenderer  # noqa: E402
from synth.scene.sampler import ClipSampler  # noqa: E402

DEFAULT = REPO / "render_configs" / "default.yaml"
#: One-frame clips at 32 px: splits and bookkeeping do not depend on the clip length.
TINY = {"rig": {"resolution": 32}, "clips": {"frames": 1}}


def _tiny():
    return load_config(DEFAULT, overrides=TINY)


def _split_of_clip(out: Path) -> dict[str, str]:
    splits = json.loads((out / "dataset.json").read_text())["splits"]
    return {cid: name for name, ids in splits.items() for cid in ids}


def test_growing_a_dataset_never_moves_a_clip_to_another_split(tmp_path):
    cfg = _tiny()
    sampler = ClipSampler(cfg, DEFAULT.parent)
    out = tmp_path / "grow"
    seen: dict[str, str] = {}
    for count in (5, 60, 200):
        label_dataset(cfg, out, count, sampler=sampler, progress=False)
        now = _split_of_clip(out)
        assert len(now) == count
        moved = {cid: (seen[cid], now[cid]) for cid in seen if now[cid] != seen[cid]}
        assert not moved, f"growing to {count} clips moved {moved}"
        seen = now
    reader = DatasetReader(out)
    identities = {name: {reader.identity_of(c) for c in ids} for name, ids in reader.splits.items()}
    assert not (identities["train"] & identities["val"]) and not (identities["train"] & identities["test"])
    assert not (identities["val"] & identities["test"])
    counts = {name: len(ids) for name, ids in reader.splits.items()}
    assert 0.7 * 200 <= counts["train"] <= 0.9 * 200 and counts["val"] >= 8 and counts["test"] >= 8, counts
    for cid in reader.clip_ids:  # recorded at commit, and equal to the pure function of (seed, identity)
        recorded = reader.index_entry(cid)["split"]
        assert recorded == split_of_identity(reader.identity_of(cid), cfg.seed, 0.1, 0.1) == seen[cid]


def test_split_fractions_come_from_the_config():
    ids = [f"id{i}" for i in range(2000)]
    val = sum(split_of_identity(i, 7, 0.3, 0.2) == "val" for i in ids) / len(ids)
    test = sum(split_of_identity(i, 7, 0.3, 0.2) == "test" for i in ids) / len(ids)
    assert abs(val - 0.3) < 0.04 and abs(test - 0.2) < 0.04
    assert {split_of_identity(i, 7, 0.0, 0.0) for i in ids} == {"train"}


def test_a_second_writer_is_refused_naming_the_first(tmp_path):
    out = tmp_path / "ds"
    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(f"base: {DEFAULT}\nrig: {{resolution: 32}}\nclips: {{frames: 1}}\n")
    with DatasetLock(out, "test holder"):
        proc = subprocess.run([sys.executable, "-m", "synth.cli", "labels", str(cfg_path), "--out", str(out),
                               "--clips", "1", "--quiet"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and f"pid {os.getpid()}" in lines[0] and "test holder" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "index.jsonl").exists()
    assert not (out / LOCK_NAME).exists(), "the lock is released when its holder finishes"


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    (out / LOCK_NAME).write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout), "started": 0,
                                             "command": "killed run"}))
    label_dataset(_tiny(), out, 1, config_dir=DEFAULT.parent, progress=False)
    assert DatasetReader(out).clip_ids == ["clip_000000"] and not (out / LOCK_NAME).exists()


def test_a_lock_of_another_host_is_reported_not_broken(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / LOCK_NAME).write_text(json.dumps({"host": "elsewhere", "pid": 1, "started": 0, "command": "synth farm"}))
    with pytest.raises(DatasetError, match="pid 1 on elsewhere") as err:
        label_dataset(_tiny(), out, 1, config_dir=DEFAULT.parent, progress=False)
    assert str(out / LOCK_NAME) in str(err.value)
    assert (out / LOCK_NAME).exists()


@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "delete", "swap"])
def test_a_damaged_clip_is_detected_and_redone_on_resume(tmp_path, caplog, damage):
    cfg = _tiny()
    out = tmp_path / "ds"
    label_dataset(cfg, out, 3, config_dir=DEFAULT.parent, progress=False)
    clip = out / "clips" / "clip_000001"
    original = {p.name: p.read_bytes() for p in clip.iterdir()}
    target = clip / "labels.npz"
    if damage == "flip_byte":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:-10])
    elif damage == "delete":
        target.unlink()
    else:  # another clip's labels put in its place
        target.write_bytes((out / "clips" / "clip_000002" / "labels.npz").read_bytes())
    assert list(verify_dataset(out)) == ["clip_000001"]
    proc = subprocess.run([sys.executable, "-m", "synth.cli", "verify", str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and "clip_000001" in proc.stderr and "labels.npz" in proc.stderr
    untouched = (out / "clips" / "clip_000000" / "labels.npz").stat().st_mtime_ns
    label_dataset(cfg, out, 3, config_dir=DEFAULT.parent, progress=False)
    assert any("clip_000001 is damaged" in r.getMessage() for r in caplog.records)
    assert {p.name: p.read_bytes() for p in clip.iterdir()} == original, "the redone clip differs from the first"
    assert (out / "clips" / "clip_000000" / "labels.npz").stat().st_mtime_ns == untouched
    assert verify_dataset(out) == {}
    lines = (out / "index.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["clip_id"] for x in lines) == ["clip_000000", "clip_000001", "clip_000002"]


def test_label_only_and_rendered_clips_never_mix(tmp_path):
    cfg = _tiny()
    out = tmp_path / "ds"
    label_dataset(cfg, out, 1, config_dir=DEFAULT.parent, progress=False)

    class Images(LabelOnlyRenderer):
        image_format = "jpg"

    with pytest.raises(DatasetError, match="holds a labels dataset and this run writes a rendered one"):
        run_dataset(ClipSampler(cfg, DEFAULT.parent), out, 2, Images(), progress=False)
    assert DatasetReader(out).clip_ids == ["clip_000000"]
    assert json.loads((out / "dataset.json").read_text())["kind"] == "labels"


@pytest.mark.parametrize("text, field", [
    ("seed: true\n", "seed: expected a number"),
    ("rig:\n  front_to_rear_m: .nan\n", "every number must be finite"),
    ("seed: 1\nseed: 2\n", "duplicate key 'seed'"),
    ("# nothing but a comment\n", "the file is empty"),
])
def test_config_mistakes_are_refused_in_one_line(tmp_path, text, field):
    from synth.errors import ConfigError

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert field in str(err.value) and str(path.name) in str(err.value) and "\n" not in str(err.value)


def test_a_config_that_is_not_utf8_names_the_file_and_the_encoding(tmp_path):
    from synth.errors import ConfigError

    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_a_nan_in_a_lens_is_refused():
    from pydantic import ValidationError

    from synth.config import EquidistantLensConfig, PolynomialLensConfig

    with pytest.raises(ValidationError, match="every number must be finite"):
        EquidistantLensConfig.model_validate({"type": "equidistant", "fov_deg": 190.0, "shift": [float("nan"), 0.0]})
    with pytest.raises(ValidationError, match="every number must be finite"):
        PolynomialLensConfig.model_validate({"type": "polynomial", "k": [0.0, -0.1, float("nan"), 0.0, 0.0],
                                             "sensor_width_mm": 36.0})


@pytest.mark.parametrize("argv, flag", [
    (["labels", "render_configs/default.yaml", "--out", "{tmp}/x", "--clips", "0"], "--clips"),
    (["labels", "render_configs/default.yaml", "--out", "{tmp}/x", "--clips", "-3"], "--clips"),
    (["visibility", "--config", "render_configs/default.yaml", "--out", "{tmp}/x", "--clips", "0"], "--clips"),
    (["lens", "render_configs/default.yaml", "--resolution", "-4"], "--resolution"),
    (["preview", "{tmp}", "--frames", "a,b"], "--frames"),
    (["farm", "render_configs/default.yaml", "--out", "{tmp}/x", "--workers", "0"], "--workers"),
])
def test_out_of_range_command_line_values_are_refused_before_any_work(tmp_path, argv, flag):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "synth.cli", *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and flag in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "x").exists()


def test_the_trainer_refuses_a_damaged_dataset_on_open(tmp_path):
    from train.data import NativeFrameDataset

    out = tmp_path / "ds"
    label_dataset(_tiny(), out, 2, config_dir=DEFAULT.parent, progress=False)
    NativeFrameDataset(out, None, input_size=32, heatmap_size=8)  # intact: opens
    labels = out / "clips" / "clip_000001" / "labels.npz"
    data = bytearray(labels.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the sha256 check sees it
    labels.write_bytes(bytes(data))
    NativeFrameDataset(out, None, input_size=32, heatmap_size=8, verify="sizes")
    with pytest.raises(DatasetError, match="1 damaged clips, e.g. clip_000001"):
        NativeFrameDataset(out, None, input_size=32, heatmap_size=8, verify="hashes")
    labels.write_bytes(bytes(data[:-8]))  # truncated: the default size check sees it
    with pytest.raises(DatasetError, match="clip_000001 \\(labels.npz has"):
        NativeFrameDataset(out, None, input_size=32, heatmap_size=8)


def test_export_is_staged_replaced_only_with_overwrite_and_one_writer_at_a_time(tmp_path):
    from synth.cli import main
    from synth.dataset.ego4view import README_NAME, export_ego4view
    from synth.dataset.staging import staging_dir_of

    src = tmp_path / "ds"
    label_dataset(_tiny(), src, 2, config_dir=DEFAULT.parent, progress=False)
    out = tmp_path / "e4v"
    export_ego4view(src, out, labels_only=True)
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert README_NAME in {p.name for p in first} and not staging_dir_of(out).exists()
    assert LOCK_NAME not in {p.name for p in first}

    # A second export while one is running (a live process of this host holds the staging lock) is refused.
    import socket

    from synth.farm.procs import start_ticks

    stage = staging_dir_of(out)
    stage.mkdir()
    (stage / LOCK_NAME).write_text(json.dumps({"host": socket.gethostname(), "pid": os.getppid(), "started": 0.0,
                                               "start_ticks": start_ticks(os.getppid()), "command": "synth export"}))
    with pytest.raises(DatasetError, match="another run writes this dataset.*synth export"):
        export_ego4view(src, out, overwrite=True, labels_only=True)
    (stage / LOCK_NAME).unlink()
    stage.rmdir()
    # A failing export (a damaged clip met half way) leaves the earlier export exactly as it was, and no staging.
    (src / "clips" / "clip_000001" / "labels.npz").write_bytes(b"PK\x03\x04")
    assert main(["export", "ego4view", str(src), "--out", str(out), "--overwrite", "--labels-only"]) == 2
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == first
    assert not staging_dir_of(out).exists()
    # Leftovers of a crashed export (its lock is stale: a dead pid) are cleared; --overwrite replaces the tree.
    label_dataset(_tiny(), src, 3, config_dir=DEFAULT.parent, progress=False)  # redoes clip 1, adds clip 2
    stage.mkdir()
    (stage / "stale.json").write_text("{}")
    (stage / LOCK_NAME).write_text(json.dumps({"host": socket.gethostname(), "pid": 2 ** 22 + 1, "started": 0}))
    assert main(["export", "ego4view", str(src), "--out", str(out), "--overwrite", "--labels-only"]) == 0
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert not stage.exists() and "stale.json" not in names and LOCK_NAME not in {Path(n).name for n in names}
    assert any("clip_000002/json_smplx_gendered" in n for n in names)
    assert len([n for n in names if "/json_smplx_gendered/" in n]) == 3 * _tiny().clips.frames
