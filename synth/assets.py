"""Licensed assets: `assets_manifest/` loading, `asset:` references, sha256 checks, the lock file and clear reports.

Terms:

- manifest: one YAML per source in `assets_manifest/` (`AssetSource`): where to register, the licence, and the
  layout of the source's files under `<asset root>/<directory>/` (glob patterns, optional known sha256/size).
- asset root: the folder the user downloads gated data into; `assets.root` in a render config (relative to the
  config file) or the `EGORIG_ASSETS` environment variable. egorig never downloads gated data.
- asset id: `<source>/<path relative to the source directory>`, e.g. `bedlam_motions/subject_a/seq_000.npz`.
- reference: `asset:<source>` (the source directory) or `asset:<source>/<glob>` (files below it), usable in
  config fields that take paths (`body.model_dir`, `motion.files`, `appearance.hdri_files`,
  `appearance.body_textures`, `appearance.clothing_files`).
- lock: `<root>/egorig-assets.lock.json` (or `assets.lock`), written by `synth assets lock`: sha256 and size of
  every file found under each source's layout, so later runs detect changed or corrupted files. A file is
  "verified" when its sha256 equals the manifest's (for fixed releases) or the lock's.

Only verified files are trusted with pickles (see `ResolvedAssets.trusted_checksums`).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from synth.errors import AssetError, ConfigError
from synth.io import sha256_file, write_text_atomic
from synth.schema import FrozenModel, load_yaml, validation_error_line

ASSET_PREFIX = "asset:"
#: Environment variable naming the asset root when the config has no `assets.root`.
ASSETS_ENV = "EGORIG_ASSETS"
#: Lock file name inside the asset root (default location).
LOCK_FILE_NAME = "egorig-assets.lock.json"
LOCK_SCHEMA_VERSION = 1
#: The manifests shipped with the repository.
DEFAULT_MANIFEST_DIR = Path(__file__).resolve().parents[1] / "assets_manifest"
_GLOB_CHARS = set("*?[")

SourceKind = Literal["body_model", "body_texture", "clothing", "motion", "hdri"]
Status = Literal["ok", "unverified", "missing", "mismatch", "optional"]
#: Statuses that stop a config from running.
BLOCKING: tuple[str, ...] = ("missing", "mismatch")


class ManifestFile(FrozenModel):
    """One layout entry: a path or glob relative to the source directory, with its checksum when it is known."""

    path: str = Field(min_length=1)
    description: str = ""
    required: bool = True
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    size: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _checksums_need_a_fixed_path(self) -> "ManifestFile":
        if self.path.startswith("/") or ".." in Path(self.path).parts:
            raise ValueError(f"path must stay inside the source directory, got {self.path!r}")
        if (self.sha256 or self.size is not None) and is_glob(self.path):
            raise ValueError("sha256/size apply to one file: give a path without wildcards")
        return self


class AssetSource(FrozenModel):
    """One licensed source (a YAML file in assets_manifest/)."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1)
    kind: SourceKind
    homepage: str = Field(pattern=r"^https?://")
    registration_url: str | None = Field(None, pattern=r"^https?://")
    licence: str = Field(min_length=1)
    licence_url: str | None = Field(None, pattern=r"^https?://")
    registration_required: bool
    redistributable: bool
    directory: str = Field(min_length=1, description="folder under the asset root")
    scale_to_m: float = Field(1.0, gt=0.0, description="length unit of the files in metres (clothing caches)")
    notes: str = ""
    files: tuple[ManifestFile, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _gated_rules(self) -> "AssetSource":
        if self.registration_required and self.redistributable:
            raise ValueError("a source that needs registration cannot be redistributable")
        if self.registration_required and not self.registration_url:
            raise ValueError("registration_required sources need a registration_url")
        return self

    @property
    def where_to_get(self) -> str:
        return self.registration_url or self.homepage


@dataclass(frozen=True)
class AssetManifest:
    """All sources of a manifest directory; `hash` covers their canonical content."""

    directory: Path
    sources: dict[str, AssetSource]
    hash: str

    def source(self, source_id: str, where: str = "asset reference") -> AssetSource:
        if source_id not in self.sources:
            raise ConfigError(where, "asset source",
                              f"unknown asset source {source_id!r}; known: {', '.join(sorted(self.sources))} "
                              f"(one YAML per source in {self.directory})")
        return self.sources[source_id]


def is_glob(text: str) -> bool:
    return any(c in _GLOB_CHARS for c in text)


def is_asset_ref(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(ASSET_PREFIX)


def parse_ref(ref: str) -> tuple[str, str]:
    """`asset:<source>[/<glob>]` -> (source id, glob relative to the source directory; "" for the directory)."""
    body = ref[len(ASSET_PREFIX):].strip("/")
    source, _, rest = body.partition("/")
    return source, rest


# ----------------------------------------------------------------------------------------------------------------
# Manifest loading
def load_manifest(directory: str | Path | None = None) -> AssetManifest:
    """Load and validate every `*.yaml` source in `directory` (default: the repository's assets_manifest/).

    Raises ConfigError(file, field, problem) with one line for a bad file.
    """
    directory = Path(directory) if directory is not None else DEFAULT_MANIFEST_DIR
    if not directory.is_dir():
        raise ConfigError(str(directory), "-", "asset manifest directory not found; set assets.manifest_dir")
    sources: dict[str, AssetSource] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = load_yaml(path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigError(str(path), f"byte {exc.start}", "not UTF-8 text; save the manifest as UTF-8") from None
        except yaml.YAMLError as exc:
            raise ConfigError(str(path), "-", f"YAML syntax error: {getattr(exc, 'problem', exc)}") from None
        if not isinstance(data, dict):
            raise ConfigError(str(path), "-", "top level must be a mapping of keys")
        try:
            source = AssetSource.model_validate(data)
        except ValidationError as exc:
            where, problem = validation_error_line(exc, AssetSource)
            raise ConfigError(str(path), where, problem) from None
        if source.id != path.stem:
            raise ConfigError(str(path), "id", f"must equal the file name {path.stem!r}, got {source.id!r}")
        sources[source.id] = source
    if not sources:
        raise ConfigError(str(directory), "-", "no *.yaml asset sources found")
    canonical = json.dumps({k: s.model_dump(mode="json") for k, s in sorted(sources.items())}, sort_keys=True,
                           separators=(",", ":"))
    return AssetManifest(directory, sources, hashlib.sha256(canonical.encode()).hexdigest())


def resolve_root(root: str | Path | None, base_dir: str | Path | None = None) -> Path | None:
    """The asset root: `root` (relative to base_dir) if given, else $EGORIG_ASSETS, else None."""
    value = str(root) if root else os.environ.get(ASSETS_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None and root:
        path = Path(base_dir) / path
    return path.resolve()


def default_lock_path(root: Path) -> Path:
    return root / LOCK_FILE_NAME


# ----------------------------------------------------------------------------------------------------------------
# Lock
def read_lock(path: Path) -> dict[str, dict[str, Any]]:
    """{asset id: {"sha256", "size"}} from a lock file ({} when it does not exist)."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        files = data["files"]
        if data.get("schema_version") != LOCK_SCHEMA_VERSION or not isinstance(files, dict):
            raise ValueError("unexpected layout")
    except (ValueError, KeyError, TypeError) as exc:
        raise AssetError(f"{path}: not a valid egorig asset lock ({exc}); delete it and run `synth assets lock`")
    return files


def _source_files(source: AssetSource, root: Path) -> dict[str, tuple[Path, ManifestFile]]:
    """{asset id: (path, layout entry)} of every file found under the source's layout."""
    base = root / source.directory
    found: dict[str, tuple[Path, ManifestFile]] = {}
    for entry in source.files:
        for match in sorted(glob.glob(str(base / entry.path), recursive=True)):
            p = Path(match)
            if p.is_file():
                found.setdefault(f"{source.id}/{p.relative_to(base).as_posix()}", (p, entry))
    return found


def write_lock(manifest: AssetManifest, root: Path, lock_path: Path | None = None,
               sources: Iterable[str] | None = None) -> tuple[Path, int]:
    """Record sha256 + size of every file found under each source's layout (atomically).

    sources: limit to these source ids (entries of other sources already in the lock are kept).
    Returns (lock path, number of files recorded for the chosen sources).
    """
    lock_path = Path(lock_path) if lock_path is not None else default_lock_path(root)
    chosen = list(sources) if sources else sorted(manifest.sources)
    for s in chosen:
        manifest.source(s, "--source")
    files = {k: v for k, v in read_lock(lock_path).items() if k.split("/", 1)[0] not in chosen}
    count = 0
    for s in chosen:
        for asset_id, (path, _) in _source_files(manifest.sources[s], root).items():
            files[asset_id] = {"sha256": sha256_file(path), "size": path.stat().st_size}
            count += 1
    payload = {"schema_version": LOCK_SCHEMA_VERSION, "manifest_hash": manifest.hash,
               "files": dict(sorted(files.items()))}
    write_text_atomic(lock_path, json.dumps(payload, indent=1, sort_keys=True) + "\n")
    return lock_path, count


# ----------------------------------------------------------------------------------------------------------------
# Checking
@dataclass(frozen=True)
class FileStatus:
    """One file's state. path: where it is, or where it must be put (may contain a glob for a missing entry)."""

    asset_id: str
    source: str
    path: Path
    status: Status
    detail: str = ""
    sha256: str | None = None
    size: int | None = None


def _verify(source: AssetSource, asset_id: str, path: Path, entry: ManifestFile | None,
            lock: dict[str, dict[str, Any]]) -> FileStatus:
    size = path.stat().st_size
    expected, origin = (entry.sha256, "manifest") if entry is not None and entry.sha256 else (None, "")
    expected_size = entry.size if entry is not None and entry.sha256 else None
    if expected is None and asset_id in lock:
        expected, origin = lock[asset_id].get("sha256"), "lock"
        expected_size = lock[asset_id].get("size")
    if expected is None:
        return FileStatus(asset_id, source.id, path, "unverified", "no checksum recorded; run `synth assets lock`",
                          None, size)
    if expected_size is not None and expected_size != size:
        return FileStatus(asset_id, source.id, path, "mismatch",
                          f"size {size} B != {expected_size} B recorded in the {origin}", None, size)
    digest = sha256_file(path)
    if digest != expected:
        return FileStatus(asset_id, source.id, path, "mismatch",
                          f"sha256 {digest[:12]}... != {expected[:12]}... recorded in the {origin}", digest, size)
    return FileStatus(asset_id, source.id, path, "ok", f"sha256 matches the {origin}", digest, size)


def _layout_entry(source: AssetSource, rel: str) -> ManifestFile | None:
    from fnmatch import fnmatch

    return next((e for e in source.files if fnmatch(rel, e.path)), None)


def check_source(source: AssetSource, root: Path, lock: dict[str, dict[str, Any]]) -> list[FileStatus]:
    """Status of every layout entry of a source: found files verified, absent entries missing (or optional)."""
    base = root / source.directory
    found = _source_files(source, root)
    out: list[FileStatus] = []
    for entry in source.files:
        matches = [(k, p) for k, (p, e) in found.items() if e is entry]
        if not matches:
            status: Status = "missing" if entry.required else "optional"
            out.append(FileStatus(f"{source.id}/{entry.path}", source.id, base / entry.path, status,
                                  entry.description))
        for asset_id, path in matches:
            out.append(_verify(source, asset_id, path, entry, lock))
    return out


def check_ref(manifest: AssetManifest, root: Path, ref: str, lock: dict[str, dict[str, Any]],
              where: str = "asset reference") -> list[FileStatus]:
    """Status of the files an `asset:` reference selects (a directory reference checks the whole source)."""
    source_id, pattern = parse_ref(ref)
    source = manifest.source(source_id, where)
    if not pattern:
        return check_source(source, root, lock)
    base = root / source.directory
    matches = [Path(m) for m in sorted(glob.glob(str(base / pattern), recursive=True)) if Path(m).is_file()]
    if not matches:
        entry = _layout_entry(source, pattern)
        return [FileStatus(f"{source.id}/{pattern}", source.id, base / pattern, "missing",
                           entry.description if entry else f"selected by {where}")]
    out = []
    for p in matches:
        rel = p.relative_to(base).as_posix()
        out.append(_verify(source, f"{source.id}/{rel}", p, _layout_entry(source, rel), lock))
    return out


def format_report(manifest: AssetManifest, statuses: list[FileStatus], root: Path | None) -> str:
    """Human-readable listing grouped by source: status, file, and where to register / put missing files."""
    lines = [f"asset root: {root if root is not None else '(not set: use assets.root or $' + ASSETS_ENV + ')'}"]
    by_source: dict[str, list[FileStatus]] = {}
    for st in statuses:
        by_source.setdefault(st.source, []).append(st)
    for sid, items in by_source.items():
        src = manifest.sources[sid]
        gate = f"register at {src.registration_url}" if src.registration_required else f"get it from {src.homepage}"
        lines.append(f"{sid}: {src.name} (licence: {src.licence}; {gate})")
        for st in items:
            text = f"  {st.status:10s} {st.asset_id}"
            if st.status == "missing":
                text += f" -> put it at {st.path}" + (f" ({st.detail})" if st.detail else "")
                text += f"; download from {src.where_to_get}"
            elif st.status == "mismatch":
                text += (f" ({st.detail}) at {st.path}: re-download it from {src.where_to_get}, or run "
                         f"`synth assets lock` if you changed it on purpose")
            elif st.detail:
                text += f" ({st.detail})"
            lines.append(text)
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------
# Config resolution (preflight)
@dataclass
class ResolvedAssets:
    """The licensed files one render config uses, checked; everything a clip needs to record and trust them."""

    manifest: AssetManifest
    root: Path | None
    statuses: list[FileStatus] = field(default_factory=list)
    by_ref: dict[str, list[FileStatus]] = field(default_factory=dict)

    @property
    def used(self) -> bool:
        return bool(self.by_ref)

    @property
    def problems(self) -> list[FileStatus]:
        return [s for s in self.statuses if s.status in BLOCKING]

    def paths(self, ref: str) -> list[Path]:
        """Existing files selected by a file reference, sorted."""
        return [s.path for s in self.by_ref[ref] if s.status not in ("missing", "optional")]

    def directory(self, ref: str) -> Path:
        """The directory a directory reference (`asset:<source>`) points at."""
        assert self.root is not None
        source_id, pattern = parse_ref(ref)
        return self.root / self.manifest.sources[source_id].directory / pattern

    def source_of(self, path: str | Path) -> AssetSource | None:
        st = self._status_of(path)
        return self.manifest.sources[st.source] if st is not None else None

    def _status_of(self, path: str | Path) -> FileStatus | None:
        p = Path(path).resolve()
        return next((s for s in self.statuses if s.status not in ("missing", "optional") and s.path.resolve() == p),
                    None)

    def sha256_of(self, path: str | Path) -> str | None:
        """The sha256 this resolution computed for a used file (None when it is not a licensed file)."""
        st = self._status_of(path)
        return st.sha256 if st is not None else None

    def record(self, path: str | Path) -> dict[str, Any] | None:
        """clip.json entry of a used file: {"id", "source", "licence", "sha256"} (None when not a licensed asset)."""
        st = self._status_of(path)
        if st is None:
            return None
        return {"id": st.asset_id, "source": st.source, "licence": self.manifest.sources[st.source].licence,
                "sha256": st.sha256}

    def trusted_checksums(self) -> dict[str, str]:
        """{absolute path: sha256} of files verified against the manifest or the lock (the only ones that may be
        unpickled, and only while their content still has this digest)."""
        return {str(s.path.resolve()): s.sha256 for s in self.statuses if s.status == "ok" and s.sha256}

    @property
    def manifest_hash(self) -> str | None:
        """sha256 over the manifests of the used sources and the digests/sizes of the used files (None if unused)."""
        if not self.used:
            return None
        used_sources = sorted({s.source for s in self.statuses})
        payload = {
            "sources": {sid: self.manifest.sources[sid].model_dump(mode="json") for sid in used_sources},
            "files": {s.asset_id: [s.sha256, s.size] for s in sorted(self.statuses, key=lambda s: s.asset_id)
                      if s.status in ("ok", "unverified")},
        }
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def config_asset_refs(cfg: Any) -> list[tuple[str, str]]:
    """(field path, reference) of every `asset:` reference in a RenderConfig, in field order."""
    refs: list[tuple[str, str]] = []
    if is_asset_ref(cfg.body.model_dir):
        refs.append(("body.model_dir", cfg.body.model_dir))
    for name, values in (("motion.files", cfg.motion.files), ("appearance.hdri_files", cfg.appearance.hdri_files),
                         ("appearance.body_textures", cfg.appearance.body_textures),
                         ("appearance.clothing_files", cfg.appearance.clothing_files)):
        refs += [(f"{name}[{i}]", v) for i, v in enumerate(values) if is_asset_ref(v)]
    return refs


def resolve_config_assets(cfg: Any, config_dir: str | Path | None = None) -> ResolvedAssets:
    """Check every licensed file a config names; AssetError listing missing/mismatched files before any work.

    Returns the resolution (empty when the config names no `asset:` reference). With
    `assets.require_checksums`, files without a recorded checksum also stop the run.
    """
    manifest_dir = cfg.assets.manifest_dir
    if manifest_dir and config_dir is not None and not Path(manifest_dir).is_absolute():
        manifest_dir = Path(config_dir) / manifest_dir
    manifest = load_manifest(manifest_dir)
    refs = config_asset_refs(cfg)
    root = resolve_root(cfg.assets.root, config_dir)
    resolved = ResolvedAssets(manifest, root)
    if not refs:
        return resolved
    for where, ref in refs:
        manifest.source(parse_ref(ref)[0], where)
    if root is None:
        raise AssetError(
            f"the config names licensed assets ({', '.join(r for _, r in refs)}) but no asset root is set: set "
            f"assets.root in the config or ${ASSETS_ENV}, then run `synth assets check` for where each file goes"
        )
    lock_path = Path(cfg.assets.lock) if cfg.assets.lock else default_lock_path(root)
    if cfg.assets.lock and config_dir is not None and not lock_path.is_absolute():
        lock_path = Path(config_dir) / lock_path
    lock = read_lock(lock_path)
    seen: dict[str, FileStatus] = {}
    for where, ref in refs:
        statuses = check_ref(manifest, root, ref, lock, where)
        resolved.by_ref[ref] = statuses
        for st in statuses:
            seen.setdefault(st.asset_id + str(st.path), st)
    resolved.statuses = list(seen.values())
    blocking = list(BLOCKING) + (["unverified"] if cfg.assets.require_checksums else [])
    bad = [s for s in resolved.statuses if s.status in blocking]
    if bad:
        counts = ", ".join(f"{sum(s.status == k for s in bad)} {k}" for k in blocking
                           if any(s.status == k for s in bad))
        raise AssetError(f"licensed assets needed by this config are not usable ({counts}); nothing was generated:\n"
                         + format_report(manifest, bad, root))
    return resolved
