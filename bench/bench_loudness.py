"""Benchmark: burnish's loudness meter against ffmpeg's ebur128 filter, whole process to whole process.

    .venv/bin/python bench/bench_loudness.py          # 4-minute 44.1 kHz stereo file from corpus mixes
    .venv/bin/python bench/bench_loudness.py --long   # also a 60-minute 96 kHz stereo file

Each measurement runs in a fresh process (``subprocess``); the peak memory is the child's
``ru_maxrss`` read with ``resource.getrusage(RUSAGE_CHILDREN)`` (each run is started from a
fresh helper process so the maximum belongs to that run alone). Real-time factor = audio
duration / wall time. burnish's numba kernels are warmed (cache compiled) before timing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
PY = sys.executable

# runs one command in a child and reports its wall time and peak RSS (so RUSAGE_CHILDREN is per run)
_RUNNER = r"""
import json, resource, subprocess, sys, time
cmd = json.loads(sys.argv[1])
t = time.perf_counter()
proc = subprocess.run(cmd, capture_output=True, text=True)
wall = time.perf_counter() - t
rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall_s": wall, "rss_mb": rss_kb / 1024, "rc": proc.returncode,
                  "out": proc.stdout[-400:], "err": proc.stderr[-2000:]}))
"""


def run_measured(cmd: list[str]) -> dict[str, float | str | int]:
    out = subprocess.run([PY, "-c", _RUNNER, json.dumps(cmd)], capture_output=True, text=True, check=True)
    result: dict[str, float | str | int] = json.loads(out.stdout)
    if result["rc"] != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {result['err']}")
    return result


def build_music_file(path: Path, *, minutes: float, sample_rate: int = 44100) -> float:
    """Loop the corpus mixes (44.1 kHz stereo) into a ``minutes`` long 24-bit WAV; returns seconds."""
    import soundfile as sf

    sources = sorted(CORPUS.glob("mix0*.flac"))
    if not sources:
        raise SystemExit(f"no corpus mixes at {CORPUS}")
    target = int(minutes * 60 * sample_rate)
    written = 0
    with sf.SoundFile(path, "w", samplerate=sample_rate, channels=2, subtype="PCM_24") as out:
        while written < target:
            for src in sources:
                data, sr = sf.read(src, dtype="float32", always_2d=True)
                if sr != sample_rate or data.shape[1] != 2:
                    continue
                data = data[: target - written]
                out.write(data)
                written += data.shape[0]
                if written >= target:
                    break
    return written / sample_rate


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


def bench(path: Path, duration_s: float) -> None:
    code = (
        "import sys; from burnish.analysis.loudness import measure_file; "
        "r = measure_file(sys.argv[1]); "
        "print(round(r.integrated_lufs, 3), round(r.lra_lu, 2), round(r.true_peak_dbtp, 3))"
    )
    subprocess.run([PY, "-c", "from burnish.analysis.loudness import warmup; warmup()"], check=True, cwd=REPO)
    rows = []
    ours = run_measured([PY, "-c", code, str(path)])
    rows.append(("burnish measure_file", ours))
    ff = run_measured(["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path),
                       "-af", "ebur128=peak=true", "-f", "null", "-"])
    rows.append(("ffmpeg ebur128=peak=true", ff))
    print(f"\n{path.name}: {duration_s / 60:.1f} min, {path.stat().st_size / 1e6:.0f} MB")
    for name, r in rows:
        wall = float(r["wall_s"])
        print(f"  {name:28s} wall {wall:6.2f} s   real-time x{duration_s / wall:7.1f}   peak RSS {float(r['rss_mb']):6.0f} MB")
    print(f"  burnish result (I LUFS, LRA LU, TP dBTP): {str(ours['out']).strip()}")
    summary = str(ff["err"])
    i = summary.rfind("Summary:")
    print("  ffmpeg summary: " + " ".join(summary[i:].split())[:200])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="also a 60-minute 96 kHz stereo file")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONPATH", str(REPO))
    with tempfile.TemporaryDirectory(prefix="burnish-bench-") as tmp:
        short = Path(tmp) / "music_4min_44k.wav"
        t = time.perf_counter()
        dur = build_music_file(short, minutes=4.0)
        print(f"built {short.name} in {time.perf_counter() - t:.1f} s")
        bench(short, dur)
        if args.long:
            long = Path(tmp) / "long_60min_96k.wav"
            t = time.perf_counter()
            dur = build_long_file(long)
            print(f"built {long.name} in {time.perf_counter() - t:.1f} s")
            bench(long, dur)


if __name__ == "__main__":
    main()
