"""Classify staged rows: loaded, duplicate or rejected (with field, reason and rule).

The checks are one Ibis expression over the whole staged run, so they run inside the
engine. ``_rule`` is the reason without the row's value ("amount: not a finite
number"), what reports count and ``quarantine --resolve`` selects on.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import ibis
from ibis.backends import BaseBackend

from segmento.store.currency import HELPERS, convert
from segmento.store.options import IngestOptions, Syntax
from segmento.store.prepare import FMT, NUM, RAW, ROW, SOURCE
from segmento.store.schema import Column, TableSpec, table_spec
from segmento.store.sources import LINE

LOADED, DUPLICATE, REJECTED = "loaded", "duplicate", "rejected"
UNKNOWN = "unknown "  # rules that wait for another table: "unknown customer_id (not in customers)"
KNOWN = "_known_"  # the referenced key found for a column, NULL when not (a helper, dropped from the result)

Check = tuple[Any, str, Any, str]  # failed?, field, reason, rule


def parsed(t: ibis.Table, column: Column) -> ibis.Value:
    """The typed value of a column: NULL when missing or not parseable."""
    if RAW + column.name not in t.columns:
        return ibis.null(column.dtype)
    for helper in (FMT, NUM):
        if helper + column.name in t.columns:
            return t[helper + column.name].try_cast(column.dtype)
    raw = t[RAW + column.name]
    if column.type == "date":  # accept '2024-05-01 10:00' as a date too
        return raw.try_cast("timestamp").cast("date")
    if column.type == "string":
        return raw.cast("string")
    return raw.try_cast(column.dtype)


def _shown(t: ibis.Table, column: Column) -> ibis.StringValue:
    return ibis.literal("'") + t[RAW + column.name].cast("string").fill_null("") + "'"


def _value_checks(t: ibis.Table, column: Column, options: IngestOptions) -> list[Check]:
    name, value = column.name, t[column.name]
    present = RAW + name in t.columns
    checks: list[Check] = []
    if column.required:
        missing = value.isnull() & (t[RAW + name].isnull() if present else ibis.literal(True))
        checks.append((missing, name, ibis.literal("missing required value"), f"{name}: missing required value"))
    if not present:
        return checks
    shown = _shown(t, column)
    if column.type != "string":
        fmt = options.date_format if column.type == "date" else options.timestamp_format
        if column.type in ("date", "timestamp") and fmt:
            expected = f"date format {fmt}"
        elif column.type in ("int", "float") and (options.decimal != "." or options.thousands):
            expected = f"a number with decimal {options.decimal!r}"
        else:
            expected = f"a valid {column.type}"
        checks.append((t[RAW + name].notnull() & value.isnull(), name, shown + f" is not {expected}",
                       f"{name}: not {expected}"))
    if column.type == "float":
        checks.append((value.isnan() | value.isinf(), name, shown + " is not a finite number",
                       f"{name}: not a finite number"))
    if column.type in ("date", "timestamp"):
        low, high = options.min_date, options.max_date
        lowest = ibis.literal(datetime.combine(low, time()))
        highest = ibis.literal(datetime.combine(high, time.max))
        out = (value.cast("timestamp") < lowest) | (value.cast("timestamp") > highest)
        checks.append((out, name, shown + f" is outside {low}..{high}", f"{name}: outside {low}..{high}"))
    if column.allowed:
        allowed = ", ".join(column.allowed)
        checks.append((value.notnull() & ~value.isin(column.allowed), name, shown + f" is not one of {allowed}",
                       f"{name}: not one of {allowed}"))
    if column.min_value is not None:
        checks.append((value < column.min_value, name, shown + f" is below the minimum {column.min_value:g}",
                       f"{name}: below the minimum {column.min_value:g}"))
    return checks


def _with_references(con: BaseBackend, t: ibis.Table, spec: TableSpec) -> ibis.Table:
    """Each referenced key looked up once, by an equi-join on the target's keys (``KNOWN + column``).

    Not ``NOT IN (SELECT key ...)``: its NULL semantics make Spark run it as a nested loop over
    both tables (every order line against every order), evaluated once per rule column.
    """
    for column, target in spec.references.items():
        keys = con.table(target)
        known = keys.select(**{KNOWN + column: keys[table_spec(target).key[0]]}).distinct()
        t = t.left_join(known, t[column] == known[KNOWN + column])
    return t


def _checks(t: ibis.Table, spec: TableSpec, options: IngestOptions) -> list[Check]:
    """Every rule, in the order they are reported (the first that fails is the row's reason)."""
    checks = [check for column in spec.columns for check in _value_checks(t, column, options)]
    for column_name, target in spec.references.items():
        value = t[column_name]
        checks.append((value.notnull() & t[KNOWN + column_name].isnull(), column_name,
                       ibis.literal(f"unknown {column_name} '") + value + f"' (not in {target})",
                       f"{UNKNOWN}{column_name} (not in {target})"))
    return checks


def row_hash(t: ibis.Table, names: list[str]) -> ibis.IntegerValue:
    """A hash of a row's values, to tell an exact duplicate from a conflicting one."""
    parts = [t[name].cast("string").fill_null("∅") for name in names]
    return ibis.literal("|").join(parts).hash()


def classify(con: BaseBackend, t: ibis.Table, spec: TableSpec, options: IngestOptions,
             names: dict[int, str], rates: ibis.Table | None = None, syntax: Syntax | None = None) -> ibis.Table:
    """Every staged row with its status (loaded/duplicate/rejected), field, reason and rule."""
    t = t.mutate(**{c.name: parsed(t, c) for c in spec.columns})
    t, money = convert(con, t, spec, options, rates, syntax or Syntax(), " + ".join(names.values()))
    t = _with_references(con, t, spec)
    checks = _checks(t, spec, options) + money
    t = t.mutate(
        _field=ibis.cases(*((cond, name) for cond, name, _, _ in checks), else_=ibis.null("string")),
        _reason=ibis.cases(*((cond, text) for cond, _, text, _ in checks), else_=ibis.null("string")),
        _rule=ibis.cases(*((cond, rule) for cond, _, _, rule in checks), else_=ibis.null("string")),
    )
    names_list = spec.column_names
    key = list(spec.key)
    window = ibis.window(group_by=key, order_by=ROW)
    valid = t.filter(t._reason.isnull())
    valid = valid.mutate(_hash=row_hash(valid, names_list))
    valid = valid.mutate(
        _rank=ibis.row_number().over(window),
        _first_hash=valid._hash.first().over(window),
        _first_line=valid[LINE].first().over(window),
        _first_source=valid[SOURCE].first().over(window),
    )
    stored = con.table(spec.name)
    stored = stored.select(*key, _stored_hash=row_hash(stored, names_list))
    valid = valid.left_join(stored, key).drop(*(f"{k}_right" for k in key))
    key_text = ibis.literal(", ".join(key) + " ") + ibis.literal("/").join([valid[k].cast("string") for k in key])
    first_place = ibis.literal("line ") + valid._first_line.cast("string")
    if len(names) > 1:
        source_name = ibis.cases(*((valid._first_source == no, name) for no, name in names.items()))
        first_place = first_place + ibis.literal(" of ") + source_name
    repeat = valid._rank > 0
    status = ibis.cases(
        (repeat & (valid._hash == valid._first_hash), DUPLICATE),
        (repeat, REJECTED),
        (valid._stored_hash.isnull(), LOADED),
        (valid._stored_hash == valid._hash, DUPLICATE),
        else_=REJECTED,
    )
    conflict_in_run = repeat & (valid._hash != valid._first_hash)
    conflict_stored = ~repeat & valid._stored_hash.notnull() & (valid._stored_hash != valid._hash)
    valid = valid.mutate(
        _status=status,
        _field=ibis.ifelse(conflict_in_run | conflict_stored, spec.key[0], ibis.null("string")),
        _reason=ibis.cases(
            (conflict_in_run, key_text + " already appears on " + first_place + " with different values"),
            (conflict_stored, key_text + " is already loaded with different values"),
            else_=ibis.null("string"),
        ),
        _rule=ibis.cases(
            (conflict_in_run, f"{spec.key[0]}: repeated in the file with different values"),
            (conflict_stored, f"{spec.key[0]}: already loaded with different values"),
            else_=ibis.null("string"),
        ),
    ).drop("_hash", "_first_hash", "_first_line", "_first_source", "_stored_hash", "_rank",
           *_helpers(valid))
    invalid = t.filter(t._reason.notnull()).mutate(_status=ibis.literal(REJECTED))
    invalid = invalid.drop(*_helpers(invalid))
    return valid.union(invalid.select(valid.columns))


def _helpers(t: ibis.Table) -> list[str]:
    return [c for c in t.columns if c in HELPERS or c.startswith(KNOWN)]
