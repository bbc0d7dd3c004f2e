"""Benchmark: TruePeakLimiter and Saturator vs pedalboard.Limiter and pedalboard.Distortion.

A 4-minute 44.1 kHz stereo signal (a corpus mix looped, driven +10 dB) goes through each
processor in blocks of 65536 frames. Prints the real-time factor (processing time / audio
duration), the peak Python-heap memory (tracemalloc) and the output true peak read by ffmpeg.

Run: ``.venv/bin/python bench/bench_limiter.py`` (needs ../shared/corpus, pedalboard, ffmpeg).
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from burnish.dsp.limiter import LimiterParams, TruePeakLimiter  # noqa: E402
from burnish.dsp.saturation import SaturationParams, Saturator  # noqa: E402
from tests.reference_meter import ffmpeg_loudnorm_measure  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SOURCE = CORPUS / "mix02_rock_chugga_chugga_cha_ching.flac"
DURATION_S = 240.0
BLOCK = 65536
DRIVE_DB = 10.0


def _signal() -> tuple[np.ndarray, int]:
    audio, sample_rate = sf.read(str(SOURCE), dtype="float64", always_2d=True)
    n = int(DURATION_S * sample_rate)
    reps = int(np.ceil(n / audio.shape[0]))
    x = np.tile(audio.T, (1, reps))[:, :n]
    return np.ascontiguousarray(x), sample_rate


def _run(name: str, process: Callable[[np.ndarray], np.ndarray], x: np.ndarray, sample_rate: int, tmp: Path) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    cpu = time.process_time()
    out = np.concatenate([process(x[:, i : i + BLOCK]) for i in range(0, x.shape[1], BLOCK)], axis=1)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    path = tmp / f"{name.replace(' ', '_')}.wav"
    sf.write(str(path), out.T.astype(np.float32), sample_rate, subtype="FLOAT")
    tp = ffmpeg_loudnorm_measure(path)["input_tp"]
    rtf = elapsed / (x.shape[1] / sample_rate)
    print(f"{name:32s} wall {elapsed:6.2f} s  cpu {cpu:6.2f} s  RTF {rtf:.4f}  peak mem {peak / 2**20:7.1f} MiB  "
          f"output true peak {tp:+.2f} dBTP")


def main() -> None:
    import pedalboard

    x, sample_rate = _signal()
    print(f"signal: {SOURCE.name} looped to {DURATION_S:.0f} s, {sample_rate} Hz stereo, +{DRIVE_DB:.0f} dB")
    lim = TruePeakLimiter(LimiterParams(ceiling_dbtp=-1.0, input_gain_db=DRIVE_DB), sample_rate=sample_rate, num_channels=2)
    lim.process(np.zeros((2, 64)))  # load the numba kernels
    lim.reset()
    sat = Saturator(SaturationParams(curve="tape", drive_db=6.0), sample_rate=sample_rate, num_channels=2)
    sat.process(np.zeros((2, 64)))
    sat.reset()
    pb_lim = pedalboard.Pedalboard([pedalboard.Gain(gain_db=DRIVE_DB), pedalboard.Limiter(threshold_db=-1.0, release_ms=80.0)])
    pb_dist = pedalboard.Pedalboard([pedalboard.Distortion(drive_db=6.0)])

    def pb(board: pedalboard.Pedalboard) -> Callable[[np.ndarray], np.ndarray]:
        return lambda b: board.process(b.astype(np.float32), sample_rate, reset=False).astype(np.float64)

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        _run("burnish TruePeakLimiter -1 dBTP", lim.process, x, sample_rate, tmp)
        _run("pedalboard.Limiter -1 dB", pb(pb_lim), x, sample_rate, tmp)
        _run("burnish Saturator tape 6 dB 8x", sat.process, x, sample_rate, tmp)
        _run("pedalboard.Distortion 6 dB", pb(pb_dist), x, sample_rate, tmp)
    print("pedalboard.Limiter works on sample peaks: its output true peak is above its threshold"
          " (not true-peak safe); burnish's stays at or below the ceiling.")


if __name__ == "__main__":
    main()
