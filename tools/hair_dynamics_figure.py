"""Draw docs/images/appearance_hair_dynamics.png: a side view of a default-config walk clip with long hair, the
strands rigid with the head (blue) and moving (red) over the body (grey).

    python tools/hair_dynamics_figure.py [--clip 0] [--out docs/images/appearance_hair_dynamics.png]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
#: Frames drawn and every how many strands one is drawn.
FRAMES = (0, 5, 10, 15)
STRAND_STEP = 40


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from synth.appearance.hair import HAIR_STYLES, NO_HAIR
    from synth.config import load_config
    from synth.scene.sampler import ClipSampler

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "appearance_hair_dynamics.png")
    args = parser.parse_args()
    styles = {s: float(s == "long") for s in (NO_HAIR, *HAIR_STYLES)}
    cfg = load_config(REPO / "render_configs" / "default.yaml", overrides={
        "clips": {"frames": max(FRAMES) + 1}, "motion": {"families": ["walk"], "weights": None},
        "appearance": {"hair": {"styles": styles}}})
    spec = ClipSampler(cfg, REPO / "render_configs").sample(args.clip)[0]
    moving = spec.hair
    rigid = dataclasses.replace(moving, motion=None)
    T = spec.posed.T_world_from_head
    forward = -T[0, :3, 1]
    forward[2] = 0.0
    forward /= np.linalg.norm(forward)
    fig, axes = plt.subplots(1, len(FRAMES), figsize=(3.2 * len(FRAMES), 4.0))
    for ax, f in zip(axes, FRAMES):
        body = spec.posed.vertices[f].astype(np.float64)
        ax.scatter(body[::3] @ forward, body[::3, 2], s=0.3, c="0.75", linewidths=0)
        for hair, colour in ((rigid, "tab:blue"), (moving, "tab:red")):
            pts = hair.points_at(f).astype(np.float64) @ T[f, :3, :3].T + T[f, :3, 3]
            for s in range(0, len(pts), STRAND_STEP):
                ax.plot(pts[s] @ forward, pts[s, :, 2], c=colour, lw=0.6)
        centre = T[f, :3, 3]
        ax.set_xlim(centre @ forward - 0.35, centre @ forward + 0.35)
        ax.set_ylim(centre[2] - 0.55, centre[2] + 0.2)
        ax.set_aspect("equal")
        ax.set_title(f"frame {f} (forward: right)", fontsize=9)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    print(args.out)


if __name__ == "__main__":
    main()
