"""Only synth/blender/ may import bpy or mathutils (scanned with ast over synth/ and train/)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"bpy", "mathutils"}
ALLOWED_DIR = ROOT / "synth" / "blender"


def _imported_roots(tree: ast.AST) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
            "import_module", "__import__"
        ):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                roots.add(node.args[0].value.split(".")[0])
    return roots


def test_bpy_only_under_synth_blender():
    offenders = []
    files = [p for d in ("synth", "train") for p in (ROOT / d).rglob("*.py")]
    assert files, "no source files found"
    for path in files:
        if ALLOWED_DIR in path.parents:
            continue
        bad = _imported_roots(ast.parse(path.read_text(), filename=str(path))) & FORBIDDEN
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "bpy/mathutils imported outside synth/blender/: " + "; ".join(offenders)


def test_scanner_detects_imports():
    src = "import bpy\nfrom mathutils import Matrix\nimport importlib\nimportlib.import_module('bpy.types')\n"
    assert _imported_roots(ast.parse(src)) >= {"bpy", "mathutils"}
    assert not _imported_roots(ast.parse("import numpy as np\n")) & FORBIDDEN
