"""The processor model shared by every DSP block.

A processor comes in three parts (see docs/design.md):

1. a frozen parameter dataclass with units in every field name, validated in ``__post_init__``;
2. pure design functions (parameters + sample rate -> coefficients);
3. a stateful block processor bound to ``sample_rate`` and ``num_channels`` with
   ``process(block) -> block``, ``reset()`` and ``latency_samples``.

Processors register under a short ``kind`` name so that a :class:`burnish.chain.Chain` can be
written to JSON and read back (``to_dict`` / ``processor_from_dict``).
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

import numpy as np

from burnish.audio import AudioArray, check_audio, check_sample_rate
from burnish.errors import ChainError, ParameterError

# --------------------------------------------------------------------------------------------
# parameter validation helpers (messages name the parameter, its value and the valid range)


def check_range(
    name: str,
    value: float,
    low: float,
    high: float,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> None:
    """Raise :class:`ParameterError` unless ``low <= value <= high`` (bounds as flagged)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ParameterError(
            f"{name}={value!r} must be a number in"
            f" {_fmt_range(low, high, low_inclusive, high_inclusive)}"
        )
    v = float(value)
    ok = math.isfinite(v) or (math.isinf(high) and v == high and high_inclusive)
    ok = ok and (v >= low if low_inclusive else v > low)
    ok = ok and (v <= high if high_inclusive else v < high)
    if not ok:
        raise ParameterError(
            f"{name}={value} must be in {_fmt_range(low, high, low_inclusive, high_inclusive)}"
        )


def check_choice(name: str, value: str, choices: Iterable[str]) -> None:
    """Raise :class:`ParameterError` unless ``value`` is one of ``choices``."""
    options = tuple(choices)
    if value not in options:
        raise ParameterError(f"{name}={value!r} must be one of {', '.join(map(repr, options))}")


def _fmt_range(low: float, high: float, low_inc: bool, high_inc: bool) -> str:
    return f"{'[' if low_inc else '('}{low:g}, {high:g}{']' if high_inc else ')'}"


# --------------------------------------------------------------------------------------------
# the processor base class and registry

P = TypeVar("P")

_REGISTRY: dict[str, type[Processor]] = {}

#: Modules that define processors; imported on demand so that from_dict finds every kind.
PROCESSOR_MODULES = (
    "burnish.dsp.gain",
    "burnish.dsp.eq",
    "burnish.dsp.match_eq",
    "burnish.dsp.dynamics",
    "burnish.dsp.multiband",
    "burnish.dsp.stereo",
    "burnish.dsp.saturation",
    "burnish.dsp.reverb",
    "burnish.dsp.limiter",
    "burnish.dsp.dither",
    "burnish.dsp.resample",
    "burnish.dsp.restoration",
)


def register_processor(cls: type[Processor]) -> type[Processor]:
    """Class decorator: make ``cls`` known to chains under ``cls.kind``."""
    kind = cls.kind
    if kind in _REGISTRY and _REGISTRY[kind] is not cls:
        raise RuntimeError(f"processor kind {kind!r} registered twice")
    _REGISTRY[kind] = cls
    return cls


def registered_processors() -> dict[str, type[Processor]]:
    """Every processor kind, importing the processor modules that exist."""
    for module in PROCESSOR_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a module not written yet
            if exc.name != module:
                raise
    return dict(_REGISTRY)


class Processor(ABC):
    """A stateful block processor. Subclasses set ``kind`` and ``params_type``.

    ``process`` takes a ``(channels, samples)`` float block and returns a block of the same
    shape and dtype. The output is delayed by ``latency_samples``; a :class:`Chain` or
    :func:`process_offline` compensates. Streaming in any block size gives the same bits as one
    call on the whole signal.
    """

    kind: ClassVar[str]
    params_type: ClassVar[type]

    def __init__(self, params: Any, *, sample_rate: int, num_channels: int) -> None:
        if not isinstance(params, self.params_type):
            raise ParameterError(
                f"{type(self).__name__} takes {self.params_type.__name__}, got {type(params).__name__}"
            )
        if num_channels not in (1, 2):
            raise ParameterError(f"num_channels={num_channels} must be 1 or 2")
        self.params = params
        self.sample_rate = check_sample_rate(sample_rate)
        self.num_channels = int(num_channels)

    @property
    def latency_samples(self) -> int:
        """How many samples the output lags the input."""
        return 0

    @abstractmethod
    def process(self, block: AudioArray) -> AudioArray:
        """Process one block ``(channels, samples)``; returns the same shape and dtype."""

    @abstractmethod
    def reset(self) -> None:
        """Forget all state: the next run is bit-identical to a fresh processor's."""

    def to_dict(self) -> dict[str, Any]:
        """``{"type": kind, "params": {...}}`` with every parameter (names carry units)."""
        return {"type": self.kind, "params": params_to_dict(self.params)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r}, sample_rate={self.sample_rate}, num_channels={self.num_channels})"


def params_to_dict(params: Any) -> dict[str, Any]:
    """A parameter dataclass as a JSON-ready dict (tuples of dataclasses become lists of dicts)."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(params):
        out[field.name] = _to_jsonable(getattr(params, field.name))
    return out


def _to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return params_to_dict(value)
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def params_from_dict(params_type: type[P], data: Any, *, where: str) -> P:
    """Build ``params_type`` from a dict, with errors that point at the offending key.

    Nested dataclass fields (and tuples of them) are built recursively when the field's
    ``metadata`` has ``"item_type"`` (for tuples) or ``"type"`` (for one nested dataclass).
    """
    if not isinstance(data, dict):
        raise ChainError(f"{where}: expected an object of parameters, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(params_type)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ChainError(
            f"{where}.{unknown[0]}: unknown parameter for {params_type.__name__}"
            f" (known: {', '.join(fields)})"
        )
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        field = fields[name]
        item_type = field.metadata.get("item_type")
        one_type = field.metadata.get("type")
        if item_type is not None:
            if not isinstance(value, list):
                raise ChainError(f"{where}.{name}: expected a list")
            value = tuple(
                params_from_dict(item_type, v, where=f"{where}.{name}[{i}]")
                for i, v in enumerate(value)
            )
        elif one_type is not None:
            value = params_from_dict(one_type, value, where=f"{where}.{name}")
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    try:
        return params_type(**kwargs)
    except ParameterError as exc:
        raise ChainError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise ChainError(f"{where}: {exc}") from None


def processor_from_dict(
    data: Any, *, sample_rate: int, num_channels: int, where: str = "processor"
) -> Processor:
    """Build a registered processor from ``{"type": ..., "params": {...}}``."""
    if not isinstance(data, dict):
        raise ChainError(f"{where}: expected an object with 'type' and 'params'")
    unknown = sorted(set(data) - {"type", "params", "enabled"})
    if unknown:
        raise ChainError(f"{where}.{unknown[0]}: unknown key (expected 'type', 'params')")
    kind = data.get("type")
    registry = registered_processors()
    if kind not in registry:
        raise ChainError(
            f"{where}.type: unknown processor {kind!r} (known: {', '.join(sorted(registry))})"
        )
    cls = registry[kind]
    params: Any = params_from_dict(
        cls.params_type, data.get("params", {}), where=f"{where}.params"
    )
    return cls(params, sample_rate=sample_rate, num_channels=num_channels)


def process_offline(processor: Processor, audio: AudioArray) -> AudioArray:
    """Run a whole buffer through ``processor`` and remove its latency (output aligned to input).

    The processor is reset first, so the call has no memory of earlier ones.
    """
    x = check_audio(audio, num_channels=processor.num_channels)
    processor.reset()
    latency = processor.latency_samples
    n = x.shape[1]
    if n == 0:
        return x.copy()
    out = processor.process(x)
    if latency:
        tail = processor.process(np.zeros((x.shape[0], latency), dtype=x.dtype))
        out = np.concatenate([out, tail], axis=1)[:, latency : latency + n]
    return out


def offline(
    cls: type[Processor],
) -> Callable[..., AudioArray]:
    """Make the one-line offline function for a processor class: ``f(audio, params, *, sample_rate)``."""

    def run(audio: AudioArray, params: Any, *, sample_rate: int) -> AudioArray:
        x = check_audio(audio)
        return process_offline(cls(params, sample_rate=sample_rate, num_channels=x.shape[0]), x)

    run.__name__ = f"apply_{cls.kind}"
    run.__doc__ = f"Apply :class:`{cls.__name__}` to a whole buffer, latency removed."
    return run
