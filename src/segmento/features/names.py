"""Naming helpers shared by the catalog, the SQL translator and error messages."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


def slug(text: str) -> str:
    """'Hiking Shoes' -> 'hiking_shoes': a category name as a column-name fragment."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "_"


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate a typo most likely meant, for 'did you mean ...?' hints."""
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    if name.lower() in lowered:
        return lowered[name.lower()]
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """'; did you mean 'amount'?' or '' when nothing is close."""
    match = closest(name, candidates)
    return f"; did you mean {match!r}?" if match else ""
