"""Features as of a date on the demo generator's data, and the BTYD summary against lifetimes and pandas.

Scale 1.0 = 1M customers (~30M orders, ~60M events, 24 months); ``make bench`` runs 0.1.
Figures are printed, never asserted. The knowledge base is cached in build/bench/
so a second run skips generation.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import multiprocessing
import resource
import shutil
import time
import warnings
from datetime import date, datetime, time as clock, timedelta
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

import segmento
from benchmarks.common import line, peak_rss_mb, section, timed
from segmento.features import compute_features
from segmento.store.schema import TABLES

AS_OF = date(2024, 12, 31)
MONTHS = 24
BTYD = ["btyd_frequency", "btyd_recency", "btyd_T", "btyd_monetary_value"]
T = TypeVar("T")
CACHE = Path(__file__).resolve().parent.parent / "build" / "bench"


def run(scale: float = 0.1) -> None:
    customers = max(1000, int(1_000_000 * scale))
    with section(f"features as of {AS_OF}: {customers:,} customers, demo generator, DuckDB file"):
        path = _knowledge_base(customers)
        counts = _counts(path)
        print("  " + ", ".join(f"{name} {count:,}" for name, count in counts.items()))
        for label, names in (("all features", None), ("RFM + BTYD features only", _rfm_names())):
            figures = _in_child(_time_features, str(path), names)
            line(f"{label} ({figures['columns']} columns, to Arrow)", figures["seconds"], counts["customers"])
            print(f"    build {figures['build']:.2f} s, CPU {figures['cpu']:.0f} s (whole process: on a busy machine "
                  f"wall time says more about the neighbours), peak RSS {figures['peak_mb']:,.0f} MB (fresh process)")
    with section("BTYD summary vs lifetimes.summary_data_from_transaction_data and a pandas groupby"):
        for orders in (int(2_000_000 * scale), int(20_000_000 * scale)):
            _btyd_comparison(path, orders)


# ------------------------------------------------------------------ data


def _knowledge_base(customers: int) -> Path:
    """The demo generator's tables in a DuckDB file, generated once per size (through Parquet files written
    one month at a time, so 1M customers fit in memory)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"features-{customers}.duckdb"
    if path.exists():
        return path
    from segmento.demo.generator import write_demo

    started = time.perf_counter()
    files = write_demo(CACHE / f"parquet-{customers}", customers, MONTHS, seed=42, end=AS_OF)
    print(f"  generated in {time.perf_counter() - started:.0f} s")
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with segmento.connect(partial) as ws:
        raw = ws.con.con  # bulk load straight from the files: setup only, not what is measured
        for name, spec in TABLES.items():
            columns = ", ".join(f'"{c}"' for c in spec.column_names)
            raw.execute(f'INSERT INTO "{name}" ({columns}) SELECT {columns} FROM read_parquet(?)', [str(files[name])])
        raw.execute("CHECKPOINT")
    partial.rename(path)
    shutil.rmtree(CACHE / f"parquet-{customers}")
    return path


def _counts(path: Path) -> dict[str, int]:
    with segmento.connect(path) as ws:
        return {name: ws.table(name).count().execute() for name in TABLES}


def _rfm_names() -> list[str]:
    return ["recency_days", "orders_90d", "orders_12m", "orders_lifetime", "spend_90d", "spend_12m",
            "spend_lifetime", "avg_basket", "first_order_days", *BTYD]  # fmt: skip


# ------------------------------------------------------------- measures


def _in_child(function: Callable[..., T], *args: object) -> T:
    """Run in a fresh process, so its peak memory is this measure's alone."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(function, args)


def _time_features(path: str, names: list[str] | None) -> dict:
    with segmento.connect(path) as ws:
        ws.con.raw_sql("SET enable_progress_bar = false")
        started = time.perf_counter()
        expr = compute_features(ws.con, AS_OF, names=names)
        built = time.perf_counter()
        table = expr.to_pyarrow()
        done = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"seconds": done - started, "build": built - started, "peak_mb": peak_rss_mb(),
            "cpu": usage.ru_utime + usage.ru_stime, "columns": table.num_columns - 1}  # fmt: skip


def _btyd_comparison(path: Path, orders: int) -> None:
    """Ours (DuckDB through Ibis) vs lifetimes vs a plain pandas groupby on the same orders."""
    subset = CACHE / f"btyd-{path.stem}-{orders}.duckdb"
    if not subset.exists():
        _orders_subset(path, subset, orders)
    with segmento.connect(subset) as ws:
        ws.con.raw_sql("SET enable_progress_bar = false")
        frame = ws.table("orders").select("customer_id", "ordered_at", "amount").to_pyarrow().to_pandas()
        ours, ours_s = timed(lambda: ws.features(AS_OF, names=BTYD).to_pyarrow().to_pandas().set_index("customer_id"))
    plain, pandas_s = timed(lambda: pandas_btyd(frame, AS_OF))
    theirs, lifetimes_s = timed(lambda: lifetimes_btyd(frame, AS_OF))

    ours = ours.dropna().sort_index()
    same = ours.index.equals(theirs.index) and np.allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-9, atol=1e-9)
    plain_same = plain.index.equals(theirs.index) and np.allclose(plain.to_numpy(), theirs.to_numpy(), rtol=1e-9)
    gap = np.abs(ours.to_numpy() - theirs.to_numpy()).max() if same else float("nan")
    print(f"  {len(frame):,} orders, {len(theirs):,} customers", flush=True)
    line("segmento (Ibis on DuckDB)", ours_s, len(frame))
    line("plain pandas groupby", pandas_s, len(frame), baseline=ours_s)
    line("lifetimes", lifetimes_s, len(frame), baseline=ours_s)
    print(f"    output identical to lifetimes: {same} (max abs difference {gap:.1e}); pandas too: {plain_same}")


def _orders_subset(path: Path, subset: Path, orders: int) -> None:
    """All orders of the first customers (by id) whose orders add up to about ``orders``."""
    partial = subset.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with segmento.connect(partial) as ws:
        raw = ws.con.con
        raw.execute(f"ATTACH '{path}' AS full_kb (READ_ONLY)")
        raw.execute(f"""
            CREATE TEMP TABLE chosen AS
            SELECT customer_id FROM (
                SELECT customer_id, sum(n) OVER (ORDER BY customer_id) AS running
                FROM (SELECT customer_id, count(*) AS n FROM full_kb.orders GROUP BY 1)
            ) WHERE running <= {orders}""")
        raw.execute("INSERT INTO customers SELECT * FROM full_kb.customers SEMI JOIN chosen USING (customer_id)")
        raw.execute("INSERT INTO orders SELECT * FROM full_kb.orders SEMI JOIN chosen USING (customer_id)")
        raw.execute("DETACH full_kb")
    partial.rename(subset)


def lifetimes_btyd(frame: pd.DataFrame, as_of: date) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifetimes 0.11 predates pandas 3
        from lifetimes.utils import summary_data_from_transaction_data

        summary = summary_data_from_transaction_data(
            frame, "customer_id", "ordered_at", monetary_value_col="amount",
            observation_period_end=pd.Timestamp(as_of), freq="D",
        )  # fmt: skip
    return summary[["frequency", "recency", "T", "monetary_value"]].sort_index()


def pandas_btyd(frame: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The same summary as a plain pandas groupby: what one would write by hand."""
    end = datetime.combine(as_of + timedelta(days=1), clock())
    frame = frame[frame.ordered_at < end]
    daily = frame.groupby([frame.customer_id, frame.ordered_at.dt.floor("D")]).amount.sum().reset_index()
    by = daily.groupby("customer_id")
    first, last, days = by.ordered_at.min(), by.ordered_at.max(), by.size()
    repeat = (by.amount.sum() - by.amount.first()) / (days - 1)
    return pd.DataFrame({
        "frequency": (days - 1).astype(float),
        "recency": (last - first).dt.days.astype(float),
        "T": (pd.Timestamp(as_of) - first).dt.days.astype(float),
        "monetary_value": repeat.where(days > 1, 0.0),
    }).sort_index()  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    run(parser.parse_args().scale)
