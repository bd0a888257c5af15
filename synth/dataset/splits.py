"""Identity-disjoint train/val/test splits of a dataset's committed clips, recorded in dataset.json."""

from __future__ import annotations

from typing import Any

import numpy as np

from synth.dataset.format import SPLITS
from synth.dataset.reader import DatasetReader

#: Identity-disjoint split fractions (train, val, test).
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def identity_splits(identity_of_clip: dict[str, str], seed: int) -> dict[str, list[str]]:
    """Assign whole identities to train/val/test (no identity in two splits); returns clip ids per split."""
    identities = sorted(set(identity_of_clip.values()))
    order = np.random.default_rng([seed, len(identities)]).permutation(len(identities))
    n = len(identities)
    n_val = int(round(n * SPLIT_FRACTIONS[1]))
    n_test = int(round(n * SPLIT_FRACTIONS[2]))
    if n >= 3:
        n_val, n_test = max(1, n_val), max(1, n_test)
    split_of_identity = {}
    for rank, i in enumerate(order):
        split = "val" if rank < n_val else "test" if rank < n_val + n_test else "train"
        split_of_identity[identities[i]] = split
    out: dict[str, list[str]] = {name: [] for name in SPLITS}
    for clip, ident in sorted(identity_of_clip.items()):
        out[split_of_identity[ident]].append(clip)
    return out


def finalize_dataset(writer: Any, seed: int) -> dict[str, Any]:
    """Split every committed clip of the writer's dataset by identity (read through a DatasetReader) and rewrite
    dataset.json; returns {"clips": count, "splits": {name: count}}."""
    reader = DatasetReader(writer.root)
    identity_of_clip = {cid: reader.identity_of(cid) for cid in reader.clip_ids}
    splits = identity_splits(identity_of_clip, seed)
    writer.finalize(splits, identity_of=identity_of_clip.__getitem__)
    return {"clips": len(identity_of_clip), "splits": {k: len(v) for k, v in splits.items()}}
