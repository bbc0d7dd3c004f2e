"""Benchmark ``deliver()``: the full set of deliverables from a 4-minute master.

Builds a 4-minute 44.1 kHz 24-bit master by looping the corpus mixes through the true-peak
limiter (+8 dB into a -1 dBTP ceiling, like a streaming master) and a minimal master record
beside it, then times ``deliver()`` for every destination in a child process (so its peak
memory is its own). Prints per deliverable the wall time (probe + encode/render + decode +
meter + retries + tags) and the CPU time of the worker that made it, then the total wall
and CPU time (all processes) and the peak resident memory. Target: under 5 s of processing
beyond the master itself.

    .venv/bin/python bench/bench_deliver.py [--destinations LIST] [--keep DIR] [--workers N]
                                            [--independent-meter]

``--independent-meter`` adds libavfilter's ebur128 on every decoded lossy file (off by default,
as in ``deliver()``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"

ALL = "hires,streaming,cd,mp3,mp3v0,aac,opus"
DURATION_S = 240.0
SAMPLE_RATE = 44100


def _mixes() -> list[Path]:
    mixes = sorted(CORPUS.glob("mix0*.flac"))
    if not mixes:
        sys.exit(f"bench: no corpus mixes in {CORPUS}")
    return mixes


def build_master(folder: Path) -> Path:
    """A 4-minute limited master (``song.streaming.wav``) and its record; returns the record."""
    from burnish.dsp.limiter import LimiterParams, TruePeakLimiter
    from burnish.io.files import AudioWriter, read_audio

    sources = [read_audio(p)[0] for p in _mixes()]
    limiter = TruePeakLimiter(LimiterParams(ceiling_dbtp=-1.0, input_gain_db=8.0),
                              sample_rate=SAMPLE_RATE, num_channels=2)
    total = int(DURATION_S * SAMPLE_RATE)
    latency = limiter.latency_samples
    out = folder / "song.streaming.wav"
    written = 0
    k = 0
    with AudioWriter(out, sample_rate=SAMPLE_RATE, num_channels=2, bit_depth=24) as writer:
        skip = latency
        while written < total:
            src = sources[k % len(sources)]
            k += 1
            block = limiter.process(src)
            if skip:
                drop = min(skip, block.shape[1])
                block, skip = block[:, drop:], skip - drop
            n = min(block.shape[1], total - written)
            writer.write(block[:, :n])
            written += n
    record = {
        "format": "burnish-master", "version": 1, "mix": {"path": str(folder / "song.flac")},
        "revisions": [{"versions": [{
            "name": "streaming", "output": out.name,
            "render": {"ceiling_dbtp": -1.0, "bit_depth": 24, "sample_rate": SAMPLE_RATE},
            "settings": {"target": {"name": "spotify", "ceiling_dbtp": -1.0}},
        }]}],
    }
    path = folder / "song.master.json"
    path.write_text(json.dumps(record, indent=2))
    return path


def child(record: str, destinations: str, out_dir: str, workers: str = "0",
          independent: str = "0") -> None:
    """Run in a separate process: import, warm up numba, then time deliver()."""
    t_import = time.perf_counter()
    from burnish.analysis.loudness import warmup as warm_meter
    from burnish.delivery.deliver import deliver
    from burnish.dsp.dither import warmup as warm_dither
    from burnish.io.metadata import Metadata

    warm_meter()
    warm_dither()
    t0 = time.perf_counter()
    cpu0 = _cpu_s()
    results = deliver(record, destinations, out_dir=out_dir, workers=int(workers) or None,
                      independent_meter=independent == "1",
                      metadata=Metadata(title="Bench", artist="burnish", isrc="GBAAA2600001"))
    total = time.perf_counter() - t0
    cpu = _cpu_s() - cpu0
    print(f"import + numba warm-up: {t0 - t_import:.2f} s")
    print(f"{'deliverable':<22s} {'wall s':>7s} {'cpu s':>7s} {'tries':>5s} {'gain dB':>8s}"
          f" {'probe':>7s} {'TP dBTP':>8s} {'LUFS':>7s}")
    for r in results:
        probe = "" if r.probe_true_peak_dbtp is None else f"{r.probe_true_peak_dbtp:7.2f}"
        print(f"{Path(r.path).name:<22s} {r.elapsed_s:7.2f} {r.cpu_s:7.2f} {r.attempts:5d}"
              f" {r.gain_db:8.2f} {probe:>7s} {r.true_peak_dbtp:8.2f} {r.integrated_lufs:7.2f}")
    print(f"sum over deliverables: {sum(r.elapsed_s for r in results):.2f} s wall,"
          f" {sum(r.cpu_s for r in results):.2f} s CPU")
    print(f"total deliver(): {total:.2f} s wall, {cpu:.2f} s CPU (all processes) for"
          f" {DURATION_S / 60:.0f} min of audio ({DURATION_S / total:.0f}x real time)")


def _cpu_s() -> float:
    """CPU time of this process and of its finished children (the worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--destinations", default=ALL)
    parser.add_argument("--keep", metavar="DIR", help="build in DIR and keep the files")
    parser.add_argument("--workers", type=int, default=0,
                        help="worker processes (default: one per core)")
    parser.add_argument("--independent-meter", action="store_true",
                        help="measure lossy files with libavfilter's ebur128 too")
    parser.add_argument("--child", nargs=5,
                        metavar=("RECORD", "LIST", "OUT", "WORKERS", "INDEPENDENT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        record = folder / "song.master.json"
        if not record.exists():
            t = time.perf_counter()
            record = build_master(folder)
            print(f"built a {DURATION_S / 60:.0f}-minute master in {time.perf_counter() - t:.1f} s")
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(record), args.destinations,
             str(folder / "delivery"), str(args.workers), "1" if args.independent_meter else "0"],
            cwd=REPO, check=False,
        )
        if proc.returncode:
            sys.exit(f"bench: deliver failed with status {proc.returncode}")
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
        print(f"peak memory of the largest delivering process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
