"""Training curves: loss per step and validation metrics per epoch from a metrics.jsonl, drawn to PNG (Agg)."""

from __future__ import annotations

import json
from pathlib import Path

from synth.io import atomic_path

#: Validation keys drawn when present (the headline ones).
VAL_KEYS = ("mpjpe_mm", "pa_mpjpe_mm", "proposal_mpjpe_mm")


def plot_curves(metrics_jsonl: str | Path, out_png: str | Path) -> None:
    """Two panels: training loss vs step (log scale) and validation metrics vs epoch (MPJPE, or heatmap MSE x1e4)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in Path(metrics_jsonl).read_text().splitlines() if line.strip()]
    train = [r for r in records if r.get("split") == "train"]
    val = [r for r in records if r.get("split") == "val"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    if train:
        ax1.plot([r["step"] for r in train], [r["loss"] for r in train], label="loss")
        ax1.set_yscale("log")
    ax1.set_xlabel("step")
    ax1.set_title("training loss")
    keys = [k for k in VAL_KEYS if any(k in r for r in val)]
    if not keys:
        keys = sorted({k for r in val for k in r if k.endswith("_mse_x1e4")})
    for k in keys:
        pts = [(r["epoch"], r[k]) for r in val if r.get(k) is not None]
        if pts:
            ax2.plot(*zip(*pts), marker="o", label=k)
    ax2.set_xlabel("epoch")
    ax2.set_title("validation")
    if keys:
        ax2.legend(fontsize=7)
    fig.tight_layout()
    out_png = Path(out_png)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
