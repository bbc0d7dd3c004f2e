"""Benchmark ``burnish analyze --json`` as a whole process: real-time factor and peak memory.

Default: a 4-minute 44.1 kHz stereo 24-bit FLAC built by looping the corpus mixes (target: at
least 100x real time, i.e. under 2.4 s, start-up included). ``--long``: a 60-minute 96 kHz
stereo 24-bit WAV written block by block (never held in memory; target under 400 MB peak).
Files go to a temporary folder that is removed afterwards. Each run is a fresh process under
``/usr/bin/time`` (``bench/common.py``); the median of ``--runs`` is printed.

    .venv/bin/python bench/bench_analyze.py [--long] [--keep DIR] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, build_looped_file, run_process  # noqa: E402


def run_analyze(path: Path) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MB) of ``burnish analyze --json path``."""
    run = run_process([PYTHON, "-m", "burnish", "analyze", "--json", str(path)])
    if run.returncode != 0:
        print(run.stderr, file=sys.stderr)
        sys.exit(f"bench: burnish analyze failed with status {run.returncode}")
    return run.wall_s, run.peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="60 minutes at 96 kHz instead")
    parser.add_argument("--keep", metavar="DIR", help="build the file in DIR and keep it")
    parser.add_argument("--runs", type=int, default=3, help="timed runs (median; 1 for --long)")
    args = parser.parse_args()
    duration_s, sample_rate, ext = (3600.0, 96000, ".wav") if args.long else (240.0, 44100, ".flac")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"bench_{int(duration_s)}s_{sample_rate}{ext}"
        if not path.exists():
            t = time.perf_counter()
            build_looped_file(path, duration_s=duration_s, sample_rate=sample_rate)
            print(f"built {path.name} in {time.perf_counter() - t:.1f} s")
        runs = 1 if args.long else max(1, args.runs)
        if not args.long:  # a warm-up run (numba cache, page cache); the long file is too big
            run_analyze(path)
        results = [run_analyze(path) for _ in range(runs)]
        elapsed = statistics.median(r[0] for r in results)
        peak_mb = max(r[1] for r in results)
        print(
            f"burnish analyze --json: {duration_s / 60:.0f} min {sample_rate} Hz stereo in"
            f" {elapsed:.2f} s (median of {runs}) = {duration_s / elapsed:.0f}x real time,"
            f" peak memory {peak_mb:.0f} MB"
        )


if __name__ == "__main__":
    main()
