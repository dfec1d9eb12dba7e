"""One customer's features at one instant, by the features stage's own SQL, in a few milliseconds.

Two costs are avoided. Building and compiling the features expression takes ~100 ms
and bakes the instant in as literals; but within one calendar day the instant only
moves the end of the visible range (windows are whole days), so the SQL is compiled
once per day at two probe instants, and literals that differ by the same offset from
the probe become parameters. If the compilations differ in any other way the template
is refused and each event compiles its own SQL: slower, never wrong.

And running every feature's SQL for one customer still costs ~20 ms of engine overhead.
An event only changes features that read events, so those (the *dynamic* ones) run per
event on the customer's rows; the others (*static*: profile, orders, consents) are
computed for the whole base once per day as of midnight, and reused for a customer
unless one of their rows is stamped between midnight and the instant, in which case
they are computed on the customer's rows too. Either way the values are the features'
own, so batch and real time agree.

The SQL runs on the store's private in-memory engine (store/engines/local.py) where the
knowledge-base table names are views of the customer's rows, so no other customer is ever read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from segmento.audiences.evaluate import FeatureSource, Lookback
from segmento.audiences.replica import STAMPS, plain
from segmento.store.engines import local
from segmento.store.memory import release_memory
from segmento.store.slices import read_sliced, within
from segmento.store.registry import REGISTRY
from segmento.store.schema import TABLES

_PROBES = (time(3, 17, 29, 113_457), time(20, 41, 53, 886_542))
ONE_TICK = timedelta(microseconds=1)


# tables that hold no customer's rows but that features read (the predictive traits' scores of
# purchase histories): the local engine sees them whole, as the day's compilation left them
SHARED = tuple(name for name in REGISTRY if name not in TABLES)


def tables_read(sql: str) -> set[str]:
    return local.tables_read(sql, TABLES)


class SliceQuery:
    """Some features of one customer, by the features' SQL run on that customer's rows only."""

    def __init__(self, con: BaseBackend, source: FeatureSource, names: Sequence[str]) -> None:
        self.con = con
        self.source = source
        self.names = list(names)
        self.local = local.LocalQuery()
        self.templates: dict[date, local.Template | None] = {}
        self.compiled_per_event = 0
        self.tables: set[str] = set()
        self.shared: dict[str, pa.Table] = {}  # SHARED tables the SQL reads, as of the day's compilation
        self.shared_day: date | None = None

    def sql(self, at: datetime) -> str:
        return local.compile_local(self.source(self.con, at, self.names))

    def template(self, day: date) -> local.Template | None:
        if day not in self.templates:
            probes = tuple(datetime.combine(day, t) for t in _PROBES)
            self.templates[day] = local.make_template(self.sql(probes[0]), self.sql(probes[1]), probes)
        return self.templates[day]

    def columns(self, at: datetime) -> dict[str, list[str]]:
        """Columns of each table the SQL reads: dropping any of them makes it fail.

        Only columns named in the SQL are tried (a column never named cannot be read)."""
        sql = self.sql(at)
        self.tables = tables_read(sql)
        self.shared = {name: REGISTRY[name].schema.to_pyarrow().empty_table() for name in local.tables_read(sql, SHARED)}
        full = {name: TABLES[name].schema.to_pyarrow().empty_table() for name in TABLES}
        needed: dict[str, list[str]] = {}
        for name in self.tables:
            table = full[name]
            needed[name] = []
            for column in (c for c in table.column_names if local.named(sql, c)):
                try:
                    self.run(dict(full, **{name: table.drop_columns([column])}), at)
                except local.LocalError:
                    needed[name].append(column)
        self.run(full, at)  # leave every view whole
        return needed

    def run(self, rows: Mapping[str, pa.Table], at: datetime) -> list[dict[str, Any]]:
        template = self.template(at.date())  # compiling may add rows to shared tables (new histories scored)
        plain_rows = {name: plain(table) for name, table in {**rows, **self._shared(at.date())}.items()}
        if template is None:
            self.compiled_per_event += 1
            return self.local.run(plain_rows, self.sql(at))
        return self.local.run(plain_rows, template.sql, template.parameters(at))


    def _shared(self, day: date) -> dict[str, pa.Table]:
        """The shared tables the SQL reads, read again once a day (after that day's compilation)."""
        if self.shared and self.shared_day != day:
            self.shared = {name: self.con.table(name).to_pyarrow() for name in self.shared}
            self.shared_day = day
        return self.shared


_SPLITS: dict[int, frozenset[str]] = {}  # hash of the features' SQL -> those that read events


def _reading_events(con: BaseBackend, source: FeatureSource, names: Sequence[str]) -> frozenset[str]:
    """The features whose SQL reads the events table (one compilation each, remembered per definition)."""
    probe = datetime.combine(date.today(), _PROBES[0])
    key = hash(local.compile_local(source(con, probe, list(names))))
    if key not in _SPLITS:
        _SPLITS[key] = frozenset(n for n in names if "events" in tables_read(local.compile_local(source(con, probe, [n]))))
    return _SPLITS[key]


@dataclass
class _Day:
    """Static features of every customer as of one day's midnight."""

    midnight: datetime
    table: pa.Table
    row_of: np.ndarray  # replica customer position -> row in table, -1 when not a customer that day
    moved: np.ndarray  # replica customer position -> earliest row static features read stamped after midnight


class CustomerFeatures:
    """Features ``names`` of one customer at an instant: dynamic per event, static once per day."""

    def __init__(self, con: BaseBackend, source: FeatureSource, names: Sequence[str],
                 lookback: Lookback | None = None) -> None:
        self.con = con
        self.source = source
        self.lookback = lookback
        reads_events = _reading_events(con, source, names)
        self.dynamic = SliceQuery(con, source, [n for n in names if n in reads_events])
        self.static = SliceQuery(con, source, [n for n in names if n not in reads_events])
        self.day: _Day | None = None
        self.recomputed = 0  # static features computed per event (a static row stamped since midnight)

    @property
    def compiled_per_event(self) -> int:
        return self.dynamic.compiled_per_event + self.static.compiled_per_event

    def columns(self, at: datetime) -> dict[str, list[str]]:
        """Columns of each table either query reads."""
        needed: dict[str, list[str]] = {}
        for query in (self.static, self.dynamic):
            for table, columns in query.columns(at).items():
                needed[table] = list(dict.fromkeys([*needed.get(table, []), *columns]))
        return needed

    def since(self, at: datetime, table: str) -> datetime | None:
        """The earliest row of ``table`` the dynamic features read at ``at`` or later (None: all of them)."""
        if table not in self.dynamic.tables:
            return at
        return self.lookback(at, self.dynamic.names, table) if self.lookback is not None else None

    def prepare(self, day: date, customer_ids: pa.ChunkedArray) -> None:
        """Static features of the whole base as of ``day``'s midnight (one batch query per day)."""
        if self.day is not None and self.day.midnight.date() == day:
            return
        self.day = None  # the day before's goes before this one's is read
        midnight = datetime.combine(day, time())
        static = self.source(self.con, midnight, self.static.names)
        table = read_sliced(lambda bounds: static.filter(within(static.customer_id, bounds)), customer_ids)
        row_of = pc.fill_null(pc.index_in(customer_ids, value_set=table.column("customer_id")), -1).to_numpy()
        self.day = _Day(midnight, table, row_of, self._moved_after(midnight, customer_ids))
        release_memory()

    def _moved_after(self, midnight: datetime, customer_ids: pa.ChunkedArray) -> np.ndarray:
        """Per customer, the earliest row the static features read stamped after ``midnight`` (NaT: none),
        so that an event never needs the customer's static rows to know the day's values still hold."""
        moved = np.full(len(customer_ids), np.datetime64("NaT"), dtype="datetime64[us]")
        stamped = self.static.tables & set(STAMPS) | ({"orders"} if "order_lines" in self.static.tables else set())
        parts = [t.filter(t[STAMPS[name]] > midnight).select("customer_id", stamp=t[STAMPS[name]].cast("timestamp"))
                 for name in sorted(stamped) for t in [self.con.table(name)]]  # fmt: skip
        if parts:
            rows = ibis.union(*parts).group_by("customer_id").aggregate(first=lambda t: t.stamp.min()).to_pyarrow()
            position = pc.index_in(rows.column("customer_id"), value_set=customer_ids)
            known = pc.is_valid(position)
            moved[pc.filter(position, known).to_numpy()] = pc.filter(rows.column("first"), known).to_numpy()
        return moved

    def compute(self, customer: int, customer_ids: pa.ChunkedArray, rows: Mapping[str, pa.Table],
                at: datetime) -> dict[str, Any] | None:
        """The customer's features at ``at``, or None when not a customer yet then."""
        by_day = self.by_day(at.date())
        if by_day:
            self.prepare(at.date(), customer_ids)
            assert self.day is not None
        if not by_day or self.day.moved[customer] <= np.datetime64(at):
            self.recomputed += by_day
            found = self.static.run({t: rows[t] for t in self.static.tables}, at)
            static = found[0] if found else None
        else:
            position = self.day.row_of[customer]
            static = self.day.table.slice(position, 1).to_pylist()[0] if position >= 0 else None
        if static is None:
            return None
        if not self.dynamic.names:
            return static
        dynamic = self.dynamic.run({t: rows[t] for t in self.dynamic.tables}, at)
        return {**static, **dynamic[0]} if dynamic else None

    def by_day(self, day: date) -> bool:
        """Whether static features can come from the day's batch: the instant only bounds what is visible.

        The day's template then has one parameter, the end of the visible range (instant + 1 µs)."""
        template = self.static.template(day)
        return template is not None and set(template.offsets) <= {ONE_TICK}
