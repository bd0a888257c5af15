"""Identity-disjoint train/val/test splits that never change as a dataset grows.

An identity's split is a fixed function of (config seed, identity id, split fractions): a uniform number drawn from
sha256 of the seed and the id picks val, test or train. It is recorded in the clip's index.jsonl line when the clip
is committed, and dataset.json lists every committed clip under its recorded split. Adding clips adds identities;
it never moves one (a random permutation over all identities, as before, reshuffled them at every growth).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from synth.dataset.format import SPLITS
from synth.dataset.reader import DatasetReader

log = logging.getLogger(__name__)

#: Bits of the digest turned into the uniform number.
_UNIFORM_BITS = 64


def split_of_identity(identity_id: str, seed: int, val: float, test: float) -> str:
    """"val", "test" or "train" for an identity: u = sha256(seed, id) in [0, 1); val if u < val, test if
    u < val + test, else train."""
    digest = hashlib.sha256(f"egorig-split\0{int(seed)}\0{identity_id}".encode("utf-8")).digest()
    u = int.from_bytes(digest[: _UNIFORM_BITS // 8], "big") / 2**_UNIFORM_BITS
    return "val" if u < val else "test" if u < val + test else "train"


def finalize_dataset(writer: Any, seed: int, val: float, test: float) -> dict[str, Any]:
    """List every committed clip of the writer's dataset under its split in dataset.json (the split its index line
    recorded; clips committed before splits were recorded get split_of_identity); {"clips", "splits"} counts."""
    reader = DatasetReader(writer.root)
    identity_of = {cid: reader.identity_of(cid) for cid in reader.clip_ids}
    splits: dict[str, list[str]] = {name: [] for name in SPLITS}
    for cid, ident in identity_of.items():
        split = reader.index_entry(cid).get("split") or split_of_identity(ident, seed, val, test)
        splits[split].append(cid)
    writer.finalize(splits, identity_of=identity_of.__getitem__)
    empty = [name for name in SPLITS if not splits[name]]
    if identity_of and empty:
        log.warning("%s: split(s) %s hold no clip yet (%d identities); generate more clips to fill them",
                    writer.root, ", ".join(empty), len(set(identity_of.values())))
    return {"clips": len(identity_of), "splits": {k: len(v) for k, v in splits.items()}}
