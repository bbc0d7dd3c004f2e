"""Reading every PCM format in blocks, and atomic writing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from burnish.errors import AudioFileError, ParameterError
from burnish.io.files import AudioReader, AudioWriter, audio_info, read_audio, write_audio
from tests.corpus import corpus_entry, corpus_path
from tests.signals import sine, white_noise


def ffprobe_stream(path: Path) -> dict[str, str]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    return dict(json.loads(out)["streams"][0])


# (extension, bit_depth, ffprobe codec, max abs error)
PCM_CASES = [
    (".wav", 16, "pcm_s16le", 1 / 32768),
    (".wav", 24, "pcm_s24le", 1 / 2**23),
    (".wav", 32, "pcm_f32le", 1e-7),
    (".wav", 64, "pcm_f64le", 0.0),
    (".flac", 16, "flac", 1 / 32768),
    (".flac", 24, "flac", 1 / 2**23),
    (".aiff", 16, "pcm_s16be", 1 / 32768),
    (".aiff", 24, "pcm_s24be", 1 / 2**23),
    (".aiff", 32, "pcm_f32be", 1e-7),
]


@pytest.mark.parametrize(("ext", "bit_depth", "codec", "tol"), PCM_CASES)
def test_write_read_roundtrip(tmp_path: Path, ext: str, bit_depth: int, codec: str, tol: float) -> None:
    x = white_noise(sample_rate=48000, duration_s=0.2, level_dbfs=-12, seed=1).clip(-0.99, 0.99)
    path = tmp_path / f"out{ext}"
    write_audio(path, x, 48000, bit_depth=bit_depth)
    y, rate = read_audio(path)
    assert rate == 48000 and y.shape == x.shape and y.dtype == np.float64
    assert np.max(np.abs(y - x)) <= tol * 1.01 + 1e-12
    probe = ffprobe_stream(path)
    assert probe["codec_name"] == codec
    assert int(probe["sample_rate"]) == 48000 and int(probe["channels"]) == 2
    info = audio_info(path)
    assert info.bit_depth == bit_depth and info.num_frames == x.shape[1]


@pytest.mark.parametrize(
    ("fmt", "subtype", "bits"),
    [("WAV", "PCM_U8", 8), ("WAV", "PCM_32", 32), ("WAVEX", "PCM_24", 24), ("OGG", "VORBIS", None)],
)
def test_reads_other_pcm_layouts(tmp_path: Path, fmt: str, subtype: str, bits: int | None) -> None:
    x = sine(1000, sample_rate=44100, duration_s=0.5, amplitude=0.5)
    path = tmp_path / ("x.ogg" if fmt == "OGG" else "x.wav")
    sf.write(path, x.T, 44100, format=fmt, subtype=subtype)
    with open(path, "rb") as f:
        head = f.read(40)
    if fmt == "WAVEX":
        assert head[20:22] == b"\xfe\xff"  # WAVE_FORMAT_EXTENSIBLE
    y, _ = read_audio(path)
    info = audio_info(path)
    assert info.bit_depth == bits and info.backend == "soundfile"
    tol = 0.02 if subtype in ("PCM_U8", "VORBIS") else 1e-6
    n = min(x.shape[1], y.shape[1])
    if subtype == "VORBIS":
        assert np.corrcoef(x[0, 1000 : n - 1000], y[0, 1000 : n - 1000])[0, 1] > 0.99
    else:
        assert np.max(np.abs(y - x)) < tol


@pytest.mark.parametrize("sample_rate", [8000, 44100, 192000])
@pytest.mark.parametrize("num_channels", [1, 2])
def test_rates_and_channels(tmp_path: Path, sample_rate: int, num_channels: int) -> None:
    x = sine(440, sample_rate=sample_rate, duration_s=0.05, num_channels=num_channels)
    path = tmp_path / "x.flac"
    write_audio(path, x, sample_rate, bit_depth=24)
    y, rate = read_audio(path)
    assert rate == sample_rate and y.shape == (num_channels, x.shape[1])


def test_blocks_equal_whole_and_seek(tmp_path: Path) -> None:
    x = white_noise(sample_rate=44100, duration_s=1.0, seed=3)
    path = tmp_path / "x.wav"
    write_audio(path, x, 44100, bit_depth=32)
    whole, _ = read_audio(path)
    for block_frames in (1000, 4096, 65536):
        with AudioReader(path) as reader:
            blocks = list(reader.blocks(block_frames))
        assert all(b.shape[1] == block_frames for b in blocks[:-1])
        assert np.array_equal(np.concatenate(blocks, axis=1), whole)
    with AudioReader(path, dtype=np.float32) as reader:
        reader.seek(12345)
        block = reader.read(100)
        assert block.dtype == np.float32 and reader.position == 12445
        assert np.array_equal(block, whole[:, 12345:12445].astype(np.float32))
        with pytest.raises(AudioFileError, match="can't seek to frame 99999999"):
            reader.seek(99_999_999)


def test_atomic_write_success_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "master.wav"
    path.write_bytes(b"old")
    x = sine(440, sample_rate=44100, duration_s=0.1)
    with AudioWriter(path, sample_rate=44100, num_channels=2, bit_depth=24) as w:
        w.write(x[:, :2000])
        assert path.read_bytes() == b"old"  # nothing visible until close
        w.write(x[:, 2000:])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.wav"]
    assert read_audio(path)[0].shape == x.shape
    assert path.stat().st_mode & 0o777 != 0o600  # not mkstemp's private mode


def test_atomic_write_failure_keeps_existing_target(tmp_path: Path) -> None:
    path = tmp_path / "master.flac"
    write_audio(path, sine(440, sample_rate=44100, duration_s=0.1), 44100)
    before = path.read_bytes()
    x = sine(440, sample_rate=44100, duration_s=0.1)
    with pytest.raises(RuntimeError, match="boom"):
        with AudioWriter(path, sample_rate=44100, num_channels=2) as w:
            w.write(x)
            raise RuntimeError("boom")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.flac"]
    # a bad block (NaN) is refused and the writer can be aborted cleanly
    w2 = AudioWriter(path, sample_rate=44100, num_channels=2)
    bad = x.copy()
    bad[0, 10] = np.nan
    with pytest.raises(ParameterError, match="NaN"):
        w2.write(bad)
    w2.abort()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.flac"]


def test_writer_rejects_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="FLAC holds at most 24 bits"):
        AudioWriter(tmp_path / "x.flac", sample_rate=44100, num_channels=2, bit_depth=32)
    with pytest.raises(AudioFileError, match="can't tell the format"):
        AudioWriter(tmp_path / "x.mp3", sample_rate=44100, num_channels=2)
    with pytest.raises(AudioFileError, match="does not exist"):
        AudioWriter(tmp_path / "nope" / "x.wav", sample_rate=44100, num_channels=2)
    with pytest.raises(AudioFileError, match="6 channels"):
        AudioWriter(tmp_path / "x.wav", sample_rate=44100, num_channels=6)
    assert list(tmp_path.iterdir()) == []


def test_mislabelled_file_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "actually_flac.wav"
    sf.write(path, sine(440, sample_rate=44100, duration_s=0.1).T, 44100, format="FLAC")
    assert audio_info(path).format == "FLAC"


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name",
    ["defect_f_96k24_singularity_awakening.wav", "defect_e_mono_wesnoth_traveling_minstrels.flac"],
)
def test_corpus_files_match_manifest(name: str) -> None:
    entry = corpus_entry(name)
    info = audio_info(corpus_path(name))
    assert (info.sample_rate, info.num_channels, info.bit_depth, info.num_frames) == (
        entry["sample_rate"], entry["channels"], entry["bit_depth"], entry["frames"]
    )
    with AudioReader(corpus_path(name), dtype=np.float32) as reader:
        total = sum(b.shape[1] for b in reader.blocks())
    assert total == entry["frames"]
