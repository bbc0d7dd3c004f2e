"""`burnish master` as a user runs it: batches, resuming, bad input, help text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from tests import signals


def _burnish(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "burnish", *args], capture_output=True, text=True)


def _mix(path: Path, seed: int) -> Path:
    noise = signals.pink_noise(sample_rate=44100, duration_s=4.0, level_dbfs=-24.0, seed=seed)
    tone = signals.sine(110.0, sample_rate=44100, duration_s=4.0, amplitude=0.1, fade_ms=20)
    sf.write(path, (noise + tone).T, 44100, subtype="PCM_24")
    return path


def test_batch_on_a_folder_then_resume(tmp_path: Path) -> None:
    mixes = tmp_path / "mixes"
    mixes.mkdir()
    _mix(mixes / "one.wav", 1)
    _mix(mixes / "two song.wav", 2)
    out = tmp_path / "out"
    proc = _burnish("master", str(mixes), "-o", str(out), "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    assert "one.wav" in proc.stdout and "two song.wav" in proc.stdout
    assert (out / "one.spotify.wav").is_file() and (out / "two_song.spotify.wav").is_file()
    before = (out / "one.spotify.wav").stat().st_mtime_ns
    proc = _burnish("master", str(mixes), "-o", str(out), "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("skipped: already mastered") == 2
    assert (out / "one.spotify.wav").stat().st_mtime_ns == before


def test_unreachable_loudness_is_reported_not_forced(tmp_path: Path) -> None:
    # a very dynamic signal: quiet pink noise with rare loud hits
    rng = np.random.default_rng(7)
    x = signals.pink_noise(sample_rate=44100, duration_s=6.0, level_dbfs=-30.0, seed=3)
    for start in rng.integers(0, x.shape[1] - 2000, 6):
        burst = np.hanning(400) * np.sin(2 * np.pi * 200 * np.arange(400) / 44100)
        x[:, start : start + 400] += 0.9 * burst
    path = tmp_path / "dynamic.wav"
    sf.write(path, x.T, 44100, subtype="PCM_24")
    proc = _burnish("master", str(path), "-o", str(tmp_path / "o"), "--target", "club",
                    "--intensity", "low")
    assert proc.returncode == 0, proc.stderr
    assert "not reachable without harm" in proc.stdout
    record = json.loads((tmp_path / "o" / "dynamic.master.json").read_text())
    render = record["revisions"][0]["versions"][0]["render"]
    assert render["reachable"] is False and render["shortfall_lu"] > 1.0
    forced = _burnish("master", str(path), "-o", str(tmp_path / "f"), "--target", "club",
                      "--force-loudness")
    assert forced.returncode == 0, forced.stderr
    rec = json.loads((tmp_path / "f" / "dynamic.master.json").read_text())
    assert abs(rec["revisions"][0]["versions"][0]["verification"]["integrated_lufs"] + 8.0) <= 0.2


def test_bad_input_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "not audio.wav"
    bad.write_text("hello")
    proc = _burnish("master", str(bad), "-o", str(tmp_path / "o"))
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("burnish: error:") and "not audio.wav" in lines[0]
    assert "Traceback" not in proc.stderr
    proc = _burnish("master", str(bad), "--target", "moon")
    assert proc.returncode == 2 and "unknown target 'moon'" in proc.stderr


def test_help_says_where_the_numbers_come_from() -> None:
    proc = _burnish("master", "--help")
    assert proc.returncode == 0
    assert "spotify" in proc.stdout and "AES TD1008" in proc.stdout and "EBU R 128" in proc.stdout


def test_silent_or_too_short_mix_is_a_clear_error(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros((2 * 44100, 2)), 44100, subtype="PCM_24")
    short = tmp_path / "short.wav"
    sf.write(short, signals.sine(440.0, sample_rate=44100, duration_s=0.3).T, 44100)
    for path, words in ((silent, "is silent"), (short, "too short to master")):
        proc = _burnish("master", str(path), "-o", str(tmp_path / "o"))
        assert proc.returncode != 0
        assert proc.stderr.startswith("burnish: error:") and words in proc.stderr
        assert "Traceback" not in proc.stderr
    assert not list((tmp_path / "o").glob("*.wav"))
