"""Ingestion from the command line and the project file: options, messages in their syntax."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

import segmento
from segmento.errors import SegmentoError
from segmento.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})


def cdnow_like(path: Path, customers: int = 120) -> list[tuple[str, str, int, float]]:
    """CDNOW's shape: customer id, yyyymmdd date, items, amount; whitespace-separated, no header."""
    rng = np.random.default_rng(3)
    rows = []
    for customer in range(1, customers + 1):
        days = sorted(rng.choice(np.arange(0, 540), size=int(rng.integers(1, 6)), replace=False))
        for day in days:
            date = (np.datetime64("1997-01-01") + int(day)).astype(str).replace("-", "")
            rows.append((f"{customer:05d}", date, int(rng.integers(1, 5)), round(float(rng.gamma(2, 15)), 2)))
    path.write_text("".join(f"{c} {d}{' ' * int(n % 3 + 1)}{n}  {a:.2f}\n" for c, d, n, a in rows))
    return rows


def test_a_cdnow_shaped_file_loads_with_cli_options_alone(tmp_path):
    db = str(tmp_path / "cdnow.duckdb")
    path = tmp_path / "CDNOW_master.txt"
    rows = cdnow_like(path)
    assert len(rows) > 300
    shape = ["--delimiter", "whitespace", "--no-header", "--names", "customer_id,date,n_items,amount"]
    customers = invoke("ingest", "customers", str(path), "--db", db, *shape, "--set", "signup_date=1997-01-01")
    assert customers.exit_code == 0, customers.output
    people = len({r[0] for r in rows})
    assert f"{len(rows):,} in, {people:,} loaded, {len(rows) - people:,} duplicates, 0 rejected" in customers.output
    orders = ["ingest", "orders", str(path), "--db", db, *shape, "-m", "ordered_at=date",
              "--timestamp-format", "%Y%m%d", "--id-from", "line", "--set", "channel=web", "--set", "currency=USD"]
    first = invoke(*orders)
    assert first.exit_code == 0, first.output
    assert f"{len(rows):,} in, {len(rows):,} loaded, 0 duplicates, 0 rejected" in first.output
    again = invoke(*orders)
    assert f"{len(rows):,} in, 0 loaded, {len(rows):,} duplicates, 0 rejected" in again.output
    with duckdb.connect(db, read_only=True) as con:
        stored = con.execute("SELECT customer_id, strftime(ordered_at, '%Y%m%d'), amount FROM orders "
                             "ORDER BY order_id").fetchall()
        first_id = con.execute("SELECT min(order_id) FROM orders WHERE order_id LIKE '%:1'").fetchone()[0]
    assert sorted(stored) == sorted((c, d, a) for c, d, _, a in rows)
    assert first_id == "CDNOW_master.txt:1"


def test_cli_messages_use_cli_options(tmp_path):
    db = str(tmp_path / "shop.duckdb")
    path = tmp_path / "orders.csv"
    path.write_text("num,customer_id,ordered_at,amount,channel\nO1,C1,2024-01-01,3,web\n")
    result = invoke("ingest", "orders", str(path), "--db", db)
    assert result.exit_code == 2
    assert "missing required column 'order_id'" in result.output
    assert "-m order_id=THEIRS" in result.output and "--id-from line" in result.output
    assert "columns={" not in result.output
    with segmento.connect(tmp_path / "lib.duckdb") as ws, pytest.raises(SegmentoError) as error:
        ws.ingest("orders", path)
    assert "columns={'order_id': 'THEIRS'}" in str(error.value) and "id_from='line'" in str(error.value)

    doubled = tmp_path / "clients.csv"
    doubled.write_text("customer_id,customer_id,signup_date\nC1,C1,2024-01-01\n")
    result = runner.invoke(app, ["ingest", "customers", str(doubled), "--db", db], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and result.exception is None or isinstance(result.exception, SystemExit)
    assert "column name 'customer_id' appears 2 times" in result.output and "Traceback" not in result.output

    latin = tmp_path / "latin.csv"
    latin.write_bytes("customer_id,city,signup_date\nC2,Orléans,2024-01-01\n".encode("latin-1"))
    result = invoke("ingest", "customers", str(latin), "--db", db)
    assert result.exit_code == 2 and "--encoding latin-1" in result.output


def test_report_reasons_resolve_and_status_on_the_cli(tmp_path):
    db = str(tmp_path / "shop.duckdb")
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,ordered_at,amount,channel\nO1,C1,2024-01-01,3,web\nO2,C1,2024-01-01,4,shop\n")
    early = invoke("ingest", "orders", str(orders), "--db", db)
    assert early.exit_code == 0
    assert "rejected because: unknown customer_id (not in customers) (1); channel: not one of store, web, app (1)" \
        in early.output
    assert "hint: load customers first, then segmento quarantine --resolve" in early.output
    assert "hint: map other spellings, e.g. --values channel=THEIRS:OURS" in early.output
    status = invoke("status", "--db", db)
    assert "unknown customer_id (not in customers)" in status.output

    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,signup_date\nC1,2023-01-01\n")
    invoke("ingest", "customers", str(customers), "--db", db)
    resolved = invoke("quarantine", "--resolve", "--db", db)
    assert "orders: 1 held rows re-checked, 1 loaded, 0 already in the base, 0 still held" in resolved.output
    fixed = invoke("ingest", "orders", str(orders), "--db", db, "--values", "channel=shop:store")
    assert "2 in, 1 loaded, 1 duplicates, 0 rejected" in fixed.output
    assert "0 rejected rows" in invoke("quarantine", "--db", db).output


def test_project_sources_take_the_same_options(tmp_path):
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "clients.csv").write_text("id;pays;inscription\nK1;NA;01/02/2023\nK2;#N/A;02/02/2023\n")
    (tmp_path / "exports" / "ventes.csv").write_text("client;date;montant;canal\nK1;05/01/2024;12,50;magasin\n"
                                                     "K2;06/01/2024;1 000,00;web\n")
    config = tmp_path / "segmento.yaml"
    config.write_text(
        f"name: shop\ndatabase: {tmp_path / 'shop.duckdb'}\nsources:\n"
        f"  - table: customers\n    path: {tmp_path / 'exports' / 'clients.csv'}\n"
        "    columns: {customer_id: id, country: pays, signup_date: inscription}\n"
        "    date_format: '%d/%m/%Y'\n    null_tokens: ['#N/A']\n"
        f"  - table: orders\n    path: {tmp_path / 'exports' / 'ventes*.csv'}\n"
        "    columns: {customer_id: client, ordered_at: date, amount: montant, channel: canal}\n"
        "    timestamp_format: '%d/%m/%Y'\n    decimal: ','\n    thousands: ' '\n    id_from: [client, date]\n"
        "    set: {currency: EUR}\n    values: {channel: {magasin: store}}\n"
    )
    result = invoke("load", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "2 in, 2 loaded, 0 duplicates, 0 rejected" in result.output
    with duckdb.connect(str(tmp_path / "shop.duckdb"), read_only=True) as con:
        assert con.execute("SELECT customer_id, country FROM customers ORDER BY 1").fetchall() == [("K1", "NA"),
                                                                                                 ("K2", None)]
        assert con.execute("SELECT customer_id, amount, channel, currency FROM orders ORDER BY 1").fetchall() == [
            ("K1", 12.5, "store", "EUR"), ("K2", 1000.0, "web", "EUR")]
    config.write_text(config.read_text().replace("decimal: ','", "decimal: ';'"))
    bad = invoke("load", "--config", str(config))
    assert bad.exit_code == 2 and "decimal" in bad.output
