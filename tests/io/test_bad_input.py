"""Anything a musician might send that isn't usable audio: one clear line, never a traceback.

Each case is checked through the library (AudioFileError, message names the file and the
problem) and through the command line (`burnish info FILE` run as a subprocess).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from burnish.errors import AudioFileError
from burnish.io.files import AudioReader, read_audio

REPO = Path(__file__).resolve().parents[2]


def wav_bytes(
    *, channels: int = 2, sample_rate: int = 44100, bits: int = 16, frames: int = 100, tag: int = 1
) -> bytes:
    """A canonical RIFF/WAVE file with the given header fields (which may be absurd)."""
    align = channels * bits // 8
    data = bytes(frames * align)
    fmt = struct.pack("<HHIIHH", tag, channels, sample_rate, sample_rate * align, align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _float_wav_with(value: float) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        x = np.full((100, 2), 0.25, dtype=np.float32)
        x[37, 1] = value
        sf.write(path, x, 44100, subtype="FLOAT")

    return make


# name -> (file name, how to make it, a fragment the message must contain)
CASES: dict[str, tuple[str, Callable[[Path], None] | None, str]] = {
    "missing": ("missing.wav", None, "no such file"),
    "folder": ("a folder.wav", lambda p: p.mkdir(), "is a folder"),
    "empty": ("empty.wav", lambda p: p.write_bytes(b""), "the file is empty"),
    "truncated header": ("trunc.wav", lambda p: p.write_bytes(wav_bytes()[:30]), "truncated"),
    "text named .wav": (
        "notes.wav", lambda p: p.write_text("these are my lyrics\nverse 1\n"), "holds text"
    ),
    "random bytes": (
        "noise.wav",
        lambda p: p.write_bytes(b"\x00\x17" + np.random.default_rng(7).bytes(4000)),
        "not a recognised audio file",
    ),
    "zero-length audio": ("zero.wav", lambda p: p.write_bytes(wav_bytes(frames=0)), "zero length"),
    "NaN samples": ("nan.wav", _float_wav_with(float("nan")), "NaN or infinite samples (first at frame 37)"),
    "Inf samples": ("inf.wav", _float_wav_with(float("inf")), "NaN or infinite samples (first at frame 37)"),
    "0 Hz": ("zero_hz.wav", lambda p: p.write_bytes(wav_bytes(sample_rate=0)), "sample rate of 0 Hz"),
    "10 MHz": (
        "ten_mhz.wav",
        lambda p: p.write_bytes(wav_bytes(sample_rate=10_000_000)),
        "sample rate 10000000 Hz is outside the supported 8000-192000 Hz",
    ),
    "0 channels": ("no_channels.wav", lambda p: p.write_bytes(wav_bytes(channels=0)), "0 channels"),
    "6 channels": (
        "surround.wav",
        lambda p: p.write_bytes(wav_bytes(channels=6)),
        "has 6 channels; burnish supports mono and stereo",
    ),
    "unicode + spaces name": (
        "mïx fïnal (v2) ✓.wav", lambda p: p.write_bytes(wav_bytes(frames=0)), "zero length"
    ),
    "leading dash": ("-rf.wav", lambda p: p.write_text("text"), "holds text"),
    "newline in name": ("two\nlines.wav", lambda p: p.write_bytes(b""), "the file is empty"),
}


def _make(tmp_path: Path, case: str) -> Path:
    name, make, _ = CASES[case]
    path = tmp_path / name
    if make is not None:
        make(path)
    return path


def _shown(path: Path) -> str:
    """How a message shows the name: control characters escaped, the rest verbatim."""
    text = str(path)
    return text if text.isprintable() else repr(text)[1:-1]


@pytest.mark.parametrize("case", list(CASES))
def test_library_raises_one_line_naming_file(tmp_path: Path, case: str) -> None:
    path = _make(tmp_path, case)
    with pytest.raises(AudioFileError) as err:
        read_audio(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(_shown(path) + ": "), message
    assert CASES[case][2] in message, message


@pytest.mark.parametrize("case", list(CASES))
def test_cli_info_one_line_on_stderr(tmp_path: Path, case: str) -> None:
    path = _make(tmp_path, case)
    proc = subprocess.run(
        [sys.executable, "-m", "burnish", "info", "--", str(path)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert proc.returncode != 0
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("burnish: error: " + _shown(path) + ": "), lines[0]
    assert CASES[case][2] in lines[0]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their mode"
)
def test_unreadable_permission(tmp_path: Path) -> None:
    path = tmp_path / "locked.wav"
    path.write_bytes(wav_bytes())
    path.chmod(0)
    with pytest.raises(AudioFileError, match="permission denied"):
        AudioReader(path)


def test_good_file_through_cli_text_and_json(tmp_path: Path) -> None:
    import json

    path = tmp_path / "-take 1 ✓.wav"
    sf.write(path, np.full((4410, 2), 0.5), 44100, subtype="PCM_24")
    text = subprocess.run(
        [sys.executable, "-m", "burnish", "info", "--", str(path)],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=True,
    ).stdout
    for fragment in ("WAV (PCM_24)", "44100 Hz", "2 (stereo)", "24-bit", "0.100 s", "-6.02 dBFS"):
        assert fragment in text
    out = subprocess.run(
        [sys.executable, "-m", "burnish", "info", "--json", "--", str(path)],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=True,
    ).stdout
    d = json.loads(out)
    assert (d["format"], d["sample_rate"], d["num_channels"], d["bit_depth"]) == ("WAV", 44100, 2, 24)
    assert d["num_frames"] == 4410 and d["duration_s"] == pytest.approx(0.1)
    assert d["sample_peak_dbfs"] == pytest.approx(-6.02, abs=0.01)
