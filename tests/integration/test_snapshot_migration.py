"""A database at layout version 6 (snapshot rows stored wide: version, label and rank on every
row) opened by this code: its snapshots are stored narrow afterwards, and every reader gets
back exactly the rows that were stored, period checks kept."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

import segmento
from segmento.dynamics.store import snapshots
from segmento.store.backend import append, open_backend
from segmento.store.registry import REGISTRY
from segmento.store.tables import MIGRATIONS, ensure_tables, stored_version

WIDE = ibis.schema({"period": "date", "segmentation": "string", "version": "int64", "customer_id": "string",
                    "segment_id": "string", "segment_label": "string", "segment_rank": "int64", "value": "float64"})
CHECKS_V6 = ibis.schema({"period": "date", "segmentation": "string", "complete": "boolean", "needs_from": "date",
                         "data_from": "date", "data_to": "date", "note": "string"})
PERIODS = [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]
LABELS = {  # (segmentation, version) -> segment id -> (label, rank); version 2 of value renames and reorders
    ("value", 1): {"top": ("Top", 1), "mid": ("Middle", 2), "low": ("Low", 3)},
    ("value", 2): {"top": ("Best", 1), "mid": ("Core", 3), "low": ("Low", 2)},
    ("rfm", 1): {"champions": ("Champions", 1), "lost": ("Lost", 2)},
}


def wide_rows() -> list[dict]:
    rng = random.Random(3)
    rows = []
    for period in PERIODS:
        for (name, version), segments in LABELS.items():
            if name == "value" and version != (1 if period < PERIODS[2] else 2):
                continue
            for i in range(60):
                if rng.random() < 0.1:  # not every customer in every period
                    continue
                segment = rng.choice(sorted(segments))
                label, rank = segments[segment]
                rows.append({"period": period, "segmentation": name, "version": version, "customer_id": f"C{i:03d}",
                             "segment_id": segment, "segment_label": label, "segment_rank": rank,
                             "value": round(rng.uniform(0, 900), 2)})
    return rows


def version_6(path: Path, rows: list[dict]) -> None:
    """The tables as layout 6 declared them, with snapshot rows and the checks of some periods."""
    con = open_backend(path)
    con.create_table("segment_snapshots", schema=WIDE)
    con.create_table("snapshot_periods", schema=CHECKS_V6)
    ensure_tables(con, MIGRATIONS[:6])
    con.drop_table("snapshot_segments")  # declared after layout 6
    assert stored_version(con) == (6, True)
    append(con, "segment_snapshots", pa.Table.from_pylist(rows, WIDE.to_pyarrow()))
    checks = [{"period": PERIODS[0], "segmentation": "value", "complete": False, "needs_from": date(2023, 2, 1),
               "data_from": date(2023, 6, 1), "data_to": date(2024, 3, 31), "note": "incomplete windows"},
              {"period": PERIODS[1], "segmentation": "value", "complete": True, "needs_from": date(2023, 3, 1),
               "data_from": date(2023, 6, 1), "data_to": date(2024, 3, 31), "note": ""}]
    append(con, "snapshot_periods", pa.Table.from_pylist(checks, CHECKS_V6.to_pyarrow()))  # rfm: never checked
    con.disconnect()


def key(row: dict) -> tuple:
    return row["period"], row["segmentation"], row["customer_id"]


def test_version_6_snapshots_read_the_same_after_the_migration(tmp_path: Path) -> None:
    rows = wide_rows()
    path = tmp_path / "old.duckdb"
    version_6(path, rows)
    with segmento.connect(path) as ws:
        assert stored_version(ws.con) == (MIGRATIONS[-1].version, True)
        stored = ws.table("segment_snapshots")
        assert stored.schema() == REGISTRY["segment_snapshots"].schema  # narrow now
        assert stored.count().execute() == len(rows)
        read = snapshots(ws.con).to_pyarrow().to_pylist()
        assert sorted(read, key=key) == sorted(rows, key=key)
        assert ws.periods("value") == PERIODS and ws.periods("rfm") == PERIODS
        checks = ws.period_checks().to_pandas().set_index(["segmentation", "period"]).sort_index()
        assert checks.at[("value", pd.Timestamp(PERIODS[0])), "complete"] == False  # noqa: E712 (numpy bool)
        assert checks.at[("value", pd.Timestamp(PERIODS[0])), "note"] == "incomplete windows"
        assert checks.at[("value", pd.Timestamp(PERIODS[2])), "version"] == 2
        assert pd.isna(checks.at[("rfm", pd.Timestamp(PERIODS[1])), "complete"])  # never checked, still not
        assert ws.con.table("snapshot_segments").count().execute() == sum(len(s) for s in LABELS.values())

        frame = pd.DataFrame(rows)
        frame = frame[frame.segmentation == "value"]
        wide = frame.pivot(index="customer_id", columns="period", values="segment_id")[PERIODS[1:]].dropna(how="all")
        expected = pd.crosstab(wide[PERIODS[1]].fillna("(new)"), wide[PERIODS[2]].fillna("(exit)"))
        matrix = ws.transitions("value", "2024-02", "2024-03")
        for source in expected.index:
            for target in expected.columns:
                assert matrix.counts.at[source, target] == expected.at[source, target]
    with segmento.connect(path) as ws:  # a second opening changes nothing
        assert sorted(snapshots(ws.con).to_pyarrow().to_pylist(), key=key) == sorted(rows, key=key)
        assert ws.con.table("schema_version").filter(ibis._.version == 7).count().execute() == 1
