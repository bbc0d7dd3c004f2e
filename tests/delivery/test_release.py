"""Release files (TOML), flags over the file, and ``burnish deliver`` as a command."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from burnish.cli.main import main
from burnish.delivery.release import load_release, merge_metadata
from burnish.errors import DeliveryError
from burnish.io.metadata import Metadata

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "release.toml"


def test_the_example_release_file_loads() -> None:
    md = load_release(EXAMPLE)
    assert md.title == "City Blues" and md.artist == "The Burnish Band"
    assert (md.track_number, md.track_total, md.disc_number, md.disc_total) == (3, 12, 1, 1)
    assert md.barcode == "036000291452" and md.isrc == "GB-AAA-26-00001"
    assert md.publisher == "Burnish Records" and md.date == "2026-03-01"
    assert md.integrated_lufs is None and md.replaygain_track_gain_db is None


def test_aliases_dates_and_relative_artwork(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('track = 2\nlabel = "L"\nean = "4006381333931"\ndate = 2026-03-01\n'
                    'artwork = "art/cover.png"\n')
    md = load_release(path)
    assert md.track_number == 2 and md.publisher == "L" and md.barcode == "4006381333931"
    assert md.date == "2026-03-01"
    assert md.artwork_path == os.fspath(tmp_path / "art" / "cover.png")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('titel = "x"\n', "unknown key 'titel' (known: "),
        ("track_number = \"3\"\n", "track_number = '3' must be a whole number"),
        ("upc = 36000291452\n",
         "upc = 36000291452 must be quoted text (leading zeros of a number are lost)"),
        ('upc = "1"\nbarcode = "2"\n', "barcode is given twice ('barcode' is another name for it)"),
        ("title = [1]\n", "title = [1] must be text"),
        ("title = \n", "not valid TOML ("),
    ],
)
def test_bad_release_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "r.toml"
    path.write_text(text)
    with pytest.raises(DeliveryError) as err:
        load_release(path)
    assert str(err.value).startswith(f"{path}: {message}")
    assert "\n" not in str(err.value)


def test_missing_release_file(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError) as err:
        load_release(tmp_path / "nope.toml")
    assert str(err.value) == f"{tmp_path / 'nope.toml'}: no such release file"


def test_flags_override_the_file() -> None:
    md = merge_metadata(load_release(EXAMPLE), {"title": "New", "artist": None, "upc": "4006381333931"})
    assert md.title == "New" and md.artist == "The Burnish Band"
    assert md.barcode == "4006381333931"
    assert merge_metadata(None, {}) == Metadata()


def test_cli_delivers_a_plain_master(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(3)
    audio = 0.3 * rng.standard_normal((44100, 2))
    master = tmp_path / "song.wav"
    sf.write(master, audio, 44100, subtype="PCM_24")
    out = tmp_path / "out"
    code = main(["deliver", os.fspath(master), "--deliver", "streaming,mp3", "-o", os.fspath(out),
                 "--release", os.fspath(EXAMPLE), "--title", "Flag title", "--json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in rows] == ["song.streaming.flac", "song.mp3.mp3"]
    assert all(r["passed"] for r in rows)
    assert rows[1]["ceiling_dbtp"] == -1.0  # a plain file's lossy default
    from mutagen.flac import FLAC

    tags = FLAC(out / "song.streaming.flac")
    assert tags["title"] == ["Flag title"] and tags["artist"] == ["The Burnish Band"]


def test_cli_table_and_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    master = tmp_path / "song.wav"
    sf.write(master, 0.1 * np.ones((4410, 2)) * np.sin(np.arange(4410) / 7)[:, None], 44100,
             subtype="PCM_24")
    out = tmp_path / "out"
    assert main(["deliver", os.fspath(master), "--deliver", "cd", "-o", os.fspath(out)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == ["file", "format", "rate/bits", "TP", "dBTP",
                                            "ceiling", "LUFS", "gain", "dB", "result"]
    assert "song.cd.wav" in text and "44.1 kHz/16" in text and "pass" in text
    code = main(["deliver", os.fspath(master), "--deliver", "cd", "-o", os.fspath(tmp_path / "x"),
                 "--upc", "036000291453"])
    assert code == 4
    err = capsys.readouterr().err
    assert err == ("burnish: error: barcode='036000291453': the UPC-A check digit is 3 but"
                   " should be 2\n")
    assert not (tmp_path / "x").exists()
