"""Bad input, table-driven: every case runs a real command line (`synth ...`, `egotrain ...`) in this process and
must end with its exit code (2: refused input; 1: `synth verify` found damage), exactly one line on stderr that
starts with "error:" and names the culprit (file, field or flag), no traceback, and every file that existed before
(an earlier dataset, an earlier export, the inputs) byte-identical afterwards, with nothing new written.

Cases span configs, sweeps, calibrations, motions, assets, output directories, damaged datasets, command-line
values, export, preview and egotrain. The one case that needs a full disk runs in a subprocess with a file-size
limit (RLIMIT_FSIZE), the only way to fill a "disk" without privileges.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("EGORIG_CACHE_DIR", str(REPO / ".cache" / "egorig"))
os.environ.setdefault("WARP_CACHE_PATH", str(REPO / ".cache" / "egorig" / "warp"))

DEFAULT = REPO / "render_configs" / "default.yaml"
CALIB = REPO / "synth" / "data" / "calib" / "ego4view" / "camera_front_left.json"
TINY_YAML = f"base: {DEFAULT}\nname: bad_input\nrig: {{resolution: 32}}\nclips: {{frames: 2}}\n"


@dataclass(frozen=True)
class Case:
    id: str
    tool: str  # "synth" or "egotrain"
    argv: tuple[str, ...]  # {w}: the world directory; {case}: this case's directory (made by setup)
    culprit: str  # must appear in the error line
    setup: Callable[[Path, Path], None] | None = None  # (world, case dir)
    code: int = 2


# ---------------------------------------------------------------------------------------------------- setups
def _file(name: str, content: bytes | str) -> Callable[[Path, Path], None]:
    def setup(world: Path, case: Path) -> None:
        data = content.replace("{w}", str(world)).encode() if isinstance(content, str) else content
        (case / name).write_bytes(data)
    return setup


def _config(extra: str, name: str = "c.yaml") -> Callable[[Path, Path], None]:
    """A config on top of the tiny base."""
    return _file(name, f"base: {{w}}/tiny.yaml\n{extra}")


def _calib(edit: Callable[[dict], object] | None = None, raw: bytes | None = None,
           name: str = "calib.json") -> Callable[[Path, Path], None]:
    def setup(world: Path, case: Path) -> None:
        if raw is not None:
            (case / name).write_bytes(raw)
            return
        data = json.loads(CALIB.read_text())
        edit(data)
        (case / name).write_text(json.dumps(data))  # json.dumps writes NaN literally, as a careless tool would
    return setup


def _lens_config(calib_setup: Callable[[Path, Path], None]) -> Callable[[Path, Path], None]:
    def setup(world: Path, case: Path) -> None:
        calib_setup(world, case)
        _config("rig:\n  lenses:\n    front_left: {type: ocamcalib, file: calib.json}\n")(world, case)
    return setup


def _motion(arrays: dict[str, np.ndarray] | None = None, raw: bytes | None = None) -> Callable[[Path, Path], None]:
    def setup(world: Path, case: Path) -> None:
        path = case / "motions" / "m.npz"
        path.parent.mkdir()
        if raw is not None:
            path.write_bytes(raw)
        else:
            np.savez(path, **arrays)
        _config("motion: {source: npz, files: [motions/m.npz]}\n")(world, case)
    return setup


def _amass(frames: int = 40, poses: np.ndarray | None = None, **extra) -> dict[str, np.ndarray]:
    arrays = {"poses": np.zeros((frames, 165)) if poses is None else poses, "trans": np.zeros((frames, 3)),
              "mocap_frame_rate": np.array(30.0), "betas": np.zeros(16), "gender": np.array("neutral")}
    arrays.update(extra)
    return arrays


def _nan_poses() -> np.ndarray:
    poses = np.zeros((40, 165))
    poses[7, 5] = np.nan
    return poses


def _copy_prior(damage: Callable[[Path], None]) -> Callable[[Path, Path], None]:
    def setup(world: Path, case: Path) -> None:
        shutil.copytree(world / "prior", case / "ds")
        damage(case / "ds")
    return setup


def _flip_byte(rel: str) -> Callable[[Path], None]:
    def damage(ds: Path) -> None:
        path = ds / rel
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    return damage


def _write(rel: str, content: bytes) -> Callable[[Path], None]:
    def damage(ds: Path) -> None:
        (ds / rel).write_bytes(content)
    return damage


def _delete(rel: str) -> Callable[[Path], None]:
    def damage(ds: Path) -> None:
        (ds / rel).unlink()
    return damage


def _live_lock(world: Path, case: Path) -> None:
    """A dataset another live process of this host writes (this test's parent process holds the lock)."""
    from synth.dataset.lock import LOCK_NAME
    from synth.farm.procs import start_ticks

    shutil.copytree(world / "prior", case / "ds")
    import socket
    holder = {"host": socket.gethostname(), "pid": os.getppid(), "started": 0.0,
              "start_ticks": start_ticks(os.getppid()), "command": "synth labels"}
    (case / "ds" / LOCK_NAME).write_text(json.dumps(holder))


def _dir_with(name: str) -> Callable[[Path, Path], None]:
    def setup(world: Path, case: Path) -> None:
        (case / "out").mkdir()
        (case / "out" / name).write_text("someone's data\n")
    return setup


def _train_config(extra: str, name: str = "t.yaml") -> Callable[[Path, Path], None]:
    return _file(name, f"data: {{root: {{w}}/prior, input_size: 32, heatmap_size: 8, num_workers: 0}}\n"
                       f"train: {{out_dir: {{w}}/train_out, device: cpu}}\n{extra}")


def _train_on(damage: Callable[[Path], None]) -> Callable[[Path, Path], None]:
    def setup(world: Path, case: Path) -> None:
        _copy_prior(damage)(world, case)
        (case / "t.yaml").write_text(f"data: {{root: {case}/ds, input_size: 32, heatmap_size: 8, num_workers: 0}}\n"
                                     f"train: {{out_dir: {case}/train_out, device: cpu}}\n")
    return setup


def _sweep(text: str) -> Callable[[Path, Path], None]:
    return _file("s.yaml", text)


def _manifest(name: str, content: bytes) -> Callable[[Path, Path], None]:
    def setup(world: Path, case: Path) -> None:
        (case / "manifests").mkdir()
        for src in (REPO / "assets_manifest").glob("*.yaml"):
            shutil.copy2(src, case / "manifests" / src.name)
        (case / "manifests" / name).write_bytes(content)
    return setup


LATIN1 = "name: caf\u00e9\n".encode("latin-1")
UTF16 = "name: x\n".encode("utf-16")
BINARY = bytes(range(256)) * 4
LABELS = "clips/clip_000001/labels.npz"

L = ("labels", "{case}/c.yaml", "--out", "{case}/out", "--quiet")  # labels of this case's config
CASES: list[Case] = [
    # -------------------------------------------------------------------------------------------- configs
    Case("config-unknown-key", "synth", L, "frnt_to_rear_m", _config("rig: {frnt_to_rear_m: 0.3}\n")),
    Case("config-bool-for-number", "synth", L, "seed", _config("seed: true\n")),
    Case("config-nan", "synth", L, "front_to_rear_m", _config("rig: {front_to_rear_m: .nan}\n")),
    Case("config-inf", "synth", L, "fps", _config("clips: {fps: .inf}\n")),
    Case("config-duplicate-key", "synth", L, "duplicate key 'seed'", _config("seed: 1\nseed: 2\n")),
    Case("config-empty", "synth", L, "c.yaml", _file("c.yaml", "")),
    Case("config-comments-only", "synth", L, "empty", _file("c.yaml", "# nothing\n")),
    Case("config-latin1", "synth", L, "UTF-8", _file("c.yaml", LATIN1)),
    Case("config-utf16", "synth", L, "UTF-8", _file("c.yaml", UTF16)),
    Case("config-binary", "synth", L, "c.yaml", _file("c.yaml", BINARY)),
    Case("config-yaml-syntax", "synth", L, "YAML syntax error", _config("rig: [1, 2\n")),
    Case("config-top-level-list", "synth", L, "c.yaml", _file("c.yaml", "- a\n- b\n")),
    Case("config-missing-file", "synth", L, "c.yaml"),
    Case("config-missing-base", "synth", L, "nope.yaml", _file("c.yaml", "base: nope.yaml\n")),
    Case("config-negative-resolution", "synth", L, "resolution", _config("rig: {resolution: -4}\n")),
    Case("config-string-for-number", "synth", L, "seed", _config("seed: abc\n")),
    Case("config-zero-frames", "synth", L, "frames", _config("clips: {frames: 0}\n")),
    Case("config-unknown-lens-type", "synth", L, "fisheye9",
         _config("rig:\n  lenses:\n    front_left: {type: fisheye9}\n")),
    Case("config-lens-shift-nan", "synth", L, "shift",
         _config("rig:\n  lenses:\n    front_left: {type: equidistant, fov_deg: 190, shift: [.nan, 0]}\n")),
    Case("config-polynomial-k-nan", "synth", L, "k",
         _config("rig:\n  lenses:\n    front_left: {type: polynomial, k: [0, -0.1, .nan, 0, 0], "
                 "sensor_width_mm: 36}\n")),
    Case("config-splits-over-one", "synth", L, "splits", _config("splits: {val: 0.6, test: 0.6}\n")),
    Case("config-heatmap-size", "synth", L, "heatmap_size", _config("labels: {heatmap_size: 0}\n")),
    Case("config-validate-unknown-view", "synth", ("validate", "{case}/c.yaml"), "rear_middle",
         _config("rig:\n  lenses:\n    rear_middle: {type: equidistant, fov_deg: 190}\n")),
    # --------------------------------------------------------------------------------------------- sweeps
    Case("sweep-no-variants", "synth", ("visibility", "--sweep", "{case}/s.yaml", "--out", "{case}/out"),
         "variants", _sweep(f"base: {DEFAULT}\nvariants: []\n")),
    Case("sweep-bad-override", "synth", ("visibility", "--sweep", "{case}/s.yaml", "--out", "{case}/out"),
         "front_to_rear", _sweep(f"base: {DEFAULT}\nvariants:\n  - name: a\n    overrides: "
                                 f"{{rig: {{front_to_rear: 0.3}}}}\n")),
    Case("sweep-missing-base", "synth", ("visibility", "--sweep", "{case}/s.yaml", "--out", "{case}/out"),
         "missing.yaml", _sweep("base: missing.yaml\nvariants:\n  - name: a\n    overrides: {}\n")),
    Case("sweep-latin1", "synth", ("visibility", "--sweep", "{case}/s.yaml", "--out", "{case}/out"), "UTF-8",
         _file("s.yaml", f"base: {DEFAULT}\nname: caf\u00e9\nvariants: []\n".encode("latin-1"))),
    Case("sweep-and-config", "synth", ("visibility", "--out", "{case}/out"), "--sweep"),
    # --------------------------------------------------------------------------------------- calibrations
    Case("calib-missing", "synth", ("lens", "{case}/calib.json"), "calib.json"),
    Case("calib-not-json", "synth", ("lens", "{case}/calib.json"), "not valid JSON",
         _calib(raw=b"{size: [872, 872]")),
    Case("calib-json-list", "synth", ("lens", "{case}/calib.json"), "JSON object", _calib(raw=b"[1, 2]")),
    Case("calib-missing-field", "synth", ("lens", "{case}/calib.json"), "polynomialW2C",
         _calib(lambda d: d.pop("polynomialW2C"))),
    Case("calib-nan", "synth", ("lens", "{case}/calib.json", "--json"), "polynomialC2W",
         _calib(lambda d: d["polynomialC2W"].__setitem__(1, float("nan")))),
    Case("calib-infinite-center", "synth", ("lens", "{case}/calib.json"), "image_center",
         _calib(lambda d: d.__setitem__("image_center", [float("inf"), 436.0]))),
    Case("calib-fractional-size", "synth", ("lens", "{case}/calib.json"), "size",
         _calib(lambda d: d.__setitem__("size", [872.5, 872]))),
    Case("calib-negative-circle", "synth", ("lens", "{case}/calib.json"), "imageCircleRadius",
         _calib(lambda d: d.__setitem__("imageCircleRadius", -3))),
    Case("calib-latin1", "synth", ("lens", "{case}/calib.json"), "UTF-8",
         _calib(raw='{"name": "caf\u00e9"}'.encode("latin-1"))),
    Case("calib-utf16", "synth", ("lens", "{case}/calib.json"), "UTF-8",
         _calib(raw='{"size": [1, 1]}'.encode("utf-16"))),
    Case("calib-in-config-missing", "synth", L, "gone.json",
         _config("rig:\n  lenses:\n    front_left: {type: ocamcalib, file: gone.json}\n")),
    Case("calib-in-config-nan", "synth", L, "calib.json",
         _lens_config(_calib(lambda d: d["affine"].__setitem__(0, float("nan"))))),
    Case("calib-resolution-zero", "synth", ("lens", str(CALIB), "--resolution", "0"), "--resolution"),
    # -------------------------------------------------------------------------------------------- motions
    Case("motion-no-files", "synth", L, "c.yaml: motion.files[0]",
         _config("motion: {source: npz, files: [nothing/m.npz]}\n")),
    Case("motion-not-npz", "synth", L, "not an .npz file", _motion(raw=b"this is not a zip")),
    Case("motion-nan", "synth", L, "m.npz", _motion(_amass(poses=_nan_poses()))),
    Case("motion-wrong-shape", "synth", L, "m.npz", _motion(_amass(poses=np.zeros((40, 7))))),
    Case("motion-no-poses", "synth", L, "m.npz", _motion({"trans": np.zeros((40, 3))})),
    Case("motion-bad-fps", "synth", L, "m.npz", _motion(_amass(mocap_frame_rate=np.array(-30.0)))),
    Case("motion-unknown-family", "synth", L, "c.yaml: motion.families",
         _config("motion: {families: [moonwalk_backwards]}\n")),
    Case("motion-weight-unknown-family", "synth", L, "c.yaml: motion.weights",
         _config("motion: {weights: {walk: 1.0, moonwalk: 2.0}}\n")),
    Case("motion-weights-all-zero", "synth", L, "c.yaml: motion.weights",
         _config("motion: {families: [walk], weights: {walk: 0.0}}\n")),
    Case("hdri-builtin-unknown-folder", "synth", L, "c.yaml: appearance.hdri_files[0]",
         _config("appearance: {hdri_files: ['builtin:skies/*.exr']}\n")),
    Case("hdri-builtin-no-match", "synth", L, "c.yaml: appearance.hdri_files[0]",
         _config("appearance: {hdri_files: ['builtin:hdri/*.hdr']}\n")),
    Case("motion-gaze-bad-range", "synth", L, "c.yaml: motion.gaze.hold_s",
         _config("motion: {gaze: {probability: 0.5, hold_s: [2.0, 1.0]}}\n")),
    # --------------------------------------------------------------------------------------------- assets
    Case("assets-manifest-dir-missing", "synth", ("assets", "check", "--manifest-dir", "{case}/nope"), "nope"),
    Case("assets-manifest-syntax", "synth", ("assets", "check", "--manifest-dir", "{case}/manifests"), "smplx.yaml",
         _manifest("smplx.yaml", b"id: [smplx\n")),
    Case("assets-manifest-latin1", "synth", ("assets", "check", "--manifest-dir", "{case}/manifests"), "UTF-8",
         _manifest("smplx.yaml", LATIN1)),
    Case("assets-lock-corrupt", "synth", ("assets", "check", "--root", "{case}", "--lock", "{case}/lock.json"),
         "lock.json", _file("lock.json", b"{not json")),
    Case("assets-config-missing-root", "synth", ("labels", "{case}/c.yaml", "--out", "{case}/out"), "smplx",
         _file("c.yaml", f"base: {REPO / 'render_configs' / 'bedlam.yaml'}\nassets: {{root: {{w}}/no_assets}}\n")),
    # -------------------------------------------------------------------------------------- output directories
    Case("out-is-a-file", "synth", ("labels", "{w}/tiny.yaml", "--out", "{w}/tiny.yaml", "--quiet"), "tiny.yaml"),
    Case("out-below-a-file", "synth", ("labels", "{w}/tiny.yaml", "--out", "{w}/tiny.yaml/sub", "--quiet"),
         "tiny.yaml/sub"),
    Case("out-read-only", "synth", ("labels", "{w}/tiny.yaml", "--out", "/sys/egorig-bad-input", "--quiet"),
         "/sys/egorig-bad-input"),
    Case("out-other-config", "synth", ("labels", "{case}/c.yaml", "--out", "{w}/prior", "--quiet"), "config_hash",
         _config("seed: 7\n")),
    Case("out-locked", "synth", ("labels", "{w}/tiny.yaml", "--out", "{case}/ds", "--quiet", "--clips", "3"),
         "another run writes this dataset", _live_lock),
    Case("out-foreign-directory", "synth", ("labels", "{w}/tiny.yaml", "--out", "{case}/out", "--quiet"), "out",
         _dir_with("thesis.tex")),
    Case("farm-out-is-a-file", "synth", ("farm", "{w}/tiny.yaml", "--out", "{w}/tiny.yaml", "--quiet"), "tiny.yaml"),
    # ----------------------------------------------------------------------------------------- damaged datasets
    Case("verify-flipped-byte", "synth", ("verify", "{case}/ds"), "damaged clips", _copy_prior(_flip_byte(LABELS)),
         code=1),
    Case("verify-missing-file", "synth", ("verify", "{case}/ds"), "damaged clips", _copy_prior(_delete(LABELS)),
         code=1),
    Case("verify-no-dataset-json", "synth", ("verify", "{case}/ds"), "dataset.json",
         _copy_prior(_delete("dataset.json"))),
    Case("verify-corrupt-dataset-json", "synth", ("verify", "{case}/ds"), "dataset.json",
         _copy_prior(_write("dataset.json", b"{\"schema_version\": "))),
    Case("verify-corrupt-index", "synth", ("verify", "{case}/ds"), "index.jsonl",
         _copy_prior(_write("index.jsonl", b"{\"clip_id\": \"clip_000000\"}\nnot json\n"))),
    Case("verify-not-a-dataset", "synth", ("verify", "{w}/inputs"), "dataset.json"),
    Case("resume-corrupt-dataset-json", "synth", ("labels", "{w}/tiny.yaml", "--out", "{case}/ds", "--quiet"),
         "dataset.json", _copy_prior(_write("dataset.json", BINARY))),
    Case("resume-other-schema", "synth", ("labels", "{w}/tiny.yaml", "--out", "{case}/ds", "--quiet"),
         "schema_version", _copy_prior(_write("dataset.json", b"{\"schema_version\": 999}"))),
    # ------------------------------------------------------------------------------------------------- export
    Case("export-corrupt-clip-json", "synth", ("export", "ego4view", "{case}/ds", "--out", "{case}/e4v", "--labels-only"),
         "clip.json", _copy_prior(_write("clips/clip_000001/clip.json", b"{bad"))),
    Case("export-damaged-labels", "synth", ("export", "ego4view", "{case}/ds", "--out", "{case}/e4v", "--labels-only"),
         "labels.npz", _copy_prior(_write(LABELS, b"PK\x03\x04 truncated"))),
    Case("export-into-foreign-dir", "synth", ("export", "ego4view", "{w}/prior", "--out", "{case}/out", "--labels-only"),
         "not empty", _dir_with("notes.txt")),
    Case("export-over-earlier-export", "synth", ("export", "ego4view", "{w}/prior", "--out", "{w}/export", "--labels-only"),
         "--overwrite"),
    Case("export-overwrite-foreign-dir", "synth",
         ("export", "ego4view", "{w}/prior", "--out", "{case}/out", "--overwrite", "--labels-only"), "README_egorig.md",
         _dir_with("notes.txt")),
    Case("export-into-the-dataset", "synth", ("export", "ego4view", "{w}/prior", "--out", "{w}/prior/e4v", "--labels-only"),
         "inside the dataset"),
    Case("export-missing-dataset", "synth", ("export", "ego4view", "{w}/nothing", "--out", "{case}/e4v", "--labels-only"),
         "nothing"),
    Case("export-out-is-a-file", "synth", ("export", "ego4view", "{w}/prior", "--out", "{w}/tiny.yaml", "--labels-only"),
         "tiny.yaml"),
    Case("export-label-only-without-flag", "synth", ("export", "ego4view", "{w}/prior", "--out", "{case}/e4v"),
         "--labels-only"),
    Case("export-unknown-layout", "synth",
         ("export", "ego4view", "{w}/prior", "--out", "{case}/e4v", "--layout", "xyz", "--labels-only"), "--layout"),
    Case("export-unknown-profile", "synth", ("export", "ego5view", "{w}/prior", "--out", "{case}/e"), "ego5view"),
    # ------------------------------------------------------------------------------------------------ preview
    Case("preview-unknown-clip", "synth", ("preview", "{w}/prior", "--clip", "clip_999999", "--out", "{case}/p.png"),
         "clip_999999"),
    Case("preview-frame-out-of-range", "synth",
         ("preview", "{w}/prior", "--frames", "0,99", "--out", "{case}/p.png"), "99"),
    Case("preview-bad-frames", "synth", ("preview", "{w}/prior", "--frames", "a,b"), "--frames"),
    Case("preview-not-a-dataset", "synth", ("preview", "{w}/inputs"), "dataset.json"),
    # ------------------------------------------------------------------------------------------ command-line values
    Case("cli-clips-zero", "synth", ("labels", "{w}/tiny.yaml", "--out", "{case}/o", "--clips", "0"), "--clips"),
    Case("cli-clips-negative", "synth", ("labels", "{w}/tiny.yaml", "--out", "{case}/o", "--clips", "-3"),
         "--clips"),
    Case("cli-clips-text", "synth", ("labels", "{w}/tiny.yaml", "--out", "{case}/o", "--clips", "many"), "--clips"),
    Case("cli-lens-resolution", "synth", ("lens", "{w}/tiny.yaml", "--resolution", "-4"), "--resolution"),
    Case("cli-farm-workers", "synth", ("farm", "{w}/tiny.yaml", "--out", "{case}/o", "--workers", "0"), "--workers"),
    Case("cli-farm-gpus", "synth", ("farm", "{w}/tiny.yaml", "--out", "{case}/o", "--gpus-per-worker", "-1"),
         "--gpus-per-worker"),
    Case("cli-farm-timeout", "synth", ("farm", "{w}/tiny.yaml", "--out", "{case}/o", "--clip-timeout", "0"),
         "--clip-timeout"),
    Case("cli-visibility-clips", "synth", ("visibility", "--config", "{w}/tiny.yaml", "--out", "{case}/o",
                                           "--clips", "0"), "--clips"),
    Case("cli-unknown-command", "synth", ("lables", "{w}/tiny.yaml"), "lables"),
    Case("cli-missing-out", "synth", ("labels", "{w}/tiny.yaml"), "--out"),
    # ------------------------------------------------------------------------------------------------- egotrain
    Case("train-missing-config", "egotrain", ("fit", "{case}/t.yaml"), "t.yaml"),
    Case("train-unknown-key", "egotrain", ("fit", "{case}/t.yaml"), "lerning_rate",
         _train_config("heatmap: {lerning_rate: 0.1}\n")),
    Case("train-bool-for-number", "egotrain", ("fit", "{case}/t.yaml"), "epochs",
         _train_config("heatmap: {epochs: true}\n")),
    Case("train-nan", "egotrain", ("fit", "{case}/t.yaml"), "lr", _train_config("heatmap: {lr: .nan}\n")),
    Case("train-duplicate-key", "egotrain", ("fit", "{case}/t.yaml"), "duplicate key",
         _train_config("heatmap: {epochs: 1}\nheatmap: {epochs: 2}\n")),
    Case("train-empty-config", "egotrain", ("fit", "{case}/t.yaml"), "empty", _file("t.yaml", "# nothing\n")),
    Case("train-latin1", "egotrain", ("fit", "{case}/t.yaml"), "UTF-8", _file("t.yaml", LATIN1)),
    Case("train-set-no-equals", "egotrain", ("fit", "{case}/t.yaml", "--set", "heatmap.epochs"), "--set",
         _train_config("")),
    Case("train-set-bad-yaml", "egotrain", ("fit", "{case}/t.yaml", "--set", "heatmap.milestones=[1"), "--set",
         _train_config("")),
    Case("train-data-root-missing", "egotrain", ("fit", "{case}/t.yaml", "--data-root", "{case}/nothing"),
         "nothing", _train_config("")),
    Case("train-damaged-dataset", "egotrain", ("fit", "{case}/t.yaml"), "clip_000001",
         _train_on(_write(LABELS, b"PK\x03\x04"))),
    Case("train-damaged-dataset-verify", "egotrain", ("fit", "{case}/t.yaml", "--verify"), "clip_000001",
         _train_on(_flip_byte(LABELS))),
    Case("train-eval-missing-checkpoint", "egotrain",
         ("eval", "{case}/t.yaml", "--checkpoint", "{case}/none.pt"), "none.pt", _train_config("")),
    Case("train-sweep-without-sweep", "egotrain", ("sweep", "--config", "{case}/t.yaml", "--out", "{case}/o"),
         "SWEEP", _train_config("")),
    Case("train-fixture-frames", "egotrain", ("fixture", "{case}/fx", "--frames", "0"), "--frames"),
    Case("train-unknown-command", "egotrain", ("fitt", "{case}/t.yaml"), "fitt"),
]


# ------------------------------------------------------------------------------------------------- harness
@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """tiny.yaml, an earlier dataset (prior/, 2 label-only clips), an earlier export of it, an input folder."""
    from synth.cli import main

    w = tmp_path_factory.mktemp("bad_input")
    (w / "tiny.yaml").write_text(TINY_YAML)
    (w / "inputs").mkdir()
    (w / "inputs" / "notes.txt").write_text("not a dataset\n")
    assert main(["labels", str(w / "tiny.yaml"), "--out", str(w / "prior"), "--clips", "2", "--quiet"]) == 0
    assert main(["export", "ego4view", str(w / "prior"), "--out", str(w / "export"), "--labels-only"]) == 0
    return w


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def _run(tool: str, argv: list[str]) -> int:
    from synth.cli import main as synth_main
    from train.cli import main as train_main

    try:
        return (synth_main if tool == "synth" else train_main)(argv)
    except SystemExit as exc:  # argparse
        return int(exc.code or 0)


def test_the_table_is_broad():
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)
    areas = {c.id.split("-")[0] for c in CASES}
    assert {"config", "sweep", "calib", "motion", "assets", "out", "verify", "export", "preview", "cli",
            "train"} <= areas


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_in_one_line(world, case, capsys):
    case_dir = world / "cases" / case.id
    case_dir.mkdir(parents=True)
    if case.setup is not None:
        case.setup(world, case_dir)
    before = _snapshot(world)
    argv = [a.replace("{w}", str(world)).replace("{case}", str(case_dir)) for a in case.argv]
    capsys.readouterr()
    code = _run(case.tool, argv)
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == case.code, f"exit {code}, stderr: {err}"
    assert "Traceback" not in err
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, f"expected one error line, got: {err}"
    if case.code == 2:  # a refused input says only that; `verify` lists each damaged clip first
        assert lines == errors, f"stderr has more than the error line: {err}"
    assert case.culprit in errors[0], f"{case.culprit!r} not named in: {errors[0]}"
    assert _snapshot(world) == before, "a refused command changed or added files"


def test_a_full_disk_mid_run_is_one_line_and_keeps_the_committed_clips(world, tmp_path):
    """The file-size limit stands in for a full disk: writes beyond it fail with EFBIG, as ENOSPC would."""
    out = tmp_path / "ds"
    shutil.copytree(world / "prior", out)
    before = _snapshot(out)
    limit = 2048  # bytes: a new clip's arrays exceed it (the files that exist are only read)
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        "from synth.cli import main\n"
        f"sys.exit(main(['labels', {str(world / 'tiny.yaml')!r}, '--out', {str(out)!r}, '--clips', '4', "
        "'--quiet']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(errors) == 1 and str(out) in errors[0] and "File too large" in errors[0], proc.stderr
    after = _snapshot(out)
    assert {k: v for k, v in after.items() if k in before} == before  # committed clips and metadata untouched
    from synth.dataset.verify import verify_dataset

    assert verify_dataset(out) == {}


@pytest.mark.parametrize("argv", [["--debug", "lens", "{w}/missing.json"], ["lens", "{w}/missing.json", "--debug"]])
def test_debug_adds_the_traceback_anywhere_on_the_line(world, argv, capsys):
    code = _run("synth", [a.replace("{w}", str(world)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("error: ") and "missing.json" in err.strip().splitlines()[-1]


def test_a_bug_is_one_line_with_exit_1_and_asks_for_the_traceback(monkeypatch, capsys):
    from synth import cli

    def broken(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(cli.COMMANDS, "rig", broken)
    code = _run("synth", ["rig", str(DEFAULT)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(lines) == 1
    assert "internal error (ZeroDivisionError: division by zero)" in lines[0] and "--debug" in lines[0]
