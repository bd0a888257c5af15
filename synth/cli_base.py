"""The one error path of every egorig command line (`synth`, `synth assets`, `egotrain`).

A user-facing error is one line on stderr, `error: <file, field or flag>: <problem>; <fix>`, and exit code 2:
EgorigError (configs, assets, datasets), OSError (names the path and the cause) and argparse's usage errors
alike. A traceback is printed only with `--debug` (accepted anywhere on the command line). Anything else is a bug:
one line naming it, exit code 1, and `--debug` shows where.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import traceback
from collections.abc import Callable, Sequence

from synth.errors import CONFIG_PLACEHOLDER, ConfigError, EgorigError

#: Exit code of a refused input (bad config, file, flag or dataset): argparse's own convention.
EXIT_USAGE = 2
#: Exit code of an internal error (a bug to report).
EXIT_INTERNAL = 1
#: Exit code after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: The flag that turns tracebacks on.
DEBUG_FLAG = "--debug"


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the flag (the usage is in --help, not repeated)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"error: {self.prog}: {message}; see {self.prog} --help\n")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (a count of clips, workers, frames)."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (retries, restarts)."""
    return _int_at_least(text, 0)


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (a field of view, a radius)."""
    value = _finite_float(text)
    if not value > 0.0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0 (a threshold)."""
    value = _finite_float(text)
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
    return value


def frame_list(text: str) -> list[int]:
    """argparse type: comma-separated frame numbers >= 0, e.g. "0,5,10"."""
    return [_int_at_least(part.strip(), 0) for part in text.split(",")]


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(DEBUG_FLAG, action="store_true",
                        help="print the traceback of an error (accepted anywhere on the command line)")


def split_debug(argv: Sequence[str] | None) -> tuple[list[str], bool]:
    """(argv without --debug, whether it was given): the flag works before or after the subcommand."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return [a for a in argv if a != DEBUG_FLAG], DEBUG_FLAG in argv


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe_os_error(exc: OSError) -> str:
    """`<path>: <cause>` of an OSError (both paths of a rename), with the errno's fix where there is a usual one."""
    paths = [p for p in (exc.filename, exc.filename2) if p is not None]
    where = " -> ".join(str(p) for p in paths) if paths else "a file"
    cause = exc.strerror or one_line(str(exc)) or type(exc).__name__
    return f"{where}: {cause}; check the path, its permissions and the free space"


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace, debug: bool) -> int:
    """Run one command through the error path above; returns the exit code."""
    try:
        return func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except EgorigError as exc:
        _traceback(debug)
        if isinstance(exc, ConfigError) and exc.file == CONFIG_PLACEHOLDER:  # raised below the config loader
            config = getattr(args, "config", None) or getattr(args, "sweep", None)
            exc = ConfigError(str(config or "the config"), exc.field, exc.problem)
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        _traceback(debug)
        print(f"error: {describe_os_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback with --debug
        _traceback(debug)
        hint = "" if debug else f", with the traceback that {DEBUG_FLAG} prints"
        print(f"error: internal error ({type(exc).__name__}: {one_line(str(exc))}); please report it{hint}",
              file=sys.stderr)
        return EXIT_INTERNAL


def _traceback(debug: bool) -> None:
    if debug:
        traceback.print_exc()


def configure_logging(verbose: bool, fmt: str = "%(message)s") -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=fmt)
