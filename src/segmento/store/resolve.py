"""Re-check held rows once what they waited for has arrived, load those that now pass.

An order rejected because its customer was not loaded yet is not wrong, only early.
``resolve`` checks such rows again against the base as it is now; those that pass are
loaded (or found already there) and cleared from the quarantine, in one transaction
with an entry in the audit log. The others stay, with their reason.
"""

from __future__ import annotations

import json
import uuid

import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.store.checks import DUPLICATE, LOADED
from segmento.store.gdpr import audit
from segmento.store.ingest import run_checked
from segmento.store.options import IngestOptions
from segmento.store.prepare import RAW, ROW, SOURCE
from segmento.store.quarantine import Resolved, clear, waiting
from segmento.store.report import IngestionReport
from segmento.store.schema import TABLES, table_spec
from segmento.store.sources import LINE, SourceReader


def resolve_quarantine(con: BaseBackend, table: str | None = None, actor: str = "library") -> list[Resolved]:
    """Re-check the held rows of ``table`` (every table, in load order, when None)."""
    results = []
    for name in [table_spec(table).name] if table else list(TABLES):
        held = waiting(con, name)
        if held.num_rows:
            results.append(_resolve(con, name, held, actor))
    return results


def _resolve(con: BaseBackend, name: str, held: pa.Table, actor: str) -> Resolved:
    spec = table_spec(name)
    values = [json.loads(text) for text in held["parsed"].to_pylist()]
    rows = pa.table({
        SOURCE: pa.array([0] * held.num_rows, pa.int32()),
        ROW: pa.array(range(held.num_rows), pa.int64()),
        LINE: held["line"],
        **{RAW + c: pa.array([None if v.get(c) is None else str(v[c]) for v in values], pa.string())
           for c in spec.column_names},
    })
    report = IngestionReport(uuid.uuid4().hex[:12], name, "quarantine")
    reader = SourceReader("quarantine", spec.column_names, rows, unit="row")

    def clear_passed(con: BaseBackend, classified) -> None:
        passed = classified.filter(classified._status.isin([LOADED, DUPLICATE])).select(ROW).to_pyarrow()
        clear(con, held.take(passed[ROW]))
        audit(con, actor, "quarantine_resolve", name,
              {"checked": report.rows_in, "loaded": report.loaded, "duplicates": report.duplicates,
               "still_held": report.rejected})

    run_checked(con, spec, rows, IngestOptions(), [reader], report, keep=False, also=clear_passed)
    return Resolved(name, report.rows_in, report.loaded, report.duplicates, report.rejected)
