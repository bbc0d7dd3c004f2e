"""Access to ../shared/corpus: skips with a reason where it is absent, fails under CI=true."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

CORPUS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def require_corpus() -> Path:
    """The corpus folder, or skip (fail under CI=true) when it is missing."""
    if not (CORPUS_DIR / "MANIFEST.json").is_file():
        msg = f"the shared corpus is not at {CORPUS_DIR} (../shared/corpus beside the repo)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg + "; CI must have it")
        pytest.skip(msg)
    return CORPUS_DIR


@cache
def manifest() -> dict[str, Any]:
    return json.loads((require_corpus() / "MANIFEST.json").read_text())


def corpus_files(category: str | None = None) -> list[str]:
    """Names of corpus files, optionally of one category (unmastered_mix, reference, defect...)."""
    try:
        m = manifest()
    except pytest.skip.Exception:
        return []
    return [f["name"] for f in m["files"] if category is None or f["category"] == category]


def corpus_entry(name: str) -> dict[str, Any]:
    for f in manifest()["files"]:
        if f["name"] == name:
            return dict(f)
    raise KeyError(name)


def corpus_path(name: str) -> Path:
    return require_corpus() / name


def corpus_names_for_params() -> list[str]:
    """All file names, read without skipping (for pytest.mark.parametrize at collection)."""
    path = CORPUS_DIR / "MANIFEST.json"
    if not path.is_file():
        return ["<corpus missing>"]
    return [f["name"] for f in json.loads(path.read_text())["files"]]


def excerpt(name: str, start_s: float = 5.0, duration_s: float = 6.0) -> tuple[Any, int]:
    """``duration_s`` of corpus file ``name`` from ``start_s``: (float64 (channels, n), rate)."""
    import numpy as np
    import soundfile as sf

    data, sr = sf.read(str(require_corpus() / name), always_2d=True, dtype="float64")
    x = data.T[:, int(start_s * sr) : int((start_s + duration_s) * sr)]
    return np.ascontiguousarray(x), int(sr)
