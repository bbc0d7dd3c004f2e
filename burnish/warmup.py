"""Compile and cache every numba kernel once (``make install`` runs this).

numba caches compiled kernels beside the sources (``cache=True``); a cold compile costs seconds
per kernel, so warming them here keeps the first real command fast.
"""

from __future__ import annotations

import importlib
import time

#: Modules whose import or ``warmup()`` function compiles kernels.
MODULES = (
    "burnish.analysis.loudness",
    "burnish.analysis.true_peak",
    "burnish.analysis.defects",
    "burnish.dsp.eq",
    "burnish.dsp.dynamics",
    "burnish.dsp.multiband",
    "burnish.dsp.stereo",
    "burnish.dsp.saturation",
    "burnish.dsp.reverb",
    "burnish.dsp.limiter",
    "burnish.dsp.dither",
    "burnish.dsp.restoration",
)


def main() -> None:
    start = time.perf_counter()
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        warm = getattr(module, "warmup", None)
        if callable(warm):
            warm()
    print(f"burnish: kernels ready ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
