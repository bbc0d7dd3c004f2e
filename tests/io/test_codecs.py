"""Encoding to MP3/AAC/Opus/FLAC/WAV, checked with ffprobe, and decoding back in line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from burnish.errors import ParameterError
from burnish.io.codecs import available_encoders, decode_file, encode_file
from burnish.io.files import AudioReader, audio_info, write_audio
from tests.signals import log_sweep, sine

SAMPLE_RATE = 44100


def music_like(sample_rate: int = SAMPLE_RATE, duration_s: float = 2.0) -> np.ndarray:
    """A sweep plus a chord, different in each channel, well inside every codec's band."""
    sweep = log_sweep(sample_rate=sample_rate, duration_s=duration_s, start_hz=50, end_hz=12000,
                      amplitude=0.25)
    chord = sum(sine(f, sample_rate=sample_rate, duration_s=duration_s, amplitude=0.1)
                for f in (220.0, 277.2, 329.6))
    x = sweep + chord
    x[1] = np.roll(x[1], 441) * 0.8
    return x


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    return dict(json.loads(out))


def best_lag(reference: np.ndarray, decoded: np.ndarray, max_lag: int = 2000) -> tuple[int, float]:
    """Lag of ``decoded`` against ``reference`` (channel 0) and the normalised correlation."""
    n = min(reference.shape[1], decoded.shape[1]) - 2 * max_lag
    a = reference[0, max_lag : max_lag + n]
    b = decoded[0, : n + 2 * max_lag]
    size = 1 << int(np.ceil(np.log2(b.size + a.size)))
    full = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    cc = full[: 2 * max_lag + 1]  # cc[k] pairs a with b[k : k + n]
    k = int(np.argmax(cc))
    seg = b[k : k + n]
    return k - max_lag, float(np.dot(a, seg) / np.sqrt(np.dot(a, a) * np.dot(seg, seg)))


def test_encoders_available() -> None:
    assert all(available_encoders().values())


# (codec, extension, options, ffprobe codec, container, nominal kbps or None)
LOSSY = [
    ("mp3", ".mp3", {}, "mp3", "mp3", 320),
    ("mp3", ".mp3", {"vbr_quality": 0}, "mp3", "mp3", None),
    ("aac", ".m4a", {}, "aac", "mov,mp4,m4a,3gp,3g2,mj2", 256),
    ("opus", ".opus", {}, "opus", "ogg", 160),
]


@pytest.mark.parametrize(("codec", "ext", "options", "probe_codec", "container", "kbps"), LOSSY)
def test_lossy_encode_probe_and_decode_aligned(
    tmp_path: Path, codec: Any, ext: str, options: dict[str, int], probe_codec: str,
    container: str, kbps: int | None,
) -> None:
    x = music_like()
    path = tmp_path / f"out{ext}"
    result = encode_file(x, path, codec=codec, sample_rate=SAMPLE_RATE, **options)
    probe = ffprobe(path)
    stream = probe["streams"][0]
    assert stream["codec_name"] == probe_codec
    assert probe["format"]["format_name"] == container
    assert int(stream["channels"]) == 2
    expected_rate = 48000 if codec == "opus" else SAMPLE_RATE
    assert int(stream["sample_rate"]) == expected_rate == result.sample_rate
    bitrate_kbps = int(probe["format"]["bit_rate"]) / 1000
    if kbps is not None:
        assert result.bitrate_kbps == kbps
        # CBR (mp3), ABR (aac) and VBR (opus) all land near the nominal rate on 2 s of audio
        assert kbps * 0.7 <= bitrate_kbps <= kbps * 1.25, bitrate_kbps
    else:  # VBR: LAME writes a "Xing" header (CBR files get "Info") and the rate varies
        assert b"Xing" in path.read_bytes()[:4096]
        assert 32 <= bitrate_kbps <= 320
    if codec == "mp3" and kbps is not None:
        assert b"Info" in path.read_bytes()[:4096]
    y, rate = decode_file(path)
    assert rate == expected_rate
    if rate != SAMPLE_RATE:
        import soxr

        y = soxr.resample(y.T, rate, SAMPLE_RATE, quality="VHQ").T
    # delay and padding removed: same length (within the resampler's rounding) and no lag
    assert abs(y.shape[1] - x.shape[1]) <= 2
    lag, corr = best_lag(x, y, max_lag=2000)
    assert lag == 0, lag
    assert corr > 0.99, corr


def test_opus_resamples_to_48k_from_file(tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    write_audio(src, music_like(96000, 1.0), 96000, bit_depth=24)
    out = tmp_path / "out.opus"
    result = encode_file(src, out, codec="opus", bitrate_kbps=128)
    assert result.sample_rate == 48000 and result.num_frames == 48000
    info = audio_info(out)
    assert (info.sample_rate, info.num_frames, info.format, info.subtype) == (48000, 48000, "OGG", "opus")
    mp3 = encode_file(src, tmp_path / "out.mp3", codec="mp3")  # 96 kHz -> 48 kHz for MP3
    assert mp3.sample_rate == 48000


@pytest.mark.parametrize(("codec", "bit_depth", "probe_codec"), [("flac", 24, "flac"), ("wav", 16, "pcm_s16le")])
def test_lossless_encode(tmp_path: Path, codec: Any, bit_depth: int, probe_codec: str) -> None:
    x = music_like(duration_s=0.5)
    path = tmp_path / f"out.{codec}"
    encode_file(x, path, codec=codec, sample_rate=SAMPLE_RATE, bit_depth=bit_depth)
    assert ffprobe(path)["streams"][0]["codec_name"] == probe_codec
    y, _ = decode_file(path)
    assert np.max(np.abs(y - x)) <= 2.0 ** (1 - bit_depth)


def test_block_reads_of_compressed_file_equal_whole(tmp_path: Path) -> None:
    path = tmp_path / "x.m4a"
    encode_file(music_like(duration_s=1.0), path, codec="aac", sample_rate=SAMPLE_RATE)
    whole, _ = decode_file(path)
    with AudioReader(path) as reader:
        blocks = list(reader.blocks(777))
        reader.seek(10000)
        again = reader.read(500)
    assert np.array_equal(np.concatenate(blocks, axis=1), whole)
    assert np.array_equal(again, whole[:, 10000:10500])


def test_atomic_encode_leaves_existing_file_on_error(tmp_path: Path) -> None:
    path = tmp_path / "out.mp3"
    path.write_bytes(b"previous")
    with pytest.raises(ParameterError, match="bitrate_kbps=300 is not an MP3 bitrate"):
        encode_file(music_like(duration_s=0.2), path, codec="mp3", sample_rate=SAMPLE_RATE,
                    bitrate_kbps=300)
    with pytest.raises(ParameterError, match="NaN"):
        bad = music_like(duration_s=0.2)
        bad[0, 5] = np.nan
        encode_file(bad, path, codec="mp3", sample_rate=SAMPLE_RATE)
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp3"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"codec": "opus", "vbr_quality": 2}, "vbr_quality applies to mp3 only"),
        ({"codec": "mp3", "vbr_quality": 12}, r"vbr_quality=12 must be an integer in \[0, 9\]"),
        ({"codec": "mp3", "vbr_quality": 0, "bitrate_kbps": 320}, "not both"),
        ({"codec": "aac", "bitrate_kbps": 1000}, r"bitrate_kbps=1000 must be a whole number in \[32, 512\]"),
        ({"codec": "flac", "bitrate_kbps": 320}, "don't apply to flac"),
        ({"codec": "ogg"}, "codec='ogg' must be one of"),
    ],
)
def test_bad_options(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        encode_file(music_like(duration_s=0.1), tmp_path / "x", sample_rate=SAMPLE_RATE, **kwargs)


def test_gain_db_equals_scaling_and_outputs_are_bit_identical(tmp_path: Path) -> None:
    x = music_like(duration_s=1.0)
    cases: tuple[tuple[Any, str], ...] = (("mp3", ".mp3"), ("aac", ".m4a"), ("opus", ".opus"))
    for codec, ext in cases:
        a, b, c = (tmp_path / f"{k}{ext}" for k in "abc")
        encode_file(x, a, codec=codec, sample_rate=SAMPLE_RATE, gain_db=-6.0)
        encode_file(x * 10 ** (-6.0 / 20), b, codec=codec, sample_rate=SAMPLE_RATE)
        encode_file(x, c, codec=codec, sample_rate=SAMPLE_RATE, gain_db=-6.0)
        assert a.read_bytes() == c.read_bytes(), codec  # bitexact muxing: no random serials
        ya, _ = decode_file(a)
        yb, _ = decode_file(b)
        assert np.max(np.abs(ya - yb)) < 1e-3, codec  # float rounding of the gain only
    with pytest.raises(ParameterError, match=r"gain_db=100 must be a number in \[-60, 24\]"):
        encode_file(x, tmp_path / "x.mp3", codec="mp3", sample_rate=SAMPLE_RATE, gain_db=100)


@pytest.mark.parametrize(("options", "mode", "settings"),
                         [({}, "CBR", "-b 320"), ({"vbr_quality": 0}, "VBR", "-V 0")])
def test_mp3_is_lame_cbr_320_or_v0_gapless(tmp_path: Path, options: dict[str, int], mode: str,
                                           settings: str) -> None:
    """Whichever LAME encodes: the LAME tag says CBR 320 or V0 and carries the delay and
    padding (the decoded length is the input's), and every frame of CBR is 320 kbps."""
    from mutagen.mp3 import MP3

    from burnish.io.codecs import mp3_encoder

    assert mp3_encoder(SAMPLE_RATE) in ("pedalboard", "libmp3lame")
    x = music_like(duration_s=3.0)
    path = tmp_path / "x.mp3"
    encode_file(x, path, codec="mp3", sample_rate=SAMPLE_RATE, **options)
    info: Any = MP3(path).info
    assert str(info.bitrate_mode) == f"BitrateMode.{mode}"
    assert info.encoder_info.startswith("LAME") and info.encoder_settings == settings
    assert audio_info(path).num_frames == x.shape[1]  # delay and padding removed
    if mode == "CBR":  # every frame header: MPEG-1 layer III, bitrate index 14 (320 kbps)
        data = path.read_bytes()
        pos, count = 0, 0
        while (pos := data.find(b"\xff", pos)) != -1 and pos + 4 <= len(data):
            head = int.from_bytes(data[pos:pos + 4], "big")
            if head >> 21 == 0x7FF and (head >> 17) & 0xF == 0b1101:  # sync, MPEG-1, layer III
                assert (head >> 12) & 0xF == 14, hex(head)
                padding = (head >> 9) & 1
                pos += 144 * 320_000 // SAMPLE_RATE + padding
                count += 1
            else:
                pos += 1
        assert count >= 3.0 * SAMPLE_RATE / 1152


def test_mp3_quiet_input_keeps_no_dc_offset(tmp_path: Path) -> None:
    """16-bit input to LAME is requantised with TPDF dither, not truncated: a sine of a third of
    an LSB decodes without the -1/2 LSB offset truncation would leave, and digital silence
    becomes dither noise of about LSB/2 RMS, not a constant."""
    sr = SAMPLE_RATE
    for amplitude_lsb in (0.0, 0.3):
        x = np.tile(amplitude_lsb / 32768 * np.sin(2 * np.pi * 1000 * np.arange(3 * sr) / sr),
                    (2, 1))
        path = tmp_path / "quiet.mp3"
        encode_file(x, path, codec="mp3", sample_rate=sr)
        y, _ = decode_file(path)
        middle = y[:, sr : 2 * sr] * 32768
        assert abs(float(middle.mean())) < 0.05, amplitude_lsb  # in LSB
        assert float(middle.std()) < 1.0, amplitude_lsb
