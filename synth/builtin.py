"""Free data that ships with the bpy wheel, named portably in configs and clip.json: `builtin:<folder>/<file>`.

`builtin:hdri/*.exr` names the eight CC0 world HDRIs of Blender's studio lights (1024 x 512 px, Poly Haven; the
licence file lies beside them in the wheel). A reference stays a reference in every output (clip.json records
`builtin:hdri/city.exr`, not a path on one machine) and is turned into a file only where the file is read. The bpy
package is located without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from synth.errors import CONFIG_PLACEHOLDER, ConfigError

#: Config values naming free data that ships with the bpy wheel start with this.
BUILTIN_PREFIX = "builtin:"
#: The folders under `builtin:` and where they lie inside the bpy package's version folder.
BUILTIN_FOLDERS = {"hdri": ("datafiles", "studiolights", "world")}


def is_builtin_ref(value: object) -> bool:
    return isinstance(value, str) and value.startswith(BUILTIN_PREFIX)


def _folder(folder: str) -> Path | None:
    """The bpy wheel's directory for a builtin folder, or None when bpy is not installed."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    versions = sorted(p for p in package.iterdir() if p.is_dir() and p.name[:1].isdigit())
    return versions[-1].joinpath(*BUILTIN_FOLDERS[folder]) if versions else None


def expand_builtin(value: str, where: str = "builtin") -> list[str]:
    """The references a `builtin:<folder>/<glob>` value names, one per file, sorted (e.g. `builtin:hdri/*.exr` ->
    `builtin:hdri/city.exr`, ...). ConfigError naming `where` when the folder is unknown, bpy is missing or the
    glob matches nothing."""
    folder, _, pattern = value[len(BUILTIN_PREFIX):].partition("/")
    if folder not in BUILTIN_FOLDERS or not pattern:
        raise ConfigError(CONFIG_PLACEHOLDER, where, f"{value!r}: use builtin:<folder>/<glob> with a folder of "
                                                     f"{sorted(BUILTIN_FOLDERS)}, e.g. builtin:hdri/*.exr")
    base = _folder(folder)
    if base is None:
        raise ConfigError(CONFIG_PLACEHOLDER, where, f"{value!r} needs the bpy wheel installed (pip install bpy)")
    names = sorted(p.name for p in base.glob(pattern) if p.is_file())
    if not names:
        raise ConfigError(CONFIG_PLACEHOLDER, where, f"{value!r} matches no file in {base}")
    return [f"{BUILTIN_PREFIX}{folder}/{name}" for name in names]


def builtin_file(ref: str) -> Path:
    """The file a single `builtin:<folder>/<file>` reference names on this machine (it may not exist)."""
    folder, _, name = ref[len(BUILTIN_PREFIX):].partition("/")
    base = _folder(folder) if folder in BUILTIN_FOLDERS else None
    return base / name if base is not None else Path(ref)
