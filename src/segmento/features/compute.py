"""Features as of D, one row per customer, as one lazy Ibis expression.

Each point-in-time table is aggregated once (one group-by holding every partial of
every requested feature, windows as conditional aggregates), the aggregates are
left-joined to the customers who had signed up by D, and the features are computed
from the joined partials. Only the one small query listing categories runs eagerly;
everything else is pushed down to the engine, identical on DuckDB and Spark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmento.features.asof import AsOf
from segmento.features.known import CATEGORY_FEATURE, categories_at, find, resolve
from segmento.features.custom import derived_value, order_derived, python_table
from segmento.features.model import AGGREGATED_SOURCES, Context, Feature, Windows, exact_sums
from segmento.features.providers import provider_of, unready
from segmento.features.sources import SOURCE_TABLES, PointInTime
from segmento.store.backend import held
from segmento.store.engines import engine_of

if TYPE_CHECKING:
    from segmento.config import Project

_NEEDS_CATEGORIES = ("share_cat_", "top_category_", "n_categories_")
# (context, point-in-time tables, source, the features reading it) -> per-customer tables of their partials
Aggregate = Callable[[Context, PointInTime, str, list[Feature]], list[ibis.Table]]


def compute_features(
    con: BaseBackend,
    as_of: date | datetime,
    project: Project | None = None,
    names: list[str] | None = None,
) -> ibis.Table:
    """Features as of ``as_of``: ``customer_id`` then one column per feature.

    A date means the end of that day (rows at or before D 23:59:59.999999 count); a
    datetime means that instant. Customers who signed up after D are left out.
    ``names`` picks features (in that order); by default every feature of the catalog.
    """
    at = AsOf.of(as_of)
    shared = _shared(con, at, project, names)
    return shared if shared is not None else features_at(con, at, project, names, aggregate_source)


@dataclass
class _Shared:
    project: Project | None
    names: list[str]
    table: ibis.Table | None = None  # computed at the first read


def share_features(con: BaseBackend, as_of: date | datetime, project: Project | None, names: Iterable[str]) -> None:
    """In the current batch step, features as of ``as_of`` asked for any of ``names`` are read from one table
    of them all, computed once at the first such ask: a monthly run's snapshot and refresh read the same
    period end. Features that cannot be computed then (no model fitted yet) are left to their asker.
    Outside a step, nothing."""
    memo = engine_of(con).step_memo()
    at = AsOf.of(as_of)
    if memo is not None:
        memo[(_Shared, at)] = _Shared(project, sorted(set(names) - unready(con, at)))


def _shared(con: BaseBackend, at: AsOf, project: Project | None, names: list[str] | None) -> ibis.Table | None:
    """``names`` as of ``at`` from the step's shared table, when it holds them all."""
    memo = engine_of(con).step_memo()
    shared = memo.get((_Shared, at)) if memo is not None and names is not None else None
    if shared is None or shared.project is not project or not set(names) <= set(shared.names):
        return None
    if shared.table is None:
        shared.table = held(con, features_at(con, at, project, shared.names, aggregate_source))
    return shared.table.select("customer_id", *names)


def features_at(
    con: BaseBackend, at: AsOf, project: Project | None, names: list[str] | None, aggregate: Aggregate
) -> ibis.Table:
    """``compute_features`` with the per-source aggregation given (a series carries lifetime partials)."""
    tables = PointInTime(con, at)
    # every feature: leave out those a later stage cannot provide yet (no model fitted by D)
    skipped = unready(con, at) if names is None else set()
    features = [f for f in resolve(project, None) if f.name not in skipped]
    wanted = _closure(features, names, lenient=True)
    categories: tuple[str, ...] = ()
    if any(name.startswith(_NEEDS_CATEGORIES) for name in wanted):
        categories = categories_at(con, at)
        features = [f for f in resolve(project, categories) if f.name not in skipped]
        wanted = _closure(features, names, lenient=False)
    ctx = Context(at, Windows.of(project.features.windows if project else None), categories)
    chosen = [f for f in features if f.name in wanted]
    table = _joined(ctx, tables, chosen, aggregate)
    helpers = {key: value for spec in chosen if spec.helpers for key, value in spec.helpers(ctx, table).items()}
    if helpers:
        table = table.mutate(**helpers)
    values = {f.name: _value(ctx, f, table) for f in chosen if f.source != "derived"}
    result = table.select("customer_id", **values)
    for spec in order_derived([f for f in features if f.name in wanted]):
        if spec.source == "derived":
            result = result.mutate(**{spec.name: derived_value(spec, ctx, result)})
    order = names if names is not None else [f.name for f in features]
    return result.select("customer_id", *order)


def _closure(features: list[Feature], names: list[str] | None, lenient: bool) -> set[str]:
    """The requested features and everything derived ones need (lenient: share_cat_* may not be listed yet)."""
    by_name = {f.name: f for f in features}
    todo = list(by_name) if names is None else list(names)
    wanted: set[str] = set()
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        if name not in by_name and lenient and CATEGORY_FEATURE.fullmatch(name):
            wanted.add(name)
            continue
        spec = find(name, features)
        wanted.add(name)
        todo.extend(spec.depends)
    return wanted


def earliest_read(project: Project | None, as_of: datetime, names: list[str], table: str) -> datetime | None:
    """The earliest instant features ``names`` read of the knowledge-base ``table`` as of ``as_of``:
    the real-time path keeps no older rows of it. None: the whole history, or not known (a Python
    or provided feature reads what it likes)."""
    at = AsOf.of(as_of)
    features = resolve(project, None)
    by_name = {f.name: f for f in features}
    chosen = [by_name.get(name) for name in _closure(features, names, lenient=True)]
    if any(spec is None or spec.source in ("python", "provided") for spec in chosen):
        return None
    readers = [spec for spec in chosen if table in SOURCE_TABLES.get(spec.source, (spec.source,))]
    if not readers:
        return at.last
    return earliest(Context(at, Windows.of(project.features.windows if project else None)), readers)


def earliest(ctx: Context, readers: list[Feature]) -> datetime | None:
    """The earliest instant the readers' windows look back to (None: the whole history)."""
    starts = [ctx.as_of.since(spec.window) for spec in readers]
    return None if None in starts else min(starts)


def partials_of(ctx: Context, rows: ibis.Table, readers: list[Feature]) -> dict[str, ir.Scalar]:
    """Every partial of the readers over ``rows`` (a key shared by several features is one aggregate; float sums exact)."""
    partials: dict[str, ir.Scalar] = {}
    for spec in readers:
        partials.update(spec.partials(ctx, rows))
    return exact_sums(partials)


def aggregate_source(ctx: Context, tables: PointInTime, source: str, readers: list[Feature]) -> list[ibis.Table]:
    """One group-by over the source's rows since the earliest window start, holding every partial."""
    rows = tables.table(source, since=earliest(ctx, readers))
    partials = partials_of(ctx, rows, readers)
    return [rows.group_by("customer_id").aggregate(**partials)] if partials else []


def _joined(ctx: Context, tables: PointInTime, chosen: list[Feature], aggregate: Aggregate) -> ibis.Table:
    """Customers at D, left-joined with the aggregates of each source table and each Python feature."""
    table = tables.customers
    for source in AGGREGATED_SOURCES:
        readers = [spec for spec in chosen if spec.source == source]
        for aggregated in aggregate(ctx, tables, source, readers) if readers else []:
            table = table.left_join(aggregated, "customer_id").drop("customer_id_right")
    for spec in chosen:
        if spec.source == "python":
            extra = python_table(spec, tables, _python_column(spec))
            table = table.left_join(extra, "customer_id").drop("customer_id_right")
    providers: dict[str, tuple] = {}  # one table (and one join) per provider
    for spec in (s for s in chosen if s.source == "provided"):
        provider = provider_of(spec)
        providers.setdefault(provider.name, (provider, []))[1].append(spec.name)
    for provider, names in providers.values():
        extra = provider.table(tables.con, ctx.as_of, names)
        extra = extra.select("customer_id", **{_python_column(n): extra[n] for n in names})
        table = table.left_join(extra, "customer_id").drop("customer_id_right")
    return table


def _python_column(spec: Feature | str) -> str:
    return f"_py_{spec if isinstance(spec, str) else spec.name}"


def _value(ctx: Context, spec: Feature, table: ibis.Table) -> ibis.Value:
    if spec.source in ("python", "provided"):
        return table[_python_column(spec)]
    return spec.value(ctx, table)
