"""Write tests/golden/expected/ from the current code (run once, before a change that must not alter outputs)."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from golden import EXPECTED, RUNS, collected_files, index_summary, run_synth  # noqa: E402


def main() -> None:
    if EXPECTED.exists():
        shutil.rmtree(EXPECTED)
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in RUNS:
            out = Path(tmp) / name
            run_synth(args, out)
            for rel in collected_files(out):
                dest = EXPECTED / name / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(out / rel, dest)
            summary = {"files": collected_files(out), "index": index_summary(out)}
            (EXPECTED / name / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
            print(f"{name}: {len(summary['files'])} files")


if __name__ == "__main__":
    main()
