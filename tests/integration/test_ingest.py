"""Ingestion on real DuckDB files: nothing lost, idempotent, clear errors."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segmento
from segmento.store.sources import SourceError

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["C1", "C2", "C3"],
        "birth_date": ["1980-02-01", "1990-07-15", None],
        "gender": ["F", "M", "X"],
        "signup_date": ["2023-01-01", "2023-02-01", "2023-03-01"],
    }
)


@pytest.fixture
def ws(tmp_path: Path):
    workspace = segmento.connect(tmp_path / "shop.duckdb")
    workspace.ingest("customers", CUSTOMERS)
    yield workspace
    workspace.close()


def snapshot(ws) -> dict[str, list]:
    """Every table's content, to prove a re-run changes nothing."""
    return {
        name: sorted(map(str, ws.table(name).to_pyarrow().to_pylist()))
        for name in ("customers", "orders", "order_lines", "events", "consents", "quarantine")
    }


def quarantined(ws, table: str) -> list[dict]:
    rows = ws.table("quarantine").filter(ws.table("quarantine").table_name == table).order_by("line")
    return rows.to_pyarrow().to_pylist()


# ---- property: random good and bad order rows ---------------------------------------

order_row = st.fixed_dictionaries(
    {
        "order_id": st.sampled_from(["O1", "O2", "O3", "O4", "O5", None]),
        "customer_id": st.sampled_from(["C1", "C2", "C3", "C9"]),
        "ordered_at": st.sampled_from(["2024-01-05 10:00:00", "2024-02-30 10:00:00", "yesterday", None]),
        "amount": st.sampled_from(["10.5", "0", "-1", "abc", None]),
        "channel": st.sampled_from(["store", "web", "app", "shop"]),
    }
)


def oracle(rows: list[dict]) -> tuple[dict[str, dict], int, int]:
    """Brute force: which rows load, how many are exact duplicates, how many are rejected."""

    def valid(row: dict) -> bool:
        try:
            amount = float(row["amount"])
            datetime.fromisoformat(row["ordered_at"])
        except (TypeError, ValueError):
            return False
        return (
            row["order_id"] is not None
            and row["customer_id"] in {"C1", "C2", "C3"}
            and amount >= 0
            and row["channel"] in {"store", "web", "app"}
        )

    loaded: dict[str, dict] = {}
    duplicates = rejected = 0
    for row in rows:
        if not valid(row):
            rejected += 1
        elif row["order_id"] not in loaded:
            loaded[row["order_id"]] = row
        elif loaded[row["order_id"]] == row:
            duplicates += 1
        else:
            rejected += 1
    return loaded, duplicates, rejected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(order_row, min_size=1, max_size=25))
def test_counts_balance_quarantine_holds_every_rejection_and_rerun_changes_nothing(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("prop") / "shop.duckdb"
    with segmento.connect(path) as ws:
        ws.ingest("customers", CUSTOMERS)
        frame = pd.DataFrame(rows, dtype=object)
        report = ws.ingest("orders", frame)
        loaded, duplicates, rejected = oracle(rows)

        assert report.balanced and report.rows_in == len(rows)
        assert (report.loaded, report.duplicates, report.rejected) == (len(loaded), duplicates, rejected)
        assert sorted(ws.table("orders").order_id.to_pyarrow().to_pylist()) == sorted(loaded)
        held = quarantined(ws, "orders")
        assert len(held) == rejected
        assert all(row["reason"] and row["line"] >= 1 for row in held)
        for row in held:  # the raw values are kept as they came in
            assert json.loads(row["raw"]) == {k: v for k, v in rows[row["line"] - 1].items()}

        before = snapshot(ws)
        again = ws.ingest("orders", frame)
        assert again.loaded == 0 and again.balanced
        assert snapshot(ws) == before


# ---- malformed files ------------------------------------------------------------------


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_with_mapping_semicolons_and_french_dates(ws, tmp_path):
    path = write(
        tmp_path / "ventes.csv",
        "NumCommande;Client;Date;Montant;Canal\n"
        "A1;C1;05/01/2024 10:30;19.90;web\n"
        "A2;C2;31/02/2024 09:00;5.00;store\n",
    )
    report = ws.ingest(
        "orders", path, columns={"order_id": "NumCommande", "customer_id": "Client", "ordered_at": "Date",
                                 "amount": "Montant", "channel": "Canal"},
        timestamp_format="%d/%m/%Y %H:%M",
    )
    assert (report.rows_in, report.loaded, report.rejected) == (2, 1, 1)
    order = ws.table("orders").to_pyarrow().to_pylist()[0]
    assert order["ordered_at"] == datetime(2024, 1, 5, 10, 30) and order["amount"] == pytest.approx(19.9)
    [bad] = quarantined(ws, "orders")
    assert (bad["source"], bad["line"], bad["field"]) == (str(path), 3, "ordered_at")
    assert bad["reason"] == "'31/02/2024 09:00' is not date format %d/%m/%Y %H:%M"


def test_wrong_delimiter_is_named(ws, tmp_path):
    path = write(tmp_path / "orders.csv", "order_id;customer_id;ordered_at;amount;channel\nO1;C1;2024-01-01;3;web\n")
    with pytest.raises(SourceError) as error:
        ws.ingest("orders", path, delimiter=",")
    message = str(error.value)
    assert message.startswith(f"{path}, line 1: missing required column 'order_id'")
    assert "the delimiter is probably not ','" in message
    assert ws.table("orders").count().execute() == 0


def test_rows_with_wrong_field_count_are_quarantined_with_their_line(ws, tmp_path):
    path = write(
        tmp_path / "orders.csv",
        "order_id,customer_id,ordered_at,amount,channel\nO1,C1,2024-01-01,3,web\nO2,C1,2024-01-02\nO3,C2,2024-01-03,4,app\n",
    )
    report = ws.ingest("orders", path)
    assert (report.rows_in, report.loaded, report.rejected) == (3, 2, 1)
    [bad] = quarantined(ws, "orders")
    assert bad["line"] == 3 and bad["reason"] == "expected 5 fields separated by ',', found 3"
    assert json.loads(bad["raw"]) == {"text": "O2,C1,2024-01-02"}


def test_negative_quantity_and_unknown_order_in_lines(ws, tmp_path):
    ws.ingest("orders", pd.DataFrame({"order_id": ["O1"], "customer_id": ["C1"], "ordered_at": ["2024-01-01"],
                                      "amount": [10.0], "channel": ["web"]}))
    path = write(
        tmp_path / "lines.csv",
        "order_id,line_no,product_id,category,quantity,unit_price\n"
        "O1,1,P1,tennis,2,5\nO1,2,P2,tennis,-1,5\nO7,1,P1,tennis,1,5\n",
    )
    report = ws.ingest("order_lines", path)
    assert (report.loaded, report.rejected) == (1, 2)
    reasons = [(row["line"], row["field"], row["reason"]) for row in quarantined(ws, "order_lines")]
    assert reasons == [
        (3, "quantity", "'-1' is below the minimum 1"),
        (4, "order_id", "unknown order_id 'O7' (not in orders)"),
    ]


def test_unknown_customer_and_duplicate_ids(ws, tmp_path):
    path = write(
        tmp_path / "orders.csv",
        "order_id,customer_id,ordered_at,amount,channel\n"
        "O1,C1,2024-01-01,3,web\nO2,C404,2024-01-01,3,web\nO1,C1,2024-01-01,3,web\nO1,C2,2024-01-01,3,web\n",
    )
    report = ws.ingest("orders", path)
    assert (report.rows_in, report.loaded, report.duplicates, report.rejected) == (4, 1, 1, 2)
    reasons = [(row["line"], row["reason"]) for row in quarantined(ws, "orders")]
    assert reasons == [
        (3, "unknown customer_id 'C404' (not in customers)"),
        (5, "order_id O1 already appears on line 2 with different values"),
    ]
    changed = write(tmp_path / "later.csv", "order_id,customer_id,ordered_at,amount,channel\nO1,C1,2024-01-01,4,web\n")
    later = ws.ingest("orders", changed)
    assert later.rejected == 1
    [conflict] = [row for row in quarantined(ws, "orders") if row["source"] == str(changed)]
    assert (conflict["line"], conflict["reason"]) == (2, "order_id O1 is already loaded with different values")


def test_wrong_encoding_names_the_line_and_loads_nothing(ws, tmp_path):
    path = write(
        tmp_path / "customers.csv",
        "customer_id,city,signup_date\nC7,Paris,2024-01-01\nC8,Orléans,2024-01-01\n",
        encoding="latin-1",
    )
    with pytest.raises(SourceError) as error:
        ws.ingest("customers", path)
    assert str(error.value) == (
        f"{path}, line 3: not valid utf-8 (byte 0xe9 at column 7); give the file's encoding, e.g. encoding='latin-1'"
    )
    assert ws.table("customers").count().execute() == 3
    report = ws.ingest("customers", path, encoding="latin-1")
    assert report.loaded == 2
    cities = ws.table("customers").filter(ws.table("customers").customer_id == "C8").city.to_pyarrow().to_pylist()
    assert cities == ["Orléans"]


def test_missing_file_and_bad_mapping(ws, tmp_path):
    with pytest.raises(SourceError, match=r"nowhere.csv: file not found"):
        ws.ingest("orders", tmp_path / "nowhere.csv")
    with pytest.raises(SourceError, match=r"column mapping names 'amout', not a column of orders; valid: order_id"):
        ws.ingest("orders", CUSTOMERS, columns={"amout": "x"})
    with pytest.raises(ValueError, match=r"unknown table 'order'; valid tables: customers, orders"):
        ws.ingest("order", CUSTOMERS)


@pytest.mark.parametrize("kind", ["parquet", "polars", "arrow"])
def test_parquet_polars_and_arrow_sources(ws, tmp_path, kind):
    table = pa.table(
        {
            "event_id": ["E1", "E2", "E3"],
            "customer_id": ["C1", "C2", "C2"],
            "occurred_at": pa.array([datetime(2024, 3, 1, 9), datetime(2024, 3, 2, 9), None], pa.timestamp("us")),
            "type": ["product_view", "search", "search"],
            "channel": ["web", "app", "app"],
            "category": ["hiking shoes", None, None],
            "size": ["43", None, None],
        }
    )
    source = {"arrow": table, "polars": pl.from_arrow(table)}.get(kind)
    if kind == "parquet":
        source = tmp_path / "events.parquet"
        pq.write_table(table, source)
    report = ws.ingest("events", source)
    assert (report.rows_in, report.loaded, report.rejected) == (3, 2, 1)
    [bad] = quarantined(ws, "events")
    assert (bad["line"], bad["field"], bad["reason"]) == (3, "occurred_at", "missing required value")


def test_every_run_is_logged(ws):
    runs = ws.table("ingestions").to_pyarrow().to_pylist()
    assert [(r["table_name"], r["rows_in"], r["loaded"]) for r in runs] == [("customers", 3, 3)]


def test_rows_of_one_run_dedupe_against_each_other(tmp_path):
    with segmento.connect(tmp_path / "b.duckdb") as ws:
        ws.ingest("customers", CUSTOMERS)
        frame = pd.DataFrame({"customer_id": ["C1"] * 5, "channel": ["email"] * 5, "purpose": ["marketing"] * 5,
                              "granted": [True, False, True, True, True],
                              "recorded_at": ["2024-01-01", "2024-02-01", "2024-01-01", "2024-03-01", "2024-03-01"]})
        report = ws.ingest("consents", frame)
        assert (report.rows_in, report.loaded, report.duplicates, report.rejected) == (5, 3, 2, 0)
