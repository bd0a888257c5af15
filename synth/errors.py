"""Error types whose message is one line a user can act on (what, where, how to fix)."""

from __future__ import annotations


class EgorigError(Exception):
    """Base class: the message is printed as-is by the CLI, without a traceback."""


#: The file of a ConfigError raised where the config's path is not known; the command line names the file.
CONFIG_PLACEHOLDER = "<config>"


class ConfigError(EgorigError):
    """A config file is invalid; the message names the file, the field path and what is allowed."""

    def __init__(self, file: str, field: str, problem: str):
        self.file = file
        self.field = field
        self.problem = problem
        super().__init__(f"{file}: {field}: {problem}")


class AssetError(EgorigError):
    """A needed input file (calibration, model, texture, motion) is missing or malformed."""


class DatasetError(EgorigError):
    """A dataset directory is missing, incomplete or was written by an incompatible version."""
