"""Ingestion of the files retailers really export, on real DuckDB files.

Expected values are written by hand from the files below (or by Python's csv module
for line numbers), never computed by the code under test.
"""

from __future__ import annotations

import bz2
import gzip
import json
import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import segmento
from segmento.errors import SegmentoError

ORDER_HEADER = "order_id,customer_id,ordered_at,amount,channel"


@pytest.fixture
def ws(tmp_path: Path):
    workspace = segmento.connect(tmp_path / "shop.duckdb")
    workspace.ingest("customers", pd.DataFrame({"customer_id": ["C1", "C2"], "signup_date": ["2023-01-01"] * 2}))
    yield workspace
    workspace.close()


def held(ws, table: str) -> list[tuple]:
    q = ws.table("quarantine")
    rows = q.filter(q.table_name == table).order_by(["source", "line"]).to_pyarrow().to_pylist()
    return [(Path(r["source"]).name, r["line"], r["field"], r["reason"]) for r in rows]


def column(ws, table: str, name: str, order: str) -> list:
    return ws.table(table).order_by(order)[name].to_pyarrow().to_pylist()


def test_bom_is_ignored_and_only_empty_fields_are_null(ws, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_bytes("customer_id,country,postcode,signup_date\nC7,NA,N/A,2024-01-01\nC8,,NULL,2024-01-02\n"
                     .encode("utf-8-sig"))
    report = ws.ingest("customers", path)
    assert (report.loaded, report.rejected) == (2, 0)
    assert column(ws, "customers", "country", "customer_id")[2:] == ["NA", None]
    assert column(ws, "customers", "postcode", "customer_id")[2:] == ["N/A", "NULL"]

    other = tmp_path / "more.csv"
    other.write_text("customer_id,country,signup_date\nC9,NA,2024-01-03\nC10,#N/A,2024-01-03\n")
    ws.ingest("customers", other, null_tokens=["#N/A"])
    countries = dict(zip(column(ws, "customers", "customer_id", "customer_id"),
                         column(ws, "customers", "country", "customer_id")))
    assert (countries["C9"], countries["C10"]) == ("NA", None)


def test_physical_lines_after_quoted_line_breaks_blank_lines_and_crlf(ws, tmp_path):
    text = (
        f"{ORDER_HEADER}\r\n"
        'O1,C1,2024-01-01,3,"web"\r\n'          # line 2
        '"O2",C1,2024-01-01,4,"we\r\nb"\r\n'    # lines 3-4: a line break inside quotes
        "\r\n"                                    # line 5: blank
        "O3,C404,2024-01-01,5,web\r\n"          # line 6
        "\r\n\r\n"                                # lines 7-8
        "O4,C1,yesterday,5,web\r\n"             # line 9
        "O5,C1,2024-01-01\r\n"                  # line 10: ragged
        "O6,C2,2024-01-01,7,app"                # line 11: no final line break
    )
    path = tmp_path / "orders.csv"
    path.write_bytes(text.encode())
    report = ws.ingest("orders", path)
    assert (report.rows_in, report.loaded, report.rejected) == (6, 2, 4)
    assert held(ws, "orders") == [
        ("orders.csv", 3, "channel", "'we\r\nb' is not one of store, web, app"),
        ("orders.csv", 6, "customer_id", "unknown customer_id 'C404' (not in customers)"),
        ("orders.csv", 9, "ordered_at", "'yesterday' is not a valid timestamp"),
        ("orders.csv", 10, None, "expected 5 fields separated by ',', found 3"),
    ]


def test_values_out_of_range_are_quarantined_with_a_reason(ws, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        f"{ORDER_HEADER}\n"
        "O1,C1,2024-01-01,inf,web\nO2,C1,2024-01-01,-inf,web\nO3,C1,2024-01-01,NaN,web\n"
        "O4,C1,2024-01-01,1e309,web\nO5,C1,2024-01-01,Infinity,web\nO6,C1,99999-01-01 10:00:00,1,web\n"
        "O7,C1,1899-12-31 23:59:59,1,web\nO8,C1,2100-12-31 23:59:59,-0.5,web\nO9,C1,2100-12-31 23:59:59,1e308,web\n"
    )
    report = ws.ingest("orders", path)
    assert (report.loaded, report.rejected) == (1, 8)
    assert [(line, reason) for _, line, _, reason in held(ws, "orders")] == [
        (2, "'inf' is not a finite number"),
        (3, "'-inf' is not a finite number"),
        (4, "'NaN' is not a finite number"),
        (5, "'1e309' is not a finite number"),
        (6, "'Infinity' is not a finite number"),
        (7, "'99999-01-01 10:00:00' is outside 1900-01-01..2100-12-31"),
        (8, "'1899-12-31 23:59:59' is outside 1900-01-01..2100-12-31"),
        (9, "'-0.5' is below the minimum 0"),
    ]
    assert report.reasons == {"amount: not a finite number": 5, "ordered_at: outside 1900-01-01..2100-12-31": 2,
                              "amount: below the minimum 0": 1}
    later = tmp_path / "later.csv"
    later.write_text(f"{ORDER_HEADER}\nO10,C1,2024-01-01,1,web\nO11,C1,2023-12-31,1,web\n")
    narrow = ws.ingest("orders", later, min_date="2024-01-01", max_date="2024-12-31")
    assert (narrow.loaded, narrow.rejected) == (1, 1)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("customer_id,customer_id,signup_date", "column name 'customer_id' appears 2 times (columns 1, 2)"),
        ("customer_id,,signup_date", "column 2 has no name"),
    ],
)
def test_duplicated_or_empty_header_names_are_clear_errors(ws, tmp_path, header, message):
    path = tmp_path / "clients.csv"
    path.write_text(f"{header}\nC5,C5,2024-01-01\n")
    with pytest.raises(SegmentoError, match="^" + re.escape(f"{path}, line 1: {message}")):
        ws.ingest("customers", path)
    names = header.split(",")
    frame = pa.table([pa.array(["C5"]), pa.array(["C5"]), pa.array(["2024-01-01"])], names=names)
    with pytest.raises(SegmentoError, match=re.escape(message)):
        ws.ingest("customers", frame)
    assert ws.table("customers").count().execute() == 2


def test_a_frame_with_an_unreadable_value_quarantines_that_row(ws):
    frame = pd.DataFrame({"order_id": ["O1", "O2"], "customer_id": ["C1", "C1"], "ordered_at": ["2024-01-01"] * 2,
                          "amount": [10, "abc"], "channel": ["web", "web"]})
    report = ws.ingest("orders", frame)
    assert (report.loaded, report.rejected) == (1, 1)
    assert held(ws, "orders") == [("<pandas DataFrame>", 2, "amount", "'abc' is not a valid float")]
    assert column(ws, "orders", "amount", "order_id") == [10.0]


def test_compressed_files_a_directory_and_a_glob(ws, tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    with gzip.open(exports / "jan.csv.gz", "wt") as handle:
        handle.write(f"{ORDER_HEADER}\nO1,C1,2024-01-01,3,web\nO2,C9,2024-01-02,3,web\n")
    with pa.output_stream(str(exports / "feb.csv.zst"), compression="zstd") as handle:
        handle.write(f"{ORDER_HEADER}\nO3,C2,2024-02-01,4,store\nO1,C1,2024-01-01,3,web\n".encode())
    (exports / "mar.csv.bz2").write_bytes(bz2.compress(f"{ORDER_HEADER}\nO4,C2,2024-03-01,5,app\n".encode()))
    report = ws.ingest("orders", exports)
    assert (report.rows_in, report.loaded, report.duplicates, report.rejected) == (5, 3, 1, 1)
    assert held(ws, "orders") == [("jan.csv.gz", 3, "customer_id", "unknown customer_id 'C9' (not in customers)")]
    again = ws.ingest("orders", str(exports / "*.csv.*"))
    assert (again.loaded, again.duplicates, again.rejected) == (0, 4, 1)
    assert ws.table("quarantine").count().execute() == 1


def test_constants_value_maps_and_decimal_comma(ws, tmp_path):
    path = tmp_path / "caisse.csv"
    path.write_text(
        "ticket;client;date;montant;canal;sexe\n"
        "T1;C1;2024-01-05;1 234,50;magasin;\n"
        "T2;C2;2024-01-06;12,5;;\n"
        "T3;C2;2024-01-07;12.50;web;\n"
        "T4;C2;2024-01-08;-3,25;magasin;\n"
    )
    columns = {"order_id": "ticket", "customer_id": "client", "ordered_at": "date", "amount": "montant",
               "channel": "canal"}
    report = ws.ingest("orders", path, columns=columns, constants={"channel": "web", "currency": "EUR"},
                       values={"channel": {"magasin": "store"}}, decimal=",", thousands=" ")
    assert (report.loaded, report.rejected) == (2, 2)
    rows = ws.table("orders").order_by("order_id").select("order_id", "amount", "channel", "currency")
    assert rows.to_pyarrow().to_pylist() == [
        {"order_id": "T1", "amount": 1234.5, "channel": "store", "currency": "EUR"},
        {"order_id": "T2", "amount": 12.5, "channel": "web", "currency": "EUR"},
    ]
    assert [(line, reason) for _, line, _, reason in held(ws, "orders")] == [
        (4, "'12.50' is not a number with decimal ','"),
        (5, "'-3,25' is below the minimum 0"),
    ]


def test_made_up_order_ids_are_the_same_when_the_file_is_read_again(ws, tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("client,date,amount\nC1,2024-01-01,5\nC2,2024-01-02,6\nC1,2024-01-01,5\n")
    options = {"columns": {"customer_id": "client", "ordered_at": "date"}, "constants": {"channel": "web"}}
    first = ws.ingest("orders", path, id_from="line", **options)
    assert column(ws, "orders", "order_id", "order_id") == ["history.csv:2", "history.csv:3", "history.csv:4"]
    again = ws.ingest("orders", path, id_from="line", **options)
    assert (first.loaded, again.loaded, again.duplicates) == (3, 0, 3)

    other = tmp_path / "other.duckdb"
    with segmento.connect(other) as fresh:
        fresh.ingest("customers", pd.DataFrame({"customer_id": ["C1", "C2"], "signup_date": ["2023-01-01"] * 2}))
        hashed = fresh.ingest("orders", path, id_from=["client", "date", "amount"], **options)
        import hashlib

        expected = hashlib.sha256("C1\x1f2024-01-01\x1f5".encode()).hexdigest()[:16]
        assert (hashed.loaded, hashed.duplicates) == (2, 1)  # the same row twice is one order
        assert expected in column(fresh, "orders", "order_id", "order_id")


def test_currencies_are_converted_or_refused_never_summed(ws, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(f"{ORDER_HEADER},currency\nO1,C1,2024-01-10,100,web,EUR\nO2,C1,2024-01-10,100,web,USD\n"
                    "O3,C2,2023-12-01,50,web,usd\nO4,C2,2024-03-01,10,web,\n")
    with pytest.raises(SegmentoError, match=r"amounts in several currencies: EUR \(1 rows\), USD \(2 rows\)"):
        ws.ingest("orders", path)
    assert ws.table("orders").count().execute() == 0

    strict = ws.ingest("orders", path, currency="EUR")
    assert (strict.loaded, strict.rejected) == (2, 2)
    assert held(ws, "orders")[0][3] == "amount in USD, not the project currency EUR, and no rates table"

    rates = tmp_path / "rates.csv"
    rates.write_text("currency,date,rate\nUSD,2024-01-01,0.9\nUSD,2024-01-15,0.8\n")
    converted = ws.ingest("orders", path, currency="EUR", rates=rates)
    assert (converted.loaded, converted.duplicates, converted.rejected) == (1, 2, 1)
    rows = ws.table("orders").order_by("order_id").select("order_id", "amount", "currency").to_pyarrow().to_pylist()
    assert rows == [{"order_id": "O1", "amount": 100.0, "currency": "EUR"},
                    {"order_id": "O2", "amount": pytest.approx(90.0), "currency": "EUR"},
                    {"order_id": "O4", "amount": 10.0, "currency": "EUR"}]
    assert held(ws, "orders")[-1][3] == "no USD rate on or before 2023-12-01 in the rates table"


def test_report_says_why_and_resolve_loads_what_waited(ws, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(f"{ORDER_HEADER}\nO1,C5,2024-01-01,3,web\nO2,C6,2024-01-01,3,web\nO3,C5,2024-01-01,-1,web\n"
                    "O4,C7,2024-01-01,3,web\n")
    report = ws.ingest("orders", path)
    assert report.reasons == {"unknown customer_id (not in customers)": 3, "amount: below the minimum 0": 1}
    assert "rejected because: unknown customer_id (not in customers) (3); amount: below the minimum 0 (1)" in str(report)
    assert "load customers first, then ws.resolve_quarantine()" in str(report)

    ws.ingest("customers", pd.DataFrame({"customer_id": ["C5"], "signup_date": ["2023-01-01"]}))
    [resolved] = ws.resolve_quarantine()
    assert (resolved.checked, resolved.loaded, resolved.still_held) == (3, 1, 2)
    assert column(ws, "orders", "order_id", "order_id") == ["O1"]
    assert [line for _, line, _, _ in held(ws, "orders")] == [3, 4, 5]
    audit = ws.table("audit_log").filter(ws.table("audit_log").action == "quarantine_resolve").to_pyarrow().to_pylist()
    assert json.loads(audit[0]["details"]) == {"checked": 3, "loaded": 1, "duplicates": 0, "still_held": 2}

    # O2's customer arrives and O2 comes in from elsewhere: resolving clears it as already there
    ws.ingest("customers", pd.DataFrame({"customer_id": ["C6", "C7"], "signup_date": ["2023-01-01"] * 2}))
    ws.ingest("orders", pd.DataFrame({"order_id": ["O2"], "customer_id": ["C6"], "ordered_at": ["2024-01-01"],
                                      "amount": [3.0], "channel": ["web"]}))
    [again] = ws.resolve_quarantine("orders")
    assert (again.loaded, again.duplicates, again.still_held) == (1, 1, 0)
    assert [line for _, line, _, _ in held(ws, "orders")] == [4]

    # a re-ingested file replaces what was held for its rows: nothing stale stays
    later = tmp_path / "later.csv"
    later.write_text(f"{ORDER_HEADER}\nO5,C8,2024-01-01,3,web\n")
    ws.ingest("orders", later)
    ws.ingest("customers", pd.DataFrame({"customer_id": ["C8"], "signup_date": ["2023-01-01"]}))
    rerun = ws.ingest("orders", later)
    assert (rerun.loaded, rerun.rejected) == (1, 0)
    assert [line for _, line, _, _ in held(ws, "orders")] == [4]


def test_an_encoding_error_on_the_last_line_loads_nothing(ws, tmp_path):
    path = tmp_path / "clients.csv"
    body = "".join(f"K{i},Paris,2024-01-01\n" for i in range(60_000))
    path.write_bytes(f"customer_id,city,signup_date\n{body}".encode() + "K-last,Orléans,2024-01-01\n".encode("latin-1"))
    with pytest.raises(SegmentoError, match=rf"^{path}, line 60002: not valid utf-8 \(byte 0xe9 at column 11\)"):
        ws.ingest("customers", path)
    assert ws.table("customers").count().execute() == 2
    assert ws.table("ingestions").count().execute() == 1


def test_timestamps_as_compact_dates(ws, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(f"{ORDER_HEADER}\nO1,C1,19970101,3,web\nO2,C1,19970231,3,web\n")
    report = ws.ingest("orders", path, timestamp_format="%Y%m%d")
    assert (report.loaded, report.rejected) == (1, 1)
    assert column(ws, "orders", "ordered_at", "order_id") == [datetime(1997, 1, 1)]
    assert date(1997, 1, 1) == column(ws, "orders", "ordered_at", "order_id")[0].date()
