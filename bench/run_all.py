"""Run every benchmark in its default (4-minute) mode, one after the other.

    .venv/bin/python bench/run_all.py            # all
    .venv/bin/python bench/run_all.py analyze    # those whose name contains a word

Each benchmark prints its own real-time factors and peak memory. The long (60-minute 96 kHz)
runs are opt-in: call a benchmark with ``--long`` directly.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ("loudness", "analyze", "dynamics", "limiter", "chain", "restoration", "master", "deliver")


def main() -> int:
    words = sys.argv[1:]
    scripts = [HERE / f"bench_{name}.py" for name in ORDER]
    scripts += sorted(p for p in HERE.glob("bench_*.py") if p not in scripts)
    failed = 0
    for script in scripts:
        if not script.is_file() or (words and not any(w in script.stem for w in words)):
            continue
        print(f"\n######## {script.name}", flush=True)
        failed += subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
