"""The `synth assets check|lock|convert` commands: where licensed files go, whether they are there and unchanged,
and converting the ones label-only runs cannot read without Blender."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

from synth.errors import AssetError

#: Exit code of `synth assets check` when files are missing or changed.
EXIT_ASSETS_NOT_USABLE = 1


def _context(args: argparse.Namespace):
    """(manifest, root or None, lock path or None, config or None, config dir) from the command's options."""
    from synth.assets import load_manifest, resolve_root

    cfg, cfg_dir = None, None
    if getattr(args, "config", None):
        from synth.config import load_config

        cfg = load_config(args.config)
        cfg_dir = Path(args.config).resolve().parent
    manifest_dir = args.manifest_dir
    if manifest_dir is None and cfg is not None and cfg.assets.manifest_dir:
        manifest_dir = str(Path(cfg_dir, cfg.assets.manifest_dir))
    manifest = load_manifest(manifest_dir)
    if args.root:
        root = resolve_root(args.root, Path.cwd())
    else:
        root = resolve_root(cfg.assets.root if cfg is not None else None, cfg_dir)
    lock = Path(args.lock) if args.lock else None
    if lock is None and cfg is not None and cfg.assets.lock:
        lock = Path(cfg_dir, cfg.assets.lock)
    for s in args.source or ():
        manifest.source(s, "--source")
    return manifest, root, lock, cfg, cfg_dir


def cmd_assets_check(args: argparse.Namespace) -> int:
    from synth.assets import (
        ASSETS_ENV,
        check_source,
        default_lock_path,
        format_report,
        read_lock,
        resolve_config_assets,
    )

    manifest, root, lock_path, cfg, cfg_dir = _context(args)
    if cfg is not None:
        if args.root or args.lock:
            cfg = cfg.model_copy(update={"assets": cfg.assets.model_copy(update={
                "root": str(root) if root else cfg.assets.root, "lock": str(lock_path) if lock_path else None})})
        try:
            resolved = resolve_config_assets(cfg, cfg_dir)
        except AssetError as exc:
            print(f"{args.config}: cannot run: {exc}")
            return EXIT_ASSETS_NOT_USABLE
        if not resolved.used:
            print(f"{args.config}: uses no licensed assets")
            return 0
        statuses = [s for s in resolved.statuses if not args.source or s.source in args.source]
        print(format_report(manifest, statuses, resolved.root))
        print(f"{args.config}: all {len(resolved.statuses)} licensed files it needs are present"
              f" ({sum(s.status == 'unverified' for s in resolved.statuses)} without a recorded checksum)")
        return 0
    shown_root = root if root is not None else Path(f"${ASSETS_ENV}")
    lock = read_lock(lock_path or default_lock_path(root)) if root is not None else {}
    statuses = []
    for sid in args.source or sorted(manifest.sources):
        statuses += check_source(manifest.sources[sid], shown_root, lock)
    print(format_report(manifest, statuses, root))
    count = {k: sum(s.status == k for s in statuses) for k in ("ok", "unverified", "missing", "mismatch")}
    print(f"{count['ok'] + count['unverified']} found ({count['unverified']} without a recorded checksum), "
          f"{count['missing']} missing, {count['mismatch']} mismatched")
    changed = [s for s in statuses if s.status == "mismatch"]
    return EXIT_ASSETS_NOT_USABLE if changed else 0


def cmd_assets_lock(args: argparse.Namespace) -> int:
    from synth.assets import ASSETS_ENV, write_lock

    manifest, root, lock_path, _, _ = _context(args)
    if root is None:
        raise AssetError(f"no asset root: pass --root DIR, set ${ASSETS_ENV}, or give --config with assets.root")
    path, count = write_lock(manifest, root, lock_path, args.source)
    print(f"wrote {path}: sha256 and size of {count} files")
    return 0


def cmd_assets_convert(args: argparse.Namespace) -> int:
    """Convert the Alembic clothing caches a config reads into arrays (Blender is loaded only if one needs it)."""
    from synth.appearance.clothing_cache import clothing_cache_dir
    from synth.config import load_config
    from synth.run.convert import convert_config_clothing

    cfg = load_config(args.config)
    results, unpaired = convert_config_clothing(cfg, Path(args.config).resolve().parent, force=args.force)
    for abc in unpaired:
        print(f"unused     {abc}: no motion file of the config pairs with it, so it is never read")
    count = {"converted": 0, "skipped": 0}
    for r in results:
        count[r.status] += 1
        what = f"{r.conversion.abc} at {r.conversion.fps!r} fps"
        if r.status == "skipped":
            print(f"skipped    {what}: already converted ({r.target.name})")
        else:
            print(f"converted  {what}: {r.num_meshes} mesh(es), {r.num_frames} frames -> {r.target} "
                  f"({r.seconds:.1f} s)")
    print(f"{args.config}: {count['converted']} clothing caches converted, {count['skipped']} already converted, "
          f"{len(unpaired)} unused; converted caches are in {clothing_cache_dir()}")
    return 0


def cmd_assets(args: argparse.Namespace) -> int:
    commands = {"check": cmd_assets_check, "lock": cmd_assets_lock, "convert": cmd_assets_convert}
    return commands[args.assets_command](args)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", action="append", default=None, help="only this source id (repeatable)")
    p.add_argument("--root", default=None, help="asset root (default: the config's assets.root or $EGORIG_ASSETS)")
    p.add_argument("--lock", default=None, help="lock file (default: <root>/egorig-assets.lock.json)")
    p.add_argument("--manifest-dir", default=None, help="asset manifests (default: the repository's assets_manifest/)")


def register(sub: argparse._SubParsersAction, commands: dict[str, Callable[[argparse.Namespace], int]]) -> None:
    """Add `synth assets check|lock|convert` to the `synth` parser."""
    p = sub.add_parser("assets", help="licensed assets: check what is there, lock checksums (never downloads)")
    asub = p.add_subparsers(dest="assets_command", required=True)
    c = asub.add_parser("check", help="list found / missing / mismatched files and where each goes")
    c.add_argument("--config", default=None, help="check what this render config needs (exit 1 if it cannot run)")
    _common(c)
    lk = asub.add_parser("lock", help="record sha256 + size of every file found under each source's layout")
    lk.add_argument("--config", default=None, help="take assets.root / assets.lock from this config")
    _common(lk)
    cv = asub.add_parser("convert", help="convert the Alembic clothing caches a config uses into arrays, once, with "
                                         "Blender, so label-only runs read them without it")
    cv.add_argument("--config", required=True, help="render config whose clothing caches to convert")
    cv.add_argument("--force", action="store_true", help="convert again even when a converted cache exists")
    commands["assets"] = cmd_assets

