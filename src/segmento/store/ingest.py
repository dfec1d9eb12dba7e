"""Ingestion: map, validate, dedupe and load a source into a knowledge-base table.

Nothing is lost: every input row ends up loaded, counted as an exact duplicate of a row
already held, or rejected into the ``quarantine`` table with its file, line, field,
reason and raw values. ``rows_in == loaded + duplicates + rejected`` for every run, and
re-running the same source changes no table.

The checks are one Ibis expression per batch, so they run inside the engine.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from segmento.store.backend import append, staged, transaction
from segmento.store.registry import ERASED
from segmento.store.schema import Column, TableSpec, table_spec
from segmento.store.sources import LINE, BrokenRow, Source, SourceError, SourceReader, open_source

LOADED, DUPLICATE, REJECTED = "loaded", "duplicate", "rejected"
RAW = "_raw_"


@dataclass
class IngestionReport:
    """What one ingestion run did. ``rows_in == loaded + duplicates + rejected``."""

    ingestion_id: str
    table: str
    source: str
    rows_in: int = 0
    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0
    rejected_by_field: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.loaded + self.duplicates + self.rejected

    def __str__(self) -> str:
        text = (
            f"{self.table} <- {self.source}: {self.rows_in:,} in, {self.loaded:,} loaded, "
            f"{self.duplicates:,} duplicates, {self.rejected:,} rejected ({self.seconds:.1f}s)"
        )
        if self.rejected_by_field:
            text += "; rejected by field: " + ", ".join(f"{k} {v:,}" for k, v in self.rejected_by_field.items())
        return text


def ingest(
    con: BaseBackend,
    table: str,
    source: Source,
    *,
    columns: dict[str, str] | None = None,
    date_format: str | None = None,
    timestamp_format: str | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    progress: bool = False,
    batch_rows: int | None = None,
) -> IngestionReport:
    """Load ``source`` into ``table``; see the module docstring for the guarantees.

    ``columns`` maps our column names to the source's (only those that differ).
    """
    spec = table_spec(table)
    reader = open_source(source, delimiter=delimiter, encoding=encoding, **({"batch_rows": batch_rows} if batch_rows else {}))
    mapping = _resolve_mapping(spec, reader, columns or {}, delimiter)
    report = IngestionReport(
        uuid.uuid4().hex[:12],
        table,
        reader.name,
        ignored_columns=[c for c in reader.columns if c not in mapping.values()],
    )
    started = time.perf_counter()
    formats = {"date": date_format, "timestamp": timestamp_format}
    with _progress_bar(progress, f"{table} <- {reader.name}") as advance:
        for batch in reader.batches:
            prepared = _prepare(batch, spec, mapping, formats)
            _load_batch(con, spec, prepared, mapping, formats, report)
            advance(batch.num_rows)
        _quarantine_broken(con, spec, reader, report)
    report.seconds = time.perf_counter() - started
    _log_run(con, report)
    return report


def _resolve_mapping(
    spec: TableSpec, reader: SourceReader, columns: dict[str, str], delimiter: str | None
) -> dict[str, str]:
    """Our column -> the source's column, checking the user's mapping and required columns."""
    unknown = sorted(set(columns) - set(spec.column_names))
    if unknown:
        raise SourceError(
            f"{reader.name}: column mapping names {', '.join(map(repr, unknown))}, not a column of "
            f"{spec.name}; valid: {', '.join(spec.column_names)}"
        )
    mapping = {name: columns.get(name, name) for name in spec.column_names}
    present = {name: src for name, src in mapping.items() if src in reader.columns}
    missing = [name for name in spec.column_names if spec.column(name).required and name not in present]
    if missing:
        described = ", ".join(
            repr(name) if mapping[name] == name else f"{name!r} (mapped from {mapping[name]!r})" for name in missing
        )
        hint = ""
        if len(reader.columns) == 1 and any(d in reader.columns[0] for d in ",;\t|"):
            hint = f"; the header is one field, so the delimiter is probably not {delimiter or ','!r}"
        raise SourceError(
            f"{reader.name}, line 1: missing required column {described} for table {spec.name}; "
            f"the source has: {', '.join(reader.columns)}{hint}. Map columns with columns={{ours: theirs}}."
        )
    return present


def _prepare(batch: pa.Table, spec: TableSpec, mapping: dict[str, str], formats: dict[str, str | None]) -> pa.Table:
    """Rename to our columns, keep the raw values, and parse user date formats in Arrow."""
    arrays: dict[str, pa.Array] = {LINE: batch[LINE]}
    for column in spec.columns:
        if column.name not in mapping:
            continue
        raw = batch[mapping[column.name]]
        if pa.types.is_null(raw.type):
            raw = raw.cast(pa.string())
        arrays[RAW + column.name] = raw
        fmt = formats.get(column.type)
        if fmt and pa.types.is_string(raw.type):
            arrays["_fmt_" + column.name] = _strptime(raw, fmt)
    return pa.table(arrays)


def _strptime(raw: pa.ChunkedArray, fmt: str) -> pa.ChunkedArray:
    """Parse with a user format; NULL where it does not match or names an impossible date.

    Arrow's strptime rolls 31/02 over to 02/03, so a value only counts as parsed when
    formatting it back gives the same text (leading zeros aside).
    """
    parsed = pc.strptime(raw, format=fmt, unit="us", error_is_null=True)
    unpadded = r"(^|[^0-9])0+([0-9])"
    same = pc.equal(
        pc.replace_substring_regex(pc.strftime(parsed, format=fmt), unpadded, r"\1\2"),
        pc.replace_substring_regex(pc.utf8_trim_whitespace(raw), unpadded, r"\1\2"),
    )
    return pc.if_else(same, parsed, pa.scalar(None, parsed.type))


def _parsed(t: ibis.Table, column: Column, mapping: dict[str, str]) -> ibis.Value:
    """The typed value of a column: NULL when missing or not parseable."""
    if column.name not in mapping:
        return ibis.null(column.dtype)
    if "_fmt_" + column.name in t.columns:
        return t["_fmt_" + column.name].cast(column.dtype)
    raw = t[RAW + column.name]
    if column.type == "date":  # accept '2024-05-01 10:00' as a date too
        return raw.try_cast("timestamp").cast("date")
    if column.type == "string":
        return raw.cast("string")
    return raw.try_cast(column.dtype)


def _checks(
    con: BaseBackend, t: ibis.Table, spec: TableSpec, mapping: dict[str, str], formats: dict[str, str | None]
) -> list[tuple[ibis.BooleanValue, str, ibis.StringValue]]:
    """(failed?, field, reason) for every rule, in the order they are reported."""
    checks = []
    for column in spec.columns:
        value = t[column.name]
        shown = ibis.literal("'") + (t[RAW + column.name].cast("string") if column.name in mapping else "") + "'"
        if column.required:
            checks.append((value.isnull() & (t[RAW + column.name].isnull() if column.name in mapping else True),
                           column.name, ibis.literal("missing required value")))
        if column.name in mapping and column.type != "string":
            expected = f"date format {formats[column.type]}" if formats.get(column.type) else f"a valid {column.type}"
            checks.append((t[RAW + column.name].notnull() & value.isnull(), column.name,
                           shown + f" is not {expected}"))
        if column.allowed:
            checks.append((value.notnull() & ~value.isin(column.allowed), column.name,
                           shown + f" is not one of {', '.join(column.allowed)}"))
        if column.min_value is not None:
            checks.append((value < column.min_value, column.name,
                           shown + f" is below the minimum {column.min_value:g}"))
    if "customer_id" in spec.column_names and con.table(ERASED.name).count().execute():
        erased = con.table(ERASED.name).id_hash
        checks.append((t.customer_id.hexdigest("sha256").isin(erased), "customer_id",
                       ibis.literal("customer erased under GDPR; not loaded again")))
    for column_name, target in spec.references.items():
        target_key = table_spec(target).key[0]
        known = con.table(target)[target_key]
        value = t[column_name]
        checks.append((value.notnull() & ~value.isin(known), column_name,
                       ibis.literal(f"unknown {column_name} '") + value + f"' (not in {target})"))
    return checks


def _row_hash(t: ibis.Table, names: list[str]) -> ibis.IntegerValue:
    """A hash of a row's values, to tell an exact duplicate from a conflicting one."""
    parts = [t[name].cast("string").fill_null("∅") for name in names]
    return ibis.literal("|").join(parts).hash()


def _classify(
    con: BaseBackend, t: ibis.Table, spec: TableSpec, mapping: dict[str, str], formats: dict[str, str | None]
) -> ibis.Table:
    """Every row of the batch with its status (loaded/duplicate/rejected), field and reason."""
    t = t.mutate(**{c.name: _parsed(t, c, mapping) for c in spec.columns})
    checks = _checks(con, t, spec, mapping, formats)
    failed = ibis.cases(*((cond, name) for cond, name, _ in checks), else_=ibis.null("string"))
    reason = ibis.cases(*((cond, text) for cond, _, text in checks), else_=ibis.null("string"))
    t = t.mutate(_field=failed, _reason=reason)

    names = spec.column_names
    key = list(spec.key)
    window = ibis.window(group_by=key, order_by=LINE)
    valid = t.filter(t._reason.isnull())
    valid = valid.mutate(_hash=_row_hash(valid, names))
    valid = valid.mutate(
        _rank=ibis.row_number().over(window),
        _first_hash=valid._hash.first().over(window),
        _first_line=valid[LINE].first().over(window),
    )
    stored = con.table(spec.name)
    stored = stored.select(*key, _stored_hash=_row_hash(stored, names))
    valid = valid.left_join(stored, key).drop(*(f"{k}_right" for k in key))
    key_text = ibis.literal(", ".join(key) + " ") + ibis.literal("/").join([valid[k].cast("string") for k in key])
    repeat_of_line = valid._rank > 0
    status = ibis.cases(
        (repeat_of_line & (valid._hash == valid._first_hash), DUPLICATE),
        (repeat_of_line, REJECTED),
        (valid._stored_hash.isnull(), LOADED),
        (valid._stored_hash == valid._hash, DUPLICATE),
        else_=REJECTED,
    )
    conflict = ibis.cases(
        (repeat_of_line & (valid._hash != valid._first_hash),
         key_text + " already appears on " + ibis.literal("line ") + valid._first_line.cast("string")
         + " with different values"),
        (valid._stored_hash.notnull() & (valid._stored_hash != valid._hash),
         key_text + " is already loaded with different values"),
        else_=ibis.null("string"),
    )
    valid = valid.mutate(
        _status=status,
        _field=ibis.ifelse(conflict.notnull(), spec.key[0], ibis.null("string")),
        _reason=conflict,
    ).drop("_hash", "_first_hash", "_first_line", "_stored_hash", "_rank")
    invalid = t.filter(t._reason.notnull()).mutate(_status=ibis.literal(REJECTED))
    return valid.union(invalid.select(valid.columns))


def _load_batch(
    con: BaseBackend,
    spec: TableSpec,
    batch: pa.Table,
    mapping: dict[str, str],
    formats: dict[str, str | None],
    report: IngestionReport,
) -> None:
    """Classify one batch once (materialised), then load and quarantine in one transaction."""
    with staged(con, batch) as source, staged(con, _classify(con, source, spec, mapping, formats)) as classified:
        by_status = classified.group_by("_status").agg(n=ibis._.count()).to_pyarrow().to_pylist()
        counts = {row["_status"]: row["n"] for row in by_status}
        rejected = classified.filter(classified._status == REJECTED).order_by(LINE).to_pyarrow()
        rows = [
            {
                "line": record[LINE],
                "field": record["_field"],
                "reason": record["_reason"],
                "raw": {mapping[c]: record[RAW + c] for c in mapping},
            }
            for record in rejected.to_pylist()
        ]
        with transaction(con):
            if counts.get(LOADED):
                loaded = classified.filter(classified._status == LOADED).order_by(LINE)
                append(con, spec.name, loaded.select(*spec.column_names))
            _quarantine(con, spec, report, rows)
    report.rows_in += batch.num_rows
    report.loaded += counts.get(LOADED, 0)
    report.duplicates += counts.get(DUPLICATE, 0)
    report.rejected += counts.get(REJECTED, 0)


def _quarantine_broken(con: BaseBackend, spec: TableSpec, reader: SourceReader, report: IngestionReport) -> None:
    """CSV lines that did not even split into fields are rejected rows too."""
    if not reader.broken:
        return
    rows = [{"line": b.line, "field": None, "reason": b.reason, "raw": {"text": b.text}} for b in reader.broken]
    with transaction(con):
        _quarantine(con, spec, report, rows)
    report.rows_in += len(rows)
    report.rejected += len(rows)


def _quarantine(con: BaseBackend, spec: TableSpec, report: IngestionReport, rows: list[dict[str, Any]]) -> None:
    """Keep rejected rows with their reason; a row already quarantined from the same place is not kept twice."""
    if not rows:
        return
    for row in rows:
        row_field = row["field"] or "(row)"
        report.rejected_by_field[row_field] = report.rejected_by_field.get(row_field, 0) + 1
    frame = pa.table(
        {
            "ingestion_id": [report.ingestion_id] * len(rows),
            "table_name": [spec.name] * len(rows),
            "source": [report.source] * len(rows),
            "line": pa.array([r["line"] for r in rows], pa.int64()),
            "field": pa.array([r["field"] for r in rows], pa.string()),
            "reason": [r["reason"] for r in rows],
            "raw": [json.dumps(r["raw"], default=str, ensure_ascii=False) for r in rows],
        }
    )
    held = con.table("quarantine")
    same_place = ["table_name", "source", "line", "raw"]
    with staged(con, frame) as new:
        append(con, "quarantine", new.anti_join(held, same_place))


def _log_run(con: BaseBackend, report: IngestionReport) -> None:
    row = {
        "ingestion_id": [report.ingestion_id],
        "table_name": [report.table],
        "source": [report.source],
        "started_at": [datetime.now()],
        "rows_in": [report.rows_in],
        "loaded": [report.loaded],
        "duplicates": [report.duplicates],
        "rejected": [report.rejected],
    }
    append(con, "ingestions", pa.table(row))


class _progress_bar:
    """A rich progress bar over rows, or nothing when progress is off."""

    def __init__(self, enabled: bool, description: str) -> None:
        self.enabled = enabled
        self.description = description

    def __enter__(self):
        if not self.enabled:
            return lambda rows: None
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,} rows"), TimeElapsedColumn()
        )
        self.progress.__enter__()
        task = self.progress.add_task(self.description, total=None)
        return lambda rows: self.progress.advance(task, rows)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.progress.__exit__(*exc)
