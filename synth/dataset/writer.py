"""Writes the native dataset atomically and resumably: dataset.json, one directory per clip, index.jsonl."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from synth.constants import EGO16_JOINTS, HEATMAP_JOINTS
from synth.dataset import format as fmt
from synth.dataset.reader import DatasetReader, read_index
from synth.dataset.verify import FILES_SHA_KEY, manifest_bytes, verify_clip
from synth.dataset.lock import LOCK_NAME
from synth.errors import DatasetError
from synth.io import (fsync_dir, json_bytes, json_line, naming_os_errors, sha256_bytes, sha256_file,
                      write_bytes_atomic)

log = logging.getLogger(__name__)

#: Fixed zip entry time (the earliest a zip header can hold), so npz bytes depend only on the arrays.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
#: zlib level of compressed npz files (zlib's default; fixed so the bytes are reproducible).
ZIP_COMPRESS_LEVEL = 6
#: Unix host id and file mode written into every zip entry (independent of the platform writing it).
_ZIP_CREATE_SYSTEM_UNIX = 3
_ZIP_FILE_MODE = 0o644 << 16


def write_npz_deterministic(path: Path, arrays: Mapping[str, np.ndarray], compress: bool) -> str:
    """Write `arrays` as an .npz that np.load reads, with bytes that depend only on the data; return its sha256.

    np.savez stamps every zip entry with the current time, so two runs differ. Here the entries are written in
    sorted key order, each with a fixed timestamp, host system and file mode, a fixed deflate level, and the
    array made C-contiguous first (np.save writes Fortran-ordered arrays differently).
    """
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with naming_os_errors(path), open(path, "wb") as fh:
        with zipfile.ZipFile(fh, mode="w", compression=compression, compresslevel=ZIP_COMPRESS_LEVEL) as zf:
            for key in sorted(arrays):
                info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_EPOCH)
                info.compress_type = compression
                info.create_system = _ZIP_CREATE_SYSTEM_UNIX
                info.external_attr = _ZIP_FILE_MODE
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[key]), allow_pickle=False)
                zf.writestr(info, buffer.getvalue(), compress_type=compression, compresslevel=ZIP_COMPRESS_LEVEL)
        fh.flush()
        os.fsync(fh.fileno())
    return sha256_file(path)


def dataset_kind(meta: Mapping[str, Any]) -> str:
    """fmt.KIND_LABELS for a label-only dataset (image.format null), else fmt.KIND_RENDERED."""
    return fmt.KIND_LABELS if (meta.get("image") or {}).get("format") is None else fmt.KIND_RENDERED


class DatasetWriter:
    """Creates or resumes a dataset directory and commits clips one at a time.

    A clip is staged in clips/.<clip_id>.tmp/ (the renderer may put images and passes there first), moved to
    clips/<clip_id>/ with os.replace, and only then appended to index.jsonl: the index line is the commit point.
    One process owns a writer (the farm driver); workers only fill tmp dirs.
    """

    def __init__(self, out_dir: str | os.PathLike, dataset_meta: Mapping[str, Any], verify_hashes: bool = True):
        """out_dir: the dataset directory (created if needed). dataset_meta: the dataset.json keys of DESIGN
        section 7 except num_clips/clip_ids/splits (filled here); must include "config_hash". verify_hashes:
        when resuming, check the sha256 of every committed file (False: sizes only).
        """
        self.verify_hashes = verify_hashes
        self.verify_s = 0.0
        self.root = Path(out_dir)
        self.clips_dir = self.root / fmt.CLIPS_DIR
        self.dataset_json = self.root / fmt.DATASET_JSON
        self.index_path = self.root / fmt.INDEX_JSONL
        self._fresh_tmp: set[str] = set()
        meta = self._normalise_meta(dataset_meta)
        if not self.dataset_json.exists() and self.root.is_dir():
            foreign = sorted(p.name for p in self.root.iterdir() if p.name not in (LOCK_NAME, *fmt.RUN_ENTRIES))
            if foreign:
                raise DatasetError(f"{self.root}: not empty and not an egorig dataset (holds {foreign[0]!r}"
                                   f"{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''}); choose a new or "
                                   f"empty --out directory")
        self.root.mkdir(parents=True, exist_ok=True)
        self.clips_dir.mkdir(exist_ok=True)
        #: Whether this writer created the dataset (so discard_if_empty may remove it again).
        self.created = not self.dataset_json.exists()
        if self.dataset_json.exists():
            existing = self._load_existing()
            if dataset_kind(existing) != meta["kind"]:
                raise DatasetError(
                    f"{self.dataset_json}: this directory holds a {dataset_kind(existing)} dataset and this run writes "
                    f"a {meta['kind']} one; use a new --out directory (label-only and rendered clips never mix)"
                )
            if existing.get("config_hash") != meta["config_hash"]:
                raise DatasetError(
                    f"{self.dataset_json}: this directory holds a dataset with config_hash "
                    f"{existing.get('config_hash')}, but the current config has config_hash {meta['config_hash']}; "
                    f"use a new --out directory or delete {self.root} to start over"
                )
            self.meta = existing
        else:
            self.meta = meta
            write_bytes_atomic(self.dataset_json, json_bytes(meta))
        self._index = self._load_index()

    # ------------------------------------------------------------------ dataset.json
    def _normalise_meta(self, dataset_meta: Mapping[str, Any]) -> dict[str, Any]:
        meta = dict(dataset_meta)
        if not meta.get("config_hash"):
            raise DatasetError("dataset_meta: 'config_hash' is required (the hash of the resolved config)")
        version = meta.setdefault("schema_version", fmt.SCHEMA_VERSION)
        if version != fmt.SCHEMA_VERSION:
            raise DatasetError(f"dataset_meta: schema_version {version} given, this writer writes {fmt.SCHEMA_VERSION}")
        meta.setdefault("joints", list(EGO16_JOINTS))
        meta.setdefault("heatmap_joints", list(HEATMAP_JOINTS))
        meta.setdefault("heatmap", {"size": fmt.DEFAULT_HEATMAP_SIZE, "sigma": fmt.DEFAULT_HEATMAP_SIGMA_PX})
        meta.setdefault("blender_version", None)
        meta.setdefault("asset_manifest_hash", None)
        meta["kind"] = dataset_kind(meta)
        meta["num_clips"] = 0
        meta["clip_ids"] = []
        meta["splits"] = {name: [] for name in fmt.SPLITS}
        missing = [k for k in fmt.DATASET_KEYS if k not in meta]
        if missing:
            raise DatasetError(f"dataset_meta: missing keys {missing} (DESIGN section 7 lists dataset.json)")
        image = meta["image"]
        if image.get("format") not in (None, *fmt.IMAGE_FORMATS):
            raise DatasetError(f"dataset_meta: image.format {image.get('format')!r}, expected one of "
                               f"{list(fmt.IMAGE_FORMATS)} or null")
        return json.loads(json_bytes(meta))

    def _load_existing(self) -> dict[str, Any]:
        try:
            existing = json.loads(self.dataset_json.read_text())
        except (OSError, ValueError) as exc:
            raise DatasetError(
                f"{self.dataset_json}: unreadable ({exc}); delete {self.root} or use a new --out directory"
            ) from None
        if existing.get("schema_version") != fmt.SCHEMA_VERSION:
            raise DatasetError(
                f"{self.dataset_json}: schema_version {existing.get('schema_version')} cannot be resumed by this "
                f"egorig (schema {fmt.SCHEMA_VERSION}); use a new --out directory"
            )
        return existing

    # ------------------------------------------------------------------ index.jsonl
    def _load_index(self) -> dict[str, dict]:
        """The committed clips, each verified against what was committed (sizes and sha256 of every file); a
        damaged clip is removed from the index and its directory, so this run redoes it."""
        entries, torn = read_index(self.index_path)
        start = time.perf_counter()
        gone = []
        for cid, entry in entries.items():
            problems = verify_clip(self.clips_dir / cid, entry, hashes=self.verify_hashes)
            if problems:
                gone.append(cid)
                log.warning("%s: %s is damaged (%s); it will be redone", self.root, cid, "; ".join(problems[:3]))
        self.verify_s = time.perf_counter() - start
        for cid in gone:
            del entries[cid]
            damaged = self.clips_dir / cid
            if damaged.exists():
                aside = self.clips_dir / f".{cid}.damaged"
                shutil.rmtree(aside, ignore_errors=True)
                os.replace(damaged, aside)
                shutil.rmtree(aside)
        if torn or gone:
            if torn:
                log.warning("%s: dropped a torn last line left by an interrupted run", self.index_path)
            data = b"".join(json_line(e) for e in entries.values())
            write_bytes_atomic(self.index_path, data)
        return entries

    def completed_clip_ids(self) -> list[str]:
        """Ids of committed clips (those with an index.jsonl line), sorted."""
        return sorted(self._index)

    def is_complete(self, clip_id: str) -> bool:
        return clip_id in self._index

    # ------------------------------------------------------------------ clips
    def clip_dir(self, clip_id: str) -> Path:
        return self.clips_dir / clip_id

    def discard_if_empty(self) -> bool:
        """Remove the files this writer created when no clip was ever committed (a run that failed on its first
        clip leaves no dataset behind); True when removed. A resumed or non-empty dataset is never touched."""
        if not self.created or self._index or (self.index_path.exists() and self.index_path.stat().st_size):
            return False
        for tmp in self._fresh_tmp:
            shutil.rmtree(self.clips_dir / f".{tmp}.tmp", ignore_errors=True)
        self.index_path.unlink(missing_ok=True)
        self.dataset_json.unlink(missing_ok=True)
        try:
            self.clips_dir.rmdir()
        except OSError:  # something else was put there: keep it
            return False
        return True

    def clip_dir_tmp(self, clip_id: str) -> Path:
        """The staging directory clips/.<clip_id>.tmp/; the first call per clip wipes a leftover from a crash."""
        fmt.clip_index(clip_id)
        if self.is_complete(clip_id):
            raise DatasetError(f"{self.root}: {clip_id} is already complete (in {fmt.INDEX_JSONL}); skip it")
        tmp = self.clips_dir / f".{clip_id}.tmp"
        if clip_id not in self._fresh_tmp:
            if tmp.exists():
                log.info("%s: removing the partial %s left by an interrupted run", self.root, tmp.name)
                shutil.rmtree(tmp)
            self._fresh_tmp.add(clip_id)
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    def write_clip(
        self,
        clip_id: str,
        clip_meta: Mapping[str, Any],
        labels: Mapping[str, np.ndarray],
        heatmaps: np.ndarray,
        seconds: Mapping[str, float],
        split: str | None = None,
    ) -> dict:
        """Commit one clip; returns its index.jsonl entry.

        clip_meta: clip.json content (DESIGN section 7); "clip_id" and "frames" are set here.
        labels: the arrays of format.LABEL_SPECS (loss-free casts to the stored dtype are applied).
        heatmaps: (F, V, 15, SH, SW) heatmaps (dataset.json heatmap height, width), stored as float16.
        split: the clip's split (synth.dataset.splits), recorded in its index line.
        seconds: time spent per stage, recorded in the index line.
        """
        start = time.perf_counter()
        where = f"clip {clip_id}"
        labels, dims = fmt.validate_arrays(labels, fmt.LABEL_SPECS, where, coerce=True)
        dims.update(fmt.heatmap_dims(self.meta))
        hm, dims = fmt.validate_arrays({fmt.HEATMAPS_KEY: heatmaps}, (fmt.HEATMAP_SPEC,), where, dims, coerce=True)
        frame_index = labels["frame_index"]
        if frame_index.size and (frame_index.min() < 0 or np.any(np.diff(frame_index) <= 0)):
            raise DatasetError(f"{where}: frame_index must be non-negative and strictly increasing")
        views = list(clip_meta.get("views", self.meta["views"]))
        if len(views) != dims["V"]:
            raise DatasetError(f"{where}: labels have {dims['V']} views but the clip lists {views}")
        meta = dict(clip_meta)
        meta["clip_id"] = clip_id
        meta["frames"] = dims["F"]
        meta.setdefault("views", views)
        missing = [k for k in fmt.CLIP_KEYS if k not in meta]
        if missing:
            raise DatasetError(f"{where}: clip_meta lacks {missing} (DESIGN section 7 lists clip.json)")

        tmp = self.clip_dir_tmp(clip_id)
        write_bytes_atomic(tmp / fmt.CLIP_JSON, json_bytes(meta))
        labels_sha = write_npz_deterministic(tmp / fmt.LABELS_NPZ, labels, compress=False)
        heatmaps_sha = write_npz_deterministic(tmp / fmt.HEATMAPS_NPZ, hm, compress=True)
        manifest = manifest_bytes(tmp, known={fmt.LABELS_NPZ: labels_sha, fmt.HEATMAPS_NPZ: heatmaps_sha})
        write_bytes_atomic(tmp / fmt.FILES_JSON, manifest)
        files_sha = sha256_bytes(manifest)
        fsync_dir(tmp)

        final = self.clip_dir(clip_id)
        if final.exists():
            # Renamed into place by a run that died before its index line: not committed, so replace it.
            log.warning("%s: replacing the uncommitted %s from an interrupted run", self.root, clip_id)
            stale = self.clips_dir / f".{clip_id}.stale"
            if stale.exists():
                shutil.rmtree(stale)
            os.replace(final, stale)
            shutil.rmtree(stale)
        os.replace(tmp, final)
        fsync_dir(self.clips_dir)
        self._fresh_tmp.discard(clip_id)

        timing = {str(k): float(v) for k, v in seconds.items()}
        timing["write"] = time.perf_counter() - start
        entry = {
            "clip_id": clip_id,
            "frames": dims["F"],
            "seconds": timing,
            "labels_sha256": labels_sha,
            "heatmaps_sha256": heatmaps_sha,
            FILES_SHA_KEY: files_sha,
        }
        if split is not None:
            if split not in fmt.SPLITS:
                raise DatasetError(f"{where}: unknown split {split!r}; use one of {list(fmt.SPLITS)}")
            entry["split"] = split
        self._append_index(entry)
        self._index[clip_id] = entry
        return entry

    def _append_index(self, entry: dict) -> None:
        line = json_line(entry)
        with open(self.index_path, "ab") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    # ------------------------------------------------------------------ finalize
    def finalize(self, splits: Mapping[str, list[str]],
                 identity_of: Callable[[str], str] | None = None) -> dict[str, Any]:
        """Rewrite dataset.json with num_clips, sorted clip_ids and `splits` ({train, val, test}: clip ids).

        Every split id must be a completed clip, in one split only, and the splits must be identity-disjoint
        (identities read from clip.json unless `identity_of` is given). Returns the new dataset.json content.
        """
        unknown = sorted(set(splits) - set(fmt.SPLITS))
        if unknown:
            raise DatasetError(f"finalize: unknown split names {unknown}; use {list(fmt.SPLITS)}")
        identity_of = identity_of or DatasetReader(self.root).identity_of
        owner: dict[str, str] = {}
        split_of_identity: dict[str, str] = {}
        for name in fmt.SPLITS:
            for cid in splits.get(name, []):
                if cid not in self._index:
                    raise DatasetError(f"finalize: split '{name}' lists {cid}, which is not a completed clip")
                if cid in owner:
                    raise DatasetError(f"finalize: {cid} is in both '{owner[cid]}' and '{name}'")
                owner[cid] = name
                ident = identity_of(cid)
                other = split_of_identity.setdefault(ident, name)
                if other != name:
                    raise DatasetError(
                        f"finalize: identity {ident} appears in '{other}' and '{name}'; splits must be by identity"
                    )
        meta = dict(self.meta)
        meta["clip_ids"] = self.completed_clip_ids()
        meta["num_clips"] = len(meta["clip_ids"])
        meta["splits"] = {name: sorted(splits.get(name, [])) for name in fmt.SPLITS}
        write_bytes_atomic(self.dataset_json, json_bytes(meta))
        self.meta = json.loads(json_bytes(meta))
        return self.meta
