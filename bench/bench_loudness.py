"""Benchmark: burnish's loudness meter against ffmpeg's ebur128 filter, whole process to whole process.

    .venv/bin/python bench/bench_loudness.py              # 4-minute 44.1 kHz stereo 24-bit WAV
    .venv/bin/python bench/bench_loudness.py --long       # also a 60-minute 96 kHz stereo WAV
    .venv/bin/python bench/bench_loudness.py --runs 5     # median of 5 runs (default 3)

The 4-minute file loops the corpus mixes; the 60-minute one is written block by block (never
held in memory): a tone whose level swells over a minute, plus noise. Each measurement is a
fresh process under ``/usr/bin/time`` (wall time and peak resident memory, see
``bench/common.py``); burnish and ffmpeg alternate and the medians are printed. burnish's numba
kernels are warmed (cache compiled) first, as an install does.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, REPO, build_looped_file, run_process  # noqa: E402

MEASURE = (
    "import sys; from burnish.analysis.loudness import measure_file; "
    "r = measure_file(sys.argv[1]); "
    "print(round(r.integrated_lufs, 3), round(r.lra_lu, 2), round(r.true_peak_dbtp, 3))"
)


def build_long_file(path: Path, *, minutes: float = 60.0, sample_rate: int = 96000) -> float:
    """A long 96 kHz stereo WAV written in blocks (never held in memory): tones, noise, gaps."""
    import soundfile as sf

    rng = np.random.default_rng(1)
    total = int(minutes * 60 * sample_rate)
    block = sample_rate * 10
    with sf.SoundFile(path, "w", samplerate=sample_rate, channels=2, subtype="PCM_24") as out:
        for start in range(0, total, block):
            n = min(block, total - start)
            t = (start + np.arange(n)) / sample_rate
            level = 0.05 + 0.2 * (1 + np.sin(2 * np.pi * t / 60.0)) / 2
            tone = np.sin(2 * np.pi * 440.0 * t) * level
            noise = rng.standard_normal((2, n)) * 0.02
            out.write((tone + noise).T.astype(np.float32))
    return total / sample_rate


def bench(path: Path, duration_s: float, runs: int) -> None:
    subprocess.run([PYTHON, "-c", "from burnish.analysis.loudness import warmup; warmup()"], check=True, cwd=REPO)
    ffmpeg = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path),
              "-af", "ebur128=peak=true", "-f", "null", "-"]
    ours_cmd = [PYTHON, "-c", MEASURE, str(path)]
    walls: dict[str, list[float]] = {"burnish measure_file": [], "ffmpeg ebur128=peak=true": []}
    peaks: dict[str, list[float]] = {k: [] for k in walls}
    last_out = ""
    for _ in range(runs):  # alternate, so a drift in machine load hits both alike
        for name, cmd in (("burnish measure_file", ours_cmd), ("ffmpeg ebur128=peak=true", ffmpeg)):
            run = run_process(cmd)
            if run.returncode != 0:
                raise SystemExit(f"{name} failed: {run.stderr}")
            walls[name].append(run.wall_s)
            peaks[name].append(run.peak_mb)
    proc = subprocess.run(ours_cmd, capture_output=True, text=True, check=True, cwd=REPO)
    last_out = proc.stdout.strip()
    print(f"\n{path.name}: {duration_s / 60:.1f} min, {path.stat().st_size / 1e6:.0f} MB, median of {runs}")
    for name in walls:
        wall = statistics.median(walls[name])
        print(f"  {name:28s} wall {wall:6.2f} s   real-time x{duration_s / wall:7.1f}"
              f"   peak RSS {max(peaks[name]):6.0f} MB")
    ratio = statistics.median(a / b for a, b in zip(*walls.values(), strict=True))
    print(f"  burnish / ffmpeg wall (median of pairs): {ratio:.2f}")
    print(f"  burnish result (I LUFS, LRA LU, TP dBTP): {last_out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="also a 60-minute 96 kHz stereo file")
    parser.add_argument("--runs", type=int, default=3, help="runs per command (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="burnish-bench-") as tmp:
        short = Path(tmp) / "music_4min_44k.wav"
        t = time.perf_counter()
        build_looped_file(short, duration_s=240.0)
        print(f"built {short.name} in {time.perf_counter() - t:.1f} s")
        bench(short, 240.0, args.runs)
        if args.long:
            long = Path(tmp) / "long_60min_96k.wav"
            t = time.perf_counter()
            dur = build_long_file(long)
            print(f"built {long.name} in {time.perf_counter() - t:.1f} s")
            bench(long, dur, max(1, min(args.runs, 2)))


if __name__ == "__main__":
    main()
