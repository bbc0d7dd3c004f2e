"""A progress line on a terminal; silence when output is piped."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressLine:
    """Callable ``(stage, fraction)`` that redraws one line on stderr when it is a terminal."""

    def __init__(self, label: str = "", *, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.label = label
        self._last = 0.0
        self._shown = False

    def __call__(self, stage: str, fraction: float) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and 0.0 < fraction < 1.0:
            return
        self._last = now
        width = 24
        filled = int(round(max(0.0, min(1.0, fraction)) * width))
        bar = "#" * filled + "-" * (width - filled)
        text = f"\r{self.label}{stage:<28.28s} [{bar}] {fraction * 100:5.1f}%"
        self.stream.write(text)
        self.stream.flush()
        self._shown = True

    def done(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r" + " " * 80 + "\r")
            self.stream.flush()
