"""Outputs stay the same: small label, sweep and render runs through the `synth` CLI against tests/golden/expected/.

The fixture was written by tests/golden/make_golden.py before a refactor that must not change any output; labels,
heatmaps, clip.json, dataset.json and the visibility tables must match byte for byte, images by decoded pixels.
Rewrite it (in a commit of its own, saying which values changed and why) only for a deliberate output change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))

from golden import EXPECTED, RUNS, collected_files, index_summary, is_image, pixels, run_synth  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("golden")
    outs = {}
    for name, args in RUNS:
        outs[name] = root / name
        run_synth(args, outs[name])
    return outs


@pytest.mark.parametrize("name", [name for name, _ in RUNS])
def test_same_files(runs, name):
    summary = json.loads((EXPECTED / name / "summary.json").read_text())
    assert collected_files(runs[name]) == summary["files"]
    assert index_summary(runs[name]) == summary["index"]


@pytest.mark.parametrize("name", [name for name, _ in RUNS])
def test_same_contents(runs, name):
    summary = json.loads((EXPECTED / name / "summary.json").read_text())
    assert summary["files"], "the fixture of this run is empty"
    differ = []
    for rel in summary["files"]:
        got, want = runs[name] / rel, EXPECTED / name / rel
        if is_image(rel):
            a, b = pixels(got), pixels(want)
            if a.shape != b.shape or not np.array_equal(a, b):
                differ.append(rel)
        elif got.read_bytes() != want.read_bytes():
            differ.append(rel)
    assert not differ, f"{name}: outputs changed: {differ}"
