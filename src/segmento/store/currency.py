"""Amounts in one currency, never a silent sum of euros and dollars.

With a project currency and a dated rates table, amounts in another currency are
converted with the latest rate on or before the order's day, and stored in the project
currency. With a project currency and no rates, rows in another currency are rejected
with the reason. With neither, a run whose amounts (with those already stored) are in
more than one currency is refused whole.
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from segmento.store.csvfile import SourceError
from segmento.store.options import IngestOptions, Syntax
from segmento.store.prepare import ROW
from segmento.store.schema import TableSpec
from segmento.store.sources import TextFormat, open_sources

RATE_COLUMNS = ("currency", "date", "rate")
CONVERTED = ("amount", "discount_amount")
HELPERS = ("_code", "_day", "_rate")  # dropped once the checks are made


def read_rates(rates: Any, syntax: Syntax) -> pa.Table | None:
    """The rates table (currency, date, rate) as Arrow; 1 unit of currency = rate project units."""
    if rates is None:
        return None
    [reader] = open_sources(rates, TextFormat())[:1]
    missing = [c for c in RATE_COLUMNS if c not in reader.columns]
    if missing:
        raise SourceError(f"{reader.name}: a rates table needs the columns currency, date, rate; "
                          f"missing {', '.join(missing)} ({syntax.option('rates')})")
    table = reader.table
    try:
        return pa.table({
            "currency": pc.utf8_upper(pc.utf8_trim_whitespace(table["currency"].cast(pa.string()))),
            "date": table["date"].cast(pa.string()).cast(pa.timestamp("us")).cast(pa.date32())
            if not pa.types.is_date(table["date"].type) else table["date"].cast(pa.date32()),
            "rate": table["rate"].cast(pa.float64()),
        })
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SourceError(f"{reader.name}: unreadable rates table ({exc}); dates as YYYY-MM-DD, rates as 1.0823") \
            from None


def convert(
    con: BaseBackend, t: ibis.Table, spec: TableSpec, options: IngestOptions, rates: ibis.Table | None,
    syntax: Syntax, source: str,
) -> tuple[ibis.Table, list[tuple[Any, str, Any, str]]]:
    """Amounts converted to the project currency, and the checks that reject what cannot be."""
    if "currency" not in spec.column_names or "_raw_currency" not in t.columns and not options.currency:
        return t, []
    code = t.currency.strip().upper()
    if options.currency is None:
        _refuse_mixed(con, t, spec, syntax, source)
        return t.mutate(currency=code), []
    home = options.currency
    code = code.fill_null(home)
    if rates is None:
        t = t.mutate(currency=code)
        reason = ibis.literal("amount in ") + t.currency + f", not the project currency {home}, and no rates table"
        return t, [(t.currency != home, "currency", reason, f"currency: not {home} and no rates table")]
    day = t[spec.time_column].cast("date") if spec.time_column else ibis.null("date")
    t = t.mutate(_code=code, _day=day)
    joined = t.left_join(rates, [t._code == rates.currency, rates.date <= t._day])
    latest = ibis.row_number().over(group_by=joined[ROW], order_by=joined.date.desc())
    joined = joined.mutate(_rank=latest).filter(ibis._._rank == 0)
    rate = ibis.ifelse(joined._code == home, ibis.literal(1.0), joined.rate)
    joined = joined.mutate(
        **{c: ibis.ifelse(rate.notnull(), joined[c] * rate, joined[c]) for c in CONVERTED if c in spec.column_names},
        currency=ibis.ifelse(rate.notnull(), ibis.literal(home), joined._code),
        _rate=rate,
    )
    t = joined.drop("_rank", "date", "rate", *(c for c in joined.columns if c.endswith("_right")))
    missing = t._rate.isnull()
    reason = (ibis.literal("no ") + t._code + " rate on or before " + t._day.cast("string")
              + " in the rates table")
    return t, [(missing, "currency", reason, f"currency: no rate to {home} in the rates table")]


def _refuse_mixed(con: BaseBackend, t: ibis.Table, spec: TableSpec, syntax: Syntax, source: str) -> None:
    incoming = t.filter(t.currency.notnull()).group_by(c=t.currency.strip().upper()).agg(n=ibis._.count())
    found = {row["c"]: row["n"] for row in incoming.to_pyarrow().to_pylist()}
    stored = con.table(spec.name)
    held = stored.filter(stored.currency.notnull()).select(c=stored.currency).distinct().to_pyarrow()
    codes = set(found) | set(held["c"].to_pylist())
    if len(codes) > 1:
        listed = ", ".join(f"{c} ({found[c]:,} rows)" if c in found else f"{c} (already stored)" for c in sorted(codes))
        raise SourceError(
            f"{source}: amounts in several currencies: {listed}; they are never summed as one. Give the project "
            f"currency and a rates table: {syntax.assign('currency', 'EUR')} {syntax.assign('rates', 'rates.csv')}"
        )
