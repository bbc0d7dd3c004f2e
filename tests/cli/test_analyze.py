"""``burnish analyze`` as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from burnish.cli.analyze import report_path_for
from tests.corpus import corpus_path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "burnish", "analyze", *args],
        capture_output=True, text=True, timeout=240,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.mark.corpus
def test_json_lines_bad_file_and_reports(tmp_path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all" * 10)
    mono = str(corpus_path("defect_e_mono_wesnoth_traveling_minstrels.flac"))
    dc = str(corpus_path("defect_c_dc_offset_hyperrogue_jungle.flac"))
    proc = _run("--json", "--no-series", "--report", str(tmp_path / "rep.html"), mono, str(bad), dc)
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("burnish: error:") and "bad.wav" in err[0]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2  # the bad file did not stop the one after it
    first, second = (json.loads(line) for line in lines)
    assert first["file"]["num_channels"] == 1
    assert first["loudness"]["integrated_lufs"] == pytest.approx(-21.5, abs=0.2)
    assert any(i["kind"] == "dc_offset" and i["channel"] == 0 for i in second["issues"])
    for stem in ("defect_e_mono_wesnoth_traveling_minstrels", "defect_c_dc_offset_hyperrogue_jungle"):
        assert (tmp_path / f"rep-{stem}.html").is_file()


@pytest.mark.corpus
def test_text_summary() -> None:
    proc = _run("--target-curve", "warm", str(corpus_path("mix01_blues_city_blues.flac")))
    assert proc.returncode == 0, proc.stderr
    assert "integrated" in proc.stdout and "LUFS" in proc.stdout and "vs warm" in proc.stdout


def test_unknown_curve_is_a_one_line_error(tmp_path) -> None:
    proc = _run("--target-curve", "nope", str(tmp_path / "x.wav"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unknown target curve" in proc.stderr


def test_report_paths() -> None:
    assert report_path_for("r.html", "a/song.flac", several=False) == Path("r.html")
    assert report_path_for("out/r.html", "a/song.flac", several=True) == Path("out/r-song.html")
    assert report_path_for("out/", "a/song.flac", several=True) == Path("out/song.html")


def test_output_piped_into_head_ends_quietly() -> None:
    """`burnish analyze mix | head -1`: the closed pipe is not an error about the file."""
    demo = Path(__file__).resolve().parents[2] / "examples" / "demo_mix.flac"
    proc = subprocess.Popen([sys.executable, "-m", "burnish", "analyze", str(demo)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the report is written (`head` had enough)
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert "error" not in stderr
