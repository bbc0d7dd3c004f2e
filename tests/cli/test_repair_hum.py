"""``burnish repair --dehum`` with automatic mains detection, through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from burnish.dsp.restoration import DehumParams, apply_dehum
from burnish.io.files import read_audio, write_audio
from tests.analysis.test_hum import read, with_hum

ROOT = Path(__file__).resolve().parents[2]
MUSIC = "mix04_latin_jazz_say_what.flac"


def burnish(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "burnish", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_dehum_detects_and_removes_hum(tmp_path: Path) -> None:
    x, sr = read(MUSIC, 5.0, 6.0)
    for mains_hz in (50.0, 60.0):
        noisy = with_hum(x, sr, mains_hz)
        hum = noisy - x
        src, clean = tmp_path / f"hum{mains_hz:g}.wav", tmp_path / "clean.wav"
        out = tmp_path / f"out{mains_hz:g}.wav"
        write_audio(src, noisy, sr, bit_depth=32)
        write_audio(clean, x, sr, bit_depth=32)
        r = burnish("repair", str(src), str(out), "--dehum", "--bit-depth", "32", "--json")
        assert r.returncode == 0, r.stderr
        summary = json.loads(r.stdout)
        (dehum,) = [p for p in summary["repairs"] if p["kind"] == "dehum"]
        assert dehum["params"]["mains_hz"] == mains_hz, dehum
        # the residual hum: the output minus the clean music through the same dehum (as in
        # tests/dsp/test_restoration.py), at the detected frequency
        params = DehumParams(**dehum["params"])
        assert params.max_drift_hz == 0.0, "exact mains: removed at nominal, linearly"
        y, _ = read_audio(out)
        x32, _ = read_audio(clean)
        residual = y - apply_dehum(x32, params, sample_rate=sr)
        inner = slice(int(0.5 * sr), x.shape[1] - int(0.5 * sr))
        reduction = 10 * np.log10(np.sum(hum[:, inner] ** 2) / np.sum(residual[:, inner] ** 2))
        assert reduction >= 30.0, f"{mains_hz:g} Hz hum reduced by {reduction:.1f} dB (need >= 30)"


def test_dehum_alone_on_clean_music_writes_nothing(tmp_path: Path) -> None:
    x, sr = read(MUSIC, 5.0, 6.0)
    src, out = tmp_path / "clean.wav", tmp_path / "out.wav"
    write_audio(src, x, sr, bit_depth=24)
    r = burnish("repair", str(src), str(out), "--dehum")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "no mains hum found" in r.stderr and "nothing written" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not out.exists()
    # with another repair, dehum is skipped with a note and the rest runs
    r = burnish("repair", str(src), str(out), "--dehum", "--declick")
    assert r.returncode == 0, r.stderr
    assert "dehum skipped: no mains hum found" in r.stdout
    assert out.exists()


def test_auto_adds_dehum_only_for_hum(tmp_path: Path) -> None:
    x, sr = read(MUSIC, 5.0, 6.0)
    clean, humming, out = tmp_path / "clean.wav", tmp_path / "hum.wav", tmp_path / "out.wav"
    write_audio(clean, x, sr, bit_depth=24)
    write_audio(humming, with_hum(x, sr, 60.0), sr, bit_depth=24)
    r = burnish("repair", str(clean), str(out), "--auto", "--json")
    if r.returncode == 0:
        assert all(p["kind"] != "dehum" for p in json.loads(r.stdout)["repairs"])
    else:
        assert "nothing to repair" in r.stderr, r.stderr
    r = burnish("repair", str(humming), str(out), "--auto", "--json")
    assert r.returncode == 0, r.stderr
    (dehum,) = [p for p in json.loads(r.stdout)["repairs"] if p["kind"] == "dehum"]
    assert dehum["params"]["mains_hz"] == 60.0
