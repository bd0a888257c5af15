"""Trainer configuration: YAML -> frozen pydantic models (extra keys forbidden) with one-line errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from synth.constants import DEFAULT_HEATMAP_SIZE
from synth.errors import ConfigError
from synth.schema import FrozenModel, validation_error_line
from train.grids import HEATMAP_STRIDE, as_size, describe, explicit_input_problem, longer_side

#: Stage names in pipeline order.
STAGES = ("heatmap", "refine", "pose3d")


class _Model(FrozenModel):
    """Immutable, unknown keys refused, no booleans for numbers, finite numbers only (as the render configs)."""


class DataConfig(_Model):
    """Where the frames come from and how they are prepared.

    input_size: the network input in px, heatmap_size: the heatmap targets in cells, each an int (the LONGER side;
    the shorter side follows the dataset's image aspect ratio, the input's rounded to a multiple of 32: see
    train.grids) or an explicit [width, height] (input sides multiples of 32). The heatmaps are the input / 4 per
    axis (the FPN's stride), so the two must agree: int 256 with int 64, or [256, 192] with [64, 48].
    """

    format: Literal["native", "ego4view_syn", "ego4view_rw"] = "native"
    root: str
    train_split: str = "train"
    val_split: str | None = "val"
    test_split: str | None = "test"
    views: tuple[str, ...] | None = None  # subset/order of views (default: all of the dataset's)
    groups: dict[str, tuple[str, ...]] | None = None  # camera groups (one encoder each); default front/back
    input_size: int | tuple[int, int] = 256
    heatmap_size: int | tuple[int, int] = DEFAULT_HEATMAP_SIZE
    images: Literal["auto", "files", "synthetic"] = "auto"
    heatmaps: Literal["auto", "stored", "render"] = "auto"
    num_workers: int = Field(0, ge=0)
    max_frames: int | None = Field(None, ge=1)  # cap per split (smoke runs)
    # Check a native dataset on open: "sizes" of every committed file (fast), "hashes" (sha256 too) or "off".
    verify: Literal["sizes", "hashes", "off"] = "sizes"
    ego4view_calib_dir: str | None = None

    @field_validator("input_size", mode="before")
    @classmethod
    def _input_size(cls, value: Any) -> Any:
        size = as_size(value, 32)
        problem = None if isinstance(size, int) else explicit_input_problem(size)
        if problem:
            raise ValueError(problem)
        return size

    @field_validator("heatmap_size", mode="before")
    @classmethod
    def _heatmap_size(cls, value: Any) -> Any:
        return as_size(value, 8)

    @model_validator(mode="after")
    def _sizes(self):
        i, h = self.input_size, self.heatmap_size
        if isinstance(i, int) and isinstance(h, int):
            if i != HEATMAP_STRIDE * h:
                raise ValueError(f"input_size ({i}) must be 4 x heatmap_size ({h}): the FPN output has stride 4")
        elif not isinstance(i, int) and not isinstance(h, int):
            if (i[0], i[1]) != (HEATMAP_STRIDE * h[0], HEATMAP_STRIDE * h[1]):
                raise ValueError(f"input_size {describe(i)} must be 4 x heatmap_size {describe(h)} per axis (the FPN "
                                 f"output has stride 4); set heatmap_size: [{i[0] // 4}, {i[1] // 4}]")
        elif longer_side(i) != HEATMAP_STRIDE * longer_side(h):
            # One int, one [width, height]: the longer sides must agree here, the shorter ones once the dataset's
            # aspect ratio is known (train.engine.build_dataset).
            raise ValueError(f"input_size {describe(i)} must be 4 x heatmap_size {describe(h)} on the longer side "
                             f"(the FPN output has stride 4)")
        return self

class RefinerConfig(_Model):
    """The multi-view heatmap refinement module (paper section 3); `enabled: false` = the baseline."""

    enabled: bool = True
    embed_dims: int = 256
    num_layers: int = Field(1, ge=1)
    heads: int = 4
    points: int = 16
    ffn_dims: int = 512
    use_anchors: bool = True
    use_uncertainty_mask: bool = True
    use_rgb_embedding: bool = True
    use_heatmap_embedding: bool = True
    detach_offset_base: bool = True  # released behaviour: the initial-feature path is used detached
    half_resolution: bool = True  # released: offset + initial features and the refined head at half resolution


class LifterConfig(_Model):
    """The EgoPoseFormer-style 3D stage."""

    embed_dims: int = 128
    num_layers: int = Field(3, ge=1)
    heads: int = 4
    points: int = 16
    ffn_dims: int = 512
    proposal: Literal["conv", "avgpool"] = "conv"
    use_anchors: bool = True
    use_in_view_mask: bool = True
    units_per_metre: float = 100.0  # regress centimetres, as the paper


class ModelConfig(_Model):
    feature_dims: int = 128
    backbone_weights: str | None = None  # torchvision resnet18 state dict file (never downloaded)
    heatmap_threshold: float = 0.5
    anchor_cell_centre: bool = False
    refiner: RefinerConfig = RefinerConfig()
    lifter: LifterConfig = LifterConfig()


class StageConfig(_Model):
    """Optimisation of one stage (paper defaults: AdamW, warm-up 500 its, MultiStepLR [8, 10] x 0.1, clip 5)."""

    epochs: int = Field(12, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(5e-3, ge=0)
    no_decay_norm_bias: bool = False  # stage 3: weight decay 0 for norm/bn/ln/bias parameters
    warmup_iters: int = Field(500, ge=0)
    milestones: tuple[int, ...] = (8, 10)
    gamma: float = 0.1
    grad_clip: float | None = 5.0
    max_iters_per_epoch: int | None = Field(None, ge=1)
    w_heatmap: float = 10.0
    w_mpjpe: float = 0.1
    heatmap_criterion: Literal["mse", "row_l2"] = "mse"


class TrainConfig(_Model):
    out_dir: str = "runs/default"
    init_dir: str | None = None  # where earlier-stage checkpoints live when this run does not train them
    num_threads: int | None = Field(None, ge=1)  # torch CPU threads (None: torch's default)
    seed: int = 42
    device: Literal["auto", "cpu", "cuda"] = "auto"
    stages: tuple[Literal["heatmap", "refine", "pose3d"], ...] = STAGES
    compile: bool = False
    freeze_bn_stats: bool = True  # frozen encoders of stage 2 keep their BN statistics (eval mode)
    log_every: int = Field(10, ge=1)
    evaluate: bool = True  # validation after every epoch (logged, never used to select checkpoints)
    progress: bool = True


class SweepSettings(_Model):
    """How `egotrain sweep` makes each rig variant's dataset and which extra arm it trains (fit and eval ignore it)."""

    clips: int | None = Field(None, ge=1)  # clips per variant dataset (None: the render config's clips.count)
    # Applied to every variant's render config after the variant's own overrides (e.g. a small resolution).
    render_overrides: dict[str, Any] = Field(default_factory=dict)
    front_only_baseline: bool = True  # also train the baseline on the 2 front views of the default rig
    default_variant: str | None = None  # the default rig's variant (None: the one whose rig equals the base's)


class Config(_Model):
    data: DataConfig
    model: ModelConfig = ModelConfig()
    heatmap: StageConfig = StageConfig(batch_size=64)
    refine: StageConfig = StageConfig(batch_size=64)
    pose3d: StageConfig = StageConfig(batch_size=32, weight_decay=5e-4, no_decay_norm_bias=True)
    train: TrainConfig = TrainConfig()
    sweep: SweepSettings = SweepSettings()

    @model_validator(mode="after")
    def _stage_order(self):
        order = [STAGES.index(s) for s in self.train.stages]
        if order != sorted(order) or len(set(order)) != len(order):
            raise ValueError(f"train.stages must be a subset of {list(STAGES)} in that order")
        if "refine" in self.train.stages and not self.model.refiner.enabled:
            raise ValueError("train.stages lists 'refine' but model.refiner.enabled is false")
        return self

    def stage(self, name: str) -> StageConfig:
        return getattr(self, name)

    def hash(self) -> str:
        """16-hex-digit hash of the resolved config."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def parse_override(text: str) -> dict[str, Any]:
    """"a.b.c=value" (value parsed as YAML) -> {"a": {"b": {"c": value}}}."""
    import yaml

    if "=" not in text:
        raise ConfigError("--set", text, "expected key.path=value")
    key, value = text.split("=", 1)
    out: dict[str, Any] = {}
    node = out
    parts = key.strip().split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    try:
        node[parts[-1]] = yaml.safe_load(value)
    except yaml.YAMLError:
        raise ConfigError("--set", key.strip(), f"the value {value!r} is not valid YAML") from None
    return out


def config_from_dict(data: dict[str, Any], file_label: str) -> Config:
    """Validate a mapping; ConfigError(file, field, problem) on the first problem."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(file_label, *validation_error_line(exc, Config)) from None


def load_config(path: str | Path, overrides: list[dict[str, Any]] | None = None) -> Config:
    """Read a trainer YAML file, apply override mappings in order, validate."""
    import yaml

    from synth.config import deep_merge
    from synth.schema import load_yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), "-", "file not found; pass a trainer config (see train_configs/)")
    try:
        data = load_yaml(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"byte {exc.start}", "not UTF-8 text; save the config as UTF-8") from None
    except OSError as exc:
        raise ConfigError(str(path), "-", f"cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "-"
        raise ConfigError(str(path), where, f"YAML syntax error: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        raise ConfigError(str(path), "-", "the file is empty (or only comments); see train_configs/ for a config")
    if not isinstance(data, dict):
        raise ConfigError(str(path), "-", "top level must be a mapping")
    for ov in overrides or []:
        data = deep_merge(data, ov)
    return config_from_dict(data, str(path))
