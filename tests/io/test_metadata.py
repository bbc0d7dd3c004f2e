"""Tags written natively per container, read back with mutagen and ffprobe; validation."""

from __future__ import annotations

import dataclasses
import json
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from burnish.errors import DeliveryError
from burnish.io.codecs import encode_file
from burnish.io.files import read_audio
from burnish.io.metadata import (
    Metadata,
    gs1_check_digit,
    normalize_barcode,
    normalize_isrc,
    normalize_iswc,
    read_tags,
    write_tags,
)
from tests.signals import sine

SAMPLE_RATE = 44100


def png_bytes(width: int, height: int) -> bytes:
    """A valid RGB PNG made by hand (signature, IHDR, IDAT, IEND with CRCs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([200, 30, 30]) * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


@pytest.fixture
def cover(tmp_path: Path) -> Path:
    path = tmp_path / "cover.png"
    path.write_bytes(png_bytes(40, 30))
    return path


def full_metadata(cover: Path | None) -> Metadata:
    return Metadata(
        title="Tïtle – ünïcode", artist="Artist", album="Album", album_artist="Album Artist",
        track_number=3, track_total=12, disc_number=1, disc_total=2, date="2026-01-02",
        genre="Rock", composer="Composer", publisher="Label", copyright="℗ 2026 Label",
        isrc="GB-AAA-26-00001", barcode="036000291452", iswc="T-034.524.680-1", comment="hello",
        artwork_path=str(cover) if cover else None,
        replaygain_track_gain_db=-6.5, replaygain_track_peak=0.98,
        replaygain_album_gain_db=-7.0, replaygain_album_peak=0.99,
        integrated_lufs=-14.0, loudness_range_lu=6.2, true_peak_dbtp=-1.0,
        max_momentary_lufs=-10.0, max_short_term_lufs=-11.5,
    )


def make_file(tmp_path: Path, codec: Any, ext: str) -> Path:
    path = tmp_path / f"track{ext}"
    encode_file(sine(440, sample_rate=SAMPLE_RATE, duration_s=0.5), path, codec=codec,
                sample_rate=SAMPLE_RATE, **({"bit_depth": 16} if codec in ("wav", "flac") else {}))
    return path


def ffprobe_tags(path: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    d = json.loads(out)
    return dict(d["format"].get("tags", {})), list(d["streams"])


def lower(tags: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in tags.items()}


def test_mp3_id3v24(tmp_path: Path, cover: Path) -> None:
    path = make_file(tmp_path, "mp3", ".mp3")
    write_tags(path, full_metadata(cover))
    from mutagen.id3 import ID3

    id3 = ID3(path)
    assert id3.version == (2, 4, 0)
    assert str(id3["TSRC"]) == "GBAAA2600001"  # hyphens stripped
    assert str(id3["TXXX:BARCODE"]) == "036000291452"
    assert str(id3["TXXX:REPLAYGAIN_TRACK_GAIN"]) == "-6.50 dB"
    assert str(id3["TRCK"]) == "3/12" and str(id3["TPOS"]) == "1/2"
    apic = id3.getall("APIC")[0]
    assert apic.type == 3 and apic.mime == "image/png" and apic.data == cover.read_bytes()
    tags, streams = ffprobe_tags(path)
    for key, value in {"title": "Tïtle – ünïcode", "artist": "Artist", "album": "Album",
                       "album_artist": "Album Artist", "track": "3/12", "disc": "1/2",
                       "date": "2026-01-02", "genre": "Rock", "composer": "Composer",
                       "publisher": "Label", "copyright": "℗ 2026 Label", "comment": "hello",
                       "TSRC": "GBAAA2600001", "BARCODE": "036000291452",
                       "ISWC": "T-034.524.680-1", "REPLAYGAIN_ALBUM_PEAK": "0.990000"}.items():
        assert tags[key] == value, key
    assert any(s.get("disposition", {}).get("attached_pic") == 1 for s in streams)
    assert read_audio(path)[0].shape == (2, 22050)  # still decodes, gapless


@pytest.mark.parametrize(("codec", "ext"), [("flac", ".flac"), ("opus", ".opus")])
def test_vorbis_comments(tmp_path: Path, cover: Path, codec: Any, ext: str) -> None:
    path = make_file(tmp_path, codec, ext)
    write_tags(path, full_metadata(cover))
    import mutagen

    audio = mutagen.File(path)
    assert audio["ISRC"] == ["GBAAA2600001"] and audio["BARCODE"] == ["036000291452"]
    assert audio["TRACKNUMBER"] == ["3"] and audio["TRACKTOTAL"] == ["12"]
    tags, streams = ffprobe_tags(path)
    if codec == "opus":
        tags = streams[0]["tags"]  # Ogg keeps comments on the stream
        # R128 gains: Q7.8 relative to -23 LUFS; ReplayGain (-18 LUFS) - 5 dB
        assert audio["R128_TRACK_GAIN"] == [str(round((-6.5 - 5) * 256))]
        assert audio["R128_ALBUM_GAIN"] == [str(round((-7.0 - 5) * 256))]
        assert "REPLAYGAIN_TRACK_GAIN" not in audio
        assert "METADATA_BLOCK_PICTURE" in audio
    else:
        assert audio["REPLAYGAIN_TRACK_GAIN"] == ["-6.50 dB"]
        assert audio.pictures[0].data == cover.read_bytes()
        assert (audio.pictures[0].width, audio.pictures[0].height) == (40, 30)
    t = lower(tags)
    assert t["title"] == "Tïtle – ünïcode" and t["isrc"] == "GBAAA2600001"
    assert t["organization"] == "Label" and t["album_artist"] == "Album Artist"
    assert t["iswc"] == "T-034.524.680-1" and t["track"] == "3"
    assert any(s.get("disposition", {}).get("attached_pic") == 1 for s in streams)


def test_opus_explicit_r128(tmp_path: Path) -> None:
    path = make_file(tmp_path, "opus", ".opus")
    write_tags(path, Metadata(title="x", r128_track_gain_db=-3.25))
    assert read_tags(path)["R128_TRACK_GAIN"] == [str(int(-3.25 * 256))]


def test_mp4_atoms(tmp_path: Path, cover: Path) -> None:
    path = make_file(tmp_path, "aac", ".m4a")
    write_tags(path, full_metadata(cover))
    from mutagen.mp4 import MP4

    mp4 = MP4(path)
    assert mp4["\xa9nam"] == ["Tïtle – ünïcode"] and mp4["trkn"] == [(3, 12)]
    assert mp4["disk"] == [(1, 2)] and bytes(mp4["covr"][0]) == cover.read_bytes()
    assert bytes(mp4["----:com.apple.iTunes:ISRC"][0]) == b"GBAAA2600001"
    tags, streams = ffprobe_tags(path)
    for key, value in {"title": "Tïtle – ünïcode", "artist": "Artist", "album": "Album",
                       "album_artist": "Album Artist", "track": "3/12", "disc": "1/2",
                       "date": "2026-01-02", "composer": "Composer", "copyright": "℗ 2026 Label",
                       "ISRC": "GBAAA2600001", "BARCODE": "036000291452", "LABEL": "Label",
                       "replaygain_track_gain": "-6.50 dB"}.items():
        assert tags[key] == value, key
    assert read_audio(path)[0].shape == (2, 22050)


def test_wav_riff_chunks(tmp_path: Path) -> None:
    path = make_file(tmp_path, "wav", ".wav")
    before, _ = read_audio(path)
    write_tags(path, full_metadata(None))
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and struct.unpack("<I", data[4:8])[0] == len(data) - 8
    pos, ids = 12, []
    while pos < len(data):  # every chunk even-padded and inside the file
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        ids.append(cid)
        pos += 8 + size + (size & 1)
    assert pos == len(data)
    assert ids[0] == b"bext" and {b"fmt ", b"LIST", b"iXML", b"data"} <= set(ids)
    tags = read_tags(path)
    assert tags["bext:Version"] == 2
    assert tags["bext:LoudnessValue"] == -14.0 and tags["bext:MaxTruePeakLevel"] == -1.0
    assert tags["bext:LoudnessRange"] == 6.2 and tags["bext:MaxShortTermLoudness"] == -11.5
    assert tags["INFO:INAM"] == "Tïtle – ünïcode" and tags["INFO:ISRC"] == "GBAAA2600001"
    assert "<PROJECT>Album</PROJECT>" in tags["iXML"] and "BARCODE=036000291452" in tags["iXML"]
    ff, _ = ffprobe_tags(path)
    assert ff["title"] == "Tïtle – ünïcode" and ff["artist"] == "Artist" and ff["album"] == "Album"
    assert ff["originator_reference"] == "GBAAA2600001"
    assert ff["coding_history"].startswith("A=PCM,F=44100,W=16,M=stereo")
    after, _ = read_audio(path)
    assert np.array_equal(before, after)
    # tagging again replaces (no duplicated chunks)
    write_tags(path, Metadata(title="Second"))
    tags2 = read_tags(path)
    assert tags2["INFO:INAM"] == "Second" and "INFO:IART" not in tags2
    assert tags2["bext:LoudnessValue"] is None  # 0x7FFF: not set
    assert np.array_equal(read_audio(path)[0], before)


def test_identifiers() -> None:
    assert normalize_isrc("gb-aaa-26-00001") == "GBAAA2600001"
    assert normalize_barcode("0 36000 29145 2") == "036000291452"
    assert normalize_barcode("4006381333931") == "4006381333931"  # EAN-13
    assert gs1_check_digit("03600029145") == 2
    assert normalize_iswc("T0345246801") == "T-034.524.680-1"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"isrc": "GB-AAA-2-00001"}, "isrc='GB-AAA-2-00001' is not a valid ISRC (CC-XXX-YY-NNNNN"),
        ({"isrc": "1BAAA2600001"}, "is not a valid ISRC"),
        ({"barcode": "036000291453"}, "the UPC-A check digit is 3 but should be 2"),
        ({"barcode": "4006381333932"}, "the EAN-13 check digit is 2 but should be 1"),
        ({"barcode": "12345"}, "must be a UPC-A (12 digits) or EAN-13 (13 digits) barcode"),
        ({"iswc": "T-034.524.680-2"}, "the check digit is 2 but should be 1"),
        ({"title": "a\x00b"}, "title: contains a NUL character, which ID3 tags can't hold"),
        ({"comment": "bell\x07"}, "comment: contains the control character"),
        ({"track_number": 13, "track_total": 12}, "track_number=13 is greater than track_total=12"),
        ({"date": "02/01/2026"}, "date='02/01/2026' must be YYYY, YYYY-MM or YYYY-MM-DD"),
        ({"replaygain_track_gain_db": float("nan")}, "replaygain_track_gain_db=nan must be a finite"),
    ],
)
def test_validation_messages(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    path = make_file(tmp_path, "mp3", ".mp3")
    before = path.read_bytes()
    md = dataclasses.replace(Metadata(title="ok"), **changes)
    with pytest.raises(DeliveryError) as err:
        write_tags(path, md)
    text = str(err.value)
    assert "\n" not in text and text.startswith(f"{path}: ") and message in text, text
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["track.mp3"]


def test_artwork_checks(tmp_path: Path) -> None:
    path = make_file(tmp_path, "flac", ".flac")
    gif = tmp_path / "cover.gif"
    gif.write_bytes(b"GIF89a" + bytes(100))
    with pytest.raises(DeliveryError, match="artwork must be a JPEG or PNG image"):
        write_tags(path, Metadata(artwork_path=str(gif)))
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_bytes(1, 1)[:16] + struct.pack(">II", 20000, 20000) + bytes(20))
    with pytest.raises(DeliveryError, match="artwork is 20000x20000 px"):
        write_tags(path, Metadata(artwork_path=str(huge)))
    big = tmp_path / "big.png"
    big.write_bytes(png_bytes(8, 8) + bytes(11 * 1024 * 1024))
    with pytest.raises(DeliveryError, match="the limit is 10 MB"):
        write_tags(path, Metadata(artwork_path=str(big)))


def test_wav_limits(tmp_path: Path, cover: Path) -> None:
    path = make_file(tmp_path, "wav", ".wav")
    with pytest.raises(DeliveryError, match="title is 300 bytes; a RIFF INFO item holds at most 255"):
        write_tags(path, Metadata(title="x" * 300))
    with pytest.raises(DeliveryError, match="WAV files can't carry artwork"):
        write_tags(path, Metadata(artwork_path=str(cover)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cover.png", "track.wav"]
