"""Demo stage: a synthetic retail base to try the whole flow on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segmento.cli.common import ConfigOption, DbOption, console, day, fail, open_workspace

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
        paths["campaign_responses"] = write_responses(out, paths, last, seed)
    for name, path in paths.items():
        console.print(f"{name:12} {pq.ParquetFile(path).metadata.num_rows:>12,} rows  {path}")


RESPONSES = "campaign_responses.parquet"


def write_responses(out: Path, paths: dict[str, Path], end: object, seed: int) -> Path:
    """The experiments' potential answers (segmento.demo.experiments), beside the tables."""
    import pyarrow.parquet as pq

    from segmento.demo.experiments import planted_responses

    path = out / RESPONSES
    pq.write_table(planted_responses(pq.read_table(paths["customers"]), pq.read_table(paths["truth"]), end, seed), path)
    return path


@app.command("demo-responses")
def demo_responses(
    data: Annotated[Path, typer.Option(help="The demo-data directory (holding campaign_responses.parquet).")] = Path("demo/data"),
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Play the customers' answers to the demo's campaigns: the planted orders of those actually sent them (treated)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = data / RESPONSES
    if not path.exists():
        fail(f"--data {data}: no {RESPONSES} there; run `segmento demo-data --out {data}` first")
    answers = pq.read_table(path)
    with open_workspace(db, config) as ws:
        targets = ws.campaigns.targets()
        treated = targets.filter(targets.arm == "treated").select("campaign_id", "customer_id")
        sent = {(r["campaign_id"], r["customer_id"]) for r in treated.to_pyarrow().to_pylist()}
        if not sent:
            fail("no campaign launched yet: launch the demo's campaigns first (segmento campaign launch ID --at DATE)")
        keep = [(c, k) in sent for c, k in zip(answers["campaign_id"].to_pylist(), answers["customer_id"].to_pylist())]
        orders = answers.filter(pa.array(keep, pa.bool_()))
        orders = orders.select(["order_id", "customer_id", "ordered_at", "amount", "discount_amount", "channel"])
        report = ws.ingest("orders", orders)
    console.print(f"{orders.num_rows:,} answers of treated customers (of {answers.num_rows:,} planted): "
                  f"{report.summary()}", highlight=False)
