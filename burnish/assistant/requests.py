"""Revision requests in plain words: "a bit brighter and less squashed" -> Adjustments.

The vocabulary is small and explicit; an unrecognised request is an error that lists what is
understood, never a silent no-op.
"""

from __future__ import annotations

import re

from burnish.assistant.decide import Adjustments
from burnish.errors import ParameterError

# phrase -> (field, amount for a plain request)
PHRASES: dict[str, tuple[str, float]] = {
    "brighter": ("brightness_db", 1.5),
    "more air": ("brightness_db", 1.5),
    "more treble": ("brightness_db", 1.5),
    "more top": ("brightness_db", 1.5),
    "less harsh": ("brightness_db", -1.5),
    "darker": ("brightness_db", -1.5),
    "duller": ("brightness_db", -1.5),
    "less bright": ("brightness_db", -1.5),
    "less treble": ("brightness_db", -1.5),
    "more bass": ("bass_db", 1.5),
    "more low end": ("bass_db", 1.5),
    "more sub": ("bass_db", 1.5),
    "bassier": ("bass_db", 1.5),
    "less bass": ("bass_db", -1.5),
    "less low end": ("bass_db", -1.5),
    "less boomy": ("bass_db", -1.5),
    "less muddy": ("warmth_db", -1.5),
    "clearer": ("warmth_db", -1.0),
    "warmer": ("warmth_db", 1.5),
    "fuller": ("warmth_db", 1.0),
    "thinner": ("warmth_db", -1.5),
    "louder": ("loudness_lu", 1.0),
    "quieter": ("loudness_lu", -1.0),
    "softer": ("loudness_lu", -1.0),
    "less squashed": ("compression", -0.5),
    "less compressed": ("compression", -0.5),
    "less compression": ("compression", -0.5),
    "more dynamic": ("compression", -0.5),
    "more punch": ("compression", -0.3),
    "punchier": ("compression", -0.3),
    "more compressed": ("compression", 0.5),
    "more compression": ("compression", 0.5),
    "denser": ("compression", 0.5),
    "more glue": ("compression", 0.5),
    "wider": ("width", 0.5),
    "more stereo": ("width", 0.5),
    "narrower": ("width", -0.5),
    "more mono": ("width", -0.5),
}

INTENSIFIERS = {
    "a tiny bit": 0.33, "a touch": 0.33, "slightly": 0.5, "a little": 0.5, "a bit": 0.5,
    "somewhat": 0.75, "much": 2.0, "a lot": 2.0, "way": 2.0, "far": 2.0, "very": 1.5,
    "even": 1.0, "way more": 2.0,
}


def parse_request(text: str) -> Adjustments:
    """Turn a request in words into :class:`Adjustments`; raise if nothing is understood."""
    cleaned = " " + re.sub(r"[^a-z ]+", " ", text.lower()) + " "
    cleaned = re.sub(r"\s+", " ", cleaned)
    totals: dict[str, float] = {}
    matched = False
    # longest phrases first, so "less bright" wins over "bright"
    for phrase in sorted(PHRASES, key=len, reverse=True):
        pattern = f" {phrase} "
        while pattern in cleaned:
            idx = cleaned.index(pattern)
            before = cleaned[:idx]
            scale = 1.0
            for word, factor in sorted(INTENSIFIERS.items(), key=lambda kv: -len(kv[0])):
                if before.endswith(" " + word) or before.endswith(word):
                    scale = factor
                    break
            name, amount = PHRASES[phrase]
            totals[name] = totals.get(name, 0.0) + amount * scale
            cleaned = cleaned[:idx] + " | " + cleaned[idx + len(pattern):]
            matched = True
    if not matched:
        raise ParameterError(
            f"can't understand the request {text!r}; say things like: "
            + ", ".join(sorted(PHRASES)[:12]) + " ... (with 'a bit', 'much' ...)"
        )
    return Adjustments(**{k: round(v, 2) for k, v in totals.items()})
