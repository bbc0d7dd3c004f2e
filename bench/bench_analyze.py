"""Benchmark ``burnish analyze --json`` as a whole process: real-time factor and peak memory.

Default: a 4-minute 44.1 kHz stereo 24-bit FLAC built by looping the corpus mixes (target: at
least 100x real time, i.e. under 2.4 s, start-up included). ``--long``: a 60-minute 96 kHz
stereo 24-bit WAV written block by block (never held in memory; target under 400 MB peak).
Files go to a temporary folder that is removed afterwards.

    .venv/bin/python bench/bench_analyze.py [--long] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


def _mixes() -> list[Path]:
    mixes = sorted(CORPUS.glob("mix0*.flac"))
    if not mixes:
        sys.exit(f"bench: no corpus mixes in {CORPUS}")
    return mixes


def build_file(path: Path, *, duration_s: float, sample_rate: int) -> None:
    """Loop the corpus mixes (resampled if needed) into ``path``, block by block."""
    import soxr

    from burnish.io.files import AudioWriter, read_audio

    sources = []
    for p in _mixes():
        audio, sr = read_audio(p, dtype=np.float32)
        if sr != sample_rate:
            audio = soxr.resample(audio.T, sr, sample_rate).T
        sources.append(np.ascontiguousarray(audio, dtype=np.float32))
    total = int(round(duration_s * sample_rate))
    written = 0
    with AudioWriter(path, sample_rate=sample_rate, num_channels=2, bit_depth=24) as writer:
        k = 0
        while written < total:
            src = sources[k % len(sources)]
            n = min(src.shape[1], total - written)
            writer.write(src[:, :n])
            written += n
            k += 1


def run_analyze(path: Path) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MB) of ``burnish analyze --json path``."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "burnish", "analyze", "--json", str(path)],
        capture_output=True, text=True, cwd=REPO,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0,):
        print(proc.stderr, file=sys.stderr)
        sys.exit(f"bench: burnish analyze failed with status {proc.returncode}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return elapsed, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="60 minutes at 96 kHz instead")
    parser.add_argument("--keep", metavar="DIR", help="build the file in DIR and keep it")
    args = parser.parse_args()
    duration_s, sample_rate, ext = (3600.0, 96000, ".wav") if args.long else (240.0, 44100, ".flac")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"bench_{int(duration_s)}s_{sample_rate}{ext}"
        if not path.exists():
            t = time.perf_counter()
            build_file(path, duration_s=duration_s, sample_rate=sample_rate)
            print(f"built {path.name} in {time.perf_counter() - t:.1f} s")
        if not args.long:  # a warm-up run (numba cache, page cache); the long file is too big
            run_analyze(path)
        elapsed, peak_mb = run_analyze(path)
        print(
            f"burnish analyze --json: {duration_s / 60:.0f} min {sample_rate} Hz stereo in"
            f" {elapsed:.2f} s = {duration_s / elapsed:.0f}x real time, peak memory"
            f" {peak_mb:.0f} MB"
        )


if __name__ == "__main__":
    main()
