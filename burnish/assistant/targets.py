"""Mastering targets as data.

A target is a TOML file (``burnish/data/targets/<name>.toml``): integrated loudness, true-peak
ceiling, output rate and depth, tonal curve and where the numbers come from. Users add their
own targets by passing a path to a TOML file, or by dropping files into the folder named by the
``BURNISH_TARGETS_DIR`` environment variable.

Versions (``--versions streaming,loud,dynamic,podcast``) are target names or these aliases.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from burnish.errors import TargetError

#: Version names that stand for a target.
ALIASES = {
    "streaming": "spotify",
    "loud": "cd",
    "dynamic": "audiophile",
    "ebu": "broadcast",
    "r128": "broadcast",
    "apple_music": "apple",
    "amazon_music": "amazon",
}


@dataclass(frozen=True, slots=True)
class Target:
    """What a destination expects of a master."""

    name: str
    title: str
    description: str
    integrated_lufs: float
    ceiling_dbtp: float
    source: str
    sample_rate: int = 0  # 0: keep the mix's rate
    bit_depth: int = 24
    curve: str = "neutral"
    kind: str = "streaming"
    playback_lufs: float = 0.0  # the level a platform normalises to; 0: not normalised
    integrated_lufs_mono: float | None = None
    max_limiting_db: float | None = None  # cap on the limiter's gain reduction, if any
    tolerance_lu: float = 0.2

    def loudness_for(self, num_channels: int) -> float:
        """The integrated loudness asked of a file with ``num_channels`` channels."""
        if num_channels == 1 and self.integrated_lufs_mono is not None:
            return self.integrated_lufs_mono
        return self.integrated_lufs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _builtin_dir() -> Path:
    return Path(str(resources.files("burnish") / "data" / "targets"))


def _search_dirs() -> list[Path]:
    dirs = []
    user = os.environ.get("BURNISH_TARGETS_DIR")
    if user:
        dirs.append(Path(user))
    dirs.append(_builtin_dir())
    return dirs


def available_targets() -> dict[str, Target]:
    """Every target known by name (user folder first, then the built-in ones)."""
    found: dict[str, Target] = {}
    for folder in reversed(_search_dirs()):
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                target = _load_path(path)
                found[target.name] = target
    return found


def _load_path(path: Path) -> Target:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"{path}: can't read the target file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(f"{path}: not valid TOML ({exc})") from None
    data.setdefault("name", path.stem)
    data.setdefault("title", data["name"])
    data.setdefault("description", "")
    data.setdefault("source", "user-defined")
    known = set(Target.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise TargetError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    for key in ("integrated_lufs", "ceiling_dbtp"):
        if key not in data:
            raise TargetError(f"{path}: missing {key!r}")
    try:
        target = Target(**data)
    except TypeError as exc:
        raise TargetError(f"{path}: {exc}") from None
    return validate_target(target, where=str(path))


def validate_target(target: Target, *, where: str = "target") -> Target:
    if not -40.0 <= target.integrated_lufs <= -3.0:
        raise TargetError(f"{where}: integrated_lufs={target.integrated_lufs} must be in [-40, -3]")
    if not -12.0 <= target.ceiling_dbtp <= 0.0:
        raise TargetError(f"{where}: ceiling_dbtp={target.ceiling_dbtp} must be in [-12, 0]")
    if target.bit_depth not in (16, 24, 32):
        raise TargetError(f"{where}: bit_depth={target.bit_depth} must be 16, 24 or 32")
    if target.sample_rate and not 8000 <= target.sample_rate <= 192000:
        raise TargetError(f"{where}: sample_rate={target.sample_rate} must be 0 or in [8000, 192000]")
    return target


def load_target(name_or_path: str) -> Target:
    """A target by name (or alias), or from a TOML file path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        return _load_path(path)
    name = ALIASES.get(name_or_path.lower(), name_or_path.lower())
    targets = available_targets()
    if name not in targets:
        raise TargetError(
            f"unknown target {name_or_path!r}; known: {', '.join(sorted(targets))}"
            f" (aliases: {', '.join(f'{a}={t}' for a, t in sorted(ALIASES.items()))})"
        )
    return targets[name]


def custom_target(
    *, lufs: float | None, ceiling_dbtp: float | None, base: Target | None = None
) -> Target:
    """A target with ``--lufs`` / ``--ceiling`` overriding ``base`` (custom numbers always win)."""
    base = base or load_target("spotify")
    changes: dict[str, Any] = {}
    if lufs is not None:
        changes.update(integrated_lufs=float(lufs), integrated_lufs_mono=None)
    if ceiling_dbtp is not None:
        changes["ceiling_dbtp"] = float(ceiling_dbtp)
    if not changes:
        return base
    name = base.name if lufs is None and ceiling_dbtp is None else f"{base.name}-custom"
    title = f"{base.title} (custom: {lufs if lufs is not None else base.integrated_lufs} LUFS, {ceiling_dbtp if ceiling_dbtp is not None else base.ceiling_dbtp} dBTP)"
    changes.update(name=name, title=title, source="given on the command line")
    return validate_target(replace(base, **changes), where="--lufs/--ceiling")


def describe_targets() -> str:
    """One line a target, for ``--help``."""
    lines = []
    for t in available_targets().values():
        lines.append(
            f"{t.name:11s} {t.integrated_lufs:6.1f} LUFS {t.ceiling_dbtp:5.1f} dBTP  {t.title}. Source: {t.source}"
        )
    return "\n".join(lines)
