"""Cloth patterns: every pattern is drawn with its own colours and period ranges, and each builds the shader it
names (denim: indigo fades and a diagonal twill; knit: ribs; dots: a Voronoi print)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from synth.appearance.model import CLOTH_PATTERNS
from synth.appearance.sampling import (
    BOTTOM_PATTERN_PROBS, CLOTH_PATTERN_PROBS, CLOTH_SCALE_M, DEFAULT_CLOTH_SCALE_M, TOP_PATTERN_PROBS, sample_cloth,
)


def test_every_pattern_is_drawn_within_its_ranges():
    rng = np.random.default_rng(0)
    draws = [sample_cloth(rng) for _ in range(700)]
    counts = Counter(c.pattern for c in draws)
    assert set(counts) == set(CLOTH_PATTERNS)
    for c in draws:
        lo, hi = CLOTH_SCALE_M.get(c.pattern, DEFAULT_CLOTH_SCALE_M)
        assert lo <= c.scale_m <= hi
        assert all(0.0 <= x <= 1.0 for x in (*c.color_a, *c.color_b))
        if c.pattern == "denim":  # indigo: blue dominates, the faded threads are lighter
            assert c.color_a[2] > c.color_a[0] and np.mean(c.color_b) > np.mean(c.color_a)
    for probs in (CLOTH_PATTERN_PROBS, TOP_PATTERN_PROBS, BOTTOM_PATTERN_PROBS):
        assert len(probs) == len(CLOTH_PATTERNS) and abs(sum(probs) - 1.0) < 1e-9
    with pytest.raises(ValueError, match="4 probabilities for 7"):
        sample_cloth(rng, probs=(0.25, 0.25, 0.25, 0.25))


@pytest.mark.blender
@pytest.mark.parametrize("pattern,node,setting", [
    ("denim", "ShaderNodeTexWave", ("bands_direction", "DIAGONAL")),
    ("knit", "ShaderNodeTexWave", ("bands_direction", "X")),
    ("dots", "ShaderNodeTexVoronoi", ("feature", "F1")),
])
def test_each_pattern_builds_its_shader(pattern, node, setting):
    pytest.importorskip("bpy")
    import dataclasses

    from synth.blender import materials as M

    cloth = dataclasses.replace(sample_cloth(np.random.default_rng(1)), pattern=pattern)
    mat = M.garment_material(f"test_{pattern}", "coat", cloth)
    nodes = [n for n in mat.node_tree.nodes if n.bl_idname == node]
    assert nodes and any(getattr(n, setting[0]) == setting[1] for n in nodes)
    bsdf = next(n for n in mat.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    assert bsdf.inputs["Base Color"].is_linked and bsdf.inputs["Normal"].is_linked  # pattern and folds
