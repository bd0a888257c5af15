"""The procedural motion package keeps its public surface: one registry, every family module small, tables sane."""

from __future__ import annotations

from pathlib import Path

import synth.motions.procedural as procedural
from synth.motions.procedural import chair, floor, jump, kick, kneel, locomotion, lower_body, rhythmic, standing

PACKAGE_DIR = Path(procedural.__file__).parent
FAMILY_MODULES = (locomotion, standing, rhythmic, lower_body, kick, jump, floor, chair, kneel)
#: Names that were importable from the single-module synth.motions.procedural and must stay so.
PUBLIC_NAMES = (
    "FAMILIES", "generate", "sample_motion", "ease", "_check_families", "_GENERATORS", "COMMON_PARAMS",
    "SHAPE_DEG", "GRAVITY_M_S2", "LEG_REACH_FRACTION", "PELVIS_SOFTMIN_M", "ARM_REACH_FRACTION",
    "ARM_REACH_SOFTNESS_M", "KNEEL_KNEE_HEIGHT_M", "LONG_SIT_ANKLE_HEIGHT_M", "MAX_TURN_RATE_DEG_S",
    "WALK_PARAMS", "STAND_PARAMS", "LOOK_PARAMS", "OVERHEAD_PARAMS", "BEHIND_PARAMS", "SQUAT_PARAMS",
    "LUNGE_PARAMS", "PICK_PARAMS", "KICK_PARAMS", "SWING_PARAMS", "JUMP_PARAMS", "CRAWL_PARAMS", "SIT_PARAMS",
    "DANCE_PARAMS", "CROUCH_PARAMS",
)


def test_every_former_public_name_still_imports_from_the_package():
    missing = [name for name in PUBLIC_NAMES if not hasattr(procedural, name)]
    assert missing == []


def test_the_registry_holds_each_family_once_in_families_order():
    assert tuple(procedural._GENERATORS) == procedural.FAMILIES
    owners = [name for module in FAMILY_MODULES for name in module.GENERATORS]
    assert sorted(owners) == sorted(procedural.FAMILIES)


def test_modules_are_small_and_say_what_they_do():
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        text = path.read_text()
        assert len(text.splitlines()) <= 400, path.name
        assert text.startswith('"""'), f"{path.name} has no module docstring"
        assert max(len(line) for line in text.splitlines()) <= 120, path.name


def test_drawn_tables_hold_ordered_ranges():
    tables = {name: getattr(procedural, name) for name in PUBLIC_NAMES if name.endswith("_PARAMS")}
    ranges = {f"{m.__name__}.{k}": v for m in FAMILY_MODULES for k, v in vars(m).items() if k.endswith("_RANGES")}
    for name, table in {**tables, **ranges}.items():
        for key, value in table.items():
            lo, hi = value
            assert lo <= hi, (name, key)


def test_shape_angles_are_unique_across_modules():
    """SHAPE_DEG merges every module's fixed angles; a key defined twice would silently shadow another."""
    modules = (procedural.pose, *FAMILY_MODULES)
    tables = {id(v): v for m in modules for k, v in vars(m).items() if k.endswith("_SHAPE_DEG")}  # imports once
    keys = [k for table in tables.values() for k in table]
    assert len(keys) == len(set(keys)) == len(procedural.SHAPE_DEG)

