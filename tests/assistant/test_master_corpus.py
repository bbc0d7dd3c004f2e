"""``burnish master`` on the corpus, checked with ffmpeg (the independent meter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from burnish.assistant.master import MasterJob, build_versions, master
from tests.corpus import corpus_names_for_params, corpus_path, require_corpus
from tests.reference_meter import ffmpeg_ebur128_precise

MIXES = [n for n in corpus_names_for_params() if n.startswith(("mix", "dull"))] or ["<corpus>"]
TARGETS = {"spotify": (-14.0, -1.0, 44100, 24), "apple": (-16.0, -1.0, 44100, 24),
           "cd": (-9.0, -0.3, 44100, 16), "broadcast": (-23.0, -1.0, 48000, 24)}


def _settings(names: list[str]):  # type: ignore[no-untyped-def]
    return build_versions(names, target=None, lufs=None, ceiling_dbtp=None, style="balanced",
                          intensity="medium", force_loudness=False, sample_rate=None,
                          bit_depth=None)


@pytest.fixture(scope="module")
def mastered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    require_corpus()
    out: dict[str, tuple[Path, dict]] = {}
    for name in MIXES:
        folder = tmp_path_factory.mktemp(Path(name).stem)
        job = MasterJob(mix_path=str(corpus_path(name)), out_dir=str(folder),
                        versions=_settings(list(TARGETS)))
        out[name] = (folder, master(job))
    return out


@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_master_lands_on_target_by_an_independent_meter(mastered, mix: str, target: str) -> None:
    folder, record = mastered[mix]
    lufs, ceiling, rate, bits = TARGETS[target]
    version = next(v for v in record["revisions"][-1]["versions"] if v["name"] == target)
    path = folder / version["output"]
    ref = ffmpeg_ebur128_precise(path)
    if version["render"]["reachable"]:
        assert abs(ref.integrated_lufs - lufs) <= 0.2, f"{ref.integrated_lufs} LUFS vs {lufs} ±0.2"
    else:  # the shortfall is reported, and it is what the file shows
        shortfall = version["render"]["shortfall_lu"]
        assert shortfall > 0.2
        assert abs((lufs - ref.integrated_lufs) - shortfall) <= 0.2
    assert ref.true_peak_dbtp <= ceiling + 1e-3, f"true peak {ref.true_peak_dbtp:.3f} > {ceiling}"
    info = sf.info(str(path))
    assert info.samplerate == rate
    assert info.subtype == ("PCM_16" if bits == 16 else "PCM_24")
    audio, _ = sf.read(str(path))
    runs = np.count_nonzero((np.abs(audio[1:]) >= 0.99999) & (np.abs(audio[:-1]) >= 0.99999))
    assert runs == 0, "clipped samples in the master"
    assert version["verification"]["passed"]


def test_dull_mix_comes_out_closer_to_the_neutral_curve(mastered) -> None:
    from burnish.analysis.analyzer import analyze_file

    name = "dull01_metal_muldjord_chaos_god.flac"
    folder, record = mastered[name]
    version = next(v for v in record["revisions"][-1]["versions"] if v["name"] == "spotify")

    def tonal_error(path: Path) -> float:
        a = analyze_file(path, target_curve="neutral")
        dev = np.asarray(a.tonal.deviation_db, dtype=float)
        centers = np.asarray(a.tonal.band_centers_hz)
        sel = np.isfinite(dev) & (centers >= 40) & (centers <= 16000)
        return float(np.sqrt(np.mean(dev[sel] ** 2)))

    before = tonal_error(corpus_path(name))
    after = tonal_error(folder / version["output"])
    assert after < before - 0.3, f"RMS deviation from neutral {before:.2f} dB -> {after:.2f} dB"


@pytest.mark.parametrize("ref", ["ref01_orchestral_wesnoth_breaking_the_chains.flac",
                                 "ref02_electronic_singularity_through_space_48k.flac",
                                 "ref03_world_hyperrogue_desert.flac"])
def test_a_finished_master_comes_back_nearly_untouched(tmp_path: Path, ref: str) -> None:
    from burnish.analysis.analyzer import analyze_file

    require_corpus()
    src = corpus_path(ref)
    own = ffmpeg_ebur128_precise(src)
    versions = build_versions(["spotify"], target=None, lufs=own.integrated_lufs,
                              ceiling_dbtp=-1.0, style="balanced", intensity="medium",
                              force_loudness=False, sample_rate=None, bit_depth=None)
    record = master(MasterJob(mix_path=str(src), out_dir=str(tmp_path), versions=versions))
    out = tmp_path / record["revisions"][-1]["versions"][0]["output"]
    a, b = analyze_file(src), analyze_file(out)
    sel = (a.spectrum.band_centers_hz >= 25) & (a.spectrum.band_centers_hz <= 16000)
    shift = (b.spectrum.mid_db - a.spectrum.mid_db)[sel]
    shift -= np.median(shift)  # the level change is the limiter's, not a tonal change
    assert np.max(np.abs(shift)) < 0.5, f"tonal change up to {np.max(np.abs(shift)):.2f} dB"
    assert abs(b.loudness.lra_lu - a.loudness.lra_lu) < 0.5


def test_same_input_and_settings_give_identical_bits(tmp_path: Path) -> None:
    require_corpus()
    src = corpus_path("mix04_latin_jazz_say_what.flac")
    outs = []
    for run in ("a", "b"):
        folder = tmp_path / run
        record = master(MasterJob(mix_path=str(src), out_dir=str(folder),
                                  versions=_settings(["cd"])))
        outs.append((folder / record["revisions"][-1]["versions"][0]["output"]).read_bytes())
    assert outs[0] == outs[1]


def test_cli_versions_record_and_revision(tmp_path: Path) -> None:
    require_corpus()
    src = corpus_path("mix01_blues_city_blues.flac")
    cmd = [sys.executable, "-m", "burnish", "master", str(src), "-o", str(tmp_path),
           "--versions", "streaming,dynamic"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    record_path = tmp_path / "mix01_blues_city_blues.master.json"
    record = json.loads(record_path.read_text())
    names = [v["name"] for v in record["revisions"][0]["versions"]]
    assert names == ["streaming", "dynamic"]
    for v in record["revisions"][0]["versions"]:
        assert (tmp_path / v["output"]).is_file()
        chain = json.loads((tmp_path / v["chain_file"]).read_text())
        assert chain["format"] == "burnish-chain"
        assert [d["step"] for d in v["decisions"]][0] in ("assessment", "corrective")
    first = (tmp_path / record["revisions"][0]["versions"][0]["output"]).read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "burnish", "revise", str(record_path), "--brighter", "1",
         "--request", "a bit less squashed"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(record_path.read_text())
    assert len(record["revisions"]) == 2
    rev2 = record["revisions"][1]["versions"][0]
    assert rev2["settings"]["adjustments"]["brightness_db"] == pytest.approx(1.0)
    assert rev2["output"].endswith(".r2.wav")
    # the first revision is kept, untouched
    assert (tmp_path / record["revisions"][0]["versions"][0]["output"]).read_bytes() == first
