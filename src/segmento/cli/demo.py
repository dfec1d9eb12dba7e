"""Demo stage: a synthetic retail base to try the whole flow on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segmento.cli.common import console, day, fail

app = typer.Typer()


@app.command("demo-data")
def demo_data(
    out: Annotated[Path, typer.Option(help="Directory for the Parquet files.")] = Path("demo/data"),
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 50_000,
    months: Annotated[int, typer.Option(help="Months of history.")] = 24,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 42,
    end: Annotated[str, typer.Option(help="Last day of the history (YYYY-MM-DD).")] = "2024-12-31",
) -> None:
    """Generate a realistic synthetic retail base as Parquet files (one month in memory at a time)."""
    import pyarrow.parquet as pq

    from segmento.demo import write_demo

    last = day(end, "--end")
    for option, value in (("--customers", customers), ("--months", months)):
        if value < 1:
            fail(f"{option} must be at least 1, not {value}")
    with console.status(f"generating {customers:,} customers over {months} months"):
        paths = write_demo(out, customers=customers, months=months, seed=seed, end=last)
    for name, path in paths.items():
        console.print(f"{name:12} {pq.ParquetFile(path).metadata.num_rows:>12,} rows  {path}")
