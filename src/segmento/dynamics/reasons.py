"""Why an alert was raised, in figures: what moved, from what to what.

Each alert stores ``figures`` (JSON: feature -> value, or [before, after]) and a
``reason`` line a marketer reads as is: "12-month spend 8,853 -> 3,627 (-59%); last
order 14 days ago; usually every 21 days".
"""

from __future__ import annotations

import json
import math
from typing import Any

from segmento.dynamics.settings import TrajectoryRule
from segmento.dynamics.rules import RECENCY, RHYTHM, condition_fields, reason_fields
from segmento.dynamics.store import VALUE_FEATURE

NAMES = {VALUE_FEATURE: "12-month spend"}
AT_STAKE = {"clv_12m": "expected 12-month value", "clv_lost": "expected 12-month value lost"}


def number(value: float | int | None) -> str:
    """Amounts with thousands separators; small decimals (probabilities, ratios) with two digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    if isinstance(value, float) and abs(value) < 10 and not value.is_integer():
        return f"{value:.2f}"
    return f"{value:,.0f}"


def explain(rule: TrajectoryRule, row: dict[str, Any]) -> tuple[str, str]:
    """(reason line, figures as JSON) of one picked row (see :func:`segmento.dynamics.rules.picked`)."""
    before, after = row.get("value_before"), row.get("value_after")
    figures: dict[str, Any] = {VALUE_FEATURE: [before, after]}
    parts = [f"{NAMES[VALUE_FEATURE]} {number(before)} -> {number(after)}"]
    if before and after is not None:
        parts[0] += f" ({(after - before) / before:+.0%})"
    if rule.value in AT_STAKE:  # the predictive value at stake, the alert's priority
        figures[rule.value] = row["priority"]
        parts.append(f"{AT_STAKE[rule.value]} {row['priority']:,.0f}")  # an amount, like the spend
    if rule.persist > 1:
        parts.append(f"still past the move after {rule.persist} periods")
    recency, rhythm = row.get(RECENCY), row.get(RHYTHM)
    parts.append("no order yet" if recency is None else f"last order {number(recency)} days ago")
    if rhythm is not None:
        parts.append(f"usually every {number(round(rhythm))} days")
        if recency is not None and rhythm > 0:
            parts[-1] += f" (silent {recency / rhythm:.1f}x as long)"
    for name in reason_fields(rule):
        figures[name] = [row[f"{name}_before"], row[name]] if f"{name}_before" in row else row[name]
    for name in condition_fields(rule):
        if name in (RECENCY, RHYTHM):
            continue
        shown = NAMES.get(name, name)
        if f"{name}_before" in row:
            parts.append(f"{shown} {number(row[f'{name}_before'])} -> {number(row[name])}")
        else:
            parts.append(f"{shown} {number(row[name])}")
    return "; ".join(parts), json.dumps(figures, default=str)
