"""The second core changes when work runs, never the master's bits."""

from __future__ import annotations

from pathlib import Path

import pytest

from burnish.assistant.master import MasterJob, build_versions, master

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_mix.flac"


def _master(out: Path) -> bytes:
    # a 16-bit version (dither) and a reference (analysed beside the mix): every overlap runs
    versions = build_versions(["cd"], target=None, lufs=None, ceiling_dbtp=None,
                              style="balanced", intensity="medium", force_loudness=False,
                              sample_rate=None, bit_depth=None)
    record = master(MasterJob(mix_path=str(DEMO), out_dir=str(out), versions=versions,
                              references=(str(DEMO),)))
    version = record["revisions"][-1]["versions"][0]
    assert version["verification"]["passed"]
    return (out / version["output"]).read_bytes()


def test_threads_and_one_core_give_identical_masters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threaded = _master(tmp_path / "threads")
    monkeypatch.setenv("BURNISH_THREADS", "1")
    single = _master(tmp_path / "single")
    assert threaded == single
