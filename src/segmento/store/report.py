"""What one ingestion run did, and why rows were rejected, in the words of where it is shown."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from segmento.store.options import Syntax

TOP_REASONS = 5


@dataclass
class IngestionReport:
    """Counts of one run: ``rows_in == loaded + duplicates + rejected + suppressed``.

    ``reasons`` counts rejected rows by rule (the reason without the row's value),
    most frequent first; ``outcomes`` (only when asked) gives each row's status by line.
    """

    ingestion_id: str
    table: str
    source: str
    rows_in: int = 0
    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    suppressed: int = 0
    seconds: float = 0.0
    rejected_by_field: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    outcomes: dict[int, tuple[str, str | None]] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.loaded + self.duplicates + self.rejected + self.suppressed

    def hints(self, syntax: Syntax | None = None) -> list[str]:
        """What to do about the most frequent rejections, as the user would type it."""
        syntax = syntax or Syntax()
        resolve = "segmento quarantine --resolve" if syntax.kind == "cli" else "ws.resolve_quarantine()"
        found: list[str] = []
        for rule in self.reasons:
            hint = None
            if match := re.match(r"unknown (\w+) \(not in (\w+)\)", rule):
                hint = f"load {match[2]} first, then {resolve} loads the rows held for them"
            elif match := re.match(r"(\w+): not date format|(\w+): not a valid (date|timestamp)", rule):
                column = match[1] or match[2]
                kind = "timestamp" if "timestamp" in rule or column.endswith("_at") else "date"
                hint = f"give the {column} format, e.g. {syntax.assign(kind + '_format', '%d/%m/%Y')}"
            elif match := re.match(r"(\w+): not one of", rule):
                hint = f"map other spellings, e.g. {syntax.pair('values', match[1], 'THEIRS:OURS')}"
            if hint and hint not in found:
                found.append(hint)
        return found

    def summary(self, syntax: Syntax | None = None) -> str:
        """One line of counts, then the top reasons with counts and the hints."""
        text = (
            f"{self.table} <- {self.source}: {self.rows_in:,} in, {self.loaded:,} loaded, "
            f"{self.duplicates:,} duplicates, {self.rejected:,} rejected"
        )
        if self.suppressed:
            text += f", {self.suppressed:,} suppressed"
        text += f" ({self.seconds:.1f}s)"
        if self.reasons:
            top = list(self.reasons.items())[:TOP_REASONS]
            text += "\n  rejected because: " + "; ".join(f"{rule} ({n:,})" for rule, n in top)
            if len(self.reasons) > TOP_REASONS:
                text += f"; {len(self.reasons) - TOP_REASONS} other reasons"
        for hint in self.hints(syntax):
            text += f"\n  hint: {hint}"
        return text

    def __str__(self) -> str:
        return self.summary()
