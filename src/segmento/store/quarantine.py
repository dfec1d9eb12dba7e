"""The quarantine: rejected rows kept with file, line, field, reason and their raw values.

A row rejected only because what it refers to was not loaded yet (an order of an
unknown customer) also keeps its parsed values, so ``resolve`` can check it again once
the customer has arrived, load it, and clear it with an entry in the audit log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from segmento.store.backend import append, delete_matching
from segmento.store.checks import REJECTED, UNKNOWN
from segmento.store.csvfile import BrokenRow
from segmento.store.prepare import RAW, ROW, SOURCE
from segmento.store.report import IngestionReport
from segmento.store.schema import TableSpec
from segmento.store.sources import LINE, SourceReader

QUARANTINE = "quarantine"
IDS = ("customer_id", "order_id")  # what erasure and access find a held row by (as mapped, not as the file names them)
HELD = "_held_"


def held_rows(
    classified: ibis.Table, spec: TableSpec, readers: list[SourceReader], report: IngestionReport
) -> list[dict[str, Any]]:
    """The rejected rows of a run, with the source's own values (all its columns) as raw."""
    rejected = classified.filter(classified._status == REJECTED).order_by(ROW)
    waits = rejected._rule.startswith(UNKNOWN).fill_null(False)
    ids = {HELD + c: rejected[RAW + c].cast("string") for c in IDS if RAW + c in rejected.columns}
    rows = rejected.select(SOURCE, ROW, LINE, "_field", "_reason", "_rule", **ids,  # values only where they are sane
                           **{c: ibis.ifelse(waits, rejected[c], ibis.null(rejected[c].type())) for c in spec.column_names})
    records = rows.to_pyarrow().to_pylist()
    offsets = [0]
    for reader in readers:
        offsets.append(offsets[-1] + reader.table.num_rows)
    held = []
    by_source: dict[int, list[int]] = {}
    for record in records:
        by_source.setdefault(record[SOURCE], []).append(record[ROW] - offsets[record[SOURCE]])
    raws: dict[int, list[dict[str, Any]]] = {
        number: readers[number].table.drop_columns([LINE]).take(pa.array(indices)).to_pylist()
        for number, indices in by_source.items()
    }
    seen: dict[int, int] = {}
    for record in records:
        number = record[SOURCE]
        raw = raws[number][seen.get(number, 0)]
        seen[number] = seen.get(number, 0) + 1
        waits = bool(record["_rule"]) and record["_rule"].startswith(UNKNOWN)
        held.append({
            "source": readers[number].name,
            "line": record[LINE],
            "field": record["_field"],
            "reason": record["_reason"],
            "rule": record["_rule"],
            "raw": raw,
            "parsed": {c: record[c] for c in spec.column_names} if waits else None,
            **{c: record.get(HELD + c) for c in IDS},
        })
    return held


def keep_rejected(
    con: BaseBackend,
    spec: TableSpec,
    report: IngestionReport,
    rejected: list[dict[str, Any]],
    broken: list[tuple[int, BrokenRow]],
    readers: list[SourceReader],
    held_before: pa.Table,
) -> None:
    """Write rejected rows, replacing what was held for the same rows (see ``superseded``).

    A row rejected again for the same reason stays as it was held, so a re-run changes nothing.
    """
    rows = rejected + [
        {"source": readers[n].name, "line": b.line, "field": None, "reason": b.reason,
         "rule": "row: " + b.reason.split(",")[0] if b.reason.startswith("expected") else b.reason,
         "raw": {"text": b.text}, "parsed": None, "customer_id": None, "order_id": None}
        for n, b in broken
    ]
    reasons: dict[str, int] = {}
    for row in rows:
        field = row["field"] or "(row)"
        report.rejected_by_field[field] = report.rejected_by_field.get(field, 0) + 1
        reasons[row["rule"]] = reasons.get(row["rule"], 0) + 1
    report.reasons = dict(sorted(reasons.items(), key=lambda item: -item[1]))
    verdicts = {(r["source"], r["line"], r["reason"]) for r in rows}
    before = list(zip(held_before["source"].to_pylist(), held_before["line"].to_pylist(),
                      held_before["reason"].to_pylist()))
    clear(con, held_before.filter(pa.array([place not in verdicts for place in before], pa.bool_())))
    rows = [r for r in rows if (r["source"], r["line"], r["reason"]) not in set(before)]
    if not rows:
        return
    frame = pa.table(
        {
            "ingestion_id": [report.ingestion_id] * len(rows),
            "table_name": [spec.name] * len(rows),
            "source": [r["source"] for r in rows],
            "line": pa.array([r["line"] for r in rows], pa.int64()),
            "field": pa.array([r["field"] for r in rows], pa.string()),
            "reason": [r["reason"] for r in rows],
            "rule": [r["rule"] for r in rows],
            "raw": [json.dumps(r["raw"], default=str, ensure_ascii=False) for r in rows],
            "parsed": pa.array(
                [None if r["parsed"] is None else json.dumps(r["parsed"], default=str) for r in rows], pa.string()
            ),
            **{c: pa.array([r[c] for r in rows], pa.string()) for c in IDS},
        }
    )
    append(con, QUARANTINE, frame)


def superseded(con: BaseBackend, spec: TableSpec, readers: list[SourceReader]) -> pa.Table:
    """Held rows that this run reads again (same table, file, line and raw values).

    The run's verdict replaces theirs: a row that now loads is no longer held, a row
    rejected again is held once, with today's reason.
    """
    q = con.table(QUARANTINE)
    names = [r.name for r in readers]
    found = q.filter((q.table_name == spec.name) & q.source.isin(names))
    found = found.select("ingestion_id", "source", "line", "raw", "reason").to_pyarrow()
    if not found.num_rows:
        return found
    raws: dict[tuple[str, int], str] = {}
    for reader in readers:
        lines = found.filter(pc.equal(found["source"], reader.name))["line"].to_pylist()
        wanted = pc.is_in(reader.table[LINE], value_set=pa.array(lines, pa.int64()))
        rows = reader.table.filter(wanted)
        for line, raw in zip(rows[LINE].to_pylist(), rows.drop_columns([LINE]).to_pylist()):
            raws[(reader.name, line)] = json.dumps(raw, default=str, ensure_ascii=False)
        for b in reader.broken:
            raws[(reader.name, b.line)] = json.dumps({"text": b.text}, ensure_ascii=False)
    same = [raws.get((s, line)) == raw for s, line, raw in
            zip(found["source"].to_pylist(), found["line"].to_pylist(), found["raw"].to_pylist())]
    return found.filter(pa.array(same, pa.bool_()))


@dataclass
class Resolved:
    """What ``resolve`` did for one table: rows re-checked, loaded, already held, still held."""

    table: str
    checked: int
    loaded: int
    duplicates: int
    still_held: int

    def __str__(self) -> str:
        return (f"{self.table}: {self.checked:,} held rows re-checked, {self.loaded:,} loaded, "
                f"{self.duplicates:,} already in the base, {self.still_held:,} still held")


def waiting(con: BaseBackend, table: str) -> pa.Table:
    """Held rows of ``table`` that wait for a row of another table, with their parsed values."""
    held = con.table(QUARANTINE)
    rows = held.filter((held.table_name == table) & held.rule.startswith(UNKNOWN) & held.parsed.notnull())
    return rows.select("ingestion_id", "source", "line", "parsed").to_pyarrow()


def clear(con: BaseBackend, held: pa.Table) -> None:
    """Remove these held rows (by ingestion_id, source, line) from the quarantine."""
    delete_matching(con, QUARANTINE, held.select(["ingestion_id", "source", "line"]))
