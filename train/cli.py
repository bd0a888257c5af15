"""The `egotrain` command line: fit | eval | sweep | fixture."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from synth.cli_base import (OneLineParser, add_debug_flag, configure_logging, positive_int, run_command,
                             split_debug)


def _overrides(args) -> list[dict]:
    from train.config import parse_override

    out = [parse_override(s) for s in (args.set or [])]
    if getattr(args, "data_root", None):
        out.append({"data": {"root": args.data_root}})
    if getattr(args, "verify", False):
        out.append({"data": {"verify": "hashes"}})
    if getattr(args, "out", None) and args.command == "fit":
        out.append({"train": {"out_dir": args.out}})
    return out


def cmd_fit(args) -> int:
    from train.config import load_config
    from train.engine import fit

    cfg = load_config(args.config, _overrides(args))
    logging.getLogger("train").info("config %s hash %s", args.config, cfg.hash())
    print(json.dumps(fit(cfg), indent=2, sort_keys=True))
    return 0


def cmd_eval(args) -> int:
    from train.config import load_config
    from train.engine import evaluate_checkpoint, write_json_atomic

    cfg = load_config(args.config, _overrides(args))
    metrics = evaluate_checkpoint(cfg, args.checkpoint, args.split)
    if args.out:
        write_json_atomic(Path(args.out), metrics)
    print(json.dumps(metrics, indent=2, sort_keys=True))
    return 0


def cmd_sweep(args) -> int:
    from synth.errors import ConfigError
    from train.sweep import format_table, run_sweep

    sweep = args.sweep_file or args.sweep
    if not sweep:
        raise ConfigError("egotrain sweep", "SWEEP", "give the sweep YAML, e.g. --sweep render_configs/sweeps/"
                          "rig_distance.yaml")
    rows = run_sweep(sweep, args.config, args.out, extra_overrides=_overrides(args), split=args.split,
                     data_root=args.data_dir)
    print(format_table(Path(sweep).stem, args.split, rows))
    return 0


def cmd_fixture(args) -> int:
    import numpy as np

    from train.fixtures import write_fixture_dataset

    path = write_fixture_dataset(args.out, np.random.default_rng(args.seed), identities=args.identities,
                                 frames=args.frames, image_size=args.image_size, image_format=args.format)
    print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="egotrain", description=__doc__)
    add_debug_flag(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fit", help="train the configured stages (resumes from checkpoints in train.out_dir)")
    p.add_argument("config")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field, e.g. heatmap.epochs=1")
    p.add_argument("--data-root")
    p.add_argument("--verify", action="store_true",
                   help="check the sha256 of every dataset file on open (default: sizes only)")
    p.add_argument("--out", help="train.out_dir")
    p.set_defaults(func=cmd_fit)
    p = sub.add_parser("eval", help="evaluate a stage checkpoint on a split")
    p.add_argument("config")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--set", action="append", metavar="KEY=VALUE")
    p.add_argument("--data-root")
    p.add_argument("--verify", action="store_true",
                   help="check the sha256 of every dataset file on open (default: sizes only)")
    p.add_argument("--out", help="write the metrics JSON here")
    p.set_defaults(func=cmd_eval)
    p = sub.add_parser("sweep", help="per rig variant: dataset (synth labels), baseline + refinement training, one "
                                     "report")
    p.add_argument("sweep_file", nargs="?", metavar="SWEEP", help="sweep YAML (same as --sweep)")
    p.add_argument("--sweep", help="sweep YAML, e.g. render_configs/sweeps/rig_distance.yaml")
    p.add_argument("--config", required=True, help="trainer config with a `sweep` section, e.g. "
                                                   "train_configs/tiny_sweep.yaml")
    p.add_argument("--out", required=True, help="runs, report.json and report.md go here")
    p.add_argument("--data-dir", help="where the variants' datasets are made or reused (default: OUT/data)")
    p.add_argument("--split", default="test")
    p.add_argument("--set", action="append", metavar="KEY=VALUE")
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser("fixture", help="write a small synthetic dataset (stick-figure images) for smoke runs")
    p.add_argument("out")
    p.add_argument("--identities", type=positive_int, default=4)
    p.add_argument("--frames", type=positive_int, default=16)
    p.add_argument("--image-size", type=positive_int, default=128)
    p.add_argument("--format", choices=["jpg", "png"], default="jpg")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_fixture)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv, debug = split_debug(argv)
    configure_logging(False, "%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return run_command(args.func, args, debug)


if __name__ == "__main__":
    sys.exit(main())
