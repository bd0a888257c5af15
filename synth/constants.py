"""Named joint, view and group lists shared by the generator and the trainer (DESIGN sections 2 and 3)."""

from __future__ import annotations

#: EGO16 joint names in Ego4View / UnrealEgo order (anatomically: head, neck, shoulders, elbows, wrists,
#: hips, knees, ankles, toe balls).
EGO16_JOINTS: tuple[str, ...] = (
    "head",
    "neck",
    "left_upperarm",
    "right_upperarm",
    "left_lowerarm",
    "right_lowerarm",
    "left_hand",
    "right_hand",
    "left_thigh",
    "right_thigh",
    "left_calf",
    "right_calf",
    "left_foot",
    "right_foot",
    "left_ball",
    "right_ball",
)
NUM_JOINTS = len(EGO16_JOINTS)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(EGO16_JOINTS)}

#: Joint names as written in the Ego4View-Syn per-frame JSON (same order as EGO16_JOINTS).
EGO4VIEW_JOINT_NAMES: tuple[str, ...] = (
    "Head",
    "Neck",
    "LeftArm",
    "RightArm",
    "LeftForeArm",
    "RightForeArm",
    "LeftHand",
    "RightHand",
    "LeftUpLeg",
    "RightUpLeg",
    "LeftLeg",
    "RightLeg",
    "LeftFoot",
    "RightFoot",
    "LeftToeBase",
    "RightToeBase",
)

#: Heatmaps cover every joint after the head (15 channels).
HEATMAP_JOINTS: tuple[str, ...] = EGO16_JOINTS[1:]
NUM_HEATMAP_JOINTS = len(HEATMAP_JOINTS)

#: Default view names, in this order (a custom rig may define others).
VIEWS: tuple[str, ...] = ("front_left", "front_right", "back_left", "back_right")
FRONT_VIEWS: tuple[str, ...] = VIEWS[:2]
BACK_VIEWS: tuple[str, ...] = VIEWS[2:]

#: Skeleton edges for drawing (UnrealEgo / Ego4View visualisation, plus the hip bar).
SKELETON_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7), (2, 8), (3, 9),
    (8, 10), (9, 11), (10, 12), (11, 13), (12, 14), (13, 15), (8, 9),
)

#: Joint groups for per-group metrics (paper Table 4), by EGO16 joint name.
JOINT_GROUP_NAMES: dict[str, tuple[str, ...]] = {
    "head": ("head",),
    "neck": ("neck",),
    "arms": ("left_upperarm", "right_upperarm"),
    "forearms": ("left_lowerarm", "right_lowerarm"),
    "hands": ("left_hand", "right_hand"),
    "upper_legs": ("left_thigh", "right_thigh"),
    "legs": ("left_calf", "right_calf"),
    "feet": ("left_foot", "right_foot"),
    "toes": ("left_ball", "right_ball"),
    "upper_body": EGO16_JOINTS[:8],
    "lower_body": EGO16_JOINTS[8:],
    "all": EGO16_JOINTS,
}
#: The same groups as EGO16 indices (what metrics index arrays with).
JOINT_GROUPS: dict[str, tuple[int, ...]] = {
    group: tuple(JOINT_INDEX[name] for name in names) for group, names in JOINT_GROUP_NAMES.items()
}

#: End effectors reported in the visibility table (paper Table 2).
END_EFFECTORS: tuple[str, ...] = ("left_hand", "right_hand", "left_foot", "right_foot")

#: Visibility codes (DESIGN section 6).
VIS_OUTSIDE = 0
VIS_OCCLUDED = 1
VIS_VISIBLE = 2

#: Occluder codes: what the camera->joint ray hit first. The renderer's object-index pass uses the same codes
#: (body, garment, scene and hair objects carry pass index OCC_BODY, OCC_GARMENT, OCC_SCENE, OCC_HAIR; 0 is the
#: background).
OCC_NONE = 0
OCC_BODY = 1
OCC_GARMENT = 2
OCC_SCENE = 3
OCC_HAIR = 4

#: Strand hair styles (synth/appearance/hair.py) and the style key of a clip without strands.
HAIR_STYLES: tuple[str, ...] = ("buzz", "short", "bob", "long", "ponytail", "bun")
NO_HAIR = "none"

#: Half side of the square ground at z = 0 every clip stands on (labels ray-cast it, Cycles renders it), m.
GROUND_HALF_SIZE_M = 200.0

#: Heatmap defaults, as in Ego4View: side (cells) and Gaussian sigma (heatmap cells).
DEFAULT_HEATMAP_SIZE = 64
DEFAULT_HEATMAP_SIGMA_PX = 1.0

#: Body-part labels used to dress the body (per-face labels of every backend).
BODY_PARTS: tuple[str, ...] = (
    "torso",
    "hips",
    "neck",
    "head",
    "scalp",
    "left_upperarm",
    "right_upperarm",
    "left_forearm",
    "right_forearm",
    "left_hand",
    "right_hand",
    "left_thigh",
    "right_thigh",
    "left_shin",
    "right_shin",
    "left_foot",
    "right_foot",
    "eyes",
    "mouth",
)
PART_INDEX: dict[str, int] = {name: i for i, name in enumerate(BODY_PARTS)}

#: Unit conversions (named, never bare literals).
M_TO_CM = 100.0
M_TO_MM = 1000.0
