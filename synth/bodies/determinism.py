"""Body models evaluate on a fixed number of torch threads, so a clip never depends on where it was made.

Float32 reductions (skinning, blend shapes) split across threads round differently: the same clip posed with 1
and with 2 intra-op threads differed by up to 3e-7 m, enough to change labels.npz bytes between `synth labels`
on a 2-core machine and a farm worker given one CPU. Every body-model evaluation runs inside `fixed_torch_threads`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

#: Torch intra-op threads for every body-model evaluation (any fixed value works; 1 is available everywhere).
BODY_MODEL_TORCH_THREADS = 1


@contextlib.contextmanager
def fixed_torch_threads(threads: int = BODY_MODEL_TORCH_THREADS) -> Iterator[None]:
    """Run the block with `threads` torch intra-op threads, then restore the process' setting."""
    import torch

    previous = torch.get_num_threads()
    if previous != threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if previous != threads:
            torch.set_num_threads(previous)
