"""Features at a run of increasing dates (a backfill's period ends), lifetime figures carried forward.

Features as of each month end computed from raw history read every order and event up to
that date, so a backfill of N months reads the history N times over: its cost grows with
the square of N. A series keeps instead, per source table, the partials that can be merged
exactly (counts and sums add up, minima and maxima compare, an arg-min follows its minimum)
as one row per customer, and brings that state from one date to the next with the rows in
between only. Partials over a finite window still read their window's rows, a cost bounded
by the window, not by the history; the others (distinct lists, means, anything that depends
on D beyond its window) are computed as ``compute_features`` computes them.

Which partials are carried is read from their expressions: a partial is carried when it is
one of the mergeable aggregates and the same expression for two different dates (no window
bound, nothing else of D in it). The features are then the same as ``compute_features``
gives: the state aggregates the same rows, only grouped by slices of time (float sums can
differ in their last bits, as the engine's own parallel sums do from run to run).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmento.features.asof import AsOf
from segmento.features.compute import earliest, features_at, partials_of
from segmento.features.model import EXACT, Context, Feature
from segmento.features.sources import PointInTime
from segmento.store.engines import engine_of

if TYPE_CHECKING:
    from segmento.config import Project

# aggregate -> how two partial results of it combine
MERGES: dict[type, str] = {ops.Sum: "sum", ops.Count: "sum", ops.CountStar: "sum", ops.Min: "min", ops.Max: "max",
                           ops.ArgMin: "argmin", ops.ArgMax: "argmax"}  # fmt: skip
KEY = "__key"  # suffix of the ordering key an arg-min / arg-max state keeps beside its value


@dataclass
class _Held:
    """A staged table and how to let it go."""

    table: ibis.Table
    release: Callable[[], Any]


@dataclass
class _State:
    """The carried partials of one source table over every row before ``end``."""

    held: _Held
    kinds: dict[str, tuple[str, ibis.DataType]]  # partial -> (merge, type)
    end: datetime


class FeatureSeries:
    """Features as of each of a run of increasing dates, each one staged in the engine.

    ``at(day, names)`` gives the features as of ``day`` (the same table as
    ``compute_features``); the table of the date before stays readable (``table_at``)
    until the next call. Use it as a context manager: what it staged goes at the end.
    """

    def __init__(self, con: BaseBackend, project: Project | None = None) -> None:
        self.con = con
        self.project = project
        self._engine = engine_of(con)
        self._states: dict[str, _State] = {}
        self._days: list[tuple[date, _Held]] = []  # the last two dates' features

    def __enter__(self) -> FeatureSeries:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for _, held in self._days:
            held.release()
        for state in self._states.values():
            state.held.release()
        self._days, self._states = [], {}

    def at(self, day: date, names: list[str] | None = None) -> ibis.Table:
        """Features as of the end of ``day`` (a date on or after the previous one), staged."""
        if isinstance(day, datetime) or not isinstance(day, date):
            raise TypeError("a feature series steps from date to date (midnight to midnight), not instants")
        if self._days and day < self._days[-1][0]:
            raise ValueError(f"a feature series goes forward: {day} is before {self._days[-1][0]}")
        held = self._stage(features_at(self.con, AsOf.of(day), self.project, names, self._aggregate))
        self._days.append((day, held))
        if len(self._days) > 2:
            self._days.pop(0)[1].release()
        return held.table

    @property
    def carried(self) -> dict[str, tuple[str, ...]]:
        """The partials carried from date to date, per source table."""
        return {source: tuple(state.kinds) for source, state in self._states.items()}

    def table_at(self, day: date) -> ibis.Table | None:
        """The staged features of ``day`` if it is one of the last two dates asked for."""
        return next((held.table for known, held in self._days if known == day), None)

    def _stage(self, expr: ibis.Table) -> _Held:
        manager: AbstractContextManager[ibis.Table] = self._engine.staged(expr)
        table = manager.__enter__()
        return _Held(table, lambda: manager.__exit__(None, None, None))

    def _aggregate(self, ctx: Context, tables: PointInTime, source: str, readers: list[Feature]) -> list[ibis.Table]:
        """The carried partials from the source's state, the others from one group-by as usual."""
        rows = tables.table(source)
        probe = replace(ctx, as_of=AsOf.of(ctx.as_of.day + timedelta(days=367)))
        carried: dict[str, ir.Scalar] = {}
        keys: dict[str, set[str]] = {}
        for spec in readers:
            mine, other = partials_of(ctx, rows, [spec]), partials_of(probe, rows, [spec])
            keys[spec.name] = set(mine)
            carried.update({k: e for k, e in mine.items() if _merge(e) and e.op() == other[k].op()})
        out = []
        scanned = [spec for spec in readers if keys[spec.name] - set(carried)]
        if scanned:
            rows = tables.table(source, since=earliest(ctx, scanned))
            partials = {k: e for k, e in partials_of(ctx, rows, scanned).items() if k not in carried}
            out.append(rows.group_by("customer_id").aggregate(**partials))
        if carried:
            bringing = [spec for spec in readers if keys[spec.name] & set(carried)]
            state = self._carry(ctx, tables, source, bringing, set(carried))
            out.append(state.select("customer_id", **{k: state[k].cast(e.type()) for k, e in carried.items()}))
        return out

    def _carry(
        self, ctx: Context, tables: PointInTime, source: str, specs: list[Feature], carried: set[str]
    ) -> ibis.Table:
        """The source's state brought to D: the rows since the last date merged into it (all rows the first time)."""
        old = self._states.get(source)
        rows = tables.table(source, since=None if old is None else old.end)
        aggregates = {key: _merge(e) for key, e in sorted(partials_of(ctx, rows, specs).items()) if key in carried}
        kinds = {key: (merge, expr.type()) for key, (expr, merge) in aggregates.items()}
        if old is not None and old.kinds != kinds:  # other partials than last time: start again from all rows
            old.held.release()
            del self._states[source]
            return self._carry(ctx, tables, source, specs, carried)
        columns: dict[str, ir.Scalar] = {}
        for key, (expr, _) in aggregates.items():
            columns[key] = expr
            op = expr.op()
            if isinstance(op, (ops.ArgMin, ops.ArgMax)):
                columns[key + KEY] = (ops.Min if isinstance(op, ops.ArgMin) else ops.Max)(op.key, where=op.where).to_expr()
        state = rows.group_by("customer_id").aggregate(**columns)
        if old is not None:
            both = ibis.union(old.held.table, state.cast(old.held.table.schema()), distinct=False)
            state = both.group_by("customer_id").aggregate(**_merged(both, kinds))
        held = self._stage(state)
        if old is not None:
            old.held.release()
        self._states[source] = _State(held, kinds, ctx.as_of.end)
        return held.table


def _merge(expr: ir.Scalar) -> tuple[ir.Scalar, str] | None:
    """(the aggregate to carry, how two of its results merge), None when it cannot be carried."""
    op = expr.op()
    if isinstance(op, ops.Cast) and isinstance(op.arg, ops.Sum) and op.arg.dtype == EXACT:
        return op.arg.to_expr(), "sum"  # an exact float sum: the decimal total is carried, read back as a float
    merge = MERGES.get(type(op))
    return (expr, merge) if merge else None


def _merged(t: ibis.Table, kinds: dict[str, tuple[str, ibis.DataType]]) -> dict[str, ir.Scalar]:
    """Each carried partial over the union of the old state and the new slice's partials."""
    out: dict[str, ir.Scalar] = {}
    for key, (merge, dtype) in kinds.items():
        if merge in ("argmin", "argmax"):
            order = t[key + KEY]
            out[key] = getattr(t[key], merge)(order, where=order.notnull()).cast(dtype)
            out[key + KEY] = (order.min() if merge == "argmin" else order.max()).cast(order.type())
        else:
            out[key] = getattr(t[key], merge)().cast(dtype)
    return out
