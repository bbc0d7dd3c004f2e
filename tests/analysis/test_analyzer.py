"""The one-pass analysis on corpus files and synthetic signals; the HTML report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from burnish.analysis.analyzer import analyze_audio, analyze_file
from burnish.analysis.feedback import render_text
from burnish.io.files import read_audio
from tests.corpus import corpus_files, corpus_path
from tests.signals import pink_noise

REQUIRED_LOUDNESS = (
    "integrated_lufs", "lra_lu", "true_peak_dbtp", "sample_peak_dbfs",
    "max_momentary_lufs", "max_short_term_lufs",
)
ISSUE_KEYS = {"kind", "start_s", "end_s", "channel", "value", "severity", "message"}


@pytest.fixture(scope="module")
def polarity():
    return analyze_file(corpus_path("defect_g_polarity_sectoid_war_of_freedom.flac"))


@pytest.mark.corpus
def test_json_has_the_contract_keys(polarity) -> None:
    d = json.loads(json.dumps(polarity.to_dict(), allow_nan=False))
    for key in REQUIRED_LOUDNESS:
        assert isinstance(d["loudness"][key], float), key
    assert d["issues"] and all(ISSUE_KEYS <= set(i) for i in d["issues"])
    for key in ("dynamics", "stereo", "spectrum", "tonal", "series", "file"):
        assert key in d
    assert len(d["series"]["short_term_lufs"]) == polarity.loudness.short_term_lufs.size


@pytest.mark.corpus
def test_polarity_file_is_flagged(polarity) -> None:
    kinds = {i.kind: i for i in polarity.issues}
    assert "polarity" in kinds or "stereo_phase" in kinds
    assert polarity.stereo.correlation_by_band is not None
    assert polarity.stereo.correlation_by_band["low"] == pytest.approx(-0.9881, abs=0.02)
    assert "mono_compatibility" in kinds
    assert polarity.issues[0].severity == "high"  # sorted, most serious first


@pytest.mark.corpus
def test_mono_file_is_analysed() -> None:
    a = analyze_file(corpus_path("defect_e_mono_wesnoth_traveling_minstrels.flac"))
    assert a.num_channels == 1 and a.stereo.correlation is None
    assert a.loudness.integrated_lufs == pytest.approx(-21.5, abs=0.2)
    assert "n/a (mono file)" in render_text(a)


@pytest.mark.corpus
@pytest.mark.parametrize("name", corpus_files("reference"))
def test_clean_references_raise_no_high_severity_findings(name: str) -> None:
    a = analyze_file(corpus_path(name))
    high = [i for i in a.issues if i.severity == "high"]
    assert not high, [i.message for i in high]
    assert a.dynamics.plr_db is not None and a.dynamics.plr_db > 8.0


@pytest.mark.corpus
def test_streaming_equals_offline_on_a_file() -> None:
    path = corpus_path("mix02_rock_chugga_chugga_cha_ching.flac")
    streamed = analyze_file(path, block_frames=7001)
    audio, sr = read_audio(path)
    offline = analyze_audio(audio, sample_rate=sr, bit_depth=24, block_frames=1 << 20)
    a, b = streamed.to_dict(), offline.to_dict()
    for key in REQUIRED_LOUDNESS:
        assert a["loudness"][key] == pytest.approx(b["loudness"][key], abs=1e-6)
    np.testing.assert_allclose(streamed.spectrum.mid_db, offline.spectrum.mid_db, atol=1e-4)
    assert a["stereo"]["correlation"] == b["stereo"]["correlation"]
    assert a["dynamics"] == b["dynamics"]
    assert [i["kind"] for i in a["issues"]] == [i["kind"] for i in b["issues"]]


def test_limited_noise_is_flagged_as_over_compressed() -> None:
    x = pink_noise(sample_rate=44100, duration_s=12.0, level_dbfs=-8.0, seed=9)
    x = np.clip(x * 3.0, -0.7, 0.7)  # brick-wall: peaks everywhere at the ceiling
    a = analyze_audio(x, sample_rate=44100)
    issues = [i for i in a.issues if i.kind == "over_compression"]
    assert issues and issues[0].severity in ("medium", "high")
    assert a.dynamics.plr_db is not None and a.dynamics.plr_db < 8.0


def test_silence_serialises() -> None:
    a = analyze_audio(np.zeros((2, 44100 * 2)), sample_rate=44100)
    d = json.loads(json.dumps(a.to_dict(), allow_nan=False))
    assert d["loudness"]["integrated_lufs"] == -200.0


@pytest.mark.corpus
def test_html_report_is_self_contained(polarity, tmp_path) -> None:
    from burnish.report.html import write_analysis_report

    out = tmp_path / "r.html"
    write_analysis_report(polarity, out)
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and "</html>" in text
    assert "http://" not in text and "https://" not in text
    assert text.count("<img") >= 4
    assert text.count('src="data:image/png;base64,') == text.count("src=")
    assert "polarity" in text
