"""Draw docs/images/appearance_subsurface.png: the front-left and rear-left views of one default clip, undressed, under
the sky, without and with subsurface scattering of the skin (the gain and scale at the top of the default ranges).

    python tools/subsurface_figure.py [--clip 0] [--resolution 256] [--out docs/images/appearance_subsurface.png]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VIEWS = ("front_left", "back_left")


def main() -> None:
    from PIL import Image, ImageDraw

    from synth.appearance.sampling import SUBSURFACE_GAIN, SUBSURFACE_SCALE_M
    from synth.blender.scene import BlenderScene
    from synth.config import load_config
    from synth.run.blender import load_blender
    from synth.scene.sampler import ClipSampler

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=int, default=0)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "appearance_subsurface.png")
    args = parser.parse_args()
    cfg = load_config(REPO / "render_configs" / "default.yaml", overrides={
        "rig": {"resolution": args.resolution}, "clips": {"frames": 1},
        "appearance": {"hair": None, "surroundings": None, "camera_effects": None, "hdri_probability": 0.0,
                       "loose_garment_probability": 0.0},
        "render": {"device": "cpu"}})
    spec = ClipSampler(cfg, REPO / "render_configs").sample(args.clip)[0]
    bare = dataclasses.replace(spec.appearance, top=None, bottom=None, shoes=None, loose=())
    scene = BlenderScene(load_blender(cfg))
    tiles = []
    with tempfile.TemporaryDirectory() as tmp:
        for gain, scale in ((0.0, 0.0), (SUBSURFACE_GAIN[1], SUBSURFACE_SCALE_M[1])):
            app = dataclasses.replace(bare, skin_detail=dataclasses.replace(
                bare.skin_detail, subsurface=gain, subsurface_scale_m=scale))
            scene.load(dataclasses.replace(spec, appearance=app, garments=()))
            scene.set_frame(0, spec.T_world_from_device[0])
            paths = {v: Path(tmp) / f"{gain}_{v}.png" for v in VIEWS}
            scene.render_views(paths)
            tiles.append([np.asarray(Image.open(paths[v]).convert("RGB")) for v in VIEWS])
    scene.close()
    rows = [np.concatenate(row, axis=1) for row in tiles]
    sheet = Image.fromarray(np.concatenate(rows, axis=0))
    draw = ImageDraw.Draw(sheet)
    for i, label in enumerate(("no subsurface", f"subsurface gain {SUBSURFACE_GAIN[1]}, {SUBSURFACE_SCALE_M[1] * 1e3:g} mm")):
        draw.text((4, 4 + i * args.resolution), label, fill=(255, 255, 255))
    sheet.save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
