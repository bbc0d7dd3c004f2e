"""Deliverables: formats, tags read back by independent tools, codec-aware true peak on the
corpus, dither in digital silence, determinism, validation before rendering, atomicity."""

from __future__ import annotations

import io
import json
import math
import os
import struct
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from burnish.delivery.deliver import deliver
from burnish.delivery.destinations import DESTINATIONS, parse_destinations
from burnish.errors import DeliveryError, ParameterError
from burnish.io.metadata import Metadata
from tests.corpus import require_corpus
from tests.reference_meter import ffmpeg_ebur128_precise, require_ffmpeg
from tests.signals import sine

ALL = "hires,hires_wav,streaming,streaming_wav,cd,mp3,mp3v0,aac,opus"
LOSSY = "mp3,mp3v0,aac,opus"
CORPUS_MIXES = (
    "mix01_blues_city_blues.flac",
    "mix02_rock_chugga_chugga_cha_ching.flac",
    "mix03_orchestral_folk_linns_basket.flac",
    "mix04_latin_jazz_say_what.flac",
    "dull01_metal_muldjord_chaos_god.flac",
)


# -------------------------------------------------------------------------------------------
# helpers
# -------------------------------------------------------------------------------------------
def ffprobe(path: Path) -> dict[str, Any]:
    require_ffmpeg()
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def probe_tags(probe: dict[str, Any]) -> dict[str, str]:
    """Format and stream tags, keys lower-cased (containers differ in where and how)."""
    tags = {k.lower(): v for k, v in probe["format"].get("tags", {}).items()}
    for k, v in probe["streams"][0].get("tags", {}).items():
        tags.setdefault(k.lower(), v)
    return tags


def make_jpeg(path: Path, size_px: int = 64) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (size_px, size_px), (200, 40, 40)).save(buf, format="JPEG")
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def write_master(path: Path, audio: np.ndarray, sample_rate: int, subtype: str = "PCM_24") -> Path:
    sf.write(path, audio.T, sample_rate, subtype=subtype)
    return path


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


def music(seconds: float = 6.0, sample_rate: int = 48000, peak_dbfs: float = -1.2) -> np.ndarray:
    """A bright, dense test signal (chord + seeded noise) normalised to ``peak_dbfs``."""
    rng = np.random.default_rng(7)
    x = np.zeros((2, int(round(seconds * sample_rate))))
    for f in (220.0, 277.2, 329.6, 3520.0):
        x += sine(f, sample_rate=sample_rate, duration_s=seconds, amplitude=0.2, fade_ms=20)
    x = x + 0.05 * rng.standard_normal(x.shape)
    return np.asarray(x * (10 ** (peak_dbfs / 20) / np.abs(x).max()))


@pytest.fixture(scope="module")
def full_metadata(tmp_path_factory: pytest.TempPathFactory) -> tuple[Metadata, bytes]:
    folder = tmp_path_factory.mktemp("art")
    art = make_jpeg(folder / "cover.jpg")
    md = Metadata(
        title="Señal de prueba", artist="The Burnish Band", album="Deliverables",
        album_artist="Various", track_number=3, track_total=12, disc_number=1, disc_total=2,
        date="2026-03-01", genre="Blues", composer="A. Composer", publisher="Burnish Records",
        copyright="℗ 2026 Burnish Records", isrc="GB-AAA-26-00001", barcode="036000291452",
        iswc="T-034.524.680-1", comment="delivered by burnish",
        artwork_path=os.fspath(folder / "cover.jpg"),
    )
    return md, art


# -------------------------------------------------------------------------------------------
# formats and tags, read back with mutagen and ffprobe
# -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory,
              full_metadata: tuple[Metadata, bytes]) -> tuple[Path, list[Any]]:
    folder = tmp_path_factory.mktemp("formats")
    master = write_master(folder / "song.wav", music(), 48000)
    out = folder / "out"
    results = deliver(master, ALL, out_dir=out, metadata=full_metadata[0])
    return out, results


EXPECTED = {  # destination: (codec_name, sample_rate, bits or None)
    "hires": ("flac", 48000, 24),
    "hires_wav": ("pcm_s24le", 48000, 24),
    "streaming": ("flac", 44100, 24),
    "streaming_wav": ("pcm_s24le", 44100, 24),
    "cd": ("pcm_s16le", 44100, 16),
    "mp3": ("mp3", 48000, None),
    "mp3v0": ("mp3", 48000, None),
    "aac": ("aac", 48000, None),
    "opus": ("opus", 48000, None),
}


def test_every_deliverable_has_its_format(delivered: tuple[Path, list[Any]]) -> None:
    out, results = delivered
    assert [r.destination for r in results] == ALL.split(",")
    names = {r.destination: Path(r.path).name for r in results}
    assert listing(out) == sorted([*names.values(), "song.delivery.json"])
    for r in results:
        codec, rate, bits = EXPECTED[r.destination]
        stream = ffprobe(Path(r.path))["streams"][0]
        assert stream["codec_name"] == codec, r.destination
        assert int(stream["sample_rate"]) == rate, r.destination
        assert int(stream["channels"]) == 2, r.destination
        if bits is not None:
            raw = int(stream.get("bits_per_raw_sample") or stream.get("bits_per_sample") or 0)
            assert raw == bits, r.destination
        info = sf.info(r.path) if r.codec in ("wav", "flac") else None
        if info is not None:
            assert info.subtype == f"PCM_{bits}"
        assert r.passed, (r.destination, r.notes)
    mp3_cbr = ffprobe(out / "song.mp3.mp3")
    assert abs(int(mp3_cbr["format"]["bit_rate"]) - 320_000) < 8_000
    record = json.loads((out / "song.delivery.json").read_text())
    assert [d["destination"] for d in record["deliverables"]] == ALL.split(",")


def test_lossless_at_the_same_rate_is_bit_identical(tmp_path: Path) -> None:
    audio = music(seconds=2.0, sample_rate=44100)
    master = write_master(tmp_path / "m.wav", audio, 44100)
    (res,) = deliver(master, "streaming", out_dir=tmp_path / "o")
    a, _ = sf.read(master, dtype="float64")
    b, _ = sf.read(res.path, dtype="float64")
    assert np.array_equal(a, b)
    assert res.gain_db == 0.0 and res.attempts == 1


def test_flac_tags_mutagen(delivered: tuple[Path, list[Any]],
                           full_metadata: tuple[Metadata, bytes]) -> None:
    from mutagen.flac import FLAC

    out, results = delivered
    md, art = full_metadata
    for name in ("hires", "streaming"):
        r = next(x for x in results if x.destination == name)
        f = FLAC(r.path)
        expect = {
            "title": md.title, "artist": md.artist, "album": md.album,
            "albumartist": md.album_artist, "tracknumber": "3", "tracktotal": "12",
            "discnumber": "1", "disctotal": "2", "date": md.date, "genre": md.genre,
            "composer": md.composer, "organization": md.publisher, "copyright": md.copyright,
            "isrc": "GBAAA2600001", "barcode": "036000291452", "iswc": "T-034.524.680-1",
            "comment": md.comment,
        }
        for key, value in expect.items():
            assert f[key] == [value], (name, key)
        assert f["replaygain_track_gain"] == [f"{r.replaygain_track_gain_db:+.2f} dB"]
        assert abs(float(f["replaygain_track_peak"][0]) - 10 ** (r.true_peak_dbtp / 20)) < 1e-5
        assert abs(r.replaygain_track_gain_db - (-18.0 - r.integrated_lufs)) <= 0.005
        assert f.pictures[0].data == art and f.pictures[0].type == 3
        assert f.info.bits_per_sample == 24 and f.info.sample_rate == r.sample_rate


def test_mp3_tags_mutagen(delivered: tuple[Path, list[Any]],
                          full_metadata: tuple[Metadata, bytes]) -> None:
    from mutagen.id3 import ID3
    from mutagen.mp3 import MP3

    _, results = delivered
    md, art = full_metadata
    for name in ("mp3", "mp3v0"):
        r = next(x for x in results if x.destination == name)
        tags = ID3(r.path)
        assert tags.version[:2] == (2, 4)
        text = {
            "TIT2": md.title, "TPE1": md.artist, "TALB": md.album, "TPE2": md.album_artist,
            "TRCK": "3/12", "TPOS": "1/2", "TDRC": md.date, "TCON": md.genre,
            "TCOM": md.composer, "TPUB": md.publisher, "TCOP": md.copyright,
            "TSRC": "GBAAA2600001", "TXXX:BARCODE": "036000291452",
            "TXXX:ISWC": "T-034.524.680-1",
            "TXXX:REPLAYGAIN_TRACK_GAIN": f"{r.replaygain_track_gain_db:+.2f} dB",
        }
        for key, value in text.items():
            assert str(tags[key].text[0]) == value, (name, key)
        assert tags.getall("COMM")[0].text[0] == md.comment
        assert tags.getall("APIC")[0].data == art
        info: Any = MP3(r.path).info
        assert info.sample_rate == 48000 and info.channels == 2
        if name == "mp3":
            assert info.bitrate == 320000
        else:
            assert str(info.bitrate_mode) == "BitrateMode.VBR"


def test_m4a_tags_mutagen(delivered: tuple[Path, list[Any]],
                          full_metadata: tuple[Metadata, bytes]) -> None:
    from mutagen.mp4 import MP4

    _, results = delivered
    md, art = full_metadata
    r = next(x for x in results if x.destination == "aac")
    f: Any = MP4(r.path)
    expect = {"\xa9nam": md.title, "\xa9ART": md.artist, "\xa9alb": md.album,
              "aART": md.album_artist, "\xa9day": md.date, "\xa9gen": md.genre,
              "\xa9wrt": md.composer, "cprt": md.copyright, "\xa9cmt": md.comment}
    for key, value in expect.items():
        assert f[key] == [value], key
    assert f["trkn"] == [(3, 12)] and f["disk"] == [(1, 2)]
    free = {k.split(":")[-1]: bytes(v[0]).decode() for k, v in f.items() if k.startswith("----")}
    assert free["ISRC"] == "GBAAA2600001"
    assert free["BARCODE"] == "036000291452"
    assert free["ISWC"] == "T-034.524.680-1"
    assert free["LABEL"] == md.publisher
    assert free["replaygain_track_gain"] == f"{r.replaygain_track_gain_db:+.2f} dB"
    assert bytes(f["covr"][0]) == art
    assert f.info.codec == "mp4a.40.2" and f.info.channels == 2


def test_opus_tags_mutagen(delivered: tuple[Path, list[Any]],
                           full_metadata: tuple[Metadata, bytes]) -> None:
    import base64

    from mutagen.flac import Picture
    from mutagen.oggopus import OggOpus

    _, results = delivered
    md, art = full_metadata
    r = next(x for x in results if x.destination == "opus")
    f = OggOpus(r.path)
    assert f["title"] == [md.title] and f["artist"] == [md.artist]
    assert f["isrc"] == ["GBAAA2600001"] and f["barcode"] == ["036000291452"]
    assert f["tracknumber"] == ["3"] and f["organization"] == [md.publisher]
    q78 = int(f["r128_track_gain"][0])
    assert q78 == round((-23.0 - r.integrated_lufs) * 256)  # RFC 7845, Q7.8 re -23 LUFS
    assert "replaygain_track_gain" not in f  # RFC 7845 5.2.1
    pic = Picture(base64.b64decode(f["metadata_block_picture"][0]))
    assert pic.data == art


def _bext_loudness(path: str) -> dict[str, Any]:
    """Parse the bext chunk here (independently of burnish.io.metadata)."""
    data = Path(path).read_bytes()
    pos = 12
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4:pos + 8])
        if cid == b"bext":
            body = data[pos + 8:pos + 8 + size]
            version = struct.unpack("<H", body[346:348])[0]
            lv, lr, tp, mm, ms = struct.unpack("<5h", body[412:422])
            return {"version": version, "integrated": lv / 100, "lra": lr / 100, "tp": tp / 100,
                    "mm": mm / 100, "ms": ms / 100, "originator_reference": body[288:320]}
        pos += 8 + size + (size & 1)
    raise AssertionError("no bext chunk")


def test_wav_tags_ffprobe_and_bext(delivered: tuple[Path, list[Any]],
                                   full_metadata: tuple[Metadata, bytes]) -> None:
    _, results = delivered
    md, _ = full_metadata
    for name in ("cd", "hires_wav", "streaming_wav"):
        r = next(x for x in results if x.destination == name)
        tags = probe_tags(ffprobe(Path(r.path)))
        assert tags["title"] == md.title and tags["artist"] == md.artist
        assert tags["album"] == md.album and tags["genre"] == md.genre
        assert tags["copyright"] == md.copyright and tags["comment"] == md.comment
        assert tags["date"] == md.date
        bext = _bext_loudness(r.path)
        assert bext["version"] == 2
        assert bext["integrated"] == pytest.approx(r.integrated_lufs, abs=0.006)
        assert bext["tp"] == pytest.approx(r.true_peak_dbtp, abs=0.006)
        assert bext["originator_reference"].rstrip(b"\x00") == b"GBAAA2600001"
        assert any("artwork not embedded" in n for n in r.notes)


def test_ffprobe_reads_tags_of_every_deliverable(delivered: tuple[Path, list[Any]],
                                                 full_metadata: tuple[Metadata, bytes]) -> None:
    _, results = delivered
    md, _ = full_metadata
    for r in results:
        tags = probe_tags(ffprobe(Path(r.path)))
        assert tags["title"] == md.title, r.destination
        assert tags["artist"] == md.artist, r.destination
        assert tags["album"] == md.album, r.destination
        if r.codec in ("flac", "opus"):
            assert tags["isrc"] == "GBAAA2600001"
        if r.codec == "mp3":
            assert tags["tsrc"] == "GBAAA2600001"
            assert tags["publisher"] == md.publisher


# -------------------------------------------------------------------------------------------
# codec-aware true peak on the corpus, mastered to Spotify (-1 dBTP) and Amazon (-2 dBTP)
# -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus_masters(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every corpus mix, whole, mastered to Spotify and Amazon (one analysis each)."""
    from burnish.assistant.master import MasterJob, build_versions, master, record_path_for

    corpus = require_corpus()
    folder = tmp_path_factory.mktemp("masters")
    versions = build_versions(["spotify", "amazon"], target=None, lufs=None, ceiling_dbtp=None,
                              style="balanced", intensity="medium", force_loudness=False,
                              sample_rate=None, bit_depth=None)
    records = []
    for name in CORPUS_MIXES:
        mix = corpus / name
        job = MasterJob(mix_path=os.fspath(mix), out_dir=os.fspath(folder), versions=versions)
        master(job)
        records.append(record_path_for(job.mix_path, folder))
    return records


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("mix", range(len(CORPUS_MIXES)), ids=[m[:5] for m in CORPUS_MIXES])
def test_lossy_true_peak_under_ceiling_on_the_corpus(corpus_masters: list[Path], mix: int,
                                                     tmp_path: Path) -> None:
    record = corpus_masters[mix]
    for version, ceiling in (("spotify", -1.0), ("amazon", -2.0)):
        results = deliver(record, LOSSY, out_dir=tmp_path / version, version=version)
        for r in results:
            assert r.ceiling_dbtp == ceiling
            ref = ffmpeg_ebur128_precise(r.path)
            assert ref.true_peak_dbtp is not None
            # the ffmpeg binary's ebur128 on the decoded file: at or under the ceiling
            assert ref.true_peak_dbtp <= ceiling, (version, r.destination, ref, r.to_dict())
            assert r.passed and r.true_peak_dbtp <= ceiling - 0.02
            # burnish's meter (the in-delivery check by default) and the binary agree
            assert r.independent_true_peak_dbtp is None  # the cross-check is optional
            assert r.true_peak_dbtp == r.own_true_peak_dbtp
            assert abs(ref.true_peak_dbtp - r.own_true_peak_dbtp) < 0.05
            assert abs(ref.integrated_lufs - r.integrated_lufs) < 0.05
            # the gain reported is what was applied: loudness moved with it (within codec noise)
            assert r.gain_db <= 0.0
            assert r.replaygain_track_gain_db == pytest.approx(-18.0 - r.integrated_lufs,
                                                               abs=0.006)


# -------------------------------------------------------------------------------------------
# 16 bits: the dither shows in digital silence and is deterministic
# -------------------------------------------------------------------------------------------
def test_cd_dither_noise_floor_and_bit_identical_reruns(tmp_path: Path) -> None:
    rate = 48000
    tone = sine(997.0, sample_rate=rate, duration_s=1.0, amplitude=0.25, fade_ms=10)
    audio = np.concatenate([tone, np.zeros((2, 3 * rate))], axis=1)
    master = write_master(tmp_path / "tone.wav", audio, rate)
    a = deliver(master, "cd", out_dir=tmp_path / "a")[0]
    b = deliver(master, "cd", out_dir=tmp_path / "b")[0]
    x, sr = sf.read(a.path, dtype="int16", always_2d=True)
    y, _ = sf.read(b.path, dtype="int16", always_2d=True)
    assert sr == 44100 and a.dithered
    assert np.array_equal(x, y)  # seeded dither: bit-identical across runs
    silence = x[int(2.0 * sr):].astype(np.float64) / 32768.0  # 1 s after the tone: digital zero in
    rms_dbfs = 10 * math.log10(np.mean(silence**2))
    # TPDF +-1 LSB then rounding: output values -1/0/+1 LSB with p = 1/8, 3/4, 1/8, power
    # LSB^2/4, RMS = LSB/2 = 2^-16 = -96.33 dBFS (burnish.dsp.dither's design)
    assert rms_dbfs == pytest.approx(20 * math.log10(2.0**-16), abs=0.5)
    values, counts = np.unique(np.round(silence * 32768).astype(int), return_counts=True)
    assert set(values.tolist()) == {-1, 0, 1}
    assert counts[1] / counts.sum() == pytest.approx(0.75, abs=0.01)
    # another seed gives other bits
    c = deliver(master, "cd", out_dir=tmp_path / "c", dither_seed=1)[0]
    z, _ = sf.read(c.path, dtype="int16", always_2d=True)
    assert not np.array_equal(x, z)


def test_a_16_bit_master_is_not_dithered_twice(tmp_path: Path) -> None:
    audio = np.round(music(seconds=1.0, sample_rate=44100) * 32768) / 32768
    master = write_master(tmp_path / "m16.wav", audio, 44100, subtype="PCM_16")
    (res,) = deliver(master, "cd", out_dir=tmp_path / "o")
    assert not res.dithered
    a, _ = sf.read(master, dtype="int16")
    b, _ = sf.read(res.path, dtype="int16")
    assert np.array_equal(a, b)


# -------------------------------------------------------------------------------------------
# validation happens before rendering; nothing is left behind after an error
# -------------------------------------------------------------------------------------------
@pytest.fixture
def small_master(tmp_path: Path) -> Path:
    return write_master(tmp_path / "small.wav", music(seconds=1.0, sample_rate=44100), 44100)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"isrc": "GB-AAA-2-00001"},
         "isrc='GB-AAA-2-00001' is not a valid ISRC (CC-XXX-YY-NNNNN: 2 letters, 3 letters or"
         " digits, 2-digit year, 5 digits)"),
        ({"barcode": "036000291453"},
         "barcode='036000291453': the UPC-A check digit is 3 but should be 2"),
        ({"barcode": "4006381333932"},
         "barcode='4006381333932': the EAN-13 check digit is 2 but should be 1"),
        ({"barcode": "12345"},
         "barcode='12345' must be a UPC-A (12 digits) or EAN-13 (13 digits) barcode"),
        ({"iswc": "T-034.524.680-2"},
         "iswc='T-034.524.680-2': the check digit is 2 but should be 1"),
        ({"title": "x" * 300},
         "WAV deliverables: title is 300 bytes; a RIFF INFO item holds at most 255"),
        ({"date": "01/03/2026"}, "date='01/03/2026' must be YYYY, YYYY-MM or YYYY-MM-DD"),
    ],
)
def test_bad_metadata_fails_before_rendering(small_master: Path, tmp_path: Path,
                                             changes: dict[str, Any], message: str) -> None:
    out = tmp_path / "out"
    with pytest.raises(DeliveryError) as err:
        deliver(small_master, "cd,mp3", out_dir=out, metadata=Metadata(**changes))
    assert str(err.value) == message
    assert listing(out) == []


def test_bad_artwork_messages(small_master: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    text = tmp_path / "cover.jpg"
    text.write_text("not an image")
    with pytest.raises(DeliveryError) as err:
        deliver(small_master, "mp3", out_dir=out, metadata=Metadata(artwork_path=os.fspath(text)))
    assert str(err.value) == f"{text}: artwork must be a JPEG or PNG image"
    missing = tmp_path / "nope.png"
    with pytest.raises(DeliveryError) as err:
        deliver(small_master, "mp3", out_dir=out,
                metadata=Metadata(artwork_path=os.fspath(missing)))
    assert str(err.value) == f"{missing}: artwork file not found"
    huge = tmp_path / "huge.jpg"
    make_jpeg(huge, size_px=9000)
    with pytest.raises(DeliveryError) as err:
        deliver(small_master, "mp3", out_dir=out, metadata=Metadata(artwork_path=os.fspath(huge)))
    assert str(err.value) == f"{huge}: artwork is 9000x9000 px; each side must be 1-8192"
    assert listing(out) == []


def test_an_error_while_rendering_leaves_nothing(small_master: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import burnish.delivery.deliver as mod

    calls = {"n": 0}
    real = mod.write_tags

    def failing(path: str, md: Metadata) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise DeliveryError("simulated failure")
        real(path, md)

    monkeypatch.setattr(mod, "write_tags", failing)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(DeliveryError, match="simulated failure"):
        deliver(small_master, "streaming,cd,mp3", out_dir=out)
    assert listing(out) == ["keep.txt"]  # no deliverable, no temporary file, no work folder


def test_bad_arguments(small_master: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ParameterError) as err:
        deliver(small_master, "cd,vinyl", out_dir=out)
    assert str(err.value) == f"unknown destination 'vinyl'; known: {', '.join(DESTINATIONS)}"
    with pytest.raises(ParameterError) as err:
        deliver(small_master, "cd", out_dir=out, ceiling_dbtp=0.5)
    assert str(err.value) == "ceiling_dbtp=0.5 must be in [-12, 0] dBTP"
    with pytest.raises(DeliveryError) as missing:
        deliver(tmp_path / "none.wav", "cd", out_dir=out)
    assert str(missing.value) == f"{tmp_path / 'none.wav'}: no such master record or audio file"
    assert listing(out) == []


def test_parse_destinations_keeps_order_and_drops_duplicates() -> None:
    assert [d.name for d in parse_destinations("cd, mp3,cd,Opus")] == ["cd", "mp3", "opus"]


def test_a_record_version_and_its_ceiling(tmp_path: Path) -> None:
    """A hand-written record: the version's output is the source, its ceilings are used, a
    deliverable that would replace the master is refused, an unknown version is named."""
    master = write_master(tmp_path / "song.streaming.wav", music(seconds=1.5, sample_rate=44100,
                                                                 peak_dbfs=-3.0), 44100)
    record = {
        "format": "burnish-master", "version": 1, "mix": {"path": "/x/song.flac"},
        "revisions": [{"versions": [{
            "name": "streaming", "output": master.name,
            "render": {"ceiling_dbtp": -2.5, "bit_depth": 24},
            "settings": {"target": {"name": "amazon", "ceiling_dbtp": -2.5}},
        }]}],
    }
    path = tmp_path / "song.master.json"
    path.write_text(json.dumps(record))
    results = deliver(path, "streaming,opus", out_dir=tmp_path / "d")
    assert all(r.ceiling_dbtp == -2.5 and r.passed for r in results)
    assert Path(results[0].path).name == "song.streaming.flac"
    with pytest.raises(DeliveryError) as err:
        deliver(path, "cd", out_dir=tmp_path / "d", version="loud")
    assert str(err.value) == (
        f"{path}: no version 'loud' in the master record (versions: streaming)")


def test_the_master_itself_is_never_replaced(tmp_path: Path) -> None:
    master = write_master(tmp_path / "m.cd.wav", music(seconds=0.5, sample_rate=44100), 44100)
    before = master.read_bytes()
    with pytest.raises(DeliveryError) as err:
        deliver(master, "cd", out_dir=tmp_path, stem="m")
    assert str(err.value) == (
        f"{master}: would overwrite the master it is made from; choose another output folder")
    assert master.read_bytes() == before
    assert listing(tmp_path) == ["m.cd.wav"]


# -------------------------------------------------------------------------------------------
# speed machinery: worker processes and the probe change nothing in the files
# -------------------------------------------------------------------------------------------
def test_files_are_bit_identical_with_one_or_two_workers(tmp_path: Path) -> None:
    master = write_master(tmp_path / "m.wav", music(seconds=3.0, sample_rate=44100), 44100)
    dests = "streaming,cd,mp3,mp3v0,aac,opus"
    one = deliver(master, dests, out_dir=tmp_path / "one", workers=1)
    two = deliver(master, dests, out_dir=tmp_path / "two", workers=2)
    for a, b in zip(one, two):
        if a.codec == "wav":  # bext holds the origination date and time: compare the samples
            assert np.array_equal(sf.read(a.path, dtype="int32")[0],
                                  sf.read(b.path, dtype="int32")[0])
        else:
            assert Path(a.path).read_bytes() == Path(b.path).read_bytes(), a.destination
        assert (a.gain_db, a.attempts, a.true_peak_dbtp) == (b.gain_db, b.attempts,
                                                             b.true_peak_dbtp)
        if a.lossy:  # the probe ran and its reading is recorded
            assert a.probe_true_peak_dbtp is not None and a.cpu_s > 0.0
            assert a.passed and a.true_peak_dbtp <= a.ceiling_dbtp - 0.02
        else:
            assert a.probe_true_peak_dbtp is None


def test_workers_must_be_a_count(small_master: Path, tmp_path: Path) -> None:
    with pytest.raises(ParameterError) as err:
        deliver(small_master, "cd", out_dir=tmp_path / "o", workers=0)
    assert str(err.value) == "workers=0 must be a whole number in [1, 64]"


def test_measure_decoded_matches_the_two_separate_meters(tmp_path: Path) -> None:
    """One decode pass gives what burnish's file meter and libavfilter's ebur128 give apart."""
    from burnish.analysis.loudness import measure_file
    from burnish.delivery.deliver import measure_decoded
    from burnish.io.codecs import encode_file
    from burnish.io.ffmeter import ffmpeg_ebur128

    cases: tuple[tuple[Any, str], ...] = (("mp3", "mp3"), ("aac", "m4a"), ("opus", "opus"))
    for codec, ext in cases:
        path = tmp_path / f"x.{ext}"
        encode_file(music(seconds=2.5, sample_rate=44100), path, codec=codec, sample_rate=44100)
        both = measure_decoded(path)
        own = measure_file(path)
        assert both.own.true_peak_dbtp == own.true_peak_dbtp, codec
        assert both.own.integrated_lufs == own.integrated_lufs, codec
        assert both.own.duration_s == own.duration_s, codec
        assert both.independent == ffmpeg_ebur128(path), codec


def test_the_shared_master_changes_no_bit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The master read once and shared gives the same files as every deliverable streaming it
    from the file (what a worker started by "spawn", or a master too large to hold, does)."""
    import burnish.delivery.deliver as mod

    master = write_master(tmp_path / "m.wav", music(seconds=2.0, sample_rate=44100), 44100)
    dests = "hires,cd,mp3,opus"
    shared = deliver(master, dests, out_dir=tmp_path / "shared", workers=1)
    assert not mod._SHARED_MASTER  # released when deliver() returns
    monkeypatch.setattr(mod, "SHARED_MASTER_MAX_BYTES", 0)
    streamed = deliver(master, dests, out_dir=tmp_path / "streamed", workers=1)
    for a, b in zip(shared, streamed):
        if a.codec == "wav":
            assert np.array_equal(sf.read(a.path, dtype="int32")[0],
                                  sf.read(b.path, dtype="int32")[0])
        else:
            assert Path(a.path).read_bytes() == Path(b.path).read_bytes(), a.destination


def test_the_independent_meter_on_request(tmp_path: Path) -> None:
    """``independent_meter=True`` measures each decoded lossy file with libavfilter's ebur128
    too, and the decoded true peak is then the higher of the two meters."""
    require_ffmpeg()
    master = write_master(tmp_path / "m.wav", music(seconds=3.0, sample_rate=44100), 44100)
    plain = deliver(master, "mp3,aac", out_dir=tmp_path / "plain")
    both = deliver(master, "mp3,aac", out_dir=tmp_path / "both", independent_meter=True)
    for r in plain:
        assert r.independent_true_peak_dbtp is None and r.true_peak_dbtp == r.own_true_peak_dbtp
        # burnish's meter alone keeps an extra 0.03 dB from the ceiling
        assert r.true_peak_dbtp <= r.ceiling_dbtp - 0.05
    for r in both:
        assert r.independent_true_peak_dbtp is not None
        assert r.independent_integrated_lufs is not None
        assert r.true_peak_dbtp == max(r.own_true_peak_dbtp, r.independent_true_peak_dbtp)
        assert r.passed and r.true_peak_dbtp <= r.ceiling_dbtp - 0.02
        ref = ffmpeg_ebur128_precise(r.path)
        assert ref.true_peak_dbtp is not None
        assert abs(ref.true_peak_dbtp - r.independent_true_peak_dbtp) < 0.01
