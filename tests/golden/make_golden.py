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
    """Every run is written to a scratch folder first; the expected folder is replaced only when all of them
    succeeded (a failing run leaves the old goldens in place)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "expected"
        for name, args in RUNS:
            out = Path(tmp) / "runs" / name
            run_synth(args, out)
            for rel in collected_files(out):
                dest = fresh / name / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(out / rel, dest)
            summary = {"files": collected_files(out), "index": index_summary(out)}
            (fresh / name / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
            print(f"{name}: {len(summary['files'])} files")
        if EXPECTED.exists():
            shutil.rmtree(EXPECTED)
        shutil.copytree(fresh, EXPECTED)


if __name__ == "__main__":
    main()
