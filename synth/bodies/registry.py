"""Pick a body backend by name (the `body.backend` config field)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from synth.bodies.base import BodyBackend
from synth.errors import CONFIG_PLACEHOLDER, ConfigError

#: Backend name -> "module:class", imported only when that backend is asked for.
BACKENDS: dict[str, str] = {
    "anny": "synth.bodies.anny_backend:AnnyBackend",
    "smplx": "synth.bodies.smplx_backend:SmplxBackend",
}


def get_backend(name: str, **options: Any) -> BodyBackend:
    """Construct the body backend called `name` with its options (raises ConfigError for an unknown name)."""
    if name not in BACKENDS:
        allowed = ", ".join(repr(n) for n in BACKENDS)
        raise ConfigError(CONFIG_PLACEHOLDER, "body.backend", f"unknown body backend {name!r}; allowed: {allowed}")

    module_name, class_name = BACKENDS[name].split(":")
    backend_class = getattr(importlib.import_module(module_name), class_name)
    try:
        inspect.signature(backend_class).bind(**options)
    except TypeError as exc:
        raise ConfigError(CONFIG_PLACEHOLDER, "body.options",
                          f"invalid options for body backend {name!r}: {exc}") from exc
    return backend_class(**options)
