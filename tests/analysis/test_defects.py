"""Defect detection: synthetic signals with known defects and the corpus ground truth."""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest

from burnish.analysis.defects import (
    DefectDetector,
    detect_defects,
    intersample_peak_issues,
    warmup,
)
from burnish.analysis.issues import Issue
from burnish.errors import ParameterError
from burnish.io.files import AudioReader, read_audio
from tests.corpus import corpus_entry, corpus_files, corpus_path, require_corpus
from tests.signals import pink_noise, sine, white_noise

SR = 44100


def setup_module() -> None:
    warmup()


def _of(issues: list[Issue], kind: str) -> list[Issue]:
    return [i for i in issues if i.kind == kind]


def _music_like(duration_s: float = 4.0, *, seed: int = 1, num_channels: int = 2) -> np.ndarray:
    """Pink noise low-passed at 12 kHz with a slow envelope and a tone (stands in for music)."""
    from scipy.signal import butter, sosfilt

    x = pink_noise(
        sample_rate=SR,
        duration_s=duration_s,
        level_dbfs=-24.0,
        num_channels=num_channels,
        seed=seed,
    )
    x = sosfilt(butter(8, 12000, output="sos", fs=SR), x, axis=1)
    t = np.arange(x.shape[1]) / SR
    x = x * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
    x += sine(
        220.0, sample_rate=SR, duration_s=duration_s, amplitude=0.1, num_channels=num_channels
    )
    return np.asarray(x)


# ---------------------------------------------------------------------------------- synthetic


def test_spike_in_sine_found_at_its_sample() -> None:
    x = sine(440.0, sample_rate=SR, duration_s=2.0, amplitude=0.3)
    x[:, 30000] += 0.2
    clicks = _of(detect_defects(x, sample_rate=SR), "click")
    assert len(clicks) == 1
    assert clicks[0].details is not None
    assert abs(clicks[0].details["sample"] - 30000) <= 1
    assert clicks[0].channel is None  # both channels


def test_click_on_one_channel_only() -> None:
    x = _music_like(3.0, seed=3)
    x[1, 50000] += 0.4
    clicks = _of(detect_defects(x, sample_rate=SR), "click")
    assert [c.channel for c in clicks] == [1]


def test_no_clicks_on_noise_and_drum_like_transients() -> None:
    x = _music_like(4.0, seed=5)
    # decaying low "kick" bursts with sharp (but band-limited) attacks
    t = np.arange(int(0.2 * SR)) / SR
    kick = 0.8 * np.sin(2 * np.pi * 60 * t * (1 + 2 * np.exp(-t / 0.01))) * np.exp(-t / 0.08)
    for start in range(0, x.shape[1] - kick.size, SR // 2):
        x[:, start : start + kick.size] += kick
    assert _of(detect_defects(x, sample_rate=SR), "click") == []


def test_dc_offset_on_left_only() -> None:
    x = sine(100.0, sample_rate=SR, duration_s=2.0, amplitude=0.3)
    x[0] += 0.05
    dc = _of(detect_defects(x, sample_rate=SR), "dc_offset")
    assert len(dc) == 1 and dc[0].channel == 0
    assert dc[0].value == pytest.approx(0.05, abs=1e-4)
    assert dc[0].severity == "high"


def test_clipping_counts_runs_per_channel() -> None:
    x = sine(50.0, sample_rate=SR, duration_s=1.0, amplitude=1.5)
    x = np.clip(x, -1.0, 1.0)
    expected = int(np.sum(np.abs(x[0]) >= 0.999))
    clip = _of(detect_defects(x, sample_rate=SR), "clipping")
    assert [c.channel for c in clip] == [0, 1]
    assert clip[0].value == expected
    assert clip[0].severity == "high"


def test_silence_head_and_tail_exact() -> None:
    x = sine(440.0, sample_rate=SR, duration_s=1.0, amplitude=0.3, phase_rad=0.5)
    x = np.concatenate([np.zeros((2, 12345)), x, np.zeros((2, 5432))], axis=1)
    sil = _of(detect_defects(x, sample_rate=SR), "silence")
    assert sorted(int(i.details["samples"]) for i in sil if i.details) == [5432, 12345]


def test_polarity_inverted_low_end() -> None:
    x = _music_like(3.0, seed=7)
    x[1] = x[0]
    x[1] *= -1.0
    pol = _of(detect_defects(x, sample_rate=SR), "polarity")
    assert len(pol) == 1 and pol[0].severity == "high" and pol[0].value < -0.9
    x[1] *= -1.0
    assert _of(detect_defects(x, sample_rate=SR), "polarity") == []


@pytest.mark.parametrize("snr_db", [20.0, 30.0, 40.0])
def test_white_hiss_snr_within_3_db(snr_db: float) -> None:
    music = _music_like(6.0, seed=11)
    music[:, : SR // 2] *= np.linspace(0, 1, SR // 2)  # some quiet passages
    noise = white_noise(sample_rate=SR, duration_s=6.0, level_dbfs=0.0, seed=12)
    gain = np.sqrt(np.sum(music**2) / np.sum(noise**2) / 10 ** (snr_db / 10))
    noise_issue = _of(detect_defects(music + gain * noise, sample_rate=SR), "noise")[0]
    assert noise_issue.value == pytest.approx(snr_db, abs=3.0)


def test_24_bit_file_holding_16_bit_audio() -> None:
    x = np.round(_music_like(1.0, seed=2) * 32767) / 32768
    bits = _of(detect_defects(x, sample_rate=SR, bit_depth=24), "bit_depth")
    assert len(bits) == 1 and bits[0].value == 16
    fine = np.round(_music_like(1.0, seed=2) * 2**23) / 2**23
    assert _of(detect_defects(fine, sample_rate=SR, bit_depth=24), "bit_depth") == []


def test_upsampled_96k_flagged() -> None:
    from scipy.signal import resample_poly

    x44 = white_noise(sample_rate=SR, duration_s=2.0, level_dbfs=-20.0, seed=4)
    x96 = resample_poly(x44, 320, 147, axis=1)
    up = _of(detect_defects(x96, sample_rate=96000), "upsampled")
    assert len(up) == 1
    assert up[0].details is not None and up[0].details["likely_original_rate"] == 44100


@pytest.mark.parametrize("block", [1000, 4097, 65536])
def test_block_size_does_not_change_the_issues(block: int) -> None:
    x = _music_like(3.0, seed=9)
    x[:, 40000] += 0.3
    x[0] += 0.01
    x[:, :3000] = 0.0
    reference = detect_defects(x, sample_rate=SR)
    det = DefectDetector(sample_rate=SR, num_channels=2)
    for i in range(0, x.shape[1], block):
        det.update(x[:, i : i + block])
    got = det.result()
    assert [(i.kind, i.channel, i.severity) for i in got] == [
        (i.kind, i.channel, i.severity) for i in reference
    ]
    for a, b in zip(got, reference, strict=True):
        assert a.value == pytest.approx(b.value, rel=1e-9, abs=1e-12)
        assert a.start_s == b.start_s and a.end_s == b.end_s


def test_mono_silence_and_empty_blocks() -> None:
    det = DefectDetector(sample_rate=48000, num_channels=1)
    det.update(np.zeros((1, 0)))
    assert det.result() == []
    det = DefectDetector(sample_rate=48000, num_channels=1)
    det.update(np.zeros((1, 48000)))
    issues = det.result()
    assert issues[0].kind == "silence" and issues[0].severity == "high"


def test_parameters_and_json() -> None:
    with pytest.raises(ParameterError):
        DefectDetector(sample_rate=SR, num_channels=3)
    with pytest.raises(ParameterError):
        DefectDetector(sample_rate=SR, num_channels=2, sensitivity=0.0)
    det = DefectDetector(sample_rate=SR, num_channels=2)
    with pytest.raises(ParameterError):
        det.update(np.zeros((1, 10)))
    x = sine(440.0, sample_rate=SR, duration_s=1.0, amplitude=0.3)
    x[0] += 0.05
    for issue in detect_defects(x, sample_rate=SR):
        json.dumps(issue.to_dict())


def test_intersample_peak_issues() -> None:
    issues = intersample_peak_issues([0.3, -0.5], [-0.1, -0.6], duration_s=10.0)
    assert len(issues) == 1 and issues[0].channel == 0 and issues[0].severity == "low"
    assert intersample_peak_issues([2.0], [0.0], duration_s=1.0)[0].severity == "high"
    with pytest.raises(ParameterError):
        intersample_peak_issues([0.1, 0.2], [0.0], duration_s=1.0)


# ---------------------------------------------------------------------------------- corpus


@cache
def _corpus_issues(name: str) -> list[Issue]:
    with AudioReader(corpus_path(name)) as reader:
        det = DefectDetector(
            sample_rate=reader.info.sample_rate,
            num_channels=reader.info.num_channels,
            bit_depth=reader.info.bit_depth,
        )
        for block in reader.blocks(65536):
            det.update(block)
    return det.result()


def _truth(name_prefix: str) -> tuple[str, dict]:
    require_corpus()
    name = next(n for n in corpus_files() if n.startswith(name_prefix))
    return name, corpus_entry(name)["ground_truth"]


def test_corpus_clipping_counts_within_5_percent() -> None:
    name, truth = _truth("defect_a")
    expected = truth["clipping"]["verified_full_scale_samples_per_channel_in_file"]
    clip = _of(_corpus_issues(name), "clipping")
    assert [c.channel for c in clip] == [0, 1]
    for issue, count in zip(clip, expected, strict=True):
        assert issue.value == pytest.approx(count, rel=0.05)
        assert issue.severity == "high"


def test_corpus_every_click_found_within_2_ms() -> None:
    name, truth = _truth("defect_b")
    sr = corpus_entry(name)["sample_rate"]
    clicks = _of(_corpus_issues(name), "click")
    times = np.array([c.details["time_s"] for c in clicks if c.details])
    expected = np.array(truth["clicks"]["positions_samples"]) / sr
    for t in expected:
        assert np.min(np.abs(times - t)) <= 0.002, f"click at {t:.4f} s missed"
    false_alarms = [t for t in times if np.min(np.abs(expected - t)) > 0.002]
    assert len(false_alarms) <= 1


def test_corpus_dc_offset_left_only() -> None:
    name, truth = _truth("defect_c")
    dc = _of(_corpus_issues(name), "dc_offset")
    assert [d.channel for d in dc] == [0]
    assert dc[0].value == pytest.approx(truth["dc_offset"]["measured_mean_in_file"][0], abs=1e-4)


def test_corpus_hiss_snr_within_3_db() -> None:
    name, truth = _truth("defect_d")
    noise = _of(_corpus_issues(name), "noise")[0]
    assert noise.value == pytest.approx(truth["hiss"]["snr_db"], abs=3.0)
    assert noise.severity in ("medium", "high")


def test_corpus_hiss_added_to_clean_tracks() -> None:
    """Holdout-like check: white hiss at 20 and 40 dB SNR on a clean reference track."""
    require_corpus()
    name = next(n for n in corpus_files("reference") if n.startswith("ref02"))
    audio, sr = read_audio(corpus_path(name))
    rng = np.random.default_rng(2026)
    noise = rng.standard_normal(audio.shape)
    for snr_db in (20.0, 40.0):
        gain = np.sqrt(np.sum(audio**2) / np.sum(noise**2) / 10 ** (snr_db / 10))
        issue = _of(detect_defects(audio + gain * noise, sample_rate=sr), "noise")[0]
        assert issue.value == pytest.approx(snr_db, abs=3.0)


def test_corpus_upsampled_96k() -> None:
    name, _ = _truth("defect_f")
    up = _of(_corpus_issues(name), "upsampled")
    assert len(up) == 1 and up[0].value <= 24000


def test_corpus_polarity() -> None:
    name, truth = _truth("defect_g")
    pol = _of(_corpus_issues(name), "polarity")
    assert len(pol) == 1 and pol[0].severity == "high"
    assert pol[0].value == pytest.approx(truth["polarity"]["corr_below_150hz_in_file"], abs=0.05)


def test_corpus_head_and_tail_silence() -> None:
    name, truth = _truth("defect_h")
    sr = corpus_entry(name)["sample_rate"]
    sil = _of(_corpus_issues(name), "silence")
    by_pos = {i.details["position"]: i for i in sil if i.details}
    assert by_pos["start"].value == pytest.approx(truth["silence"]["head_silence_s"], abs=0.010)
    assert by_pos["end"].value == pytest.approx(truth["silence"]["tail_silence_s"], abs=0.010)
    assert by_pos["start"].details is not None
    assert (
        abs(by_pos["start"].details["samples"] - truth["silence"]["head_silence_samples"])
        <= 0.01 * sr
    )


@pytest.mark.parametrize("category", ["unmastered_mix", "reference", "album", "dull_mix"])
def test_corpus_clean_files_have_no_high_issue_and_no_clicks(category: str) -> None:
    names = corpus_files(category)
    if not names:
        require_corpus()
    for name in names:
        issues = _corpus_issues(name)
        assert not _of(issues, "click"), name
        assert not [i for i in issues if i.severity == "high"], name
        assert not [i for i in _of(issues, "noise") if i.severity in ("medium", "high")], name
        assert not _of(issues, "polarity"), name
        assert not _of(issues, "clipping"), name


def test_corpus_no_clicks_in_other_defect_files() -> None:
    require_corpus()
    for name in corpus_files("defect"):
        if not name.startswith("defect_b"):
            assert not _of(_corpus_issues(name), "click"), name
