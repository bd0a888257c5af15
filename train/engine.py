"""The three training stages (per-group heatmaps, refinement, 3D), evaluation, resume and logging."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from synth.constants import BACK_VIEWS, FRONT_VIEWS
from synth.errors import ConfigError, DatasetError
from synth.io import write_text_atomic
from train.checkpoint import load_checkpoint, load_state, save_checkpoint
from train.config import Config, StageConfig
from train.grids import HEATMAP_STRIDE, describe
from train.losses import multiview_heatmap_loss, pose_loss
from train.metrics import HeatmapMetrics, PoseMetrics
from train.models.heatmap import HeatmapEstimator
from train.models.lifter import LifterSettings
from train.models.pipeline import MultiViewPoseNet
from train.models.refiner import RefinerSettings
from train.models.resnet import load_resnet18_weights

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
#: The default camera group of views named neither as the front nor as the back views.
OTHER_GROUP = "other"


# ----------------------------------------------------------------------------------------------------------------
# Data and model construction
def build_dataset(cfg: Config, split: str | None):
    """The configured dataset for `split`, or None when the split is unset or empty.

    A native dataset resolves data.input_size / heatmap_size against its image size (train.grids); ConfigError
    when the heatmap grid is not the input grid / 4 per axis (only possible with one int and one [width, height]).
    """
    if split is None:
        return None
    d = cfg.data
    try:
        if d.format in ("ego4view_syn", "ego4view_rw"):
            from train.ego4view import Ego4ViewSynDataset

            return Ego4ViewSynDataset(d.root, split, d.input_size, d.heatmap_size, d.views, d.ego4view_calib_dir,
                                      d.max_frames, layout=d.format.removeprefix("ego4view_"))
        from train.data import NativeFrameDataset

        ds = NativeFrameDataset(d.root, split, d.input_size, d.heatmap_size, d.views, d.images, d.heatmaps,
                                max_frames=d.max_frames, verify=d.verify)
    except DatasetError:
        if split == d.train_split:
            raise
        log.warning("split %s unavailable; skipping it", split)
        return None
    want = (ds.input_wh[0] // HEATMAP_STRIDE, ds.input_wh[1] // HEATMAP_STRIDE)
    if ds.heatmap_wh != want or ds.input_wh[0] % HEATMAP_STRIDE or ds.input_wh[1] % HEATMAP_STRIDE:
        raise ConfigError("config", "data.heatmap_size",
                          f"{describe(d.heatmap_size)} gives {ds.heatmap_wh[0]} x {ds.heatmap_wh[1]} cells, but the "
                          f"input grid for {ds.image_size[0]} x {ds.image_size[1]} px images is {ds.input_wh[0]} x "
                          f"{ds.input_wh[1]} px, whose heatmaps are a quarter of it; set heatmap_size: "
                          f"[{want[0]}, {want[1]}] or {max(want)}")
    return ds


def heatmap_hw(cfg: Config, dataset=None) -> tuple[int, int]:
    """(h, w) cells of the network's heatmaps: the dataset's grid (`heatmap_hw`, resolved against its images), or
    without a dataset the config's (an int S: (S, S); [w, h]: (h, w))."""
    if dataset is not None and hasattr(dataset, "heatmap_hw"):
        return tuple(dataset.heatmap_hw)
    size = cfg.data.heatmap_size
    return (size, size) if isinstance(size, int) else (size[1], size[0])


def view_groups(views: list[str], groups: dict[str, tuple[str, ...]] | None) -> dict[str, tuple[int, ...]]:
    """Camera groups (one encoder each) as view indices. Default: the front views (synth.constants.FRONT_VIEWS)
    and the back views (BACK_VIEWS); views named neither (a custom rig's own names) share one group, OTHER_GROUP,
    like a stereo pair (set data.groups to split them). Explicit groups must name each view exactly once."""
    if groups is None:
        out: dict[str, tuple[int, ...]] = {}
        front = tuple(i for i, v in enumerate(views) if v in FRONT_VIEWS)
        back = tuple(i for i, v in enumerate(views) if v in BACK_VIEWS)
        other = tuple(i for i in range(len(views)) if i not in front and i not in back)
        if front:
            out["front"] = front
        if back:
            out["back"] = back
        if other:
            log.info("views %s are neither front %s nor back %s views: one camera group %r (one encoder); set "
                     "data.groups to choose others", [views[i] for i in other], list(FRONT_VIEWS), list(BACK_VIEWS),
                     OTHER_GROUP)
            out[OTHER_GROUP] = other
        return out
    out = {}
    for name, members in groups.items():
        unknown = [m for m in members if m not in views]
        if unknown:
            raise ConfigError("config", f"data.groups.{name}", f"views {unknown} are not among {views}")
        out[name] = tuple(views.index(m) for m in members)
    covered = sorted(i for idx in out.values() for i in idx)
    if covered != list(range(len(views))):
        raise ConfigError("config", "data.groups", f"groups must cover each of {views} exactly once")
    return out


def refiner_settings(cfg: Config, num_views: int) -> RefinerSettings | None:
    r = cfg.model.refiner
    if not r.enabled:
        return None
    return RefinerSettings(num_views=num_views, feature_dims=cfg.model.feature_dims, embed_dims=r.embed_dims,
                           num_layers=r.num_layers, heads=r.heads, points=r.points, ffn_dims=r.ffn_dims,
                           use_anchors=r.use_anchors, use_uncertainty_mask=r.use_uncertainty_mask,
                           use_rgb_embedding=r.use_rgb_embedding, use_heatmap_embedding=r.use_heatmap_embedding,
                           detach_offset_base=r.detach_offset_base,
                           half_resolution=r.half_resolution)


def lifter_settings(cfg: Config, num_views: int) -> LifterSettings:
    lc = cfg.model.lifter
    return LifterSettings(num_views=num_views, feature_dims=cfg.model.feature_dims, embed_dims=lc.embed_dims,
                          num_layers=lc.num_layers, heads=lc.heads, points=lc.points, ffn_dims=lc.ffn_dims,
                          proposal=lc.proposal, use_anchors=lc.use_anchors, use_in_view_mask=lc.use_in_view_mask,
                          units_per_metre=lc.units_per_metre)


def seeded(seed: int, build: Callable[[], nn.Module]) -> nn.Module:
    """Build a module with parameters drawn from torch's RNG seeded with `seed`, leaving the caller's RNG state
    untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def build_network(cfg: Config, stage: str, groups: dict[str, tuple[int, ...]],
                  heatmap_size: tuple[int, int] | None = None) -> nn.Module:
    """The network trained in `stage`: a HeatmapEstimator (heatmap) or a MultiViewPoseNet (refine, pose3d).

    heatmap_size: (h, w) cells of its heatmaps (`heatmap_hw(cfg, dataset)`; default: the config's, square for an
    int). The refiner's positional embeddings and heatmap embedding and the conv proposal are sized by it.
    """
    size = tuple(heatmap_size) if heatmap_size is not None else heatmap_hw(cfg)
    v = sum(len(i) for i in groups.values())
    if stage == "heatmap":
        return seeded(cfg.train.seed, lambda: HeatmapEstimator(cfg.model.feature_dims))
    lifter = lifter_settings(cfg, v) if stage == "pose3d" else None
    return seeded(cfg.train.seed, lambda: MultiViewPoseNet(
        groups, size, cfg.model.feature_dims, refiner_settings(cfg, v), lifter, cfg.model.heatmap_threshold,
        cfg.model.anchor_cell_centre))


# ----------------------------------------------------------------------------------------------------------------
# Optimisation
def param_groups(model: nn.Module, scfg: StageConfig) -> list[dict[str, Any]]:
    """AdamW groups: with no_decay_norm_bias, normalisation parameters, biases and positional embeddings get no
    weight decay (decided by module type, not by name)."""
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not scfg.no_decay_norm_bias:
        return [{"params": [p for _, p in params], "weight_decay": scfg.weight_decay}]
    norm_types = (nn.LayerNorm, nn.BatchNorm2d, nn.GroupNorm)
    no_decay: set[int] = set()
    for m in model.modules():
        for name, p in m.named_parameters(recurse=False):
            if isinstance(m, norm_types) or name.endswith("bias") or name == "pos_embed":
                no_decay.add(id(p))
    return [{"params": [p for _, p in params if id(p) not in no_decay], "weight_decay": scfg.weight_decay},
            {"params": [p for _, p in params if id(p) in no_decay], "weight_decay": 0.0}]


def lr_at(scfg: StageConfig, epoch: int, global_step: int) -> float:
    """Learning rate of the step about to run: lr * gamma^(milestones passed) * linear warm-up (step + 1) / W.
    (The released code applies warm-up after the step, so its first step runs at the full rate; ours does not.)"""
    decay = scfg.gamma ** sum(epoch >= m for m in scfg.milestones)
    warm = min(1.0, (global_step + 1) / scfg.warmup_iters) if scfg.warmup_iters else 1.0
    return scfg.lr * decay * warm


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("config", "train.device", "cuda requested but torch sees no CUDA device")
    return torch.device(name)


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


# ----------------------------------------------------------------------------------------------------------------
# Stage definitions: loss and evaluation per stage
def labels_2d(batch: dict[str, torch.Tensor], views: list[int] | None = None) -> dict[str, Any]:
    """HeatmapMetrics.update's 2D label arguments from a batch (numpy; `views` selects and orders views):
    joints2d_px (B, V, 16, 2) OpenCV px, visibility (B, V, 16), image_size_px (B, 2) (W, H); {} when the batch has
    no 2D labels."""
    if "joints2d_px" not in batch or "image_size_px" not in batch:
        return {}
    sel = slice(None) if views is None else list(views)
    return {"joints2d_px": batch["joints2d_px"][:, sel].cpu().numpy(),
            "visibility": batch["visibility"][:, sel].cpu().numpy(),
            "image_size_px": batch["image_size_px"].cpu().numpy()}


class StageTask:
    """What one stage trains: its loss on a batch and its validation metrics."""

    name: str

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def evaluate(self, model: nn.Module, loader, device: torch.device, max_batches: int | None = None) -> dict:
        raise NotImplementedError

    def train_mode(self, model: nn.Module) -> None:
        model.train()


class HeatmapTask(StageTask):
    """Stage 1 for one camera group: every view of the group is one sample for the group's estimator."""

    def __init__(self, group: str, views: tuple[int, ...], scfg: StageConfig):
        self.name, self.group, self.views, self.scfg = f"heatmap_{group}", group, list(views), scfg

    def _flat(self, batch):
        return batch["images"][:, self.views].flatten(0, 1), batch["heatmaps"][:, self.views].flatten(0, 1)

    def loss(self, model, batch):
        images, target = self._flat(batch)
        pred = model(images)
        loss = self.scfg.w_heatmap * torch.mean((pred - target) ** 2)
        return loss, {"loss_heatmap": float(loss.detach())}

    @torch.no_grad()
    def evaluate(self, model, loader, device, max_batches=None):
        model.eval()
        hm = HeatmapMetrics({self.group: list(range(len(self.views)))})
        for i, batch in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            batch = to_device(batch, device)
            images, target = self._flat(batch)
            pred = model(images)
            b = batch["images"].shape[0]
            hm.update("initial", pred.unflatten(0, (b, -1)).cpu().numpy(), target.unflatten(0, (b, -1)).cpu().numpy(),
                      **labels_2d(batch, self.views))
        return hm.summary()


class RefineTask(StageTask):
    """Stage 2: frozen encoders, new initial heads and the per-view refiners, MSE on initial + refined heatmaps."""

    name = "refine"

    def __init__(self, groups: dict[str, tuple[int, ...]], scfg: StageConfig, freeze_bn_stats: bool):
        self.groups, self.scfg, self.freeze_bn_stats = groups, scfg, freeze_bn_stats

    def train_mode(self, model):
        model.train()
        if self.freeze_bn_stats:
            model.estimators.eval()

    def loss(self, model, batch):
        out = model(batch["images"], stage="refine")
        l0 = multiview_heatmap_loss(out.heatmaps_init, batch["heatmaps"], self.scfg.w_heatmap)
        l1 = multiview_heatmap_loss(out.heatmaps_refined, batch["heatmaps"], self.scfg.w_heatmap)
        return l0 + l1, {"loss_heatmap_init": float(l0.detach()), "loss_heatmap_refined": float(l1.detach())}

    @torch.no_grad()
    def evaluate(self, model, loader, device, max_batches=None):
        model.eval()
        hm = HeatmapMetrics(self.groups)
        for i, batch in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            batch = to_device(batch, device)
            out = model(batch["images"], stage="refine")
            gt = batch["heatmaps"].cpu().numpy()
            hm.update("initial", out.heatmaps_init.cpu().numpy(), gt, **labels_2d(batch))
            hm.update("refined", out.heatmaps_refined.cpu().numpy(), gt, **labels_2d(batch))
        return hm.summary()


class PoseTask(StageTask):
    """Stage 3: everything trains; 3D loss on the proposal and every layer output (cm), heatmap losses on the
    (detached-input) heatmap heads."""

    name = "pose3d"

    def __init__(self, groups, scfg: StageConfig, project_fn, units_per_metre: float):
        self.groups, self.scfg, self.project_fn, self.units = groups, scfg, project_fn, units_per_metre

    def _forward(self, model, batch):
        return model(batch["images"], stage="pose3d", T_camera_from_device=batch["T_camera_from_device"],
                     project_fn=self.project_fn)

    def loss(self, model, batch):
        out = self._forward(model, batch)
        target = batch["joints3d_device_m"] * self.units
        l3d = pose_loss(out.lifter.poses, target, self.scfg.w_mpjpe)
        crit = self.scfg.heatmap_criterion
        lh = multiview_heatmap_loss(out.heatmaps_init, batch["heatmaps"], self.scfg.w_heatmap, crit)
        if out.heatmaps_refined is not None:
            lh = lh + multiview_heatmap_loss(out.heatmaps_refined, batch["heatmaps"], self.scfg.w_heatmap, crit)
        with torch.no_grad():
            err_mm = torch.linalg.vector_norm(out.lifter.poses[-1] - target, dim=-1).mean() / self.units * 1000.0
        logs = {"loss_pose": float(l3d.detach()), "loss_heatmap": float(lh.detach()), "train_mpjpe_mm": float(err_mm)}
        return l3d + lh, logs

    @torch.no_grad()
    def evaluate(self, model, loader, device, max_batches=None):
        model.eval()
        final, proposal = PoseMetrics(), PoseMetrics()
        hm = HeatmapMetrics(self.groups)
        for i, batch in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            batch = to_device(batch, device)
            out = self._forward(model, batch)
            gt = batch["joints3d_device_m"].double().cpu().numpy()
            final.update(out.lifter.poses[-1].double().cpu().numpy() / self.units, gt)
            proposal.update(out.lifter.poses[0].double().cpu().numpy() / self.units, gt)
            gt_hm = batch["heatmaps"].cpu().numpy()
            hm.update("initial", out.heatmaps_init.cpu().numpy(), gt_hm, **labels_2d(batch))
            if out.heatmaps_refined is not None:
                hm.update("refined", out.heatmaps_refined.cpu().numpy(), gt_hm, **labels_2d(batch))
        summary = final.summary()
        summary["proposal_mpjpe_mm"] = proposal.summary().get("mpjpe_mm")
        summary.update(hm.summary())
        return summary


# ----------------------------------------------------------------------------------------------------------------
# The generic loop
def append_jsonl(path: Path, record: dict) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True), durable=False)


def run_stage(task: StageTask, model: nn.Module, cfg: Config, scfg: StageConfig, stage_dir: Path, train_loader,
              val_loader, device: torch.device, init: Callable[[nn.Module], None] | None = None) -> dict:
    """Train `model` for one stage with resume from stage_dir/checkpoint.pt; returns the last validation metrics.

    A complete checkpoint skips the stage; an incomplete one resumes at its next epoch (model, optimiser, step).
    `init` loads the previous stage's weights into a fresh model.
    """
    from tqdm import tqdm

    from train.plots import plot_curves

    stage_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = stage_dir / CHECKPOINT
    model.to(device)
    state = load_checkpoint(ckpt_path) if ckpt_path.exists() else None
    if state is not None and state.get("config_hash") != cfg.hash():
        raise DatasetError(f"{ckpt_path}: written with another config (hash {state.get('config_hash')} != "
                           f"{cfg.hash()}); use a new train.out_dir or delete {stage_dir}")
    if state is not None:
        load_state(model, state["model"], str(ckpt_path))
        if state.get("complete"):
            log.info("%s: complete, skipping", task.name)
            return state.get("metrics", {})
    elif init is not None:
        init(model)
    optimizer = torch.optim.AdamW(param_groups(model, scfg), lr=scfg.lr)
    epoch, step = 0, 0
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        epoch, step = int(state["epoch"]), int(state["global_step"])
    runner = torch.compile(model) if cfg.train.compile else model
    iters = len(train_loader) if scfg.max_iters_per_epoch is None else min(len(train_loader), scfg.max_iters_per_epoch)
    metrics_path = stage_dir / METRICS
    metrics: dict = state.get("metrics", {}) if state else {}
    while epoch < scfg.epochs:
        task.train_mode(model)
        bar = tqdm(total=iters, desc=f"{task.name} {epoch + 1}/{scfg.epochs}", disable=not cfg.train.progress,
                   leave=False)
        t0, seen = time.perf_counter(), 0
        for i, batch in enumerate(train_loader):
            if i >= iters:
                break
            lr = lr_at(scfg, epoch, step)
            for g in optimizer.param_groups:
                g["lr"] = lr
            batch = to_device(batch, device)
            loss, parts = task.loss(runner, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{task.name}: non-finite loss at epoch {epoch} step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if scfg.grad_clip:
                nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], scfg.grad_clip)
            optimizer.step()
            step += 1
            seen += batch["images"].shape[0]
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
            if step % cfg.train.log_every == 0 or i == iters - 1:
                rate = seen / max(time.perf_counter() - t0, 1e-9)
                append_jsonl(metrics_path, {"stage": task.name, "split": "train", "epoch": epoch, "step": step,
                                            "loss": float(loss.detach()), "lr": lr, "samples_per_s": rate, **parts})
        bar.close()
        epoch += 1
        if val_loader is not None and cfg.train.evaluate:
            metrics = task.evaluate(model, val_loader, device)
            append_jsonl(metrics_path, {"stage": task.name, "split": "val", "epoch": epoch - 1, "step": step,
                                        **_flat_metrics(metrics)})
        save_checkpoint(ckpt_path, {
            "stage": task.name, "model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
            "global_step": step, "complete": epoch >= scfg.epochs, "config": cfg.model_dump(mode="json"),
            "config_hash": cfg.hash(), "metrics": metrics,
        })
        plot_curves(metrics_path, stage_dir / "curves.png")
    return metrics


def _flat_metrics(metrics: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in metrics.items():
        if isinstance(v, dict):
            out.update(_flat_metrics(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# ----------------------------------------------------------------------------------------------------------------
# The pipeline
def _init_from_heatmap_stage(out_dir: Path, groups) -> Callable[[nn.Module], None]:
    def init(model: MultiViewPoseNet) -> None:
        for g in groups:
            path = out_dir / f"heatmap_{g}" / CHECKPOINT
            load_state(model.estimators[g], load_checkpoint(path)["model"], str(path))
    return init


def _init_from_refine_stage(out_dir: Path) -> Callable[[nn.Module], None]:
    def init(model: MultiViewPoseNet) -> None:
        path = out_dir / "refine" / CHECKPOINT
        load_state(model, load_checkpoint(path)["model"], str(path), allow_missing=("lifter.",))
    return init


def fit(cfg: Config) -> dict[str, dict]:
    """Run the configured stages; returns {stage: last validation metrics} and writes <out_dir>/summary.json."""
    from train.data import make_loader

    out_dir = Path(cfg.train.out_dir)
    prev_dir = Path(cfg.train.init_dir) if cfg.train.init_dir else out_dir
    if cfg.train.num_threads:
        torch.set_num_threads(cfg.train.num_threads)
    device = resolve_device(cfg.train.device)
    train_ds = build_dataset(cfg, cfg.data.train_split)  # a missing or damaged dataset fails before out_dir exists
    val_ds = build_dataset(cfg, cfg.data.val_split)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / "config.json", {"config": cfg.model_dump(mode="json"), "config_hash": cfg.hash()})
    groups = view_groups(list(train_ds.views), cfg.data.groups)
    grid = heatmap_hw(cfg, train_ds)  # (h, w) cells, resolved against the dataset's image size
    workers = cfg.data.num_workers
    results: dict[str, dict] = {}

    def loaders(scfg: StageConfig, offset: int):
        tl = make_loader(train_ds, scfg.batch_size, True, workers, cfg.train.seed + offset, drop_last=True)
        vl = make_loader(val_ds, scfg.batch_size, False, workers) if val_ds is not None else None
        return tl, vl

    for k, stage in enumerate(cfg.train.stages):
        scfg = cfg.stage(stage)
        tl, vl = loaders(scfg, k)
        if stage == "heatmap":
            for g, idx in groups.items():
                model = build_network(cfg, "heatmap", groups, grid)
                weights = cfg.model.backbone_weights
                init = (lambda m, w=weights: load_resnet18_weights(m.backbone, w)) if weights else None
                results[f"heatmap_{g}"] = run_stage(HeatmapTask(g, idx, scfg), model, cfg, scfg,
                                                    out_dir / f"heatmap_{g}", tl, vl, device, init)
        elif stage == "refine":
            model = build_network(cfg, "refine", groups, grid)
            for p in model.estimators.parameters():
                p.requires_grad_(False)
            task = RefineTask(groups, scfg, cfg.train.freeze_bn_stats)
            results["refine"] = run_stage(task, model, cfg, scfg, out_dir / "refine", tl, vl, device,
                                          _init_from_heatmap_stage(prev_dir, groups))
        else:
            model = build_network(cfg, "pose3d", groups, grid)
            if cfg.model.refiner.enabled:
                ready = (prev_dir / "refine" / CHECKPOINT).exists()
                init = _init_from_refine_stage(prev_dir)
            else:
                ready = all((prev_dir / f"heatmap_{g}" / CHECKPOINT).exists() for g in groups)
                init = _init_from_heatmap_stage(prev_dir, groups)
            if not ready:
                # No earlier stage in this out_dir: the whole network trains from scratch (or ImageNet weights).
                log.warning("pose3d: no earlier-stage checkpoint in %s; training from scratch", prev_dir)
                weights = cfg.model.backbone_weights
                init = (lambda m, w=weights: [load_resnet18_weights(e.backbone, w) for e in m.estimators.values()]) \
                    if weights else None
            task = PoseTask(groups, scfg, train_ds.projector(), cfg.model.lifter.units_per_metre)
            results["pose3d"] = run_stage(task, model, cfg, scfg, out_dir / "pose3d", tl, vl, device, init)
    write_json_atomic(out_dir / "summary.json", results)
    return results


def evaluate_checkpoint(cfg: Config, checkpoint: str | Path, split: str) -> dict:
    """Evaluate a stage checkpoint (heatmap_<group>, refine or pose3d) on `split`."""
    from train.data import make_loader

    state = load_checkpoint(checkpoint)
    stage = state.get("stage", "")
    ds = build_dataset(cfg, split)
    if ds is None:
        raise DatasetError(f"{cfg.data.root}: split {split!r} is empty (splits are per identity, a fixed share of "
                           f"them each); generate more clips, or change splits.val / splits.test in the render config")
    groups = view_groups(list(ds.views), cfg.data.groups)
    device = resolve_device(cfg.train.device)
    base = "heatmap" if stage.startswith("heatmap_") else stage
    model = build_network(cfg, base, groups, heatmap_hw(cfg, ds))
    load_state(model, state["model"], str(checkpoint))
    model.to(device)
    scfg = cfg.stage(base)
    loader = make_loader(ds, scfg.batch_size, False, cfg.data.num_workers)
    if base == "heatmap":
        g = stage.removeprefix("heatmap_")
        task: StageTask = HeatmapTask(g, groups[g], scfg)
    elif base == "refine":
        task = RefineTask(groups, scfg, cfg.train.freeze_bn_stats)
    else:
        task = PoseTask(groups, scfg, ds.projector(), cfg.model.lifter.units_per_metre)
    metrics = task.evaluate(model, loader, device)
    metrics.update({"stage": stage, "split": split, "checkpoint": str(checkpoint)})
    return metrics
