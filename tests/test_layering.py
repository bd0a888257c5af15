"""The package layering of README's architecture section: no module imports one from a layer above it, and only
the run layer, the farm worker and synth/blender/ itself import synth.blender (scanned with ast, lazy imports
included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Layers from the bottom up; a module belongs to the layer of its longest matching prefix.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("synth", "synth.constants", "synth.errors", "synth.io", "synth.schema", "synth.dataset.format"),
    ("synth.assets",),
    ("synth.config", "synth.render_settings", "synth.grid"),
    ("synth.geometry",),
    ("synth.motions",),
    ("synth.bodies",),
    ("synth.appearance",),
    ("synth.scene.spec",),
    ("synth.labels",),
    ("synth.dataset",),
    ("synth.viz",),
    ("synth.scene",),
    ("synth.blender",),
    ("synth.run",),
    ("synth.farm",),
    ("synth.studies", "synth.demo", "synth.rig_import"),
    ("synth.cli", "synth.commands", "synth.assets_cli"),
    ("train",),
)
#: Who may import synth.blender besides synth/blender/ itself.
BLENDER_IMPORTERS = ("synth.run", "synth.farm.worker")
#: Modules nothing in the library may import (entry points).
ENTRY_POINTS = ("synth.cli", "synth.commands", "synth.assets_cli")


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    return rank


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every synth/train module `path` imports (absolute and relative, at any depth of the file)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            # `from synth.dataset import format` imports the submodule synth.dataset.format.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in ("synth", "train") and layer_of(m) >= 0}


def _sources() -> list[Path]:
    return sorted(p for d in ("synth", "train") for p in (ROOT / d).rglob("*.py"))


def _resolves(name: str) -> bool:
    """Whether `name` is a module or package of the tree (not a class or function imported from one)."""
    rel = Path(*name.split("."))
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def test_every_module_has_a_layer():
    missing = [module_name(p) for p in _sources() if layer_of(module_name(p)) < 0]
    assert not missing, f"modules outside every layer (add them to LAYERS and README's diagram): {missing}"


def test_no_module_imports_one_above_it():
    offenders = []
    for path in _sources():
        me = module_name(path)
        for other in imports(path):
            if _resolves(other) and layer_of(other) > layer_of(me):
                offenders.append(f"{me} (layer {layer_of(me)}) imports {other} (layer {layer_of(other)})")
    assert not offenders, "\n".join(sorted(offenders))


def test_only_the_run_layer_and_farm_worker_import_synth_blender():
    offenders = []
    for path in _sources():
        me = module_name(path)
        if me.startswith("synth.blender") or any(me == p or me.startswith(p + ".") for p in BLENDER_IMPORTERS):
            continue
        if any(m == "synth.blender" or m.startswith("synth.blender.") for m in imports(path)):
            offenders.append(me)
    assert not offenders, f"synth.blender imported outside the run layer and the farm worker: {offenders}"


def test_library_never_imports_the_command_line():
    offenders = [f"{module_name(p)} imports {m}" for p in _sources() if module_name(p) not in ENTRY_POINTS
                 for m in imports(p) if any(m == e or m.startswith(e + ".") for e in ENTRY_POINTS)]
    assert not offenders, offenders


@pytest.mark.parametrize("src, module, expected", [
    ("from synth.run.clip import produce_clip\n", "synth.labels.compute", "synth.run.clip"),
    ("def f():\n    import synth.blender.scene\n", "synth.scene.files", "synth.blender.scene"),
    ("from ..dataset import reader\n", "synth.labels.compute", "synth.dataset.reader"),
])
def test_scanner_sees_lazy_and_relative_imports(tmp_path, monkeypatch, src, module, expected):
    path = ROOT / Path(*module.split(".")).with_suffix(".py")
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: src if self == path else "")
    assert expected in imports(path)
    assert layer_of(expected) > layer_of(module)
