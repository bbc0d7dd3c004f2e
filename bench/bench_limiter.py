"""Benchmark: TruePeakLimiter and Saturator (now and at a baseline commit) vs pedalboard.

A 4-minute 44.1 kHz stereo signal (a corpus mix looped, driven +10 dB) goes through each
processor in blocks of 65536 frames. Prints, per processor, the CPU seconds
(``time.process_time``, the minimum over ``--repeats`` runs: the machines are shared, so CPU time
is steadier than wall time), the wall seconds, the real-time factors (seconds of processing per
second of audio), the peak Python-heap memory (tracemalloc, a separate run) and the output true
peak read by ffmpeg ``loudnorm``.

``--baseline REV`` (default: the commit before the speed-up) also runs the limiter and the
saturator as they were at ``REV`` (their three modules are read with ``git show`` into a
temporary package), so "before" and "after" are measured in the same run on the same load.

Run: ``.venv/bin/python bench/bench_limiter.py [--repeats 3] [--baseline REV | --no-baseline]``
(needs ../shared/corpus, pedalboard, ffmpeg).
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from burnish.dsp.limiter import LimiterParams, TruePeakLimiter  # noqa: E402
from burnish.dsp.saturation import SaturationParams, Saturator  # noqa: E402
from tests.reference_meter import ffmpeg_loudnorm_measure  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
SOURCE = CORPUS / "mix02_rock_chugga_chugga_cha_ching.flac"
DURATION_S = 240.0
BLOCK = 65536
DRIVE_DB = 10.0
#: The last commit before the limiter/saturator speed-up.
DEFAULT_BASELINE = "e266345"
_MODULES = ("oversample", "limiter", "saturation")

Process = Callable[[np.ndarray], np.ndarray]


def _signal() -> tuple[np.ndarray, int]:
    audio, sample_rate = sf.read(str(SOURCE), dtype="float64", always_2d=True)
    n = int(DURATION_S * sample_rate)
    reps = int(np.ceil(n / audio.shape[0]))
    x = np.tile(audio.T, (1, reps))[:, :n]
    return np.ascontiguousarray(x), sample_rate


def _load_baseline(rev: str, tmp: Path) -> dict[str, ModuleType]:
    """The three DSP modules at ``rev`` as a temporary package ``burnish_baseline``."""
    pkg = tmp / "burnish_baseline"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name in _MODULES:
        src = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:burnish/dsp/{name}.py"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        src = src.replace("from burnish.dsp.oversample import", "from burnish_baseline.oversample import")
        src = src.replace("@register_processor\n", "")  # the current classes own the kinds
        (pkg / f"{name}.py").write_text(src)
    sys.path.insert(0, str(tmp))
    return {name: importlib.import_module(f"burnish_baseline.{name}") for name in _MODULES}


def _blocks(process: Process, x: np.ndarray) -> np.ndarray:
    return np.concatenate([process(x[:, i : i + BLOCK]) for i in range(0, x.shape[1], BLOCK)], axis=1)


def _run(
    name: str, make: Callable[[], Process], x: np.ndarray, sample_rate: int, tmp: Path, repeats: int
) -> float:
    """Print one line for ``name``; returns its CPU seconds."""
    duration = x.shape[1] / sample_rate
    cpu = wall = float("inf")
    out = x
    for _ in range(repeats):
        process = make()
        start, cpu0 = time.perf_counter(), time.process_time()
        out = _blocks(process, x)
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - cpu0)
    process = make()
    tracemalloc.start()
    _blocks(process, x[:, : 8 * BLOCK])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    path = tmp / f"{name.replace(' ', '_')}.wav"
    sf.write(str(path), out.T.astype(np.float32), sample_rate, subtype="FLOAT")
    tp = ffmpeg_loudnorm_measure(path)["input_tp"]
    print(
        f"{name:40s} cpu {cpu:6.2f} s (RTF {cpu / duration:.4f})  wall {wall:6.2f} s "
        f"(RTF {wall / duration:.4f})  peak mem {peak / 2**20:6.1f} MiB  true peak {tp:+.2f} dBTP",
        flush=True,
    )
    return cpu


def _processor(cls: Any, params: Any, sample_rate: int) -> Callable[[], Process]:
    def make() -> Process:
        p = cls(params, sample_rate=sample_rate, num_channels=2)
        p.process(np.zeros((2, 64)))  # load the numba kernels
        p.reset()
        return p.process  # type: ignore[no-any-return]

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per processor (min is shown)")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision to compare with")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline runs")
    args = parser.parse_args()

    import pedalboard

    x, sample_rate = _signal()
    print(f"signal: {SOURCE.name} looped to {DURATION_S:.0f} s, {sample_rate} Hz stereo, +{DRIVE_DB:.0f} dB")
    lim_params = LimiterParams(ceiling_dbtp=-1.0, input_gain_db=DRIVE_DB)
    sat_params = SaturationParams(curve="tape", drive_db=6.0)

    def pb(*effects: Any) -> Callable[[], Process]:
        def make() -> Process:
            board = pedalboard.Pedalboard(list(effects))
            board.reset()
            return lambda b: board.process(b.astype(np.float32), sample_rate, reset=False).astype(np.float64)

        return make

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        results: dict[str, float] = {}
        if not args.no_baseline:
            old = _load_baseline(args.baseline, tmp)
            old_lim = old["limiter"]
            old_sat = old["saturation"]
            results["limiter before"] = _run(
                f"TruePeakLimiter -1 dBTP @ {args.baseline}",
                _processor(old_lim.TruePeakLimiter, old_lim.LimiterParams(ceiling_dbtp=-1.0, input_gain_db=DRIVE_DB), sample_rate),
                x, sample_rate, tmp, args.repeats,
            )  # fmt: skip
        results["limiter after"] = _run(
            "TruePeakLimiter -1 dBTP (now)", _processor(TruePeakLimiter, lim_params, sample_rate),
            x, sample_rate, tmp, args.repeats,
        )  # fmt: skip
        _run(
            "pedalboard.Limiter -1 dB",
            pb(pedalboard.Gain(gain_db=DRIVE_DB), pedalboard.Limiter(threshold_db=-1.0, release_ms=80.0)),
            x, sample_rate, tmp, args.repeats,
        )  # fmt: skip
        if not args.no_baseline:
            results["saturator before"] = _run(
                f"Saturator tape 6 dB 8x @ {args.baseline}",
                _processor(old_sat.Saturator, old_sat.SaturationParams(curve="tape", drive_db=6.0), sample_rate),
                x, sample_rate, tmp, args.repeats,
            )  # fmt: skip
        results["saturator after"] = _run(
            "Saturator tape 6 dB 8x (now)", _processor(Saturator, sat_params, sample_rate),
            x, sample_rate, tmp, args.repeats,
        )  # fmt: skip
        _run("pedalboard.Distortion 6 dB", pb(pedalboard.Distortion(drive_db=6.0)), x, sample_rate, tmp, args.repeats)
    for kind in ("limiter", "saturator"):
        if f"{kind} before" in results:
            before, after = results[f"{kind} before"], results[f"{kind} after"]
            print(f"{kind}: {before:.2f} s -> {after:.2f} s CPU ({before / after:.1f}x)")
    print("pedalboard.Limiter works on sample peaks: its output true peak is above its threshold"
          " (not true-peak safe); burnish's stays at or below the ceiling.")


if __name__ == "__main__":
    main()
