"""``burnish process`` through a real subprocess: output, block-size invariance, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from burnish.io.files import read_audio, write_audio
from tests import signals

ROOT = Path(__file__).resolve().parents[2]
CHAIN = {
    "format": "burnish-chain",
    "version": 1,
    "processors": [
        {"type": "imager", "params": {"width": 1.3, "mono_below_hz": 120.0}},
        {"type": "reverb", "params": {"mix": 0.05}},
        {"type": "dither", "params": {"bit_depth": 16, "shape": "tpdf", "seed": 1}},
    ],
}


def burnish(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "burnish", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def mix(tmp_path: Path) -> Path:
    x = signals.pink_noise(sample_rate=44100, duration_s=0.5, level_dbfs=-18.0, seed=4)
    path = tmp_path / "mix.wav"
    write_audio(path, x, 44100, bit_depth=24)
    return path


def write_chain(tmp_path: Path, data: object, name: str = "chain.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_process_writes_and_block_size_never_changes_bytes(tmp_path: Path, mix: Path) -> None:
    chain = write_chain(tmp_path, CHAIN)
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    r1 = burnish("process", str(mix), str(a), "--chain", str(chain), "--bit-depth", "16")
    r2 = burnish("process", str(mix), str(b), "--chain", str(chain), "--bit-depth", "16", "--block-size", "1000")
    assert r1.returncode == 0, r1.stderr
    assert r2.returncode == 0, r2.stderr
    assert a.read_bytes() == b.read_bytes()
    y, rate = read_audio(a)
    x, _ = read_audio(mix)
    assert rate == 44100 and y.shape == x.shape


@pytest.mark.parametrize(
    ("content", "pointer"),
    [
        ('{"processors": [', "not valid JSON (line 1"),
        ({"processors": [{"type": "warp_drive"}]}, "processors[0].type: unknown processor 'warp_drive'"),
        ({"processors": [{"type": "imager", "params": {"widht": 1.0}}]}, "processors[0].params.widht: unknown parameter"),
        ({"processors": [{"type": "dither"}, {"type": "imager", "params": {"width": 5}}]},
         "processors[1].params.width: width=5 must be in [0, 2]"),
    ],
)
def test_malformed_chain_is_one_line_naming_the_key(tmp_path: Path, mix: Path, content: object, pointer: str) -> None:
    chain = write_chain(tmp_path, content)
    out = tmp_path / "out.wav"
    r = burnish("process", str(mix), str(out), "--chain", str(chain))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"burnish: error: {chain}: ")
    assert pointer in lines[0], lines[0]
    assert not out.exists()


def test_bad_input_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.flac"
    bad.write_bytes(b"fLaC not really")
    chain = write_chain(tmp_path, CHAIN)
    r = burnish("process", str(bad), str(tmp_path / "o.wav"), "--chain", str(chain))
    assert r.returncode == 3
    assert len(r.stderr.strip().splitlines()) == 1 and "broken.flac" in r.stderr
