"""The files a config samples clips from: licensed assets through the manifest, plain paths and globs relative to
the config, resolved and checked once, before any work starts (bad input fails in a blink, naming the field)."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

from synth.assets import ResolvedAssets, is_asset_ref, resolve_config_assets
from synth.builtin import expand_builtin, is_builtin_ref
from synth.config import RenderConfig
from synth.errors import CONFIG_PLACEHOLDER, ConfigError


class ContentFiles:
    """Motion files, body textures, HDRIs and clothing caches of one config, with the licensed-asset records.

    assets: the verified licensed files (resolve_config_assets). motions / textures / hdris: lists of paths.
    clothing: {pair key: cache path}; a motion file and its clothing cache share a pair key (pair_key).
    """

    def __init__(self, cfg: RenderConfig, config_dir: Path | None = None, assets: ResolvedAssets | None = None):
        from synth.appearance.sampling import validate_hdri_paths

        self.cfg = cfg
        self.config_dir = config_dir
        # Preflight: every licensed file the config names is present and unchanged before any work starts.
        self.assets = assets if assets is not None else resolve_config_assets(cfg, config_dir)
        app = cfg.appearance
        self.hdris: tuple[str, ...] = validate_hdri_paths(self.resolve(app.hdri_files, "appearance.hdri_files",
                                                                  must_match=False))
        self.motions: list[Path] = (self.resolve(cfg.motion.files, "motion.files")
                                    if cfg.motion.source == "npz" else [])
        self.textures: list[Path] = self.resolve(app.body_textures, "appearance.body_textures")
        self.clothing: dict[str, Path] = {self.pair_key(p): p
                                          for p in self.resolve(app.clothing_files, "appearance.clothing_files")}

    def resolve(self, values: tuple[str, ...], where: str, must_match: bool = True) -> list[Path]:
        """Files named by a config list: `asset:` references through the manifest, `builtin:` globs in the free data
        the installed bpy wheel ships (builtin_paths), else paths/globs relative to the config file (ConfigError
        naming `where[i]` when a pattern matches nothing and must_match)."""
        files: list[Path] = []
        for i, pattern in enumerate(values):
            if is_asset_ref(pattern):
                files.extend(self.assets.paths(pattern))
                continue
            if is_builtin_ref(pattern):
                files.extend(Path(ref) for ref in expand_builtin(pattern, f"{where}[{i}]"))
                continue
            p = Path(pattern).expanduser()
            if not p.is_absolute() and self.config_dir is not None:
                p = self.config_dir / p
            matches = sorted(glob.glob(str(p)))
            if not matches and must_match:
                raise ConfigError(CONFIG_PLACEHOLDER, f"{where}[{i}]", f"no file matches {str(p)!r}")
            files.extend([Path(m) for m in matches] if matches else [p])
        return files

    def pair_key(self, path: Path) -> str:
        """What pairs a motion file with its clothing cache: the path below its asset source directory without
        the extension (`<subject>/<sequence>`), or the file stem for plain paths."""
        source = self.assets.source_of(path)
        if source is not None and self.assets.root is not None:
            rel = Path(path).resolve().relative_to((self.assets.root / source.directory).resolve())
            return rel.with_suffix("").as_posix()
        return Path(path).stem

    def subject_textures(self, motion_path: Path | None) -> list[Path]:
        """The motion subject's own body textures (`<subject>/...` in both sources) when there are any, else all."""
        if motion_path is None or "/" not in self.pair_key(motion_path):
            return self.textures
        subject = self.pair_key(motion_path).split("/")[0]
        own = [t for t in self.textures if self.pair_key(t).split("/")[0] == subject]
        return own or self.textures

    def clothing_for(self, motion_path: Path | None) -> Path | None:
        """The clothing cache simulated on this motion file, or None."""
        if not self.clothing or motion_path is None:
            return None
        return self.clothing.get(self.pair_key(motion_path))

    def scale_to_m(self, path: Path) -> float:
        """File unit of a licensed file in metres (1 for plain files)."""
        source = self.assets.source_of(path)
        return source.scale_to_m if source is not None else 1.0

    def records(self, used: list[str]) -> list[dict[str, Any]]:
        """clip.json "assets": {"id", "source", "licence", "sha256"} of every licensed file among `used`."""
        records = [self.assets.record(p) for p in used]
        return [r for r in records if r is not None]
