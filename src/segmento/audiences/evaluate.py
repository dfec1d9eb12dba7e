"""Batch evaluation: who is in which audience as of any instant, as one Ibis expression.

Features come from the features stage as of D (point in time); event conditions are one
conditional aggregate over the events at or before D; each rule is a boolean column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import ibis
from ibis.backends import BaseBackend

from segmento.audiences.check import kind_of_dtype
from segmento.audiences.to_ibis import event_count_table, to_ibis

if TYPE_CHECKING:
    from segmento.audiences.definitions import AudienceSet
    from segmento.config import Project

# (backend, as_of, feature names or None for all) -> one row per customer, customer_id first
FeatureSource = Callable[[BaseBackend, datetime, "Sequence[str] | None"], ibis.Table]
# (as_of, feature names, knowledge-base table) -> the earliest instant those features read of it (None: all)
Lookback = Callable[[datetime, "Sequence[str]", str], "datetime | None"]
MEMBERS_SCHEMA = ibis.schema({"customer_id": "string", "audience": "string"})


def project_features(project: Project | None) -> FeatureSource:
    """The features stage's computation, as the audiences stage calls it."""

    def source(con: BaseBackend, as_of: datetime, names: Sequence[str] | None) -> ibis.Table:
        from segmento.features import compute_features

        return compute_features(con, as_of, project=project, names=list(names) if names is not None else None)

    return source


def project_lookback(project: Project | None) -> Lookback:
    """How far back the features stage's features read a table, as the real-time path asks it."""

    def lookback(as_of: datetime, names: Sequence[str], table: str) -> datetime | None:
        from segmento.features.compute import earliest_read

        return earliest_read(project, as_of, list(names), table)

    return lookback


def feature_kinds(con: BaseBackend, source: FeatureSource) -> dict[str, str]:
    """Feature name -> rule kind (number, text, true/false, list), from a feature source's schema."""
    schema = source(con, datetime.now(), None).schema()
    return {name: kind_of_dtype(dtype) for name, dtype in schema.items() if name != "customer_id"}


def catalog_kinds(con: BaseBackend, project: Project | None) -> dict[str, str]:
    """The same from the catalog's declared types: building the features' expression as of now would
    score the predictive traits of every customer as of today (seconds at 1M) just to read a schema."""
    from segmento.features.known import catalog

    return {f.name: kind_of_dtype(ibis.dtype(f.dtype)) for f in catalog(project, con)}


def rule_inputs(con: BaseBackend, audiences: AudienceSet, names: Sequence[str], as_of: datetime,
                source: FeatureSource) -> ibis.Table:
    """One row per customer with every feature and event count the rules of ``names`` read
    (events counted in columns ``_n0``, ``_n1``... in :meth:`AudienceSet.event_counts` order)."""
    needed = audiences.closure(names)
    table = source(con, as_of, audiences.fields(needed))
    counts = audiences.event_counts(needed)
    if counts:
        per_customer = event_count_table(con.table("events"), counts, as_of)
        table = table.left_join(per_customer, "customer_id").drop("customer_id_right")
        table = table.mutate(**{f"_n{i}": table[f"_n{i}"].fill_null(0) for i in range(len(counts))})
    return table


def rules_on(table: ibis.Table, audiences: AudienceSet, names: Sequence[str]) -> dict[str, ibis.BooleanValue]:
    """Each audience's membership as a boolean column of a :func:`rule_inputs` table."""
    column = {node: f"_n{i}" for i, node in enumerate(audiences.event_counts(audiences.closure(names)))}
    compiled: dict[str, ibis.BooleanValue] = {}

    def member(name: str) -> ibis.BooleanValue:
        if name not in compiled:
            rule = to_ibis(audiences.rules[name], lambda f: table[f], lambda n: table[column[n]], member)
            compiled[name] = rule.fill_null(False)
        return compiled[name]

    return {name: member(name) for name in names}


def evaluate(con: BaseBackend, audiences: AudienceSet, as_of: datetime, source: FeatureSource,
             names: Sequence[str] | None = None, inputs: ibis.Table | None = None) -> ibis.Table:
    """(customer_id, audience) for every member of ``names`` (default: all) as of ``as_of``
    (read from ``inputs``, a :func:`rule_inputs` table of those names, when given)."""
    names = list(audiences.names if names is None else names)
    if not names:
        return ibis.memtable({"customer_id": [], "audience": []}, schema=MEMBERS_SCHEMA)
    table = rule_inputs(con, audiences, names, as_of, source) if inputs is None else inputs
    rules = rules_on(table, audiences, names)
    wide = table.select("customer_id", **{f"_a{i}": rules[name] for i, name in enumerate(names)})
    long = wide.pivot_longer(ibis.selectors.startswith("_a"), names_to="_column", values_to="_member")
    labels = {f"_a{i}": name for i, name in enumerate(names)}
    return long.filter(long._member).select("customer_id", audience=long._column.substitute(labels))


def members(con: BaseBackend, audiences: AudienceSet, name: str, as_of: datetime, source: FeatureSource) -> ibis.Table:
    """The customer_ids in one audience as of ``as_of``."""
    table = rule_inputs(con, audiences, [name], as_of, source)
    return table.filter(rules_on(table, audiences, [name])[name]).select("customer_id")
