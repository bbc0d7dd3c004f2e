"""The Chain: list behaviour, latency compensation, resampling, JSON, file streaming."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import soxr

from burnish.chain import Chain, load_chain_data, process_file
from burnish.dsp.base import Processor
from burnish.dsp.dither import Dither, DitherParams
from burnish.dsp.resample import ResampleParams, Resampler, resampled_length
from burnish.dsp.stereo import StereoImager
from burnish.errors import AudioFileError, ChainError, ParameterError
from burnish.io.files import read_audio, write_audio
from tests import signals


@dataclass(frozen=True, slots=True)
class DelayParams:
    delay_samples: int = 0


class Delay(Processor):
    """A test-only pure delay that reports its delay as latency (not registered)."""

    kind: ClassVar[str] = "test_delay"
    params_type: ClassVar[type] = DelayParams
    params: DelayParams

    def __init__(self, params: DelayParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        self.reset()

    @property
    def latency_samples(self) -> int:
        return self.params.delay_samples

    def reset(self) -> None:
        self._buf = np.zeros((self.num_channels, self.params.delay_samples))

    def process(self, block: np.ndarray) -> np.ndarray:
        joined = np.concatenate([self._buf.astype(block.dtype), block], axis=1)
        out, self._buf = joined[:, : block.shape[1]], joined[:, block.shape[1] :]
        return out


def delay(n: int, rate: int = 44100, ch: int = 2) -> Delay:
    return Delay(DelayParams(n), sample_rate=rate, num_channels=ch)


def noise(rate: int = 44100, ch: int = 2, duration_s: float = 0.2, seed: int = 3) -> np.ndarray:
    return signals.white_noise(sample_rate=rate, duration_s=duration_s, num_channels=ch, seed=seed)


# list behaviour --------------------------------------------------------------------------------


def test_chain_is_list_like() -> None:
    a, b, c = delay(1), delay(2), delay(3)
    chain = Chain([a, b], sample_rate=44100, num_channels=2)
    assert len(chain) == 2 and chain[0] is a and list(chain) == [a, b]
    chain.append(c)
    chain.insert(0, delay(4))
    assert [p.latency_samples for p in chain] == [4, 1, 2, 3]
    assert chain.latency_samples == 10
    chain.remove(a)
    del chain[0]
    assert [p.latency_samples for p in chain] == [2, 3]
    chain[0] = delay(7)
    assert chain.latency_samples == 10


def test_wrong_rate_or_channels_is_refused_and_changes_nothing() -> None:
    chain = Chain([delay(1)], sample_rate=44100, num_channels=2)
    with pytest.raises(ParameterError, match=r"processors\[1\].*sample_rate=48000"):
        chain.append(delay(1, rate=48000))
    with pytest.raises(ParameterError, match="num_channels"):
        chain.append(delay(1, ch=1))
    assert len(chain) == 1
    chain.append(Resampler(ResampleParams(48000), sample_rate=44100, num_channels=2))
    chain.append(delay(1, rate=48000))  # after the resampler, 48 kHz is right
    assert chain.output_sample_rate == 48000


# latency -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_channels", [1, 2])
def test_render_compensates_latency_exactly(num_channels: int) -> None:
    x = noise(ch=num_channels)
    chain = Chain([delay(37, ch=num_channels), StereoImager(sample_rate=44100, num_channels=num_channels), delay(5, ch=num_channels)],
                  sample_rate=44100, num_channels=num_channels)
    assert chain.latency_samples == 42
    assert np.array_equal(chain.render(x), x)
    # streaming: the output is the input delayed by latency_samples, then the flush tail
    chain.reset()
    streamed = np.concatenate([chain.process(x[:, :1000]), chain.process(x[:, 1000:]), chain.flush()], axis=1)
    assert np.array_equal(streamed[:, 42:], x)
    assert np.all(streamed[:, :42] == 0)


@pytest.mark.parametrize(("rate", "target"), [(44100, 48000), (96000, 44100), (48000, 96000)])
def test_resampling_chain_matches_soxr_and_aligns(rate: int, target: int) -> None:
    x = noise(rate=rate)
    chain = Chain([delay(29, rate), Resampler(ResampleParams(target), sample_rate=rate, num_channels=2), delay(13, target)],
                  sample_rate=rate, num_channels=2)
    assert chain.output_sample_rate == target and chain.latency_samples == 13
    ref = soxr.resample(x.T, rate, target, "VHQ").T
    out = chain.render(x)
    assert out.shape[1] == chain.output_length(x.shape[1]) == ref.shape[1]
    assert np.array_equal(out, ref)


def test_resampling_chain_block_size_never_changes_bits() -> None:
    x = noise(duration_s=0.1)
    chain = Chain([Resampler(ResampleParams(48000), sample_rate=44100, num_channels=2),
                   Dither(DitherParams(shape="noise_shaped"), sample_rate=48000, num_channels=2)],
                  sample_rate=44100, num_channels=2)
    whole = chain.render(x)
    for block in (1, 64, 511, 4096):
        chain.reset()
        parts = [chain.process(x[:, i : i + block]) for i in range(0, x.shape[1], block)]
        got = np.concatenate([*parts, chain.flush()], axis=1)
        assert np.array_equal(got, whole), f"block size {block} changed the output"


def test_resampled_length_matches_soxr() -> None:
    for n in (1, 2, 3, 147, 160, 441, 1001, 4410, 4411, 12345):
        for rate, target in ((44100, 48000), (48000, 44100), (96000, 44100), (44100, 88200)):
            got = soxr.resample(np.zeros((n, 1)), rate, target, "VHQ").shape[0]
            assert resampled_length(n, sample_rate=rate, target_sample_rate=target) == got


def test_flushed_chain_needs_reset() -> None:
    chain = Chain([delay(3)], sample_rate=44100, num_channels=2)
    chain.process(noise())
    chain.flush()
    with pytest.raises(ParameterError, match="reset"):
        chain.process(noise())
    chain.reset()
    chain.process(noise())


# JSON ----------------------------------------------------------------------------------------------


def example_dict() -> dict:
    return {
        "format": "burnish-chain",
        "version": 1,
        "processors": [
            {"type": "imager", "params": {"width": 1.2, "mono_below_hz": 100.0}},
            {"type": "resample", "params": {"target_sample_rate": 48000, "quality": "VHQ"}},
            {"type": "dither", "params": {"bit_depth": 24, "shape": "tpdf", "seed": 5}},
        ],
    }


def test_json_round_trip(tmp_path: Path) -> None:
    chain = Chain.from_dict(example_dict(), sample_rate=44100, num_channels=2)
    d = chain.to_dict()
    assert d["processors"][0]["params"]["mono_below_hz"] == 100.0
    assert "sample_rate" not in json.dumps(d).replace("target_sample_rate", "")
    path = tmp_path / "c.json"
    chain.save(path)
    again = Chain.load(path, sample_rate=44100, num_channels=2)
    assert again.to_dict() == d
    x = noise(duration_s=0.05)
    assert np.array_equal(again.render(x), chain.render(x))
    assert [p.sample_rate for p in again] == [44100, 44100, 48000]


def test_disabled_processor_is_skipped() -> None:
    d = example_dict()
    d["processors"][1]["enabled"] = False
    chain = Chain.from_dict(d, sample_rate=44100, num_channels=2)
    assert [p.kind for p in chain] == ["imager", "dither"]


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (lambda d: d["processors"].append({"type": "nope"}), "processors[3].type: unknown processor 'nope'"),
        (lambda d: d["processors"][0]["params"].update(speed=1), "processors[0].params.speed: unknown parameter"),
        (lambda d: d["processors"][0]["params"].update(width=3.0), "processors[0].params.width: width=3.0 must be in [0, 2]"),
        (lambda d: d["processors"][2]["params"].update(bit_depth=12), "processors[2].params.bit_depth: bit_depth=12"),
        (lambda d: d["processors"][0].update(typo=1), "processors[0].typo: unknown key"),
        (lambda d: d.update(extra=1), "extra: unknown key"),
        (lambda d: d.update(version=9), "version: 9 is not supported"),
        (lambda d: d.update(processors={}), "processors: expected a list"),
    ],
)
def test_malformed_chain_points_at_the_key(mutate, pointer: str) -> None:  # type: ignore[no-untyped-def]
    d = example_dict()
    mutate(d)
    with pytest.raises(ChainError) as info:
        Chain.from_dict(d, sample_rate=44100, num_channels=2)
    message = str(info.value)
    assert message.startswith(pointer), message
    assert "\n" not in message


def test_rate_dependent_error_points_at_the_key() -> None:
    d = {"processors": [{"type": "imager", "params": {"band_crossover_hz": [23000.0], "band_width": [1.0, 1.5]}}]}
    with pytest.raises(ChainError, match=r"^processors\[0\]\.params"):
        Chain.from_dict(d, sample_rate=44100, num_channels=2)


def test_bad_json_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"processors": [\n  {"type": "imager",}\n]}')
    with pytest.raises(ChainError, match=r"bad\.json: not valid JSON \(line 2"):
        load_chain_data(path)
    with pytest.raises(ChainError, match="no such chain file"):
        load_chain_data(tmp_path / "missing.json")


def test_example_chain_loads() -> None:
    path = Path(__file__).resolve().parents[1] / "examples" / "chain.json"
    data = load_chain_data(path)
    chain = Chain.from_dict(data, sample_rate=44100, num_channels=2)
    assert [p.kind for p in chain][-1] == "dither"


# files -------------------------------------------------------------------------------------------


def test_process_file_block_size_never_changes_bits(tmp_path: Path) -> None:
    x = noise(duration_s=0.3) * 0.5
    src = tmp_path / "in.wav"
    write_audio(src, x, 44100, bit_depth=32)
    outs = []
    for block in (1000, 65536):
        out = tmp_path / f"out{block}.wav"
        summary = process_file(src, out, example_dict(), block_frames=block, bit_depth=24)
        outs.append(out.read_bytes())
        assert summary["output_sample_rate"] == 48000
    assert outs[0] == outs[1]
    y, rate = read_audio(tmp_path / "out1000.wav")
    assert rate == 48000 and y.shape[1] == resampled_length(x.shape[1], sample_rate=44100, target_sample_rate=48000)


def test_process_file_identity_chain_is_exact(tmp_path: Path) -> None:
    x = noise(duration_s=0.2) * 0.5
    src = tmp_path / "in.wav"
    write_audio(src, x, 44100, bit_depth=32)
    ident = {"processors": [{"type": "imager", "params": {"width": 1.0}}]}
    process_file(src, tmp_path / "out.wav", ident, bit_depth=32)
    y, _ = read_audio(tmp_path / "out.wav")
    assert np.array_equal(y, x.astype(np.float32).astype(np.float64))


def test_process_file_bad_input_names_file(tmp_path: Path) -> None:
    bad = tmp_path / "not_audio.wav"
    bad.write_text("hello")
    with pytest.raises(AudioFileError, match="not_audio.wav"):
        process_file(bad, tmp_path / "o.wav", example_dict())
    assert not (tmp_path / "o.wav").exists()


def test_the_chain_doc_lists_every_processor_kind() -> None:
    """docs/chain.md's table of kinds stays complete as processors are added."""
    from pathlib import Path

    from burnish.dsp.base import registered_processors

    doc = (Path(__file__).resolve().parents[1] / "docs" / "chain.md").read_text()
    missing = [k for k in registered_processors() if f"| `{k}` |" not in doc]
    assert not missing, f"docs/chain.md lacks {missing}"


PIPELINE_CHAIN = {"format": "burnish-chain", "version": 1, "processors": [
    {"type": "highpass", "params": {"cutoff_hz": 20.0}},
    {"type": "eq", "params": {"bands": [{"type": "bell", "frequency_hz": 2000.0, "gain_db": 2.0}]}},
    {"type": "multiband_compressor", "params": {}},
    {"type": "saturation", "params": {}},
    {"type": "limiter", "params": {"input_gain_db": 6.0, "ceiling_dbtp": -1.0}},
    {"type": "dither", "params": {"bit_depth": 16}},
]}


def test_two_core_pipeline_gives_the_bits_of_one_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks long enough are split between two threads inside the chain: same bits."""
    from burnish.chain import PIPELINE_SUB_SAMPLES, _pipeline_split

    x = signals.pink_noise(sample_rate=44100, duration_s=3.0, level_dbfs=-14.0, seed=3)
    block = 3 * PIPELINE_SUB_SAMPLES + 1234  # sub-blocks that don't divide it evenly

    def run() -> np.ndarray:
        chain = Chain.from_dict(PIPELINE_CHAIN, sample_rate=44100, num_channels=2)
        return np.concatenate([chain.process(x[:, i : i + block])
                               for i in range(0, x.shape[1], block)], axis=1)

    chain = Chain.from_dict(PIPELINE_CHAIN, sample_rate=44100, num_channels=2)
    if _pipeline_split(list(chain)) == 0:
        pytest.skip("one core here: the chain never pipelines")
    before = set(threading.enumerate())
    pipelined = run()
    # no thread started here outlives a block (delivery forks); other tests' threads don't count
    assert not [t for t in threading.enumerate()
                if t not in before and t.name.startswith("burnish-chain") and t.is_alive()]
    monkeypatch.setenv("BURNISH_THREADS", "1")
    assert _pipeline_split(list(chain)) == 0
    assert np.array_equal(pipelined, run())
