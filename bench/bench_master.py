"""``burnish master`` end to end, and reference mastering against Matchering 2.0.

Part 1 (speed): a 4-minute 44.1 kHz stereo file built from corpus mixes, mastered by
``burnish master`` (to a target, and to a reference) and by Matchering on the same file and
reference, each as a whole process (start-up and writing included): wall time, real-time
factor and peak memory.

Part 2 (quality): mix/reference pairs — mixes made from a reference by lowering it 10 dB and
tilting its EQ, a mix low-passed at 4 kHz, and an unrelated mix/reference pair — mastered by
both; printed side by side: 1/3-octave mid and side error to the reference (level removed,
RMS over 25 Hz–16 kHz), loudness difference and true peak (both by ffmpeg's ebur128).

Matchering is GPL: install it in its own environment, never in burnish's:
    python3 -m venv /tmp/mvenv && /tmp/mvenv/bin/pip install matchering
    .venv/bin/python bench/bench_master.py --matchering-python /tmp/mvenv/bin/python
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, build_looped_file, corpus_file, run_process  # noqa: E402

MATCHERING_SCRIPT = """
import sys, matchering as mg
mg.log(print)
mg.process(target=sys.argv[1], reference=sys.argv[2], results=[mg.pcm24(sys.argv[3])])
"""


def burnish_cmd(mix: Path, out: Path, reference: Path | None) -> list[str]:
    cmd = [PYTHON, "-m", "burnish", "master", str(mix), "-o", str(out)]
    if reference is not None:
        cmd += ["--reference", str(reference)]
    return cmd


def matchering_cmd(py: str, mix: Path, ref: Path, out: Path) -> list[str]:
    return [py, "-c", MATCHERING_SCRIPT, str(mix), str(ref), str(out)]


def spectra(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from burnish.analysis.analyzer import analyze_file

    a = analyze_file(path)
    side = a.spectrum.side_db if a.spectrum.side_db is not None else np.full_like(a.spectrum.mid_db, -200)
    return a.spectrum.band_centers_hz, a.spectrum.mid_db, side


def errors_to_reference(out: Path, ref: Path, *, low_hz: float = 25.0) -> tuple[float, float]:
    """RMS over 1/3-octave bands from ``low_hz`` to 16 kHz of (output - reference), mid and
    side, after removing the level difference (the median mid difference)."""
    c, rm, rs = spectra(ref)
    _, om, os_ = spectra(out)
    n = min(len(c), len(om))
    c, rm, rs, om, os_ = c[:n], rm[:n], rs[:n], om[:n], os_[:n]
    sel = (c >= low_hz) & (c <= 16000)
    offset = float(np.median((om - rm)[(c >= 25) & (c <= 16000)]))
    mid = (om - rm)[sel] - offset
    side = (os_ - rs)[sel] - offset
    return float(np.sqrt(np.mean(mid**2))), float(np.sqrt(np.mean(side**2)))


def ffmpeg_measure(path: Path) -> tuple[float, float]:
    from burnish.io.ffmeter import ffmpeg_ebur128

    m = ffmpeg_ebur128(path)
    return m.integrated_lufs, m.true_peak_dbtp


def make_pairs(folder: Path) -> list[tuple[str, Path, Path]]:
    from burnish.dsp.base import process_offline
    from burnish.dsp.eq import EqBandParams, EqParams, ParametricEq
    from burnish.io.files import read_audio, write_audio

    pairs = []
    specs = [
        ("ref01 -10 dB, tilt -6 dB", "ref01_orchestral_wesnoth_breaking_the_chains.flac",
         (EqBandParams(type="tilt", frequency_hz=1000.0, gain_db=-6.0),)),
        ("ref02 -10 dB, tilt +6 dB", "ref02_electronic_singularity_through_space_48k.flac",
         (EqBandParams(type="tilt", frequency_hz=1000.0, gain_db=6.0),)),
        ("ref03 -10 dB, bass +4, air -4", "ref03_world_hyperrogue_desert.flac",
         (EqBandParams(type="low_shelf", frequency_hz=150.0, gain_db=4.0),
          EqBandParams(type="high_shelf", frequency_hz=6000.0, gain_db=-4.0))),
        ("ref03 -10 dB, low-passed 4 kHz", "ref03_world_hyperrogue_desert.flac",
         (EqBandParams(type="lowpass", frequency_hz=4000.0, slope_db_per_octave=24),)),
        ("ref01 -10 dB, LP 4 kHz 12 dB/oct", "ref01_orchestral_wesnoth_breaking_the_chains.flac",
         (EqBandParams(type="lowpass", frequency_hz=4000.0, slope_db_per_octave=12),)),
    ]
    for i, (label, name, bands) in enumerate(specs):
        ref = corpus_file(name)
        audio, sr = read_audio(ref)
        eq = ParametricEq(EqParams(bands=bands), sample_rate=sr, num_channels=audio.shape[0])
        mix = process_offline(eq, audio) * 10 ** (-10 / 20)
        path = folder / f"pair{i}_mix.wav"
        write_audio(path, mix, sr)
        pairs.append((label, path, ref))
    pairs.append(("unrelated: mix01 to ref01", corpus_file("mix01_blues_city_blues.flac"),
                  corpus_file("ref01_orchestral_wesnoth_breaking_the_chains.flac")))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--matchering-python", help="python of an environment with matchering")
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    mpy = args.matchering_python
    if mpy is None:
        print("(Matchering not given: --matchering-python PATH; burnish only)")

    with tempfile.TemporaryDirectory(prefix="bench-master-") as tmp:
        folder = Path(tmp)
        run_speed(args, folder, mpy) if not args.skip_speed else None
        if args.skip_quality:
            return
        run_quality(folder, mpy)


def run_speed(args: argparse.Namespace, folder: Path, mpy: str | None) -> None:
    if True:
        long_mix = build_looped_file(folder / "long_mix.flac", duration_s=args.minutes * 60)
        ref = corpus_file("ref01_orchestral_wesnoth_breaking_the_chains.flac")
        audio_s = args.minutes * 60
        print(f"\n== speed: {args.minutes:g}-minute 44.1 kHz stereo, whole process ==")
        print(f"{'tool':<34s} {'wall s':>8s} {'x real time':>12s} {'peak MB':>9s}")
        rows = [("burnish master (target)", burnish_cmd(long_mix, folder / "b1", None)),
                ("burnish master --reference", burnish_cmd(long_mix, folder / "b2", ref))]
        if mpy:
            rows.append(("matchering 2.0", matchering_cmd(mpy, long_mix, ref, folder / "m.wav")))
        results = {}
        for label, cmd in rows:
            run_process(cmd) if label.startswith("burnish") and not results else None  # warm caches
            r = run_process(cmd)
            results[label] = r
            status = "" if r.returncode == 0 else f"  (exit {r.returncode}: {r.stderr.strip()[-200:]})"
            print(f"{label:<34s} {r.wall_s:8.2f} {audio_s / r.wall_s:12.1f} {r.peak_mb:9.0f}{status}")
        if mpy and "matchering 2.0" in results:
            m = results["matchering 2.0"]
            for label in ("burnish master (target)", "burnish master --reference"):
                b = results[label]
                print(f"{label}: {m.wall_s / b.wall_s:.1f}x faster than Matchering,"
                      f" {100 * b.peak_mb / m.peak_mb:.0f} % of its peak memory")



def run_quality(folder: Path, mpy: str | None) -> None:
    if True:
        print("\n== reference matching quality (error to the reference, level removed) ==")
        print("errors: RMS over 1/3-octave bands 25 Hz-16 kHz (and 40 Hz-16 kHz: burnish limits")
        print("sub-bass boosts on purpose, most of all in the side, to keep the low end mono-safe)")
        print(f"{'pair':<32s} {'tool':<10s} {'mid dB':>7s} {'side dB':>8s} {'mid40':>6s}"
              f" {'side40':>6s} {'dLUFS':>7s} {'dBTP':>7s}")
        for label, mix, ref_path in make_pairs(folder):
            ref_lufs, _ = ffmpeg_measure(ref_path)
            outs = []
            bdir = folder / f"out-{mix.stem}"
            r = run_process(burnish_cmd(mix, bdir, ref_path))
            if r.returncode == 0:
                outs.append(("burnish", next(bdir.glob("*.spotify.wav"))))
            else:
                print(f"{label:<32s} burnish failed: {r.stderr.strip()[-300:]}")
            if mpy:
                mout = folder / f"m-{mix.stem}.wav"
                r = run_process(matchering_cmd(mpy, mix, ref_path, mout))
                if r.returncode == 0:
                    outs.append(("matchering", mout))
                else:
                    print(f"{label:<32s} matchering failed: {r.stderr.strip()[-300:]}")
            for tool, out in outs:
                mid, side = errors_to_reference(out, ref_path)
                mid40, side40 = errors_to_reference(out, ref_path, low_hz=40.0)
                lufs, tp = ffmpeg_measure(out)
                print(f"{label:<32s} {tool:<10s} {mid:7.2f} {side:8.2f} {mid40:6.2f} {side40:6.2f}"
                      f" {lufs - ref_lufs:+7.2f} {tp:7.2f}")


if __name__ == "__main__":
    main()
