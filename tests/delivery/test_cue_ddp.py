"""CUE sheets read by the independent cuetools, and DDP images round-tripped bit for bit."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from burnish.cli.main import main
from burnish.delivery.album import master_album, project_from_dict
from burnish.delivery.cue import parse_cue_indexes
from burnish.delivery.ddp import cdtext_packs, parse_cdtext, read_ddp, verify_ddp
from burnish.delivery.redbook import msf_to_frames
from burnish.errors import DeliveryError
from tests.signals import sine

# CD-TEXT written by cue2ddp 1.1 for disc "Disc"/"Artist" and tracks "Track One/Two/Three" by
# "Artist" (published as a golden vector in an open-source DDP writer's interop test).
CUE2DDP_GOLDEN = (
    "gAAAAERpc2MAVHJhY2sgT0gEgAEBB25lAFRyYWNrIFR3b1XJgAICCQBUcmFjayBUaHJlZeZvgAMDCwAAAAAAAAAAAAAA"
    "AF33gQAEAEFydGlzdABBcnRpc/0igQEFBXQAQXJ0aXN0AEFydIwlgQMGA2lzdAAAAAAAAAAAAGKsjwAHAAABAwAEAwAA"
    "AAAAAED7jwEIAAAAAAAAAAADCQAAANamjwIJAAAAAAAJAAAAAAAAAApO"
)


def require_cuetools() -> None:
    if shutil.which("cuebreakpoints") and shutil.which("cueprint"):
        return
    msg = "cuetools (cueprint, cuebreakpoints) is not installed; `make test` installs it (apt cuetools)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def synthetic_album(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Five short tracks: hidden pregap audio, a gap, a crossfade, a gapless join, odd lengths."""
    src = tmp_path_factory.mktemp("mixes")
    specs = [(220, 4.6), (330, 6.013), (440, 4.7), (550, 4.31), (660, 5.2)]
    for i, (f, d) in enumerate(specs, 1):
        x = sine(f, sample_rate=44100 if i != 3 else 48000, duration_s=d, amplitude=0.3,
                 fade_ms=10)
        sf.write(src / f"t{i}.wav", x.T, 44100 if i != 3 else 48000, subtype="PCM_24")
    sf.write(src / "hidden.wav", sine(880, sample_rate=44100, duration_s=1.3, amplitude=0.1).T,
             44100, subtype="PCM_24")
    project = project_from_dict({
        "album": {"title": 'The "Test" Album', "performer": "Burnish", "upc": "0012345678905",
                  "genre": "Test", "year": "2024", "mode": "tracks", "deliver": [],
                  "songwriter": "Writer"},
        "hidden_track": {"file": "hidden.wav"},
        "track": [
            {"file": "t1.wav", "title": "One", "isrc": "GB-AAA-24-00001", "songwriter": "W1"},
            {"file": "t2.wav", "title": "Two", "isrc": "GBAAA2400002", "gap_before_s": 1.0,
             "crossfade_s": 1.5},
            {"file": "t3.wav", "title": "Three", "fade_out_s": 0.5, "gap_before_s": 0.0},
            {"file": "t4.wav", "title": "Four", "gap_before_s": 0.0, "fade_in_s": 0.2},
            {"file": "t5.wav", "title": "Five é", "gap_before_s": 2.0},
        ],
    }, base_dir=src)
    out = tmp_path_factory.mktemp("album") / "out"
    return out, master_album(project, out)


def _cue_starts(out: Path) -> dict[int, dict[int, int]]:
    return parse_cue_indexes((out / "album.cue").read_text(encoding="utf-8"))


def test_cue_breakpoints_match_cuetools(synthetic_album: tuple[Path, dict]) -> None:
    require_cuetools()
    out, record = synthetic_album
    cue = out / "album.cue"
    proc = subprocess.run(["cuebreakpoints", str(cue)], capture_output=True, text=True, check=True)
    # cuebreakpoints prints m:ss.ff of every INDEX 01 after track 1
    got = []
    for line in proc.stdout.split():
        m, rest = line.split(":")
        s, f = rest.split(".")
        got.append((int(m) * 60 + int(s)) * 75 + int(f))
    expected = [t["index01_samples"] // 588 for t in record["tracks"][1:]]
    assert got == expected
    fmt = "%n|%t|%p|%i\n"
    proc = subprocess.run(["cueprint", "-t", fmt, str(cue)], capture_output=True, text=True, check=True)
    rows = [r.split("|") for r in proc.stdout.strip().splitlines()]
    assert [r[1] for r in rows] == ["One", "Two", "Three", "Four", "Five é"]
    assert rows[0][3] == "GBAAA2400001" and rows[1][3] == "GBAAA2400002"
    disc = subprocess.run(["cueprint", "-d", "%T|%P\n", str(cue)], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert disc == "The 'Test' Album|Burnish"


def test_indexes_frame_aligned_and_pregap(synthetic_album: tuple[Path, dict]) -> None:
    out, record = synthetic_album
    tracks = record["tracks"]
    assert [t["index01_samples"] % 588 for t in tracks] == [0] * 5
    assert tracks[0]["index00_samples"] == 0
    assert tracks[0]["index01_samples"] >= int(1.3 * 44100) + 2 * 44100 - 588  # HTOA + 2 s
    audio, _ = sf.read(str(out / "album.wav"), dtype="int16")
    assert np.abs(audio[: int(1.2 * 44100)]).max() > 1000  # hidden audio in the pregap
    assert tracks[1]["index00_samples"] is not None and tracks[2]["index00_samples"] is None
    assert any("gapless" in w for w in record["warnings"])


def test_ddp_round_trip_and_pq_equals_cue(synthetic_album: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = synthetic_album
    ddp = out / "ddp"
    assert main(["ddp", "verify", str(ddp)]) == 0
    whole = tmp_path / "whole.wav"
    assert main(["ddp", "extract", str(ddp), str(whole)]) == 0
    a, _ = sf.read(str(out / "album.wav"), dtype="int16")
    b, _ = sf.read(str(whole), dtype="int16")
    assert a.shape == b.shape and np.array_equal(a, b)  # bit for bit
    image = read_ddp(ddp)
    cue = _cue_starts(out)
    pq = {(int(p.track), p.index): p.frames for p in image.pq if p.track != "AA"}
    assert pq == {(t, i): f for t, idx in cue.items() for i, f in idx.items()}
    assert image.catalog == "0012345678905" and image.pq[0].catalog == "0012345678905"
    assert image.cdtext["title"][0] == 'The "Test" Album' and image.cdtext["title"][5] == "Five é"
    assert image.cdtext["songwriter"][1] == "W1"
    lead = [p for p in image.pq if p.track == "AA"][0]
    assert lead.frames * 588 == a.shape[0]
    three = tmp_path / "three.wav"
    assert main(["ddp", "extract", str(ddp), str(three), "--track", "3"]) == 0
    c, _ = sf.read(str(three), dtype="int16")
    start, end = cue[3][1] * 588, cue[4][1] * 588
    assert np.array_equal(c, a[start:end])


def test_ddp_verify_catches_damage(synthetic_album: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = synthetic_album
    copy = tmp_path / "ddp"
    shutil.copytree(out / "ddp", copy)
    with open(copy / "IMAGE.DAT", "r+b") as f:
        f.seek(200000)
        f.write(b"\x01\x02")
    with pytest.raises(DeliveryError, match="IMAGE.DAT: MD5 mismatch"):
        verify_ddp(copy)
    assert main(["ddp", "verify", str(copy)]) == 4


def test_ddp_list(synthetic_album: tuple[Path, dict], capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = synthetic_album
    assert main(["ddp", "list", str(out / "ddp")]) == 0
    text = capsys.readouterr().out
    assert "GBAAA2400002" in text and "Two" in text and "lead-out" in text


def test_cdtext_matches_cue2ddp_byte_for_byte() -> None:
    golden = base64.b64decode(CUE2DDP_GOLDEN)
    ours = cdtext_packs({"title": "Disc", "performer": "Artist"},
                        [{"title": t, "performer": "Artist"} for t in ("Track One", "Track Two", "Track Three")])
    assert ours == golden
    assert parse_cdtext(golden)["title"] == {0: "Disc", 1: "Track One", 2: "Track Two", 3: "Track Three"}


def test_cdtext_rejects_what_it_cannot_hold() -> None:
    with pytest.raises(DeliveryError, match="ISO 8859-1"):
        cdtext_packs({"title": "音楽"}, [{"title": "x"}])


def test_msf() -> None:
    assert msf_to_frames("79:56:74") == (79 * 60 + 56) * 75 + 74
    with pytest.raises(DeliveryError):
        msf_to_frames("00:60:00")
