"""Why a customer entered or left an audience, in words: the clause that changed.

A refresh moves people as time passes ("a customer who turns 41 leaves the 30-40
segment"). For each enter/exit, the rule's top-level AND clauses are evaluated on the
customer's features before (at the previous history instant) and now; the clauses whose
truth flipped in the direction of the change are named with their figures:
"age 40 -> 41", "no order for 91 days". Clauses on events (viewed(...), searched(...))
or on other audiences (in_audience(...)) are named by their text.

The changes are joined with those features in the engine (:func:`with_features`), and the
wording is a function of Arrow batches (:class:`Explainer`) the engine runs where the rows
are, so a first refresh, which moves everyone, is not brought to one process to be worded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from segmento import formatting as fmt
from segmento.audiences.ast import AudienceRef, EventCount, Node, conjuncts, fields_of
from segmento.audiences.definitions import AudienceSet
from segmento.audiences.evaluate import FeatureSource
from segmento.audiences.tables import ENTER
from segmento.audiences.to_python import Compiled, Context, to_python


def _figure(name: str, before: Any, after: Any) -> str:
    if name == "recency_days":
        return "no order yet" if after is None else f"no order for {after:,.0f} days"
    shown = lambda v: "unknown" if v is None else fmt.value(v)  # noqa: E731  (151.13, yes, "running, tennis")
    return f"{name} {shown(after)}" if before is None or before == after else f"{name} {shown(before)} -> {shown(after)}"


def _clean(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and value != value) else value


NOW, THEN, WAS = "_now_", "_then_", "_was"  # column prefixes of the features joined to the changes


def with_features(con: BaseBackend, audiences: AudienceSet, changes: ibis.Table, moved: Iterable[str],
                  now: ibis.Table | None, previous: datetime | None, source: FeatureSource) -> ibis.Table:
    """``changes`` (customer_id, audience, kind, ...) joined, in the engine, with the features the rules
    of the ``moved`` audiences read: now (``_now_<name>``, from ``now``, the refresh's rule inputs: None
    only when no audience is defined, and then no moved audience has a rule) and at the previous
    instant (``_then_<name>``, with ``_was`` true where the customer was known then)."""
    names = fields_read(audiences, moved)
    if not names:
        return changes
    joined = changes.left_join(now.select("customer_id", **{NOW + n: now[n] for n in names}), "customer_id")
    joined = joined.drop("customer_id_right")
    if previous is None:
        return joined
    then = source(con, previous, names)
    then = then.select("customer_id", **{WAS: ibis.literal(True)}, **{THEN + n: then[n] for n in names})
    return joined.left_join(then, "customer_id").drop("customer_id_right")


def fields_read(audiences: AudienceSet, moved: Iterable[str]) -> list[str]:
    """The features read by the rules of the given audiences (removed ones read none)."""
    return sorted({n for a in moved if a in audiences.rules for n in fields_of(audiences.rules[a])})


class Explainer:
    """Adds the ``why`` of each change to a batch of :func:`with_features` rows and drops the features.

    A plain function of Arrow batches, so the engine runs it where the rows are (on Spark, in the
    executors' Python workers: it is pickled with the parsed rules, and compiles each rule's clauses
    once per worker, not once per customer)."""

    def __init__(self, audiences: AudienceSet, moved: Iterable[str], as_of: datetime,
                 previous: datetime | None) -> None:
        self.rules = {a: (audiences.rules[a], audiences.audiences[a].rule) for a in moved if a in audiences.rules}
        self.as_of, self.previous = as_of, previous
        self._clauses: dict[str, list[_Clause]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_clauses": {}}  # compiled clauses are closures: compiled again where it runs

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        why: list[str] = [""] * batch.num_rows
        audience = batch.column("audience")
        for name in pc.unique(audience).to_pylist():
            rows = pc.indices_nonzero(pc.equal(audience, name)).to_pylist()
            clauses = self._of(name)
            if clauses is None:
                for i in rows:
                    why[i] = "the audience was removed"
                continue
            # only the fields this audience's rule reads, only for its rows; each distinct set of figures
            # worded once (a month's changes share few: ages, day counts, order counts)
            part, fields = batch.take(rows), sorted({f for clause in clauses for f in clause.fields})
            worded: dict[tuple, str] = {}
            for i, kind, was, now, then in zip(rows, part.column("kind").to_pylist(), _values(part, WAS),
                                               _rows(part, NOW, fields), _rows(part, THEN, fields)):
                key = (kind, was, now, then)
                try:
                    why[i] = worded[key]
                except KeyError:
                    why[i] = worded[key] = self._line(clauses, fields, kind, now, then if was else None)
                except TypeError:  # a list feature's value is not hashable: worded as it is
                    why[i] = self._line(clauses, fields, kind, now, then if was else None)
        kept = [n for n in batch.schema.names if not n.startswith((NOW, THEN)) and n != WAS]
        return pa.RecordBatch.from_arrays([*(batch.column(n) for n in kept), pa.array(why, pa.string())],
                                          names=[*kept, "why"])

    def _line(self, clauses: list[_Clause], fields: list[str], kind: str, now: tuple, then: tuple | None) -> str:
        before = None if then is None else dict(zip(fields, then))
        return _line(clauses, dict(zip(fields, now)), before, kind, self.as_of, self.previous)

    def _of(self, audience: str) -> list[_Clause] | None:
        if audience not in self.rules:
            return None
        if audience not in self._clauses:
            rule, text = self.rules[audience]
            self._clauses[audience] = [_Clause.of(clause, text) for clause in conjuncts(rule)]
        return self._clauses[audience]


def _rows(batch: pa.RecordBatch, prefix: str, fields: list[str]) -> list[tuple]:
    """Each row's values of the columns ``prefix + field``, in ``fields`` order."""
    if not fields:
        return [()] * batch.num_rows
    return list(zip(*(_values(batch, prefix + f) for f in fields)))


def _values(batch: pa.RecordBatch, name: str) -> list[Any]:
    """A column as Python values (NaN as None; a zoned timestamp as its wall-clock time, as Ibis reads it)."""
    if name not in batch.schema.names:
        return [None] * batch.num_rows
    column = batch.column(name)
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        column = pc.local_timestamp(column)
    return [_clean(v) for v in column.to_pylist()]


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
