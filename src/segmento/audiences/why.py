"""Why a customer entered or left an audience, in words: the clause that changed.

A refresh moves people as time passes ("a customer who turns 41 leaves the 30-40
segment"). For each enter/exit, the rule's top-level AND clauses are evaluated on the
customer's features before (at the previous history instant) and now; the clauses whose
truth flipped in the direction of the change are named with their figures:
"age 40 -> 41", "no order for 91 days". Clauses on events (viewed(...), searched(...))
or on other audiences (in_audience(...)) are named by their text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento import formatting as fmt
from segmento.audiences.ast import AudienceRef, EventCount, Node, conjuncts, fields_of
from segmento.audiences.definitions import AudienceSet
from segmento.audiences.evaluate import FeatureSource
from segmento.audiences.tables import ENTER
from segmento.audiences.to_python import Compiled, Context, to_python
from segmento.store.backend import staged


def _figure(name: str, before: Any, after: Any) -> str:
    if name == "recency_days":
        return "no order yet" if after is None else f"no order for {after:,.0f} days"
    shown = lambda v: "unknown" if v is None else fmt.value(v)  # noqa: E731  (151.13, yes, "running, tennis")
    return f"{name} {shown(after)}" if before is None or before == after else f"{name} {shown(before)} -> {shown(after)}"


def _clean(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and value != value) else value


def explain(
    con: BaseBackend, audiences: AudienceSet, moved: pd.DataFrame, as_of: datetime, previous: datetime | None,
    source: FeatureSource,
) -> list[str]:
    """One line per row of ``moved`` (customer_id, audience, kind), in its order.

    The features every explained rule reads are computed twice in all (now and at the previous
    instant) for the customers who moved, not twice per audience, and each clause is compiled
    once per audience, not once per customer: a first refresh moves everyone."""
    out = [""] * len(moved)
    ruled = moved[moved.audience.isin(list(audiences.rules))]
    names = sorted({name for audience in ruled.audience.unique() for name in fields_of(audiences.rules[audience])})
    customers = pa.table({"customer_id": pa.array(ruled.customer_id.unique(), pa.string())})
    now = _features(con, source, as_of, names, customers)
    then = _features(con, source, previous, names, customers) if previous is not None else {}
    for audience, rows in moved.groupby("audience", sort=False):
        rule = audiences.rules.get(audience)
        if rule is None:
            for i in rows.index:
                out[i] = "the audience was removed"
            continue
        clauses = [_Clause.of(clause, audiences.audiences[audience].rule) for clause in conjuncts(rule)]
        for i, customer, kind in zip(rows.index, rows.customer_id, rows.kind):
            out[i] = _line(clauses, now.get(customer, {}), then.get(customer), kind, as_of, previous)
    return out


def _features(con: BaseBackend, source: FeatureSource, at: datetime, names: list[str],
              customers: pa.Table) -> dict[str, dict[str, Any]]:
    """Feature values of the given customers at ``at`` (the ids staged and joined: a literal list of
    thousands of ids costs more to compile than the query costs to run)."""
    if not names or not customers.num_rows:
        return {}
    table = source(con, at, names)
    with staged(con, customers) as wanted:
        rows = table.semi_join(wanted, "customer_id").to_pyarrow().to_pylist()
    return {row.pop("customer_id"): {k: _clean(v) for k, v in row.items()} for row in rows}


@dataclass(frozen=True)
class _Clause:
    """One top-level AND clause of a rule: compiled to Python, or named by its text when it reads events
    or other audiences."""

    fields: tuple[str, ...]
    test: Compiled | None
    text: str

    @classmethod
    def of(cls, clause: Node, rule: str) -> _Clause:
        if any(isinstance(n, (EventCount, AudienceRef)) for n in clause.walk()):
            return cls((), None, rule[clause.span[0]:clause.span[1]] or "an event condition")
        return cls(tuple(sorted(fields_of(clause))), to_python(clause), "")


def _line(clauses: list[_Clause], now: dict, then: dict | None, kind: str, as_of: datetime,
          previous: datetime | None) -> str:
    entering = kind == ENTER
    named: list[str] = []
    for clause in clauses:
        if clause.test is None:
            named.append(f"{clause.text} {'now true' if entering else 'no longer true'}")
            continue
        is_now = clause.test(Context(now, [], as_of)) is True
        was = None if then is None else clause.test(Context(then, [], previous or as_of)) is True
        if is_now == entering and was != entering:
            named += [_figure(f, (then or {}).get(f), now.get(f)) for f in clause.fields]
    return "; ".join(dict.fromkeys(named)) or ("rule now true" if entering else "rule no longer true")
