"""Why a customer entered or left an audience, in words: the clause that changed.

A refresh moves people as time passes ("a customer who turns 41 leaves the 30-40
segment"). For each enter/exit, the rule's top-level AND clauses are evaluated on the
customer's features before (at the previous history instant) and now; the clauses whose
truth flipped in the direction of the change are named with their figures:
"age 40 -> 41", "no order for 91 days". Clauses on events (viewed(...), searched(...))
or on other audiences (in_audience(...)) are named by their text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from ibis.backends import BaseBackend

from segmento.audiences.ast import AudienceRef, EventCount, Node, conjuncts, fields_of
from segmento.audiences.definitions import AudienceSet
from segmento.audiences.evaluate import FeatureSource
from segmento.audiences.tables import ENTER
from segmento.audiences.to_python import Context, to_python


def _figure(name: str, before: Any, after: Any) -> str:
    if name == "recency_days":
        return "no order yet" if after is None else f"no order for {after:,.0f} days"
    shown = lambda v: "unknown" if v is None else f"{v:,.0f}" if isinstance(v, float) and v.is_integer() else str(v)  # noqa: E731
    return f"{name} {shown(after)}" if before is None or before == after else f"{name} {shown(before)} -> {shown(after)}"


def _clean(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and value != value) else value


def explain(
    con: BaseBackend, audiences: AudienceSet, moved: pd.DataFrame, as_of: datetime, previous: datetime | None,
    source: FeatureSource,
) -> list[str]:
    """One line per row of ``moved`` (customer_id, audience, kind), in its order."""
    out = [""] * len(moved)
    for audience, rows in moved.groupby("audience", sort=False):
        rule = audiences.rules.get(audience)
        if rule is None:
            for i in rows.index:
                out[i] = "the audience was removed"
            continue
        text = audiences.audiences[audience].rule
        clauses = list(conjuncts(rule))
        names = sorted(fields_of(rule))
        now = _features(con, source, as_of, names, rows.customer_id)
        then = _features(con, source, previous, names, rows.customer_id) if previous is not None else {}
        for i, customer, kind in zip(rows.index, rows.customer_id, rows.kind):
            out[i] = _line(clauses, text, now.get(customer, {}), then.get(customer), kind, as_of, previous)
    return out


def _features(con: BaseBackend, source: FeatureSource, at: datetime, names: list[str],
              customers: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not names:
        return {}
    table = source(con, at, names)
    rows = table.filter(table.customer_id.isin(list(customers))).to_pyarrow().to_pylist()
    return {row.pop("customer_id"): {k: _clean(v) for k, v in row.items()} for row in rows}


def _line(clauses: list[Node], text: str, now: dict, then: dict | None, kind: str, as_of: datetime,
          previous: datetime | None) -> str:
    entering = kind == ENTER
    named: list[str] = []
    for clause in clauses:
        if any(isinstance(n, (EventCount, AudienceRef)) for n in clause.walk()):  # named by their text
            named.append(f"{text[clause.span[0]:clause.span[1]] or 'an event condition'} "
                         f"{'now true' if entering else 'no longer true'}")
            continue
        is_now = to_python(clause)(Context(now, [], as_of)) is True
        was = None if then is None else to_python(clause)(Context(then, [], previous or as_of)) is True
        if is_now == entering and was != entering:
            named += [_figure(f, (then or {}).get(f), now.get(f)) for f in sorted(fields_of(clause))]
    return "; ".join(dict.fromkeys(named)) or ("rule now true" if entering else "rule no longer true")
