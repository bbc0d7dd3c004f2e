"""One error hierarchy for the whole package.

Every error burnish raises on purpose derives from :class:`BurnishError`; the command line turns
those into a one-line message and a non-zero exit status, never a traceback.
"""

from __future__ import annotations


class BurnishError(Exception):
    """Base class of every error burnish raises on purpose."""

    exit_code: int = 1


class ParameterError(BurnishError, ValueError):
    """A parameter is outside its valid range. The message names it, its value and the range."""

    exit_code = 2


class AudioFileError(BurnishError):
    """A file can't be read or written as audio. The message names the file and the problem."""

    exit_code = 3


class ChainError(BurnishError, ValueError):
    """A chain description (JSON) is malformed. The message points at the offending key."""

    exit_code = 2


class AnalysisError(BurnishError):
    """The analysis can't be made (for example the audio is too short for a measurement)."""


class DeliveryError(BurnishError):
    """A deliverable can't be produced or fails its checks (metadata, Red Book, codec)."""

    exit_code = 4


class TargetError(BurnishError, ValueError):
    """An unknown or malformed mastering target."""

    exit_code = 2
