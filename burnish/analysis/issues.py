"""Findings of the mix analysis: one :class:`Issue` per problem, in words a musician can act on.

The defect detector (:mod:`burnish.analysis.defects`) and the other analysers return lists of
issues; the report renders them and the assistant reads them (for example to remove a DC offset
before mastering). An issue is plain data and serialises with :meth:`Issue.to_dict`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from burnish.errors import ParameterError

Severity = Literal["info", "low", "medium", "high"]

#: Severities from least to most serious (index = rank).
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high")


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding.

    Parameters
    ----------
    kind
        What was found: ``clipping``, ``click``, ``dc_offset``, ``noise``, ``polarity``,
        ``silence``, ``upsampled``, ``bandwidth``, ``bit_depth``, ``intersample_peak``...
    start_s, end_s
        Where in the file, in seconds (the whole file for global findings).
    channel
        0 = left (or mono), 1 = right, ``None`` = all channels / the stereo image.
    value
        The measured amount, in the unit named by ``unit``.
    unit
        ``"samples"``, ``"dBFS"``, ``"dB"``, ``"dBTP"``, ``"Hz"``, ``"bits"``, ``"s"``,
        ``"correlation"``...
    severity
        ``info`` < ``low`` < ``medium`` < ``high``.
    message
        One or two sentences for the musician: what, where, how much and what to do.
    details
        Extra measurements (JSON-ready numbers, strings, lists), e.g. run statistics.
    """

    kind: str
    start_s: float
    end_s: float
    channel: int | None
    value: float
    unit: str
    severity: Severity
    message: str
    details: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ParameterError(f"severity={self.severity!r} must be one of {SEVERITIES}")
        if self.end_s < self.start_s:
            raise ParameterError(f"end_s={self.end_s} must be >= start_s={self.start_s}")

    @property
    def rank(self) -> int:
        """Severity as a number: 0 (info) to 3 (high), for sorting and filtering."""
        return SEVERITIES.index(self.severity)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite numbers become ``None``)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "start_s": _finite(self.start_s),
            "end_s": _finite(self.end_s),
            "channel": self.channel,
            "value": _finite(self.value),
            "unit": self.unit,
            "severity": self.severity,
            "message": self.message,
        }
        if self.details:
            out["details"] = {k: _json_value(v) for k, v in self.details.items()}
        return out


def _finite(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _json_value(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return _finite(v)
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    try:  # numpy scalars
        return _json_value(v.item())
    except AttributeError:
        return str(v)


def worst_severity(issues: list[Issue]) -> Severity | None:
    """The most serious severity among ``issues`` (``None`` for no issues)."""
    if not issues:
        return None
    return SEVERITIES[max(i.rank for i in issues)]
