"""``burnish master`` on material unlike the corpus: short, quiet, loud, mono, odd rates, bait.

Each case masters a few seconds of synthetic (or transformed corpus) audio and checks the
written file with ffmpeg's ebur128 (the independent meter): loudness within ±0.2 LU of the
target or the shortfall reported as the file shows it, true peak at or under the ceiling, no
clipping, rate, depth and channels as asked, and the master's own verification passed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from burnish.assistant.master import MasterJob, build_versions, master
from burnish.errors import AnalysisError, ParameterError
from tests.corpus import corpus_path, require_corpus
from tests.reference_meter import ffmpeg_ebur128_precise

TARGETS = {"spotify": (-14.0, -1.0, None, "PCM_24"), "cd": (-9.0, -0.3, 44100, "PCM_16"),
           "broadcast": (-23.0, -1.0, 48000, "PCM_24"), "apple": (-16.0, -1.0, None, "PCM_24")}


def _write(path: Path, audio: np.ndarray, sample_rate: int, subtype: str = "PCM_24") -> Path:
    sf.write(str(path), audio.T, sample_rate, subtype=subtype)
    return path


def _master(mix: Path, out: Path, targets: list[str], **job: Any) -> dict[str, Any]:
    versions = build_versions(targets, target=None, lufs=None, ceiling_dbtp=None,
                              style="balanced", intensity="medium", force_loudness=False,
                              sample_rate=None, bit_depth=None)
    return master(MasterJob(mix_path=str(mix), out_dir=str(out), versions=versions, **job))


def _check(out: Path, record: dict[str, Any], *, rate_in: int, channels: int) -> None:
    """Every version of ``record`` meets its target by ffmpeg's meter (or reports why not)."""
    for version in record["revisions"][-1]["versions"]:
        lufs, ceiling, rate, subtype = TARGETS[version["name"]]
        path = out / version["output"]
        ref = ffmpeg_ebur128_precise(path)
        render = version["render"]
        where = f"{path.name}: {ref.integrated_lufs:.2f} LUFS, {ref.true_peak_dbtp:.2f} dBTP"
        if render["reachable"]:
            assert abs(ref.integrated_lufs - lufs) <= 0.2, where + f" (target {lufs} ±0.2)"
        else:  # the shortfall is reported, and it is what the file shows
            assert abs((lufs - ref.integrated_lufs) - render["shortfall_lu"]) <= 0.2, where
        assert ref.true_peak_dbtp is not None and ref.true_peak_dbtp <= ceiling + 1e-3, where + f" (ceiling {ceiling})"
        info = sf.info(str(path))
        assert (info.samplerate, info.subtype, info.channels) == (rate or rate_in, subtype, channels)
        audio, _ = sf.read(str(path), always_2d=True)
        assert np.isfinite(audio).all()
        runs = np.count_nonzero((np.abs(audio[1:]) >= 0.99999) & (np.abs(audio[:-1]) >= 0.99999))
        assert runs == 0, f"{path.name}: clipped samples"
        failed = [c for c in version["verification"]["checks"] if not c["passed"]]
        assert not failed, f"{path.name}: {failed}"


def _kicks(sample_rate: int, duration_s: float, *, frequency_hz: float = 40.0) -> np.ndarray:
    """Sine kicks that start on their largest (positive) half-cycle: asymmetric bass."""
    n = int(duration_s * sample_rate)
    t = np.arange(int(0.3 * sample_rate)) / sample_rate
    kick = np.sin(2 * np.pi * frequency_hz * t) * np.exp(-t / 0.15)
    out = np.zeros(n)
    for start in range(0, n - kick.size, int(0.46875 * sample_rate)):
        out[start:start + kick.size] += kick
    return np.stack([out, out]) * 0.8


def _tones(sample_rate: int, duration_s: float, *, channels: int = 2) -> np.ndarray:
    """Decaying harmonic notes (a solo instrument), one every 0.5 s."""
    n = int(duration_s * sample_rate)
    out = np.zeros(n)
    t = np.arange(sample_rate) / sample_rate
    for k, start in enumerate(range(0, n, sample_rate // 2)):
        f0 = (220.0, 277.2, 329.6, 440.0)[k % 4]
        note = sum(0.6 ** h * np.sin(2 * np.pi * f0 * (h + 1) * t) for h in range(6))
        note = note * np.exp(-t * 3.0)
        m = min(note.size, n - start)
        out[start:start + m] += note[:m]
    out *= 0.3 / np.max(np.abs(out))
    return np.repeat(out[None, :], channels, axis=0)


def test_limiter_dc_on_asymmetric_kicks_is_blocked(tmp_path: Path) -> None:
    # Driving 40 Hz kicks into the limiter for a loud master left a mean of about 0.007
    # (-43 dBFS) after the high-pass before it: the verification failed on DC.
    mix = _write(tmp_path / "kicks.wav", _kicks(44100, 4.0), 44100)
    record = _master(mix, tmp_path / "out", ["cd"])
    _check(tmp_path / "out", record, rate_in=44100, channels=2)
    version = record["revisions"][-1]["versions"][0]
    kinds = [p["type"] for p in version["chain"]["processors"]]
    limiter = kinds.index("limiter")
    assert kinds[limiter + 1: limiter + 3] == ["highpass", "limiter"]
    assert any(d["action"].startswith("DC blocker") for d in version["decisions"])
    audio, _ = sf.read(str(tmp_path / "out" / version["output"]))
    assert np.max(np.abs(audio.mean(axis=0))) < 1e-3
    # the new path is deterministic too
    again = _master(mix, tmp_path / "again", ["cd"])
    assert ((tmp_path / "again" / again["revisions"][-1]["versions"][0]["output"]).read_bytes()
            == (tmp_path / "out" / version["output"]).read_bytes())


def test_a_finished_masters_own_dc_is_blocked(tmp_path: Path) -> None:
    # ref02 is a finished master (so no high-pass is decided) with a DC offset of 0.0007 in
    # its right channel: to cd, gain and limiting raised it to 0.0014 and the check failed.
    require_corpus()
    record = _master(corpus_path("ref02_electronic_singularity_through_space_48k.flac"),
                     tmp_path, ["cd"])
    _check(tmp_path, record, rate_in=48000, channels=2)
    decisions = record["revisions"][-1]["versions"][0]["decisions"]
    assert any("the mix's own" in d["reason"] for d in decisions)


def test_a_clean_master_gets_no_dc_blocker(tmp_path: Path) -> None:
    mix = _write(tmp_path / "tones.wav", _tones(44100, 3.0), 44100)
    record = _master(mix, tmp_path / "out", ["spotify"])
    _check(tmp_path / "out", record, rate_in=44100, channels=2)
    kinds = [p["type"] for p in record["revisions"][-1]["versions"][0]["chain"]["processors"]]
    assert kinds.count("limiter") == 1


@pytest.mark.parametrize("duration_s", [0.5, 3.0])
def test_short_files_land_on_target(tmp_path: Path, duration_s: float) -> None:
    mix = _write(tmp_path / "short.wav", _tones(44100, duration_s), 44100)
    record = _master(mix, tmp_path / "out", ["spotify", "cd"])
    _check(tmp_path / "out", record, rate_in=44100, channels=2)


def test_mono_at_48k_for_broadcast_and_cd(tmp_path: Path) -> None:
    mix = _write(tmp_path / "mono.wav", _tones(48000, 3.0, channels=1), 48000)
    record = _master(mix, tmp_path / "out", ["broadcast", "cd"])
    _check(tmp_path / "out", record, rate_in=48000, channels=1)


def test_very_quiet_float_mix_is_raised_past_the_limiters_input_range(tmp_path: Path) -> None:
    audio = _tones(44100, 3.0) * 10 ** (-40 / 20)  # about -58 LUFS: cd asks for +49 dB
    mix = _write(tmp_path / "quiet.wav", audio, 44100, "FLOAT")
    record = _master(mix, tmp_path / "out", ["cd", "apple"])
    _check(tmp_path / "out", record, rate_in=44100, channels=2)


def test_a_mix_louder_than_the_limiters_input_range_comes_down(tmp_path: Path) -> None:
    # A full-scale fs/4 sine measures +6.4 LUFS (K-weighting lifts 12 kHz): -23 LUFS needs a
    # cut of 29 dB, more than the limiter's input gain takes (-24 dB): the chain was refused
    # (ChainError) and nothing was mastered.
    t = np.arange(2 * 48000) / 48000
    sine = np.sin(2 * np.pi * 12000.0 * t + np.pi / 4)
    sine *= 0.99999 / np.max(np.abs(sine))
    mix = _write(tmp_path / "hot.wav", np.stack([sine, sine]), 48000)
    record = _master(mix, tmp_path / "out", ["broadcast"])
    _check(tmp_path / "out", record, rate_in=48000, channels=2)
    kinds = [p["type"] for p in record["revisions"][-1]["versions"][0]["chain"]["processors"]]
    assert kinds[kinds.index("limiter") - 1] == "gain"


def test_brick_walled_loud_mix_comes_down(tmp_path: Path, rng: np.random.Generator) -> None:
    noise = rng.standard_normal((2, 3 * 44100))
    audio = np.tanh(3.0 * noise / np.max(np.abs(noise)) * 4.0)
    audio *= 0.9999 / np.max(np.abs(audio))  # peaks at 0 dBFS, about -5 LUFS
    mix = _write(tmp_path / "loud.wav", audio, 44100)
    record = _master(mix, tmp_path / "out", ["spotify", "cd"])
    _check(tmp_path / "out", record, rate_in=44100, channels=2)


def test_inter_sample_peak_bait_stays_under_the_ceiling(tmp_path: Path) -> None:
    t = np.arange(2 * 44100) / 44100
    sine = np.sin(2 * np.pi * 11025.0 * t + np.pi / 4)  # fs/4: samples at ±1, true peak +3 dB
    sine *= 0.99999 / np.max(np.abs(sine))
    square = np.sign(np.sin(2 * np.pi * 50.0 * t + 0.1)) * 0.99999
    audio = np.concatenate([np.stack([sine, sine]), np.stack([square, square])], axis=1)
    mix = _write(tmp_path / "bait.wav", audio, 44100)
    record = _master(mix, tmp_path / "out", ["spotify", "broadcast"])
    _check(tmp_path / "out", record, rate_in=44100, channels=2)


def test_corpus_excerpt_mono_at_96k_to_cd(tmp_path: Path) -> None:
    import soxr

    require_corpus()
    audio, rate = sf.read(str(corpus_path("mix02_rock_chugga_chugga_cha_ching.flac")),
                          frames=4 * 44100, start=5 * 44100, always_2d=True)
    mono = soxr.resample(audio.mean(axis=1), rate, 96000, quality="VHQ")
    mix = _write(tmp_path / "mix02_mono_96k.wav", mono[None, :], 96000)
    record = _master(mix, tmp_path / "out", ["cd", "spotify"])
    _check(tmp_path / "out", record, rate_in=96000, channels=1)


def test_silence_and_too_short_files_are_refused_clearly(tmp_path: Path) -> None:
    silent = _write(tmp_path / "silent.wav", np.zeros((2, 44100)), 44100)
    with pytest.raises(AnalysisError, match="silent"):
        _master(silent, tmp_path / "out", ["spotify"])
    tiny = _write(tmp_path / "tiny.wav", _tones(44100, 0.3), 44100)
    with pytest.raises(AnalysisError, match="too short"):
        _master(tiny, tmp_path / "out", ["spotify"])
    assert not list((tmp_path / "out").glob("*.wav"))


def test_float_flac_is_refused_before_any_work(tmp_path: Path) -> None:
    mix = _write(tmp_path / "mix.wav", _tones(44100, 1.0), 44100)
    versions = build_versions(["spotify"], target=None, lufs=None, ceiling_dbtp=None,
                              style="balanced", intensity="medium", force_loudness=False,
                              sample_rate=None, bit_depth=32)
    with pytest.raises(ParameterError, match="FLAC"):
        master(MasterJob(mix_path=str(mix), out_dir=str(tmp_path / "out"), versions=versions,
                         output_format="flac"))
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_a_master_just_short_at_the_cap_lands_on_the_target(tmp_path: Path) -> None:
    # At the cap on the limiter's peak reduction a master 0.1-0.2 LU short counted as
    # reaching the target and was left there, at the edge of the ±0.2 LU tolerance, where an
    # independent meter (ffmpeg reads 96 kHz masters 0.03 LU quieter) could put it outside.
    from burnish.assistant.decide import decide
    from burnish.assistant.master import analyze_for_master, curve_levels
    from burnish.assistant.render import render_master

    mix = _write(tmp_path / "tones.wav", _tones(44100, 3.0), 44100)
    _, profile = analyze_for_master(mix)
    settings = build_versions(["cd"], target=None, lufs=None, ceiling_dbtp=None,
                              style="balanced", intensity="medium", force_loudness=False,
                              sample_rate=None, bit_depth=None)["cd"]
    plan = decide(profile, settings, curve_db=curve_levels("neutral", profile))
    plan.max_limiting_db = None
    free = render_master(mix, plan, tmp_path / "free.wav", work_dir=tmp_path / "w")
    assert free.limiting_db > 1.0  # the target needs the limiter
    plan.max_limiting_db = free.limiting_db - 0.25  # the cap now stops 0.1-0.2 LU short
    capped = render_master(mix, plan, tmp_path / "capped.wav", work_dir=tmp_path / "w")
    assert capped.reachable
    assert abs(ffmpeg_ebur128_precise(tmp_path / "capped.wav").integrated_lufs + 9.0) <= 0.03
    # further from the target than the tolerance, the cap holds and the shortfall is reported
    plan.max_limiting_db = free.limiting_db - 0.8
    short = render_master(mix, plan, tmp_path / "short.wav", work_dir=tmp_path / "w")
    assert not short.reachable and short.shortfall_lu > 0.2
    assert short.limiting_db <= plan.max_limiting_db + 1e-6


def test_forced_loudness_beyond_reach_is_reported_not_a_crash(tmp_path: Path,
                                                              rng: np.random.Generator) -> None:
    """``--force-loudness`` to -3 LUFS on a dense mix: the gain search's slope fell towards 0
    and its steps grew past the gain stage's +-48 dB (a ParameterError after the analysis).
    The limiter now takes at most 30 dB off the peaks; the shortfall is reported."""
    noise = rng.standard_normal((2, 3 * 44100))
    audio = np.tanh(2.0 * noise / np.max(np.abs(noise)) * 4.0) * 0.5
    mix = _write(tmp_path / "dense.wav", audio, 44100)
    versions = build_versions(["spotify"], target=None, lufs=-3.0, ceiling_dbtp=None,
                              style="balanced", intensity="medium", force_loudness=True,
                              sample_rate=None, bit_depth=None)
    record = master(MasterJob(mix_path=str(mix), out_dir=str(tmp_path / "out"),
                              versions=versions))
    version = record["revisions"][-1]["versions"][0]
    assert not version["render"]["reachable"]
    ref = ffmpeg_ebur128_precise(tmp_path / "out" / version["output"])
    assert abs((-3.0 - ref.integrated_lufs) - version["render"]["shortfall_lu"]) <= 0.2
    assert ref.true_peak_dbtp is not None and ref.true_peak_dbtp <= -1.0


def test_a_stray_peak_does_not_cap_the_whole_masters_loudness(tmp_path: Path) -> None:
    """Quiet music (about -30 LUFS) with two 4.5 ms bursts at 0.99: the limiting cap used to
    count from that single highest peak, and the master came out 12.5 LU short for spotify. It
    counts from the peak the music keeps reaching (all but the loudest 0.1 % of 46 ms windows);
    the limiter takes the bursts."""
    rate = 44100
    audio = _tones(rate, 100.0) * 0.15
    for start_s in (31.0, 77.0):
        i = int(start_s * rate)
        audio[:, i:i + int(0.0045 * rate)] = 0.99
    mix = _write(tmp_path / "stray.wav", audio, rate)
    record = _master(mix, tmp_path / "out", ["spotify"])
    version = record["revisions"][-1]["versions"][0]
    assert version["render"]["reachable"], version["render"]
    _check(tmp_path / "out", record, rate_in=rate, channels=2)
