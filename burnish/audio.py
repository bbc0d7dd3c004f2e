"""The array contract: audio is ``(channels, samples)``, floating point, time on the last axis.

Public entry points call :func:`check_audio` once; inner code trusts it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from burnish.errors import ParameterError

AudioArray = npt.NDArray[np.floating]

#: Channel counts burnish processes. More channels get a clear error.
SUPPORTED_CHANNELS = (1, 2)
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000


def check_audio(
    audio: npt.ArrayLike,
    *,
    num_channels: int | None = None,
    name: str = "audio",
    allow_non_finite: bool = False,
) -> AudioArray:
    """Check the array contract and return the array (float32/float64 kept, others -> float64).

    Raises :class:`ParameterError` saying how to fix the shape or values.
    """
    arr = np.asarray(audio)
    if arr.ndim != 2:
        raise ParameterError(
            f"{name} must be a 2-D array shaped (channels, samples); got shape {arr.shape}"
            " (use audio[np.newaxis, :] for mono)"
        )
    if num_channels is not None and arr.shape[0] != num_channels:
        raise ParameterError(
            f"{name} has {arr.shape[0]} channels but the processor was built for {num_channels}"
        )
    if arr.shape[0] not in SUPPORTED_CHANNELS:
        raise ParameterError(
            f"{name} has {arr.shape[0]} channels; burnish supports mono (1) and stereo (2)"
            " shaped (channels, samples)"
        )
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if not allow_non_finite and arr.size and not np.isfinite(arr).all():
        raise ParameterError(f"{name} contains NaN or infinite samples")
    return arr


def check_sample_rate(sample_rate: int, *, name: str = "sample_rate") -> int:
    """Check that ``sample_rate`` is a whole number of Hz in the supported range."""
    if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate:
        raise ParameterError(f"{name}={sample_rate!r} must be a whole number of Hz")
    if not MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE:
        raise ParameterError(
            f"{name}={sample_rate} must be in [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}] Hz"
        )
    return int(sample_rate)
