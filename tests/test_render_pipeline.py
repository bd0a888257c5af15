"""`synth render` end to end through the CLI: files, log capture, resume, labels, preview, export, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.blender

pytest.importorskip("bpy")

from PIL import Image  # noqa: E402

from synth.constants import VIEWS, VIS_VISIBLE  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "render_configs" / "smoke.yaml"
RES = 64
FRAMES = 2
#: Lines Blender writes to fds 1/2 that must end up in logs/blender.log, never on the terminal.
BLENDER_NOISE = ("Fra:", "Saved:", "CUEW", "HIPEW", "| Info", "| WARNING")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    cache = REPO / ".cache" / "egorig"
    env.setdefault("EGORIG_CACHE_DIR", str(cache))
    env.setdefault("WARP_CACHE_PATH", str(cache / "warp"))
    return env


def synth(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "synth.cli", *map(str, args)], capture_output=True, text=True,
                          env=_env(), cwd=REPO, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"synth {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def write_config(path: Path, extra: str = "") -> Path:
    """The smoke config at RES px and FRAMES frames, plus `extra` YAML lines."""
    path.write_text(f"base: {SMOKE}\nrig:\n  resolution: {RES}\nclips:\n  frames: {FRAMES}\n{extra}")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def clip_hashes(out: Path) -> dict[str, str]:
    return {p.parent.name: sha256(p) for p in sorted((out / "clips").glob("clip_*/labels.npz"))}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """One clip rendered by `synth render`, then a no-op rerun, then a rerun that adds a second clip."""
    root = tmp_path_factory.mktemp("render")
    cfg = write_config(root / "tiny.yaml")
    out = root / "out"
    first = synth("render", cfg, "--out", out, "--clips", 1)
    index_1 = (out / "index.jsonl").read_bytes()
    files_1 = {p: p.stat().st_mtime_ns for p in (out / "clips").rglob("*") if p.is_file()}
    again = synth("render", cfg, "--out", out, "--clips", 1)
    index_again = (out / "index.jsonl").read_bytes()
    files_again = {p: p.stat().st_mtime_ns for p in (out / "clips").rglob("*") if p.is_file()}
    more = synth("render", cfg, "--out", out, "--clips", 2)
    return dict(root=root, cfg=cfg, out=out, runs=(first, again, more), index_1=index_1, index_again=index_again,
                files_1=files_1, files_again=files_again)


def test_render_writes_every_file_with_real_images(rendered):
    out = rendered["out"]
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["image"] == {"width": RES, "height": RES, "format": "jpg"}
    assert meta["blender_version"]
    assert meta["num_clips"] == 2 and meta["clip_ids"] == ["clip_000000", "clip_000001"]
    for clip in ("clip_000000", "clip_000001"):
        d = out / "clips" / clip
        for name in ("clip.json", "labels.npz", "heatmaps.npz"):
            assert (d / name).is_file(), d / name
        assert json.loads((d / "clip.json").read_text())["frames"] == FRAMES
        for view in VIEWS:
            for f in range(FRAMES):
                p = d / "rgb" / view / f"{f:06d}.jpg"
                img = np.asarray(Image.open(p).convert("RGB"), dtype=np.float64)
                assert img.shape == (RES, RES, 3)
                inside = img[RES // 4: 3 * RES // 4, RES // 4: 3 * RES // 4]
                assert inside.std() > 5.0 and 5.0 < inside.mean() < 250.0, f"{p} looks blank"
    assert not list((out / "clips").glob(".*")), "staging directories left behind"
    assert not list(out.rglob("*.tmp*")), "temporary files left behind"


def test_blender_output_goes_to_the_log_not_the_terminal(rendered):
    log = rendered["out"] / "logs" / "blender.log"
    assert log.is_file() and log.stat().st_size > 0
    for run in rendered["runs"]:
        terminal = run.stdout + run.stderr
        noise = [line for line in terminal.splitlines() if any(n in line for n in BLENDER_NOISE)]
        assert not noise, f"Blender output on the terminal: {noise[:3]}"
        assert "Traceback" not in terminal
    assert "wrote 1 clips" in rendered["runs"][0].stdout


def test_rerun_resumes(rendered):
    out = rendered["out"]
    # Same --clips: nothing new, nothing rewritten.
    assert rendered["index_again"] == rendered["index_1"]
    assert rendered["files_again"] == rendered["files_1"]
    # More clips: only the new one is rendered; the first clip's files and index line are untouched.
    index = (out / "index.jsonl").read_bytes()
    assert index.startswith(rendered["index_1"])
    lines = [json.loads(line) for line in index.decode().splitlines()]
    assert [e["clip_id"] for e in lines] == ["clip_000000", "clip_000001"]
    for p, mtime in rendered["files_1"].items():
        assert p.stat().st_mtime_ns == mtime, f"{p} was rewritten"
    assert lines[1]["seconds"]["render"] > 0 and "image_write" in lines[1]["seconds"]


def test_rendered_labels_equal_label_only_run(rendered):
    out_labels = rendered["root"] / "labels_only"
    synth("labels", rendered["cfg"], "--out", out_labels, "--clips", 2, "--quiet")
    label_only = clip_hashes(out_labels)
    assert set(label_only) == {"clip_000000", "clip_000001"}
    assert clip_hashes(rendered["out"]) == label_only
    for clip in label_only:
        a = json.loads((out_labels / "clips" / clip / "clip.json").read_text())
        b = json.loads((rendered["out"] / "clips" / clip / "clip.json").read_text())
        assert a == b


def test_preview_blend_saves_a_blend_file(rendered):
    blend = rendered["root"] / "scene.blend"
    proc = synth("preview", rendered["out"], "--clip", "clip_000001", "--blend", blend)
    assert blend.is_file() and blend.stat().st_size > 0
    magic = blend.read_bytes()[:7]
    assert magic == b"BLENDER" or magic[:2] == b"\x1f\x8b" or magic[:4] == b"\x28\xb5\x2f\xfd", magic
    assert not any(n in proc.stdout + proc.stderr for n in ("CUEW", "Saved:", "Traceback"))


def test_preview_draws_over_the_rendered_images(rendered):
    sheet_path = rendered["root"] / "sheet.png"
    synth("preview", rendered["out"], "--clip", "clip_000000", "--frames", "1", "--out", sheet_path)
    sheet = np.asarray(Image.open(sheet_path).convert("RGB"), dtype=np.float64)
    tile = sheet.shape[1] // len(VIEWS)
    assert sheet.shape[0] == tile  # one frame: one row of square tiles
    scale = tile / RES
    with np.load(rendered["out"] / "clips" / "clip_000000" / "labels.npz") as z:
        joints2d, visibility = z["joints2d"][1], z["visibility"][1]
    drawn_on_joint = 0
    for v, view in enumerate(VIEWS):
        src = Image.open(rendered["out"] / "clips" / "clip_000000" / "rgb" / view / "000001.jpg").convert("RGB")
        expected = np.asarray(src.resize((tile, tile), Image.BILINEAR), dtype=np.float64)
        got = sheet[:, v * tile: (v + 1) * tile]
        diff = np.abs(got - expected).max(axis=-1)
        # Most of the tile is the rendered image itself, not a background...
        assert np.median(diff) < 4.0, f"{view}: tile is not the rendered image"
        assert (diff < 4.0).mean() > 0.6
        # ...and the labels are drawn over it: pixels at in-image joints differ from the image.
        for j in np.flatnonzero(visibility[v] == VIS_VISIBLE):
            x, y = np.rint((joints2d[v, j] + 0.5) * scale - 0.5).astype(int)
            if 0 <= x < tile and 0 <= y < tile:
                drawn_on_joint += bool(diff[y, x] > 30.0)
    assert drawn_on_joint >= 3, "joints are not drawn over the images"


def test_export_ego4view_of_rendered_dataset(rendered):
    out = rendered["root"] / "ego4view"
    synth("export", "ego4view", rendered["out"], "--out", out)
    images = sorted(out.glob("*/clip_*/fisheye_rgb/camera_*/*.jpg"))
    jsons = sorted(out.glob("*/clip_*/json_smplx_gendered/*.json"))
    assert len(images) == 2 * FRAMES * len(VIEWS)
    assert len(jsons) == 2 * FRAMES
    assert Image.open(images[0]).size == (RES, RES)
    assert (out / "train.txt").is_file()
    record = json.loads(jsons[0].read_text())
    assert set(record) >= {"joints", "global_trans_blender"}
    assert any(key.endswith("_pts2d") for entry in record["joints"].values() for key in entry)


# ----------------------------------------------------------------------------------------------------------------
# Bad input: one clear line on stderr before Blender starts; nothing written under the dataset's clips/.
def _bad_run(tmp_path: Path, extra: str, out_name: str = "out") -> tuple[subprocess.CompletedProcess, Path]:
    cfg = write_config(tmp_path / "bad.yaml", extra)
    out = tmp_path / out_name
    proc = synth("render", cfg, "--out", out, "--clips", 1, check=False)
    return proc, out


def _assert_clean_failure(proc: subprocess.CompletedProcess, out: Path, *words: str) -> None:
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {lines}"
    assert lines[0].startswith("error: ") and "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], f"{w!r} not in {lines[0]!r}"
    assert not list(out.glob("clips/*")), "a clip was written"
    log = out / "logs" / "blender.log"
    assert not log.exists() or log.stat().st_size == 0, "Blender started"


def test_missing_hdri_fails_before_rendering(tmp_path):
    proc, out = _bad_run(tmp_path, "appearance:\n  hdri_files: [no_such_sky.hdr]\n")
    _assert_clean_failure(proc, out, "no_such_sky.hdr", "appearance.hdri_files")


def test_unsupported_lens_is_a_config_error(tmp_path):
    cfg = tmp_path / "lens.yaml"
    cfg.write_text(f"base: {SMOKE}\nrig:\n  resolution: {RES}\n  lenses:\n    front_left:\n      type: fisheye9\n")
    proc = synth("render", cfg, "--out", tmp_path / "lens_out", "--clips", 1, check=False)
    _assert_clean_failure(proc, tmp_path / "lens_out", "lens.yaml", "fisheye9")


def test_zero_resolution_is_a_config_error(tmp_path):
    cfg = tmp_path / "zero.yaml"
    cfg.write_text(f"base: {SMOKE}\nrig:\n  resolution: 0\n")
    proc = synth("render", cfg, "--out", tmp_path / "zero_out", "--clips", 1, check=False)
    _assert_clean_failure(proc, tmp_path / "zero_out", "zero.yaml", "rig.resolution")


def test_missing_body_texture_fails_before_rendering(tmp_path):
    from tests.tiny_smplx import write_tiny_smplx

    write_tiny_smplx(tmp_path / "models", genders=("NEUTRAL",))
    proc, out = _bad_run(tmp_path, "body:\n  backend: smplx\n  model_dir: models\n  gender: neutral\n"
                                   "appearance:\n  body_textures: [textures/missing_skin.png]\n")
    _assert_clean_failure(proc, out, "appearance.body_textures", "missing_skin.png")
