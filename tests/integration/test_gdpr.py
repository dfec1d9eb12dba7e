"""GDPR on a real DuckDB file: erasure leaves no trace, suppression holds, consent at a date, retention."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segmento
from segmento.dynamics.store import SNAPSHOTS, snapshots
from segmento.store.backend import append

TARGET = "C-ERASE-7"
PERSONAL = ["C-ERASE-7", "Zyxville", "99999", "1977-07-07", "loves-rare-orchids"]


@pytest.fixture
def shop(tmp_path: Path):
    files = tmp_path / "files"
    files.mkdir()
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", TARGET, "C3"],
            "birth_date": ["1980-01-01", "1977-07-07", "1990-05-05"],
            "city": ["Lyon", "Zyxville", "Paris"],
            "postcode": ["69001", "99999", "75001"],
            "signup_date": ["2022-01-01", "2022-02-01", "2022-03-01"],
            "traits": [None, json.dumps({"hobby": "loves-rare-orchids"}), None],
        }
    )
    customers.to_csv(files / "customers.csv", index=False)
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3", "O4"],
            "customer_id": ["C1", TARGET, TARGET, "C3"],
            "ordered_at": ["2022-06-01 10:00", "2023-06-01 10:00", "2024-06-01 10:00", "2024-06-02 10:00"],
            "amount": [10.0, 20.0, 30.0, 40.0],
            "channel": ["web", "store", "app", "web"],
        }
    )
    orders.to_csv(files / "orders.csv", index=False)
    lines = pd.DataFrame({"order_id": ["O1", "O2", "O3"], "line_no": [1, 1, 1], "product_id": ["P1", "P2", "P3"],
                          "category": ["tennis"] * 3, "quantity": [1, 1, 1], "unit_price": [10.0, 20.0, 30.0]})
    events = pd.DataFrame({"event_id": ["E1", "E2"], "customer_id": [TARGET, "C1"],
                           "occurred_at": ["2024-06-01", "2021-01-01"], "type": ["search", "page_view"],
                           "channel": ["web", "web"], "properties": [json.dumps({"query": "orchid pots"}), None]})
    consents = pd.DataFrame({"customer_id": [TARGET, "C1"], "channel": ["email", "email"],
                             "purpose": ["marketing"] * 2, "granted": [True, True],
                             "recorded_at": ["2022-02-01", "2022-01-01"]})
    ws = segmento.connect(tmp_path / "shop.duckdb")
    ws.ingest("customers", files / "customers.csv")
    ws.ingest("orders", files / "orders.csv")
    ws.ingest("order_lines", lines)
    ws.ingest("events", events)
    ws.ingest("consents", consents)
    # a rejected row of the customer sits in quarantine, and a later stage holds a snapshot of her
    ws.ingest("orders", pd.DataFrame({"order_id": ["O9"], "customer_id": [TARGET], "ordered_at": ["not a date"],
                                      "amount": [1.0], "channel": ["web"]}))
    snapshots(ws.con)
    append(ws.con, SNAPSHOTS, pa.Table.from_pandas(pd.DataFrame({"period": [date(2024, 6, 30)] * 2, "segmentation": ["v"] * 2,
                                           "version": [1, 1], "customer_id": [TARGET, "C1"], "segment_id": ["a", "b"],
                                           "segment_label": ["A", "B"], "segment_rank": [1, 2], "value": [50.0, 10.0]})))
    yield ws, files
    ws.close()


def traces(ws, needles: list[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a text value contains a needle, over every table."""
    found = []
    for name in ws.con.list_tables():
        table = ws.table(name)
        for column, dtype in table.schema().items():
            values = table[column].cast("string")
            for needle in needles:
                if table.filter(values.contains(needle)).count().execute():
                    found.append((name, column, needle))
    return found


def test_access_export_holds_everything_about_the_customer(shop):
    ws, _ = shop
    export = ws.export_customer(TARGET)
    data = export["data"]
    assert [row["order_id"] for row in data["orders"]] == ["O2", "O3"]
    assert [row["order_id"] for row in data["order_lines"]] == ["O2", "O3"]
    assert data["customers"][0]["city"] == "Zyxville"
    assert {"events", "consents", SNAPSHOTS, "quarantine"} <= set(data)
    json.dumps(export)  # serialisable as is


def test_forget_leaves_no_trace_and_the_old_file_cannot_bring_her_back(shop):
    ws, files = shop
    assert traces(ws, PERSONAL)  # the scan does find her before
    erasure = ws.forget(TARGET)
    assert erasure.removed == {"order_lines": 2, "customers": 1, "orders": 2, "events": 1, "consents": 1,
                               "quarantine": 1, SNAPSHOTS: 1}
    assert erasure.physically_complete
    assert traces(ws, PERSONAL) == []
    assert ws.table("customers").count().execute() == 2 and ws.table("orders").count().execute() == 2

    [entry] = [r for r in ws.table("audit_log").to_pyarrow().to_pylist() if r["action"] == "erasure"]
    assert entry["target"] == ws.pseudonym(TARGET) and TARGET not in entry["target"] + entry["details"]


def test_reingesting_an_erased_customer_counts_her_rows_as_suppressed_and_stores_none(shop):
    ws, files = shop
    ws.forget(TARGET, compact=False)
    lines = pd.DataFrame({"order_id": ["O2", "O3", "O9", "O1"], "line_no": [1, 1, 1, 2], "product_id": ["P"] * 4,
                          "category": ["tennis"] * 4, "quantity": [1] * 4, "unit_price": [1.0] * 4})
    reports = [ws.ingest("customers", files / "customers.csv"), ws.ingest("orders", files / "orders.csv"),
               ws.ingest("order_lines", lines)]
    by_table = {r.table: (r.rows_in, r.loaded, r.duplicates, r.rejected, r.suppressed) for r in reports}
    # customers: C1, C3 already held; orders O2, O3 are hers; lines of her orders O2, O3 and rejected O9
    assert by_table == {"customers": (3, 0, 2, 0, 1), "orders": (4, 0, 2, 0, 2), "order_lines": (4, 1, 0, 0, 3)}
    assert all(r.balanced for r in reports)
    assert "3 suppressed" in str(reports[2])
    logged = ws.table("ingestions").order_by("started_at").to_pyarrow().to_pylist()[-3:]
    assert [row["suppressed"] for row in logged] == [1, 2, 3]
    assert traces(ws, PERSONAL + ["O2", "O3", "O9"]) == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ledger=st.lists(
        st.tuples(st.sampled_from(["C1", "C3"]), st.sampled_from(["email", "sms"]), st.booleans(),
                  st.integers(min_value=0, max_value=60)),
        max_size=12,
        unique_by=lambda row: (row[0], row[1], row[3]),
    ),
    at_day=st.integers(min_value=0, max_value=60),
)
def test_consent_in_force_at_a_date_matches_an_oracle(tmp_path_factory, ledger, at_day):
    start = datetime(2024, 1, 1, 12)
    with segmento.connect(tmp_path_factory.mktemp("c") / "c.duckdb") as ws:
        ws.ingest("customers", pd.DataFrame({"customer_id": ["C1", "C3"], "signup_date": ["2023-01-01"] * 2}))
        frame = pd.DataFrame(
            [(c, ch, "marketing", g, start + timedelta(days=d)) for c, ch, g, d in ledger],
            columns=["customer_id", "channel", "purpose", "granted", "recorded_at"],
        )
        if ledger:
            ws.ingest("consents", frame)
        at = (start + timedelta(days=at_day)).date()
        got = {(r["customer_id"], r["channel"]): r["granted"] for r in ws.consents(at).to_pyarrow().to_pylist()}
        expected = {}
        for customer, channel, granted, day in sorted(ledger, key=lambda r: r[3]):
            if (start + timedelta(days=day)).date() <= at:
                expected[(customer, channel)] = granted
        assert got == expected


def test_retention_dry_run_equals_the_real_purge(shop):
    ws, _ = shop
    ws.project.gdpr.retention_days = {"events": 365, "orders": 730}
    now = datetime(2024, 7, 1)
    before = {t: ws.table(t).count().execute() for t in ("events", "orders", "order_lines")}
    planned = ws.purge(dry_run=True, now=now)
    assert planned == {"events": 1, "order_lines": 1, "orders": 1}
    assert {t: ws.table(t).count().execute() for t in before} == before
    done = ws.purge(dry_run=False, now=now)
    assert done == planned
    assert {t: ws.table(t).count().execute() for t in before} == {t: before[t] - planned[t] for t in before}
    assert ws.table("orders").filter(ws.table("orders").order_id == "O1").count().execute() == 0


def test_cli_export_forget_and_audit(shop, tmp_path):
    from typer.testing import CliRunner

    from segmento.cli import app

    ws, _ = shop
    db = ws.con.con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()[0]
    ws.close()  # the CLI is a process of its own: nothing else holds the file
    runner = CliRunner()
    out = tmp_path / "export.json"
    result = runner.invoke(app, ["gdpr", "export", TARGET, "--out", str(out), "--db", db])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["data"]["customers"][0]["postcode"] == "99999"
    result = runner.invoke(app, ["gdpr", "forget", TARGET, "--yes", "--db", db])
    assert result.exit_code == 0 and "orders" in result.output
    assert "erasure physically complete" in result.output
    result = runner.invoke(app, ["gdpr", "export", TARGET, "--db", db])
    assert result.exit_code == 2 and "nothing is held about customer 'C-ERASE-7'" in result.output
    result = runner.invoke(app, ["gdpr", "audit", "--db", db], env={"COLUMNS": "200"})
    assert "erasure" in result.output and "access_export" in result.output
    result = runner.invoke(app, ["gdpr", "purge", "--db", db])
    assert result.exit_code == 2 and "no retention configured" in result.output
