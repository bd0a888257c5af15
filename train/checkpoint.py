"""Checkpoints: atomic writes (tmp file + os.replace) carrying their config, and strict, prefix-tolerant loading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from synth.errors import DatasetError
from synth.io import atomic_path
from train.models.resnet import strip_prefixes

#: Wrapper prefixes stripped from checkpoint keys before loading (DataParallel, torch.compile, Lightning).
WRAPPER_PREFIXES = ("module.", "_orig_mod.", "model.")


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """torch.save `payload` to `path` atomically (a reader never sees a partial file)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by save_checkpoint; DatasetError (one line) when missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: checkpoint not found; run the earlier stage first (egotrain fit)")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - one clear line
        raise DatasetError(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc}); delete it and rerun") \
            from None


def load_state(module: nn.Module, state: dict[str, torch.Tensor], where: str,
               allow_missing: tuple[str, ...] = ()) -> None:
    """Load `state` into `module` after stripping wrapper prefixes; fails loudly on unexpected keys and on missing
    keys that do not start with one of `allow_missing` (e.g. the new 3D lifter)."""
    state = strip_prefixes(state, WRAPPER_PREFIXES)
    try:
        result = module.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise DatasetError(f"{where}: incompatible weights ({str(exc).splitlines()[-1].strip()}); the checkpoint "
                           f"was trained with another model config") from None
    missing = [k for k in result.missing_keys if not k.startswith(allow_missing)]
    if missing or result.unexpected_keys:
        raise DatasetError(f"{where}: checkpoint does not match the model: missing {missing[:4]}, unexpected "
                           f"{result.unexpected_keys[:4]}; was it trained with another model config?")
