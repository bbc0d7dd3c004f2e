"""Real-time factor and peak memory of each repair on 4 minutes of 44.1 kHz stereo.

The corpus mix is looped to 4 minutes; each processor streams it in 65536-frame blocks. Declip
runs on an orchestral reference clipped by 6 dB (dense peaks: the slow case).
Run: ``.venv/bin/python bench/bench_restoration.py [kind ...]`` (default: all four).
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import soundfile as sf

from burnish.dsp.base import Processor
from burnish.dsp.restoration import (
    Declicker,
    DeclickParams,
    DeclipParams,
    Declipper,
    Dehummer,
    DehumParams,
    DenoiseParams,
    Denoiser,
    warmup,
)

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
DURATION_S = 240.0
BLOCK = 65536


def looped(name: str) -> tuple[np.ndarray, int]:
    """A corpus file as float32 (channels, samples), looped to ``DURATION_S``."""
    x, sr = sf.read(str(CORPUS / name), always_2d=True, dtype="float32")
    n = int(DURATION_S * sr)
    return np.tile(x.T, (1, n // x.shape[0] + 1))[:, :n], int(sr)


def main() -> None:
    audio, sr = looped("mix01_blues_city_blues.flac")
    n = audio.shape[1]
    warmup()
    procs: list[tuple[str, Processor, float]] = [
        ("declick", Declicker(DeclickParams(), sample_rate=sr, num_channels=2), 50.0),
        ("dehum", Dehummer(DehumParams(mains_hz=50), sample_rate=sr, num_channels=2), 50.0),
        ("denoise", Denoiser(DenoiseParams(), sample_rate=sr, num_channels=2), 10.0),
        ("declip", Declipper(DeclipParams(), sample_rate=sr, num_channels=2), 10.0),
    ]
    # clipped by 6 dB: peak-normalised, raised 6 dB, clipped at +-1. The orchestral reference
    # has dense peaks: 2 % of its samples clipped, about 40 % of the frames to restore
    # (the blues mix would have only 0.4 % clipped)
    dense, _ = looped("ref01_orchestral_wesnoth_breaking_the_chains.flac")
    clipped = np.clip(dense / np.max(np.abs(dense)) * 2.0, -1.0, 1.0)
    only = set(sys.argv[1:])
    for name, proc, target in procs:
        if only and name not in only:
            continue
        src = clipped if name == "declip" else audio
        start = time.perf_counter()
        for i in range(0, n, BLOCK):
            proc.process(src[:, i : i + BLOCK])
        elapsed = time.perf_counter() - start
        # peak memory in a second, shorter traced pass (tracing slows Python-level code)
        proc.reset()
        tracemalloc.start()
        for i in range(0, min(n, 20 * BLOCK), BLOCK):
            proc.process(src[:, i : i + BLOCK])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rtf = DURATION_S / elapsed
        print(f"{name:8s} {elapsed:6.2f} s  {rtf:6.1f}x real time (target {target:g}x)"
              f"  peak {peak / 2**20:6.1f} MiB  {'ok' if rtf >= target else 'BELOW TARGET'}")


if __name__ == "__main__":
    main()
