"""The demo reruns over its own output after the config (or egorig) changed, and leaves other data alone."""

from __future__ import annotations

import json

from synth.config import config_hash, load_config
from synth.demo import DEFAULT_CONFIG, discard_stale


def test_a_stale_demo_dataset_is_started_anew_and_a_current_or_foreign_one_kept(tmp_path):
    cfg = load_config(DEFAULT_CONFIG)
    said: list[str] = []
    stale, current, foreign = tmp_path / "stale", tmp_path / "current", tmp_path / "foreign"
    for d, meta in ((stale, {"config_hash": "0123456789abcdef"}), (current, {"config_hash": config_hash(cfg)})):
        (d / "clips").mkdir(parents=True)
        (d / "dataset.json").write_text(json.dumps(meta))
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    for d in (stale, current, foreign):
        discard_stale(d, cfg, said.append)
    assert not stale.exists()
    assert (current / "dataset.json").is_file() and (foreign / "notes.txt").read_text() == "mine"
    assert len(said) == 1 and "0123456789abcdef" in said[0] and "anew" in said[0]
