"""Sample-rate conversion (libsoxr through ``soxr.ResampleStream``).

A :class:`Resampler` is the one processor that changes the rate, so it does not follow the
same-length block contract of :class:`~burnish.dsp.base.Processor`:

* ``process(block)`` returns whatever output soxr has ready (often 0 samples for small blocks,
  then a burst); the output is already aligned (soxr removes its own filter delay), so
  ``latency_samples`` is 0 and the stream needs :meth:`Resampler.flush` at the end.
* the concatenation of every ``process`` output and the ``flush`` tail is bit for bit
  ``soxr.resample(audio, sample_rate, target_sample_rate, quality)`` on the whole signal, of
  length ``round(n * target / sample_rate)`` (checked by tests for 1-4096-sample blocks: libsoxr
  works in its own internal chunks, so the caller's block size never changes the bits).

A :class:`~burnish.chain.Chain` builds the processors after a resampler at the new rate and
handles the variable-length output; see docs/chain.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from burnish.audio import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, AudioArray, check_audio
from burnish.dsp.base import Processor, check_choice, register_processor
from burnish.errors import ParameterError

QUALITIES = ("QQ", "LQ", "MQ", "HQ", "VHQ")


@dataclass(frozen=True, slots=True)
class ResampleParams:
    """Resampler settings.

    Attributes
    ----------
    target_sample_rate:
        Output rate in Hz (8000-192000).
    quality:
        libsoxr recipe: ``"QQ"``, ``"LQ"``, ``"MQ"``, ``"HQ"`` or ``"VHQ"`` (default, linear
        phase, 175 dB stop band).
    """

    target_sample_rate: int = 48000
    quality: str = "VHQ"

    def __post_init__(self) -> None:
        r = self.target_sample_rate
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not MIN_SAMPLE_RATE <= r <= MAX_SAMPLE_RATE:
            raise ParameterError(
                f"target_sample_rate={r!r} must be a whole number of Hz in [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}]"
            )
        check_choice("quality", self.quality, QUALITIES)


def resampled_length(num_samples: int, *, sample_rate: int, target_sample_rate: int) -> int:
    """Samples out of soxr for ``num_samples`` in: ``n * target / rate`` rounded half up."""
    return (2 * num_samples * target_sample_rate + sample_rate) // (2 * sample_rate)


@register_processor
class Resampler(Processor):
    """Streaming sample-rate converter; output rate ``params.target_sample_rate``."""

    kind: ClassVar[str] = "resample"
    params_type: ClassVar[type] = ResampleParams
    params: ResampleParams

    def __init__(self, params: ResampleParams | None = None, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params if params is not None else ResampleParams(), sample_rate=sample_rate, num_channels=num_channels)
        self.output_sample_rate = int(self.params.target_sample_rate)
        self.reset()

    @property
    def identity(self) -> bool:
        """True when input and output rates are equal (the block passes through)."""
        return self.output_sample_rate == self.sample_rate

    def reset(self) -> None:
        import soxr

        self._finished = False
        self._stream = None
        if not self.identity:
            self._stream = soxr.ResampleStream(
                self.sample_rate, self.output_sample_rate, self.num_channels,
                dtype="float64", quality=self.params.quality,
            )

    def process(self, block: AudioArray) -> AudioArray:
        """Resample one block; returns the output ready so far (any length, same dtype)."""
        x = check_audio(block, num_channels=self.num_channels, name="block")
        if self._finished:
            raise ParameterError("the resampler was flushed; call reset() before processing again")
        if self._stream is None:
            return x.copy()
        if x.shape[1] == 0:
            return np.zeros((self.num_channels, 0), dtype=x.dtype)
        y = self._stream.resample_chunk(np.ascontiguousarray(x.T, dtype=np.float64), last=False)
        return np.ascontiguousarray(y.T).astype(x.dtype, copy=False)

    def flush(self, dtype: type | np.dtype = np.float64) -> AudioArray:
        """End the stream: the last output samples. ``reset()`` before the next signal."""
        self._finished = True
        if self._stream is None:
            return np.zeros((self.num_channels, 0), dtype=dtype)
        y = self._stream.resample_chunk(np.zeros((0, self.num_channels)), last=True)
        return np.ascontiguousarray(y.T).astype(dtype, copy=False)


def resample(audio: AudioArray, *, sample_rate: int, target_sample_rate: int, quality: str = "VHQ") -> AudioArray:
    """Resample a whole buffer (same bits as streaming through :class:`Resampler`)."""
    x = check_audio(audio)
    r = Resampler(
        ResampleParams(target_sample_rate=target_sample_rate, quality=quality),
        sample_rate=sample_rate, num_channels=x.shape[0],
    )
    if r.identity:
        return x.copy()
    return np.concatenate([r.process(x), r.flush(x.dtype)], axis=1)
