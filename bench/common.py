"""Helpers shared by the benchmarks: test files built from the corpus, whole-process timing."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
PYTHON = sys.executable


def corpus_file(name: str) -> Path:
    path = CORPUS / name
    if not path.is_file():
        sys.exit(f"bench: {path} is missing (the corpus is expected at ../shared/corpus)")
    return path


def build_looped_file(
    path: Path, *, duration_s: float, sample_rate: int = 44100, sources: list[Path] | None = None
) -> Path:
    """Loop corpus music (resampled if needed) into ``path`` block by block, 24-bit."""
    import soxr

    from burnish.io.files import AudioWriter, read_audio

    names = sources or sorted(CORPUS.glob("mix0*.flac"))
    if not names:
        sys.exit(f"bench: no corpus mixes in {CORPUS}")
    clips = []
    for p in names:
        audio, sr = read_audio(p, dtype=np.float32)
        if audio.shape[0] == 1:
            audio = np.repeat(audio, 2, axis=0)
        if sr != sample_rate:
            audio = soxr.resample(audio.T, sr, sample_rate).T
        clips.append(np.ascontiguousarray(audio, dtype=np.float32))
    total = int(round(duration_s * sample_rate))
    written = 0
    with AudioWriter(path, sample_rate=sample_rate, num_channels=2, bit_depth=24) as writer:
        k = 0
        while written < total:
            clip = clips[k % len(clips)]
            n = min(clip.shape[1], total - written)
            writer.write(clip[:, :n])
            written += n
            k += 1
    return path


@dataclass(frozen=True)
class ProcessRun:
    wall_s: float
    peak_mb: float
    returncode: int
    stderr: str


def run_process(cmd: list[str]) -> ProcessRun:
    """Run ``cmd`` as a whole process under /usr/bin/time: wall time and peak resident memory."""
    timer = Path("/usr/bin/time")
    if timer.exists():
        full = [str(timer), "-f", "__TIME__ %e %M", *cmd]
    else:  # fall back to our own clock; memory unknown
        full = cmd
    start = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak = float("nan")
    for line in proc.stderr.splitlines():
        if line.startswith("__TIME__"):
            _, e, m = line.split()
            wall, peak = float(e), float(m) / 1024.0
    return ProcessRun(wall, peak, proc.returncode, proc.stderr[-2000:])
