"""A private in-memory DuckDB that runs one compiled query on a few rows, in milliseconds.

The real-time path computes one customer's features by the features stage's own query,
run here over that customer's rows only (the knowledge-base table names are views of
them, so no other customer is ever read). Compiling takes ~100 ms and bakes the instant
in as literals; so the query is compiled at two probe instants of one day, and the
timestamp literals that differ by the same offset from the probe become parameters.
Whatever engine holds the knowledge base, the query is compiled to DuckDB's SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import ibis
import pyarrow as pa

_LITERAL = re.compile(r"MAKE_TIMESTAMP\(([^()]*)\)|MAKE_DATE\(([^()]*)\)")
LocalError = duckdb.Error  # a query that cannot run on the rows given (e.g. a column left out)


def compile_local(expr: ibis.Table) -> str:
    """The expression as this engine's SQL (whatever backend it is bound to)."""
    return ibis.to_sql(expr, dialect="duckdb")


@dataclass(frozen=True)
class Template:
    """SQL with ``$n`` parameters, each the instant plus an offset."""

    sql: str
    offsets: tuple[timedelta, ...]

    def parameters(self, at: datetime) -> list[datetime]:
        return [at + offset for offset in self.offsets]


def _literal(match: re.Match[str]) -> datetime | date:
    if match.group(1) is not None:
        year, month, day, hour, minute, seconds = (float(p) for p in match.group(1).split(","))
        whole = int(seconds)
        micro = round((seconds - whole) * 1_000_000)
        return datetime(int(year), int(month), int(day), int(hour), int(minute), whole, micro)
    year, month, day = (int(p) for p in match.group(2).split(","))
    return date(year, month, day)


def make_template(first: str, second: str, probes: tuple[datetime, datetime]) -> Template | None:
    """The SQL of both probes with the literals that follow the instant as parameters, or None."""
    a, b = list(_LITERAL.finditer(first)), list(_LITERAL.finditer(second))
    if len(a) != len(b) or _LITERAL.sub("", first) != _LITERAL.sub("", second):
        return None
    pieces, offsets, last = [], [], 0
    for x, y in zip(a, b, strict=True):
        pieces.append(first[last : x.start()])
        last = x.end()
        vx, vy = _literal(x), _literal(y)
        if vx == vy:
            pieces.append(x.group(0))
            continue
        if not (isinstance(vx, datetime) and isinstance(vy, datetime)) or vx - probes[0] != vy - probes[1]:
            return None
        offsets.append(vx - probes[0])
        pieces.append(f"CAST(${len(offsets)} AS TIMESTAMP)")
    pieces.append(first[last:])
    return Template("".join(pieces), tuple(offsets))


def tables_read(sql: str, names: Iterable[str]) -> set[str]:
    """Which of ``names`` the SQL reads."""
    return {name for name in names if re.search(rf'\b(?:FROM|JOIN)\s+"{name}"', sql)}


def named(sql: str, column: str) -> bool:
    """Whether the SQL names ``column`` (a column never named cannot be read)."""
    return f'"{column}"' in sql


class LocalQuery:
    """Run SQL (or a template with the instant's parameters) over Arrow tables given by name."""

    def __init__(self) -> None:
        self.scratch = duckdb.connect(config={"threads": 1})
        self.scratch.execute("PRAGMA disable_optimizer")  # a few rows: planning costs more than it saves

    def run(self, rows: Mapping[str, pa.Table], sql: str, parameters: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self._execute(rows, sql, parameters)
        found = cursor.fetchall()
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in found]

    def table(self, rows: Mapping[str, pa.Table], sql: str) -> pa.Table:
        """The result as Arrow, each column's type as the engine gives it."""
        return self._execute(rows, sql, None).to_arrow_table()

    def _execute(self, rows: Mapping[str, pa.Table], sql: str, parameters: list[Any] | None) -> Any:
        for name, table in rows.items():
            self.scratch.register(name, table)
        return self.scratch.execute(sql, parameters) if parameters is not None else self.scratch.execute(sql)
