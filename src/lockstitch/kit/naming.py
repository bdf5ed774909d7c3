"""Deriving a source's ``name`` (its destination schema) from its ``display_name``.

Stitch's rule: lowercase letters, digits, underscores and dollar signs; starts with a letter or
an underscore; under 50 characters. Derivation lowercases, folds accents ("Café" -> "cafe"),
turns runs of spaces, hyphens and dots into one underscore, and drops everything else, so
"DISPLAY_NAME!!!" -> "display_name" and "####" -> "" (which is an error).

In kit, not sources: destinations check the name they give a target as its schema, and every
domain quotes client values in its errors with ``quoted``.
"""

from __future__ import annotations

import re
import unicodedata

NAME_RULES = (
    "The name field must be under 50 characters, and can only contain lowercase letters, numbers, "
    "underscores, or dollar signs. It must begin with a letter or an underscore."
)
_VALID = re.compile(r"^[a-z_][a-z0-9_$]{0,48}$")
_SEPARATORS = re.compile(r"[\s.\-]+")
_DISALLOWED = re.compile(r"[^a-z0-9_$]")
_LEADING = re.compile(r"^[^a-z_]+")
MAX_DISPLAY_NAME = 500


def derive_name(display_name: str) -> str:
    folded = unicodedata.normalize("NFKD", display_name)
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c))
    lowered = ascii_only.lower().strip()
    underscored = _SEPARATORS.sub("_", lowered)
    kept = _DISALLOWED.sub("", underscored)
    return _LEADING.sub("", kept)


def is_valid_name(name: str) -> bool:
    return bool(_VALID.match(name))


def is_acceptable_display_name(value: object) -> bool:
    return (
        isinstance(value, str)
        and bool(value.strip())
        and len(value) <= MAX_DISPLAY_NAME
        and "\x00" not in value
    )


def quoted(value: object, limit: int = 100) -> str:
    """A client-supplied value for an error message: stringified and cut short."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
