"""Hostile inputs never give a traceback, and the counts always balance.

Hypothesis writes CSV files with hostile values (NULL look-alikes, non-finite numbers,
far dates, quotes, line breaks, NULs, stray bytes), ragged rows, blank lines, mixed line
ends and BOMs, and frames with mixed columns. Either the run is refused with one of our
errors and the base is unchanged, or every row is counted once: rows in = loaded +
duplicates + rejected, and every rejected row is held with its file, line and reason,
at a line where Python's csv module (the oracle) sees a record start.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segmento
from segmento.errors import SegmentoError

HEADER = ["order_id", "customer_id", "ordered_at", "amount", "channel"]
HOSTILE = [
    "", " ", "NA", "N/A", "NULL", "nan", "#N/A", "inf", "-inf", "Infinity", "1e309", "-1", "0", "12,50", "1 234.5",
    "99999-01-01", "2024-02-30", "1899-12-31", "2024-01-01 10:00:00", "19970101", "O1", "C1", "C2", "web", "store",
    '"', '""', "a\nb", "a\r\nb", "x,y", "\x00", "é", "\ufeff", "'; DROP TABLE orders; --", "9" * 40,
]
field = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8))
row = st.lists(field, min_size=3, max_size=7)
ENDINGS = ["\n", "\r\n", "\r"]


def quoted(value: str) -> str:
    if any(ch in value for ch in ',"\r\n') or value.strip() != value:
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_bytes(draw) -> bytes:
    """A CSV file, mostly well-formed, with damage of several kinds."""
    ending = draw(st.sampled_from(ENDINGS))
    lines = [",".join(HEADER)]
    for cells in draw(st.lists(row, max_size=25)):
        kind = draw(st.sampled_from(["good", "good", "good", "ragged", "blank", "raw"]))
        if kind == "blank":
            lines.append("")
        elif kind == "raw":  # unquoted, whatever it breaks
            lines.append(",".join(cells))
        else:
            width = len(HEADER) if kind == "good" else len(cells)
            lines.append(",".join(quoted(c) for c in (cells + [""] * 5)[:width]))
    data = ending.join(lines).encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    damage = draw(st.sampled_from(["none", "none", "latin1", "nul", "truncate"]))
    if damage == "latin1":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\xe9" + data[at:]
    elif damage == "nul":
        data = data.replace(b",", b"\x00,", 1)
    elif damage == "truncate":
        data = data[: draw(st.integers(1, max(len(data), 1)))]
    return data + (ending.encode() if draw(st.booleans()) else b"")


def record_starts(data: bytes) -> set[int]:
    """Lines where Python's csv module starts a record (the oracle for quarantine lines)."""
    text = data.decode("utf-8").removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, start = set(), 1
    for record in reader:
        if record:
            starts.add(start)
        start = reader.line_num + 1
    return starts


def counts(ws) -> dict[str, int]:
    return {name: ws.table(name).count().execute() for name in ("orders", "quarantine", "ingestions")}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("fuzz")
    return directory


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=csv_bytes(), null_tokens=st.sampled_from([[], ["NA"], ["NULL", "#N/A"]]))
def test_hostile_csv_never_tracebacks_and_counts_balance(base, data, null_tokens):
    path = base / "orders.csv"
    path.write_bytes(data)
    with segmento.connect(base / "fuzz.duckdb") as ws:
        if not ws.table("customers").count().execute():
            ws.ingest("customers", pd.DataFrame({"customer_id": ["C1", "C2"], "signup_date": ["2023-01-01"] * 2}))
        before = counts(ws)
        try:
            report = ws.ingest("orders", path, null_tokens=null_tokens)
        except SegmentoError as error:
            assert str(error) and "\n" not in str(error)
            assert counts(ws) == before  # refused whole: nothing loaded, nothing held, nothing logged
            return
        assert report.rows_in == report.loaded + report.duplicates + report.rejected
        held = ws.table("quarantine")
        mine = held.filter(held.ingestion_id == report.ingestion_id).to_pyarrow().to_pylist()
        assert len(mine) <= report.rejected  # a row held already for the same reason stays as it was
        assert counts(ws)["quarantine"] - before["quarantine"] <= report.rejected
        starts = record_starts(data)
        for row in mine:
            assert row["source"] == str(path) and row["reason"] and row["line"] in starts
        assert counts(ws)["ingestions"] == before["ingestions"] + 1


mixed = st.one_of(st.none(), st.integers(-10, 10**20), st.floats(allow_nan=True, allow_infinity=True),
                  st.sampled_from(HOSTILE), st.booleans())


@settings(max_examples=30, deadline=None)
@given(amounts=st.lists(mixed, min_size=1, max_size=10), dates=st.lists(mixed, min_size=1, max_size=10))
def test_frames_with_mixed_columns_quarantine_bad_rows_by_row_number(tmp_path_factory, amounts, dates):
    n = min(len(amounts), len(dates))
    frame = pd.DataFrame({"order_id": [f"O{i}" for i in range(n)], "customer_id": ["C1"] * n,
                          "ordered_at": pd.Series(dates[:n], dtype=object), "amount": pd.Series(amounts[:n], dtype=object),
                          "channel": ["web"] * n})
    with segmento.connect(tmp_path_factory.mktemp("frames") / "f.duckdb") as ws:
        ws.ingest("customers", pd.DataFrame({"customer_id": ["C1"], "signup_date": ["2023-01-01"]}))
        report = ws.ingest("orders", frame)
        assert report.rows_in == n == report.loaded + report.duplicates + report.rejected
        held = ws.table("quarantine").to_pyarrow().to_pylist()
        assert len(held) == report.rejected and all(1 <= r["line"] <= n and r["field"] for r in held)
