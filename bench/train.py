"""Trainer throughput: training samples per second for each stage and data-loader throughput vs model consumption;
writes JSON under bench/results/. Keep it short: a few iterations per measurement."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

# This file is named like the `train` package: drop its own folder from the import path before importing it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from train.config import config_from_dict  # noqa: E402
from train.data import NativeFrameDataset, make_loader  # noqa: E402
from train.engine import (  # noqa: E402
    HeatmapTask, PoseTask, RefineTask, build_network, param_groups, to_device, view_groups,
)
from train.fixtures import write_fixture_dataset  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_stage(task, model, batch, device, iters: int) -> float:
    """Training samples (frames) per second of one stage on a fixed batch, after one warm-up step."""
    model.to(device)
    opt = torch.optim.AdamW(param_groups(model, task.scfg), lr=1e-4)
    task.train_mode(model)
    batch = to_device(batch, device)
    for i in range(iters + 1):
        if i == 1:
            _sync(device)
            t0 = time.perf_counter()
        loss, _ = task.loss(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(device)
    return iters * batch["images"].shape[0] / (time.perf_counter() - t0)


def time_loader(ds, batch_size: int, workers: int, batches: int) -> float:
    """Frames per second delivered by the DataLoader (first batch excluded: worker start-up)."""
    loader = make_loader(ds, batch_size, True, workers, seed=0)
    it = iter(loader)
    next(it)
    t0 = time.perf_counter()
    n = 0
    for _ in range(batches):
        try:
            n += next(it)["images"].shape[0]
        except StopIteration:
            break
    return n / (time.perf_counter() - t0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--input-size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--iters", type=int, default=2)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--data", default=None,
                    help="a native dataset to read (e.g. from `synth labels` or `synth render`); default: a small "
                         "stick-figure fixture with jpg images")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    if args.threads:
        torch.set_num_threads(args.threads)
    size, hm = args.input_size, args.input_size // 4
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.data) if args.data else write_fixture_dataset(
            Path(tmp) / "ds", np.random.default_rng(0), identities=3, frames=max(8, args.batch * 4), image_size=size,
            image_format="jpg")
        cfg = config_from_dict({"data": {"root": str(root), "input_size": size, "heatmap_size": hm,
                                         "val_split": None}}, "bench")
        ds = NativeFrameDataset(root, "train", size, hm)
        groups = view_groups(ds.views, None)
        batch = torch.utils.data.default_collate([ds[i % len(ds)] for i in range(args.batch)])
        stages = {}
        stages["heatmap"] = time_stage(HeatmapTask("front", groups["front"], cfg.heatmap),
                                       build_network(cfg, "heatmap", groups), batch, device, args.iters)
        ref = build_network(cfg, "refine", groups)
        for p in ref.estimators.parameters():
            p.requires_grad_(False)
        stages["refine"] = time_stage(RefineTask(groups, cfg.refine, True), ref, batch, device, args.iters)
        stages["pose3d"] = time_stage(PoseTask(groups, cfg.pose3d, ds.projector(), 100.0),
                                      build_network(cfg, "pose3d", groups), batch, device, args.iters)
        loader = {str(w): time_loader(ds, args.batch, w, batches=4) for w in args.workers}
    slowest = min(stages.values())
    result = {
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else platform.processor() or "cpu",
        "device_type": device.type, "torch": torch.__version__, "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(), "input_size": size, "heatmap_size": hm, "batch_frames": args.batch,
        "views": len(ds.views), "iters": args.iters,
        "data": str(args.data) if args.data else "fixture (stick-figure jpg)",
        "images": "synthetic skeleton drawings" if ds.synthetic_images else "image files",
        "model": "paper dims (ResNet-18, FPN 128, refiner 256, lifter 128)",
        "train_frames_per_s": stages, "loader_frames_per_s_by_workers": loader,
        "loader_over_slowest_stage": {w: v / slowest for w, v in loader.items()},
        "note": "frames = 4-view samples; stage 'heatmap' counts frames of which one camera pair is used",
    }
    tag = "" if args.data is None else ("_synthetic" if ds.synthetic_images else "_rendered")
    out = Path(args.out) if args.out else RESULTS / f"train_{device.type}_{size}px{tag}.json"
    from synth.io import write_text_atomic

    write_text_atomic(out, json.dumps(result, indent=2), durable=False)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
