"""Delivery on material unlike the corpus: unicode text with format characters, ISP-heavy
brick-walled masters, erratic AAC overshoot, close calls between meters, mono / 96 kHz / float
/ very short masters, hostile file names, and an output folder made by a failed delivery."""

from __future__ import annotations

import base64
import datetime
import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

import burnish.delivery.deliver as mod
from burnish.analysis.loudness import measure_file
from burnish.delivery.deliver import deliver
from burnish.errors import DeliveryError
from burnish.io.metadata import Metadata, read_tags, validate
from tests.reference_meter import ffmpeg_ebur128_precise, require_ffmpeg

LOSSY = "mp3,mp3v0,aac,opus"
ALL = "hires,hires_wav,streaming,streaming_wav,cd,mp3,mp3v0,aac,opus"
#: Emoji ZWJ sequence, a flag, right-to-left text with bidi marks, zero-width space and BOM.
UNICODE_TITLE = "👩\u200d👩\u200d👧 🇫🇷 أغنية \u200fשיר\u200e zero\u200bwidth \ufeffbom"


def ffprobe(path: Path) -> dict[str, Any]:
    require_ffmpeg()
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json",
         "file:" + os.fspath(path)],
        capture_output=True, text=True, check=True,
    )
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def isp_master(path: Path, *, sample_rate: int, seconds: float = 2.0,
               true_peak_dbtp: float = -1.0) -> Path:
    """A brick-walled master full of inter-sample peaks: an fs/4 sine at 45 degrees (its true
    peak 3 dB over its samples) and clipped square waves, scaled to ``true_peak_dbtp``."""
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    fs4 = np.sin(2 * np.pi * (sample_rate / 4) * t + np.pi / 4)
    sq = np.sign(np.sin(2 * np.pi * 220 * t))
    sq2 = np.sign(np.sin(2 * np.pi * 3000 * t + 0.3))
    x = np.clip(1.3 * np.stack([0.5 * fs4 + 0.3 * sq + 0.2 * sq2,
                                0.5 * fs4 + 0.3 * sq - 0.2 * sq2]), -1.0, 1.0)
    x *= 0.5 / np.abs(x).max()
    sf.write(path, x.T, sample_rate, subtype="PCM_24")
    tp = measure_file(path).true_peak_dbtp
    sf.write(path, (x * 10 ** ((true_peak_dbtp - tp) / 20)).T, sample_rate, subtype="PCM_24")
    return path


def music(seconds: float, sample_rate: int, channels: int = 2, peak: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(5)
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    x = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 330.0, 2500.0))
    x = np.tile(x, (channels, 1)) + 0.1 * rng.standard_normal((channels, t.size))
    return np.asarray(x * peak / np.abs(x).max())


# -------------------------------------------------------------------------------------------
# unicode: format characters are text, control characters are not
# -------------------------------------------------------------------------------------------
def test_emoji_sequences_and_bidi_marks_are_tagged_everywhere(tmp_path: Path) -> None:
    from mutagen.flac import FLAC
    from mutagen.id3 import ID3
    from mutagen.mp4 import MP4
    from mutagen.oggopus import OggOpus

    master = tmp_path / "m.wav"
    sf.write(master, music(1.0, 44100).T, 44100, subtype="PCM_24")
    md = Metadata(title=UNICODE_TITLE, artist="\u202bRTL embedding\u202c", album="アルバム")
    results = deliver(master, "streaming,cd,mp3,aac,opus", out_dir=tmp_path / "o", metadata=md)
    got = {r.destination: r.path for r in results}
    assert FLAC(got["streaming"])["title"] == [UNICODE_TITLE]
    assert str(ID3(got["mp3"])["TIT2"].text[0]) == UNICODE_TITLE
    assert MP4(got["aac"])["\xa9nam"] == [UNICODE_TITLE]
    assert OggOpus(got["opus"])["title"] == [UNICODE_TITLE]
    assert OggOpus(got["opus"])["artist"] == [md.artist]
    tags = {k.lower(): v for k, v in ffprobe(Path(got["cd"]))["format"]["tags"].items()}
    assert tags["title"] == UNICODE_TITLE


@pytest.mark.parametrize(
    ("title", "message"),
    [("bell\x07", "title: contains the control character '\\x07'"),
     ("esc\x1b[0m", "title: contains the control character '\\x1b'"),
     ("c1\x85", "title: contains the control character '\\x85'"),
     ("half\ud83d", "title: contains the lone surrogate '\\ud83d', which UTF-8 can't encode")],
)
def test_control_characters_and_lone_surrogates_are_refused(title: str, message: str) -> None:
    with pytest.raises(DeliveryError) as err:
        validate(Metadata(title=title))
    assert str(err.value) == message


# -------------------------------------------------------------------------------------------
# lossy true peak on ISP-heavy masters, read by the ffmpeg binary
# -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("sample_rate", "ceiling"), [(44100, -1.0), (48000, -2.0)])
def test_isp_heavy_master_stays_under_the_ceiling(tmp_path: Path, sample_rate: int,
                                                  ceiling: float) -> None:
    master = isp_master(tmp_path / "isp.wav", sample_rate=sample_rate, true_peak_dbtp=ceiling)
    results = deliver(master, LOSSY, out_dir=tmp_path / "o", ceiling_dbtp=ceiling)
    for r in results:
        ref = ffmpeg_ebur128_precise(r.path)
        assert ref.true_peak_dbtp is not None
        assert r.passed, r.to_dict()
        assert ref.true_peak_dbtp <= ceiling, (r.destination, ref, r.to_dict())


def test_aac_falls_back_to_plain_tools_when_its_overshoot_is_erratic(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two encodes over the ceiling with the default tools: the next one is made without PNS,
    intensity stereo and TNS, and says so."""
    from burnish.io.codecs import AAC_PLAIN_OPTIONS

    master = tmp_path / "m.wav"
    sf.write(master, music(1.0, 44100).T, 44100, subtype="PCM_24")
    seen: list[dict[str, str] | None] = []
    real = mod._render_lossy

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("encoder_options"))
        measured = real(*args, **kwargs)
        if len(seen) <= 2:  # pretend the default tools overshot twice
            measured.own = replace(measured.own, true_peak_dbtp=3.0)
        return measured

    monkeypatch.setattr(mod, "_render_lossy", spy)
    (r,) = deliver(master, "aac", out_dir=tmp_path / "o", ceiling_dbtp=-1.0)
    assert seen == [None, None, AAC_PLAIN_OPTIONS]
    assert r.attempts == 3 and r.passed
    assert any("without PNS, intensity stereo and TNS" in n for n in r.notes)
    assert ffmpeg_ebur128_precise(r.path).true_peak_dbtp <= -1.0  # type: ignore[operator]


def test_a_close_call_is_confirmed_by_ebur128(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """burnish's meter alone within CONFIRM_BAND_DB of its limit: libavfilter's ebur128 has
    the last word, and a reading over the ceiling sends the file round again."""
    master = tmp_path / "m.wav"
    sf.write(master, music(1.0, 44100).T, 44100, subtype="PCM_24")
    readings = iter([-0.99, -3.0])  # first over -1 dBTP less the 0.02 dB guard, then well under
    monkeypatch.setattr(mod, "CONFIRM_BAND_DB", 60.0)  # every reading is a close call
    monkeypatch.setattr(mod, "_ebur128_true_peak", lambda path: next(readings))
    (r,) = deliver(master, "mp3", out_dir=tmp_path / "o", ceiling_dbtp=-1.0)
    assert r.attempts == 2 and r.passed
    assert r.confirm_true_peak_dbtp == -3.0
    assert r.gain_db < 0.0
    assert r.to_dict()["confirm_true_peak_dbtp"] == -3.0


def test_far_under_the_limit_needs_no_confirmation(tmp_path: Path) -> None:
    master = tmp_path / "m.wav"
    sf.write(master, music(1.0, 44100, peak=0.1).T, 44100, subtype="PCM_24")
    (r,) = deliver(master, "opus", out_dir=tmp_path / "o", ceiling_dbtp=-1.0)
    assert r.confirm_true_peak_dbtp is None and r.attempts == 1


# -------------------------------------------------------------------------------------------
# unusual masters: mono 96 kHz float, very short, long digital silence
# -------------------------------------------------------------------------------------------
def test_mono_96k_float_master_every_destination(tmp_path: Path) -> None:
    master = tmp_path / "mono96.wav"
    sf.write(master, music(0.6, 96000, channels=1).T.astype(np.float32), 96000,
             subtype="FLOAT")
    md = Metadata(title="mono", isrc="GB-AAA-26-00001", barcode="4006381333931")
    results = deliver(master, ALL, out_dir=tmp_path / "o", metadata=md)
    expect = {"hires": (96000, 24), "hires_wav": (96000, 24), "streaming": (44100, 24),
              "streaming_wav": (44100, 24), "cd": (44100, 16), "mp3": (48000, None),
              "mp3v0": (48000, None), "aac": (48000, None), "opus": (48000, None)}
    for r in results:
        stream = ffprobe(Path(r.path))["streams"][0]
        rate, bits = expect[r.destination]
        assert int(stream["sample_rate"]) == rate, r.destination
        assert int(stream["channels"]) == 1, r.destination
        if bits is not None:
            raw = int(stream.get("bits_per_raw_sample") or stream.get("bits_per_sample") or 0)
            assert raw == bits, r.destination
        assert r.passed, r.to_dict()


@pytest.mark.parametrize("seconds", [0.2, 0.05])
def test_very_short_master(tmp_path: Path, seconds: float) -> None:
    master = tmp_path / "short.wav"
    sf.write(master, music(seconds, 44100).T, 44100, subtype="PCM_24")
    results = deliver(master, "cd," + LOSSY, out_dir=tmp_path / "o", ceiling_dbtp=-1.0,
                      metadata=Metadata(title="short"))
    for r in results:
        assert r.passed, r.to_dict()
        assert r.replaygain_track_gain_db is None  # too short for an integrated loudness
        if r.lossy and seconds >= 0.2:
            tp = ffmpeg_ebur128_precise(r.path).true_peak_dbtp
            assert tp is not None and tp <= -1.0, (r.destination, tp)


def test_long_digital_silence_cd_is_deterministic(tmp_path: Path) -> None:
    audio = np.concatenate([music(0.5, 48000), np.zeros((2, 48000 * 8)),
                            music(0.5, 48000)], axis=1)
    master = tmp_path / "gap.wav"
    sf.write(master, audio.T, 48000, subtype="PCM_24")
    a = deliver(master, "cd,mp3", out_dir=tmp_path / "a")
    b = deliver(master, "cd,mp3", out_dir=tmp_path / "b", workers=1)
    for x, y in zip(a, b):
        assert Path(x.path).read_bytes() == Path(y.path).read_bytes(), x.destination
    # the bext origination is the master's modification time (not the clock: reruns that
    # straddle a second gave different WAV bytes)
    stamp = datetime.datetime.fromtimestamp(int(os.stat(master).st_mtime))
    tags = read_tags(a[0].path)
    assert tags["bext:OriginationDate"] == stamp.strftime("%Y-%m-%d")
    assert tags["bext:OriginationTime"] == stamp.strftime("%H:%M:%S")
    cd, _ = sf.read(a[0].path, dtype="int16")
    silence = cd[44100 * 2 : 44100 * 7].astype(np.float64) / 32768.0
    rms_db = 20 * np.log10(np.sqrt(np.mean(silence**2)))
    assert rms_db == pytest.approx(-96.33, abs=0.5)  # TPDF +-1 LSB in digital silence


# -------------------------------------------------------------------------------------------
# names and folders
# -------------------------------------------------------------------------------------------
def test_hostile_names(tmp_path: Path) -> None:
    from mutagen.oggopus import OggOpus

    folder = tmp_path / "-out 'q' \"d\" ü:1"
    folder.mkdir()
    master = folder / "-my song 'q' \"dq\" ü 🎵.wav"
    sf.write(master, music(0.5, 44100).T, 44100, subtype="PCM_24")
    art = tmp_path / "-cover 'x'.png"
    art.write_bytes(base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYGAAAAAEAAH2FzhVAAAAAElFTkSuQmCC"
    ))
    out = folder / "-deliver dir"
    results = deliver(master, "cd,opus,aac", out_dir=out,
                      metadata=Metadata(title="t", artwork_path=os.fspath(art)))
    for r in results:
        assert Path(r.path).parent == out
        assert Path(r.path).name.startswith("-my_song")
        assert ffprobe(Path(r.path))["streams"][0]["codec_type"] == "audio"
    opus = next(r for r in results if r.destination == "opus")
    assert "metadata_block_picture" in OggOpus(opus.path)


def test_an_output_folder_made_by_a_failed_delivery_is_removed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    master = tmp_path / "m.wav"
    sf.write(master, music(0.5, 44100).T, 44100, subtype="PCM_24")

    def boom(*args: Any, **kwargs: Any) -> None:
        raise DeliveryError("simulated failure")

    monkeypatch.setattr(mod, "write_tags", boom)
    out = tmp_path / "new" / "deeper"
    with pytest.raises(DeliveryError, match="simulated failure"):
        deliver(master, "cd", out_dir=out)
    assert not (tmp_path / "new").exists()
    assert sorted(os.listdir(tmp_path)) == ["m.wav"]
