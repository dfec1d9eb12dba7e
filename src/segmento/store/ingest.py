"""Ingestion: map, validate, dedupe and load a source into a knowledge-base table.

Nothing is lost: every input row ends up loaded, counted as an exact duplicate of a row
already held, or rejected into the ``quarantine`` table with its file, line, field,
reason and raw values. ``rows_in == loaded + duplicates + rejected (+ suppressed)`` for
every run, and re-running the same source changes no table.

All or nothing: the files are read whole and staged in temporary tables, checked there,
and only then are the rows, the quarantine and the run log written in one transaction.
A run that fails or is killed at any moment leaves the base as it was.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.store.backend import append, staged, transaction
from segmento.store.checks import DUPLICATE, LOADED, REJECTED, classify
from segmento.store.currency import read_rates
from segmento.store.options import IngestOptions, Syntax, options_from
from segmento.store.prepare import RAW, ROW, resolve_mapping, stage
from segmento.store.quarantine import held_rows, keep_rejected, superseded
from segmento.store.report import IngestionReport
from segmento.store.schema import TableSpec, table_spec
from segmento.store.sources import LINE, Source, SourceError, SourceReader, TextFormat, open_sources
from segmento.store.suppression import Suppression

__all__ = ["IngestionReport", "Source", "SourceError", "ingest", "run_checked"]


def ingest(
    con: BaseBackend,
    table: str,
    source: Source,
    *,
    progress: bool = False,
    syntax: Syntax | None = None,
    outcomes: bool = False,
    suppression: Suppression | None = None,
    **options: Any,
) -> IngestionReport:
    """Load ``source`` into ``table``; see the module docstring for the guarantees.

    ``options`` are those of ``IngestOptions`` (``columns`` maps our column names to the
    source's, only those that differ). ``outcomes=True`` keeps each row's status by line.
    """
    syntax = syntax or Syntax()
    spec = table_spec(table)
    opts = options_from(syntax, **options)
    started = time.perf_counter()
    with _phases(progress, f"{table}: reading") as phase:
        readers = open_sources(source, _text_format(opts, syntax))
        mappings = [resolve_mapping(spec, reader, opts, syntax) for reader in readers]
        used = {src for mapping in mappings for src in mapping.values()}
        report = IngestionReport(
            uuid.uuid4().hex[:12], table, _describe(source, readers),
            ignored_columns=sorted({c for r in readers for c in r.columns if c not in used} - _id_columns(opts)),
            files=[r.name for r in readers],
        )
        staged_rows = _staged(spec, readers, mappings, opts)
        suppression = suppression or Suppression.of_base(con)
        if suppression is not None:  # erased customers' rows: counted, stored nowhere
            raw = {c: RAW + c for c in spec.column_names if RAW + c in staged_rows.column_names}
            staged_rows, report.suppressed = suppression.drop(spec.name, staged_rows, raw)
            for reader in readers:
                kept = [b for b in reader.broken if not suppression.line(b.text)]
                report.suppressed += len(reader.broken) - len(kept)
                reader.broken = kept
        phase(f"{table}: checking {staged_rows.num_rows:,} rows")
        run_checked(con, spec, staged_rows, opts, readers, report, outcomes=outcomes, syntax=syntax)
    report.seconds = time.perf_counter() - started
    return report


def _text_format(opts: IngestOptions, syntax: Syntax) -> TextFormat:
    if not opts.header and not opts.names:
        raise SourceError(f"a file without a header needs its column names: {syntax.assign('names', 'a,b,c')}")
    return TextFormat(opts.delimiter, opts.encoding, opts.names, opts.header, syntax.assign("encoding", "latin-1"))


def _id_columns(opts: IngestOptions) -> set[str]:
    return set(opts.id_from) if isinstance(opts.id_from, list) else set()


def _describe(source: Source, readers: list[SourceReader]) -> str:
    if len(readers) == 1:
        return readers[0].name
    return f"{source} ({len(readers)} files)"


def _staged(spec: TableSpec, readers: list[SourceReader], mappings: list[dict[str, str]], opts: IngestOptions) -> pa.Table:
    """All sources' staged rows as one Arrow table (columns a file lacks are NULL)."""
    parts, first = [], 0
    for number, (reader, mapping) in enumerate(zip(readers, mappings)):
        parts.append(stage(spec, reader, mapping, opts, first, number))
        first += reader.table.num_rows
    try:
        return pa.concat_tables(parts, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # the same column typed differently in two files
        return pa.concat_tables([p.cast(pa.schema([(f.name, _as_text(f.type)) for f in p.schema])) for p in parts],
                                promote_options="permissive")


def _as_text(kind: pa.DataType) -> pa.DataType:
    """Raw values as text, our integer helpers (source, row, line) as they are."""
    return kind if kind in (pa.int32(), pa.int64()) else pa.string()


def run_checked(
    con: BaseBackend,
    spec: TableSpec,
    rows: pa.Table,
    opts: IngestOptions,
    readers: list[SourceReader],
    report: IngestionReport,
    *,
    outcomes: bool = False,
    keep: bool = True,
    also: Any = None,
    syntax: Syntax | None = None,
) -> None:
    """Stage ``rows``, classify them, then write rows, quarantine and run log in one transaction.

    ``keep=False`` writes neither quarantine nor run log (rows re-checked from the
    quarantine are held already); ``also(con, classified)`` runs in the same transaction.
    """
    names = {number: reader.name for number, reader in enumerate(readers)}
    rates = read_rates(opts.rates, syntax or Syntax())
    with (
        staged(con, rows) as source,
        staged(con, rates) if rates is not None else nullcontext() as rates_table,
        staged(con, classify(con, source, spec, opts, names, rates_table, syntax)) as classified,
    ):
        by_status = classified.group_by("_status").agg(n=ibis._.count()).to_pyarrow().to_pylist()
        counts = {row["_status"]: row["n"] for row in by_status}
        rejected = held_rows(classified, spec, readers, report) if keep else []
        broken = [(number, b) for number, reader in enumerate(readers) for b in reader.broken]
        report.rows_in = rows.num_rows + len(broken) + report.suppressed
        report.loaded, report.duplicates = counts.get(LOADED, 0), counts.get(DUPLICATE, 0)
        report.rejected = counts.get(REJECTED, 0) + len(broken)
        if outcomes:
            report.outcomes = _outcomes(classified)
        replaced = superseded(con, spec, readers) if keep else None
        with transaction(con):
            if report.loaded:
                loaded = classified.filter(classified._status == LOADED).order_by(ROW)
                append(con, spec.name, loaded.select(*spec.column_names))
            if keep:
                keep_rejected(con, spec, report, rejected, broken, readers, replaced)
                _log_run(con, report)
            if also is not None:
                also(con, classified)


def _outcomes(classified: ibis.Table) -> dict[int, tuple[str, str | None]]:
    rows = classified.select(LINE, "_status", "_field", "_reason").to_pyarrow().to_pylist()
    return {
        r[LINE]: (r["_status"], f"{r['_field']}: {r['_reason']}" if r["_field"] else r["_reason"]) for r in rows
    }


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
        "suppressed": [report.suppressed],
    }
    append(con, "ingestions", pa.table(row))


@contextmanager
def _phases(enabled: bool, first: str) -> Iterator[Any]:
    """A spinner naming the current phase on the terminal, or nothing when progress is off."""
    if not enabled:
        yield lambda text: None
        return
    from rich.console import Console

    with Console(stderr=True).status(first) as status:
        yield status.update
