"""Every corpus file measured by burnish and by ffmpeg's ebur128 filter (the independent meter).

How the comparison works: the ebur128 filter's printed summary has one decimal (and the filter
integrates through a 0.01 LU histogram), so each file is run once through
``ebur128=peak=true:metadata=1`` with ``ametadata=print``: the frame metadata carries the same
measurement to 0.001 LU (integrated, LRA) and the true peak as a linear value to 0.001 (about
+-0.01 dB near full scale). The printed summary from the same run is checked too, against its
rounding. Tolerances: integrated +-0.1 LU, true peak +-0.2 dB, LRA +-1 LU.

ffmpeg's true peak resamples to 192 kHz (libswresample); burnish oversamples 4x (44.1/48 kHz)
or 2x (96 kHz); both are BS.1770 Annex 2 estimates, so they differ by a few hundredths of a dB.
"""

from __future__ import annotations

import math
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from burnish.analysis.loudness import measure_file
from tests.corpus import corpus_names_for_params, corpus_path
from tests.reference_meter import require_ffmpeg

pytestmark = pytest.mark.corpus


@cache
def ffmpeg_ebur128_precise(path: Path) -> dict[str, float]:
    """Last frame's r128 metadata (I, LRA, true peak per channel) and the printed summary."""
    exe = require_ffmpeg()
    proc = subprocess.run(
        [exe, "-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-af",
         "ebur128=peak=true+sample:metadata=1,ametadata=mode=print:file=-", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    values: dict[str, float] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("lavfi.r128."):
            key, _, value = line[len("lavfi.r128."):].partition("=")
            values[key] = -math.inf if "inf" in value else float(value)
    summary = proc.stderr[proc.stderr.rfind("Summary:"):]
    m_i = re.search(r"\bI:\s+(-?[\d.]+|-?inf)", summary)
    m_lra = re.search(r"LRA:\s+(-?[\d.]+)", summary)
    assert m_i and m_lra, summary
    values["summary_I"] = float(m_i.group(1))
    values["summary_LRA"] = float(m_lra.group(1))
    return values


def _db(linear: float) -> float:
    return 20 * math.log10(linear) if linear > 0 else -math.inf


@pytest.mark.parametrize("name", corpus_names_for_params())
def test_corpus_file_matches_ffmpeg_ebur128(name: str) -> None:
    path = corpus_path(name)
    ours = measure_file(path)
    ref = ffmpeg_ebur128_precise(path)

    assert ours.integrated_lufs == pytest.approx(ref["I"], abs=0.1), (ours.integrated_lufs, ref["I"])
    # the printed summary (one decimal) agrees within its rounding plus the tolerance
    assert ours.integrated_lufs == pytest.approx(ref["summary_I"], abs=0.15)

    assert ours.lra_lu == pytest.approx(ref["LRA"], abs=1.0), (ours.lra_lu, ref["LRA"])

    channels = ours.num_channels
    ref_tp = [_db(ref[f"true_peaks_ch{c}"]) for c in range(channels)]
    for c in range(channels):
        assert ours.true_peak_dbtp_per_channel[c] == pytest.approx(ref_tp[c], abs=0.2), (c, ours.true_peak_dbtp_per_channel, ref_tp)
    assert ours.true_peak_dbtp == pytest.approx(max(ref_tp), abs=0.2)
    # sample peak: exact up to ffmpeg's three printed decimals
    ref_sp = max(ref[f"sample_peaks_ch{c}"] for c in range(channels))
    assert 10 ** (ours.sample_peak_dbfs / 20) == pytest.approx(ref_sp, abs=0.0006)
