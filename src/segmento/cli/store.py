"""Store stage: load files into the knowledge base, see what was rejected and what is held."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from segmento.store.schema import TABLES
from segmento.cli.common import ConfigOption, DbOption, console, fail, open_workspace

LOAD_ORDER = ("customers", "orders", "order_lines", "events", "consents")

app = typer.Typer()


@app.command()
def ingest(
    table: Annotated[str, typer.Argument(help="Target table: " + ", ".join(TABLES))],
    path: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    map_: Annotated[
        Optional[list[str]], typer.Option("--map", "-m", help="Column mapping ours=theirs (repeatable).")
    ] = None,
    date_format: Annotated[Optional[str], typer.Option(help="strptime format of date columns, e.g. %d/%m/%Y.")] = None,
    timestamp_format: Annotated[Optional[str], typer.Option(help="strptime format of timestamp columns.")] = None,
    delimiter: Annotated[Optional[str], typer.Option(help="CSV delimiter (detected when omitted).")] = None,
    encoding: Annotated[str, typer.Option(help="CSV encoding, e.g. latin-1.")] = "utf-8",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Load one file into a knowledge-base table; bad rows go to quarantine with their reason."""
    columns = {}
    for item in map_ or []:
        ours, sep, theirs = item.partition("=")
        if not sep:
            fail(f"--map {item!r}: expected ours=theirs, e.g. --map customer_id=CustNo")
        columns[ours.strip()] = theirs.strip()
    with open_workspace(db, config) as ws:
        report = ws.ingest(
            table, path, columns=columns, date_format=date_format, timestamp_format=timestamp_format,
            delimiter=delimiter, encoding=encoding, progress=True,
        )
        console.print(str(report), highlight=False)


@app.command()
def load(
    directory: Annotated[
        Optional[Path], typer.Argument(help="Directory of <table>.parquet/.csv files; omit to load the project's sources.")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Load a directory of files, or every source declared in segmento.yaml, in dependency order."""
    with open_workspace(db, config) as ws:
        if directory is not None:
            jobs = [
                (table, directory / f"{table}{suffix}", {})
                for table in LOAD_ORDER
                for suffix in (".parquet", ".csv")
                if (directory / f"{table}{suffix}").exists()
            ]
        else:
            sources = sorted(ws.project.sources, key=lambda s: LOAD_ORDER.index(s.table) if s.table in LOAD_ORDER else 99)
            jobs = [(s.table, Path(s.path), s.model_dump(exclude={"table", "path"})) for s in sources]
        if not jobs:
            fail(f"{directory}: no {', '.join(LOAD_ORDER)} .parquet or .csv files" if directory else "no sources in the project file")
        for table, path, options in jobs:
            report = ws.ingest(table, path, progress=True, **options)
            console.print(str(report), highlight=False)


@app.command()
def quarantine(
    table: Annotated[Optional[str], typer.Option(help="Only rows rejected for this table.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Show rejected rows with their file, line, field and reason."""
    with open_workspace(db, config) as ws:
        rows = ws.table("quarantine")
        if table:
            rows = rows.filter(rows.table_name == table)
        total = rows.count().execute()
        out = Table("table", "source", "line", "field", "reason", title=f"{total:,} rejected rows")
        for row in rows.order_by(["source", "line"]).limit(limit).to_pyarrow().to_pylist():
            out.add_row(row["table_name"], row["source"], str(row["line"]), row["field"] or "", row["reason"])
        console.print(out)


@app.command()
def status(db: DbOption = None, config: ConfigOption = None) -> None:
    """Row counts of the knowledge base and the last ingestion runs."""
    with open_workspace(db, config) as ws:
        counts = Table("table", "rows", title="knowledge base")
        for name in (*TABLES, "quarantine"):
            counts.add_row(name, f"{ws.table(name).count().execute():,}")
        console.print(counts)
        runs = ws.table("ingestions").order_by(ws.table("ingestions").started_at.desc()).limit(10)
        log = Table("table", "source", "in", "loaded", "duplicates", "rejected", title="last ingestions")
        for run in runs.to_pyarrow().to_pylist():
            log.add_row(run["table_name"], run["source"], *(f"{run[k]:,}" for k in ("rows_in", "loaded", "duplicates", "rejected")))
        console.print(log)
