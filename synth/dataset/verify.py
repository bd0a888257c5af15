"""Is a committed clip still what was committed? Its files against the manifest its index line vouches for.

At commit the writer records every file of the clip directory (size and sha256) in clips/<id>/files.json and the
manifest's sha256 in the index line. verify_clip re-reads them: sizes only (fast) or sizes and digests (full).
Clips committed before manifests existed are checked by their labels/heatmaps digests in the index line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synth.dataset import format as fmt
from synth.io import json_bytes, sha256_bytes, sha256_file

#: Index-line key holding the sha256 of the clip's files.json.
FILES_SHA_KEY = "files_sha256"


def manifest_bytes(clip_dir: Path, known: dict[str, str] | None = None) -> bytes:
    """files.json of a clip directory: {relative posix path: {"bytes", "sha256"}} of every other file, sorted.

    known: {relative path: sha256} the caller already computed while writing those files (not hashed again)."""
    known = known or {}
    out = {}
    for path in sorted(p for p in Path(clip_dir).rglob("*") if p.is_file()):
        rel = path.relative_to(clip_dir).as_posix()
        if rel != fmt.FILES_JSON:
            out[rel] = {"bytes": path.stat().st_size, "sha256": known.get(rel) or sha256_file(path)}
    return json_bytes(out)


def verify_clip(clip_dir: Path, entry: dict[str, Any], hashes: bool = True) -> list[str]:
    """Problems of one committed clip (empty when intact): missing, resized, changed or unexpected files."""
    clip_dir = Path(clip_dir)
    if not clip_dir.is_dir():
        return ["its directory is missing"]
    if FILES_SHA_KEY not in entry:  # committed before manifests: the two digests the index line holds
        expected = {fmt.LABELS_NPZ: {"sha256": entry.get("labels_sha256")},
                    fmt.HEATMAPS_NPZ: {"sha256": entry.get("heatmaps_sha256")}}
        extra_allowed = True
    else:
        path = clip_dir / fmt.FILES_JSON
        try:
            raw = path.read_bytes()
        except OSError:
            return [f"{fmt.FILES_JSON} is missing"]
        if sha256_bytes(raw) != entry[FILES_SHA_KEY]:
            return [f"{fmt.FILES_JSON} was changed"]
        expected = json.loads(raw)
        extra_allowed = False
    problems = []
    for rel, want in expected.items():
        path = clip_dir / rel
        if not path.is_file():
            problems.append(f"{rel} is missing")
        elif "bytes" in want and path.stat().st_size != want["bytes"]:
            problems.append(f"{rel} has {path.stat().st_size} bytes, {want['bytes']} were committed")
        elif (hashes or "bytes" not in want) and want.get("sha256") and sha256_file(path) != want["sha256"]:
            problems.append(f"{rel} was changed (sha256 differs)")
    if not extra_allowed:
        present = {p.relative_to(clip_dir).as_posix() for p in clip_dir.rglob("*") if p.is_file()}
        unexpected = sorted(present - set(expected) - {fmt.FILES_JSON})
        problems += [f"{rel} was added after the commit" for rel in unexpected]
    return problems


def verify_dataset(root: Path, hashes: bool = True) -> dict[str, list[str]]:
    """{clip_id: problems} of every damaged committed clip of a dataset (empty when the dataset is intact)."""
    from synth.dataset.reader import DatasetReader

    reader = DatasetReader(root)
    damaged = {}
    for clip_id in reader.clip_ids:
        problems = verify_clip(Path(root) / fmt.CLIPS_DIR / clip_id, reader.index_entry(clip_id), hashes)
        if problems:
            damaged[clip_id] = problems
    return damaged
