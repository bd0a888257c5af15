"""Draw docs/images/appearance_rolling_shutter.png: one frame of a running clip, front-left and rear-left views, seen by
a global shutter and by rolling shutters reading the rows over 30 ms (the top of the default range) and 100 ms,
with the frame's labels drawn over each (green: visible; the 2D joints follow the rolling shutter).

    python tools/rolling_shutter_figure.py [--clip 0] [--frame 3] [--resolution 256]
                                           [--out docs/images/appearance_rolling_shutter.png]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VIEWS = ("front_left", "back_left")
#: Readout times (s) of the rows of the figure; None: a global shutter.
READOUTS_S = (None, 0.03, 0.1)


def main() -> None:
    from PIL import Image

    from synth.blender.scene import BlenderScene
    from synth.config import load_config
    from synth.labels.compute import compute_clip_labels
    from synth.run.blender import load_blender
    from synth.scene.sampler import ClipSampler
    from synth.viz.preview import draw_tile, image_circle_px

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=int, default=0)
    parser.add_argument("--frame", type=int, default=3)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "appearance_rolling_shutter.png")
    args = parser.parse_args()
    fx = {"exposure_ev": [0, 0], "white_balance_k": [6500, 6500], "vignetting": [0.2, 0.2], "noise_probability": 0.0,
          "motion_blur_probability": 0.0, "rolling_shutter_probability": 1.0, "readout_time_s": [0.03, 0.03]}
    cfg = load_config(REPO / "render_configs" / "default.yaml", overrides={
        "rig": {"resolution": args.resolution}, "clips": {"frames": args.frame + 2},
        "motion": {"families": ["run"], "weights": None},
        "appearance": {"camera_effects": fx, "hdri_probability": 0.0}, "render": {"device": "cpu"}})
    spec = ClipSampler(cfg, REPO / "render_configs").sample(args.clip)[0]
    scene = BlenderScene(load_blender(cfg))
    lenses = dict(zip(spec.rig.views, spec.rig.lenses))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for readout in READOUTS_S:
            clip = dataclasses.replace(spec, camera_effects=dataclasses.replace(spec.camera_effects,
                                                                                readout_time_s=readout))
            labels = compute_clip_labels(clip)
            scene.load(clip)
            for f in (args.frame - 1, args.frame):  # the frame before keys the motion, as a clip's render does
                scene.set_frame(f, clip.T_world_from_device[f])
                paths = {v: Path(tmp) / f"{readout}_{f}_{v}.png" for v in VIEWS}
                scene.render_views(paths)
            tiles = []
            for v in VIEWS:
                tile = Image.open(paths[v]).convert("RGB")
                k = spec.rig.views.index(v)
                title = f"{v}: " + ("global shutter" if readout is None else f"rolling {readout * 1e3:g} ms")
                draw_tile(tile, labels.joints2d[args.frame, k], labels.visibility[args.frame, k], 1.0,
                          image_circle_px(lenses[v]), title)
                tiles.append(np.asarray(tile))
            rows.append(np.concatenate(tiles, axis=1))
    scene.close()
    Image.fromarray(np.concatenate(rows, axis=0)).save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
