"""Ingestion throughput of a Parquet file and a CSV file of orders against a plain DuckDB COPY
of the same file (no checks, no line numbers, no quarantine)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

import segmento
from benchmarks.common import line, peak_rss_mb, section, timed


def make_files(directory: Path, orders: int) -> tuple[Path, Path]:
    """Customers and orders Parquet files (one customer per 10 orders)."""
    rng = np.random.default_rng(0)
    customers = max(orders // 10, 1)
    ids = np.char.add("C", np.arange(customers).astype(str))
    customer_file = directory / "customers.parquet"
    pq.write_table(pa.table({"customer_id": ids, "signup_date": pa.array(np.full(customers, np.datetime64("2022-01-01")))}), customer_file)
    start = np.datetime64("2023-01-01T00:00:00", "us")
    order_file = directory / "orders.parquet"
    pq.write_table(
        pa.table(
            {
                "order_id": np.char.add("O", np.arange(orders).astype(str)),
                "customer_id": ids[rng.integers(0, customers, orders)],
                "ordered_at": start + rng.integers(0, 730 * 86_400_000_000, orders).astype("timedelta64[us]"),
                "amount": np.round(rng.gamma(2.0, 30.0, orders), 2),
                "discount_amount": np.round(rng.gamma(0.3, 5.0, orders), 2),
                "channel": np.array(["store", "web", "app"])[rng.integers(0, 3, orders)],
                "currency": np.full(orders, "EUR"),
            }
        ),
        order_file,
    )
    return customer_file, order_file


def run(scale: float) -> None:
    orders = int(10_000_000 * scale)
    with section(f"ingestion: Parquet file of {orders:,} orders"), tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        customer_file, order_file = make_files(directory, orders)

        baseline_con = duckdb.connect(str(directory / "copy.duckdb"))
        baseline_con.execute(
            "CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, amount DOUBLE,"
            " discount_amount DOUBLE, channel VARCHAR, currency VARCHAR)"
        )
        _, copy_seconds = timed(lambda: baseline_con.execute(f"COPY orders FROM '{order_file}' (FORMAT parquet)"))
        baseline_con.close()
        line("plain duckdb COPY (no checks)", copy_seconds, orders)

        with segmento.connect(directory / "shop.duckdb") as ws:
            ws.ingest("customers", customer_file)
            report, seconds = timed(lambda: ws.ingest("orders", order_file))
            line("segmento ingest (validate, dedupe, quarantine)", seconds, orders, copy_seconds)
            again, rerun_seconds = timed(lambda: ws.ingest("orders", order_file))
            line("segmento re-ingest (all duplicates)", rerun_seconds, orders, copy_seconds)
        print(f"  {report}\n  re-run: {again.duplicates:,} duplicates, {again.loaded} loaded; peak RSS {peak_rss_mb():,.0f} MB")

        csv_file = directory / "orders.csv"
        pa_csv.write_csv(pq.read_table(order_file), csv_file)
        baseline_con = duckdb.connect(str(directory / "copy_csv.duckdb"))
        baseline_con.execute(
            "CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, amount DOUBLE,"
            " discount_amount DOUBLE, channel VARCHAR, currency VARCHAR)"
        )
        _, csv_copy = timed(lambda: baseline_con.execute(f"COPY orders FROM '{csv_file}' (FORMAT csv, HEADER)"))
        baseline_con.close()
        line("plain duckdb COPY of the CSV (no checks)", csv_copy, orders)
        with segmento.connect(directory / "shop_csv.duckdb") as ws:
            ws.ingest("customers", customer_file)
            _, csv_seconds = timed(lambda: ws.ingest("orders", csv_file))
            line("segmento ingest of the CSV (line numbers too)", csv_seconds, orders, csv_copy)
        print(f"  peak RSS {peak_rss_mb():,.0f} MB")
