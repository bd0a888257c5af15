"""Shared pytest fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread_for_trainer_tests(request):
    """Trainer tests run torch with one intra-op thread: on a shared 2-core CPU, two threads run these small models
    about twice as slowly. Other modules keep torch's default."""
    if not request.module.__name__.rsplit(".", 1)[-1].startswith("test_train_"):
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray instance (2 CPUs) for the in-process farm runs of a module."""
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield
    ray.shutdown()
