"""Albums: album loudness logic on the corpus album set (checked by ffmpeg), sequencing plan,
and every Red Book violation failing before anything is written."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from burnish.delivery.album import (
    AlbumTrack,
    album_loudness,
    master_album,
    plan_sequence,
    project_from_dict,
)
from burnish.delivery.redbook import SAMPLES_PER_FRAME
from burnish.errors import DeliveryError, ParameterError
from tests.corpus import corpus_path
from tests.reference_meter import ffmpeg_ebur128_precise
from tests.signals import sine

ALBUM = ["album_01_quiet_wesnoth_underground.flac", "album_02_medium_wesnoth_main_menu.flac",
         "album_03_loud_wesnoth_vengeful.flac"]


# ---- pure logic ---------------------------------------------------------------------------
def test_album_loudness_keeps_differences_and_bounds_the_spread() -> None:
    out, _ = album_loudness([-20.0, -13.0, -8.0], target_lufs=-14.0, max_spread_lu=20.0)
    assert out == pytest.approx([-26.0, -19.0, -14.0], abs=1e-9)
    out, notes = album_loudness([-20.0, -13.0, -8.0], target_lufs=-14.0, max_spread_lu=6.0)
    assert out == pytest.approx([-20.0, -16.5, -14.0], abs=1e-9)  # scaled by 6/12, order kept
    assert "scaled" in notes[0]
    out, _ = album_loudness([-20.0, -8.0], target_lufs=-14.0, mode="tracks", offsets_lu=[0, -1])
    assert out == [-14.0, -15.0]


def test_sequence_puts_every_index_on_a_cd_frame() -> None:
    rate = 44100
    tracks = [AlbumTrack("a", gap_before_s=2.0), AlbumTrack("b", gap_before_s=1.3, crossfade_s=1.0),
              AlbumTrack("c", gap_before_s=0.0), AlbumTrack("d", gap_before_s=0.0)]
    lengths = [5 * rate + 17, 6 * rate + 5, 7 * rate + 301, 5 * rate]
    places, total, warnings = plan_sequence(tracks, lengths)
    assert places[0].index01 == 150 * SAMPLES_PER_FRAME and places[0].index00 == 0
    for p in places:
        assert p.index01 % SAMPLES_PER_FRAME == 0
        assert p.index00 is None or p.index00 % SAMPLES_PER_FRAME == 0
    assert places[1].index00 == math.ceil(places[0].audio_end / 588) * 588  # padded, then gap
    assert places[1].index01 - places[1].index00 == round(1.3 * 75) * 588
    assert places[2].audio_start == places[1].audio_end - rate  # 1 s crossfade overlap
    assert places[3].audio_start == places[2].audio_end  # gapless: audio untouched
    assert total % SAMPLES_PER_FRAME == 0 and total >= places[-1].audio_end
    assert any("gapless" in w for w in warnings)


# ---- Red Book violations: clear message, nothing written ----------------------------------
def _write(path: Path, duration_s: float, *, sample_rate: int = 44100, channels: int = 2,
           silent: bool = False) -> str:
    if silent:
        with sf.SoundFile(path, "w", samplerate=sample_rate, channels=channels, format="FLAC",
                          subtype="PCM_16") as f:
            block = np.zeros((sample_rate * 60, channels), dtype=np.int16)
            left = int(duration_s * sample_rate)
            while left > 0:
                n = min(left, block.shape[0])
                f.write(block[:n])
                left -= n
    else:
        sf.write(path, sine(440, sample_rate=sample_rate, duration_s=duration_s,
                            num_channels=channels, amplitude=0.25).T, sample_rate, subtype="PCM_16")
    return str(path)


def _project(files: list[str], **album: object) -> dict[str, object]:
    return {"album": {"title": "T", "deliver": [], **album},
            "track": [{"file": f, "title": f"t{i}"} for i, f in enumerate(files, 1)]}


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    return out


def _fails(project: dict[str, object], out: Path, match: str) -> None:
    with pytest.raises(DeliveryError, match=match) as info:
        master_album(project_from_dict(project), out)
    assert "\n" not in str(info.value)
    assert list(out.iterdir()) == []  # nothing partial, not even the work folder


def test_three_second_track_fails(tmp_path: Path, out_dir: Path) -> None:
    files = [_write(tmp_path / "a.wav", 5.0), _write(tmp_path / "b.wav", 3.0)]
    _fails(_project(files), out_dir, r"track 2 is 3\.00 s long: .*at least 4 s")


def test_hundred_tracks_fail_before_any_work(tmp_path: Path, out_dir: Path) -> None:
    one = _write(tmp_path / "a.wav", 0.1)
    with pytest.raises(DeliveryError, match="100 tracks: a Red Book CD holds at most 99"):
        project_from_dict(_project([one] * 100))
    assert list(out_dir.iterdir()) == []


def test_81_minute_album_fails_from_the_headers(tmp_path: Path, out_dir: Path) -> None:
    files = [_write(tmp_path / f"{i}.flac", 27 * 60, sample_rate=8000, channels=1, silent=True)
             for i in range(3)]
    _fails(_project(files), out_dir, r"81:0\d\.\d\d long: it must be under 79:57")


def test_bad_isrc_fails(tmp_path: Path, out_dir: Path) -> None:
    p = _project([_write(tmp_path / "a.wav", 5.0)])
    p["track"][0]["isrc"] = "GB-AAA-24-0001"  # type: ignore[index]
    _fails(p, out_dir, "track 1: .*not a valid ISRC")


def test_bad_upc_fails(tmp_path: Path, out_dir: Path) -> None:
    _fails(_project([_write(tmp_path / "a.wav", 5.0)], upc="0012345678901"), out_dir,
           "check digit is 1 but should be 5")


def test_short_first_pregap_fails(tmp_path: Path, out_dir: Path) -> None:
    p = _project([_write(tmp_path / "a.wav", 5.0)])
    p["track"][0]["gap_before_s"] = 1.0  # type: ignore[index]
    _fails(p, out_dir, "at least 2 s of pregap before track 1")


def test_project_errors_are_clear() -> None:
    with pytest.raises(ParameterError, match="unknown key 'gap_s'"):
        project_from_dict({"track": [{"file": "a.wav", "gap_s": 1}]})
    with pytest.raises(ParameterError, match="use one or the other"):
        project_from_dict({"track": [{"file": "a", "crossfade_s": 2}, {"file": "b", "gap_before_s": 2}]})
    with pytest.raises(ParameterError, match="mode='single' must be one of album, tracks"):
        project_from_dict({"album": {"mode": "single"}, "track": [{"file": "a"}]})


# ---- the corpus album set -----------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus_album(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    files = [str(corpus_path(n)) for n in ALBUM]
    out = tmp_path_factory.mktemp("album") / "out"
    project = project_from_dict({
        "album": {"title": "Corpus album", "performer": "Wesnoth", "upc": "0012345678905",
                  "target": "spotify", "max_spread_lu": 8.0, "deliver": ["streaming"]},
        "track": [
            {"file": files[0], "title": "Quiet", "isrc": "GBAAA2400001", "fade_in_s": 0.5},
            {"file": files[1], "title": "Medium", "gap_before_s": 1.5, "crossfade_s": 2.0},
            {"file": files[2], "title": "Loud", "fade_out_s": 1.0},
        ],
    })
    record = master_album(project, out)
    return out, record


def test_album_keeps_the_quiet_track_quieter_and_the_loudest_on_target(corpus_album: tuple[Path, dict]) -> None:
    out, record = corpus_album
    streams = sorted((out / "tracks").glob("*.flac"))
    assert len(streams) == 3
    lufs = [ffmpeg_ebur128_precise(p).integrated_lufs for p in streams]
    assert lufs[0] < lufs[1] < lufs[2]  # the mixes' order survives (by ffmpeg)
    assert lufs[2] - lufs[0] == pytest.approx(8.0, abs=0.3)  # 12.4 LU spread bounded to 8
    assert lufs[2] == pytest.approx(-14.0, abs=0.2)
    peaks = [ffmpeg_ebur128_precise(p).true_peak_dbtp for p in streams]
    peaks.append(ffmpeg_ebur128_precise(out / "album.wav").true_peak_dbtp)
    assert all(tp is not None and tp <= -1.0 for tp in peaks), peaks
    assert record["album"]["true_peak_passed"]
    assert all(t["verification"]["passed"] for t in record["tracks"])
    assert json.loads((out / "album.json").read_text())["album"]["total_samples"] % 588 == 0


def test_album_stream_is_cd_audio(corpus_album: tuple[Path, dict]) -> None:
    out, record = corpus_album
    info = sf.info(str(out / "album.wav"))
    assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_16")
    data, _ = sf.read(str(out / "album.wav"), dtype="int16")
    first = record["tracks"][0]
    assert not data[:first["index01_samples"]].any()  # the 2 s pregap is digital silence
    assert info.frames == record["album"]["total_samples"]
