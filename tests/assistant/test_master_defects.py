"""The assistant on the defect files: it repairs what it can and says what it did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from burnish.assistant.master import MasterJob, build_versions, master
from tests.corpus import corpus_path, require_corpus
from tests.reference_meter import ffmpeg_ebur128_precise


def _master(name: str, out: Path, versions: list[str]) -> tuple[dict[str, Any], list[Path]]:
    require_corpus()
    settings = build_versions(versions, target=None, lufs=None, ceiling_dbtp=None,
                              style="balanced", intensity="medium", force_loudness=False,
                              sample_rate=None, bit_depth=None)
    record = master(MasterJob(mix_path=str(corpus_path(name)), out_dir=str(out), versions=settings))
    versions_out = record["revisions"][-1]["versions"]
    return record, [out / v["output"] for v in versions_out]


def _steps(record: dict[str, Any]) -> list[str]:
    return [d["action"] for d in record["revisions"][-1]["versions"][0]["decisions"]]


def test_clipped_mix_is_declipped_and_comes_out_clean(tmp_path: Path) -> None:
    record, (out,) = _master("defect_a_clipping_ragtime_the_hobo.flac", tmp_path, ["spotify"])
    assert any(a.startswith("declip") for a in _steps(record))
    audio, _ = sf.read(out)
    runs = np.count_nonzero((np.abs(audio[1:]) >= 0.999) & (np.abs(audio[:-1]) >= 0.999))
    assert runs == 0
    assert ffmpeg_ebur128_precise(out).true_peak_dbtp <= -1.0 + 1e-3


def test_clicks_are_removed(tmp_path: Path) -> None:
    from burnish.analysis.analyzer import analyze_file

    record, (out,) = _master("defect_b_clicks_wesnoth_elvish_theme.flac", tmp_path, ["spotify"])
    assert "declick" in _steps(record)
    clicks = [i for i in analyze_file(out).issues if i.kind == "click"]
    assert len(clicks) <= 1, [i.message for i in clicks]


def test_dc_offset_is_removed(tmp_path: Path) -> None:
    record, (out,) = _master("defect_c_dc_offset_hyperrogue_jungle.flac", tmp_path, ["spotify"])
    audio, _ = sf.read(out)
    assert np.max(np.abs(audio.mean(axis=0))) < 1e-3
    assert record["revisions"][-1]["versions"][0]["verification"]["passed"]


def test_inverted_channel_is_put_back_in_phase(tmp_path: Path) -> None:
    from burnish.analysis.analyzer import analyze_file

    record, (out,) = _master("defect_g_polarity_sectoid_war_of_freedom.flac", tmp_path, ["spotify"])
    assert any("polarity" in a for a in _steps(record))
    low = analyze_file(out).stereo.correlation_by_band["low"]
    assert low is not None and low > 0.9


def test_mono_podcast_gets_the_mono_loudness(tmp_path: Path) -> None:
    record, (out,) = _master("defect_e_mono_wesnoth_traveling_minstrels.flac", tmp_path, ["podcast"])
    assert sf.info(str(out)).channels == 1
    lufs = ffmpeg_ebur128_precise(out).integrated_lufs
    version = record["revisions"][-1]["versions"][0]
    # -21.5 LUFS with peaks at -7.6 dBTP: -19 LUFS is well within reach
    assert version["render"]["reachable"]
    assert abs(lufs + 19.0) <= 0.2


@pytest.mark.parametrize("target, rate, subtype", [("spotify", 96000, "PCM_24"), ("cd", 44100, "PCM_16")])
def test_hi_res_mix_keeps_its_rate_unless_the_target_says_otherwise(
    tmp_path: Path, target: str, rate: int, subtype: str
) -> None:
    _, (out,) = _master("defect_f_96k24_singularity_awakening.wav", tmp_path, [target])
    info = sf.info(str(out))
    assert (info.samplerate, info.subtype) == (rate, subtype)
    assert ffmpeg_ebur128_precise(out).true_peak_dbtp <= (-1.0 if target == "spotify" else -0.3) + 1e-3


def test_silence_at_head_and_tail_stays_silent(tmp_path: Path) -> None:
    _, (out,) = _master("defect_h_16bit48k_silence_singularity_coherence.wav", tmp_path, ["spotify"])
    audio, rate = sf.read(out)
    head = audio[: int(2.5 * rate)]
    assert np.max(np.abs(head)) < 10 ** (-90 / 20)
