"""Store stage: load files into the knowledge base, see what was rejected and what is held."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from segmento.cli.common import ConfigOption, DbOption, console, fail, open_reader, open_workspace
from segmento.store.quick import rows

LOAD_ORDER = ("customers", "orders", "order_lines", "events", "consents")  # the knowledge-base tables, parents first

app = typer.Typer()


def _pairs(items: list[str] | None, option: str, example: str, form: str = "NAME=VALUE") -> dict[str, str]:
    """``name=value`` items of a repeatable option as a dict."""
    pairs = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"{option} {item!r}: expected {form}, e.g. {option} {example}")
        pairs[key.strip()] = value.strip()
    return pairs


def _value_maps(items: list[str] | None) -> dict[str, dict[str, str]]:
    """``--values gender=H:M,F:F`` -> {"gender": {"H": "M", "F": "F"}}."""
    maps: dict[str, dict[str, str]] = {}
    for column, spec in _pairs(items, "--values", "gender=H:M,F:F").items():
        for pair in spec.split(","):
            theirs, sep, ours = pair.partition(":")
            if not sep:
                fail(f"--values {column}={spec}: expected THEIRS:OURS pairs separated by commas, e.g. H:M,F:F")
            maps.setdefault(column, {})[theirs] = ours
    return maps


def _id_from(text: str | None) -> str | list[str] | None:
    if text is None or text == "line":
        return text
    kind, _, columns = text.partition(":")
    if kind != "hash" or not columns:
        fail(f"--id-from {text!r}: give 'line' or 'hash:COLUMN,COLUMN' (columns of the file)")
    return [c.strip() for c in columns.split(",")]


@app.command()
def ingest(
    table: Annotated[str, typer.Argument(help="Target table: " + ", ".join(LOAD_ORDER))],
    path: Annotated[str, typer.Argument(help="File (CSV/TSV/text, .gz/.zst/.bz2, Parquet), directory or glob.")],
    map_: Annotated[
        Optional[list[str]], typer.Option("--map", "-m", help="Column mapping ours=theirs (repeatable).")
    ] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Constant column, e.g. channel=web (repeatable).")] = None,
    values: Annotated[Optional[list[str]], typer.Option("--values", help="Value map, e.g. gender=H:M,F:F (repeatable).")] = None,
    null_token: Annotated[Optional[list[str]], typer.Option("--null-token", help="Text read as NULL besides an empty field, e.g. NA (repeatable).")] = None,
    date_format: Annotated[Optional[str], typer.Option(help="strptime format of date columns, e.g. %d/%m/%Y.")] = None,
    timestamp_format: Annotated[Optional[str], typer.Option(help="strptime format of timestamp columns, e.g. %Y%m%d.")] = None,
    delimiter: Annotated[Optional[str], typer.Option(help="One character, 'tab' or 'whitespace' (detected when omitted).")] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding, e.g. latin-1.")] = "utf-8",
    no_header: Annotated[bool, typer.Option("--no-header", help="The file has no header row (give --names).")] = False,
    names: Annotated[Optional[str], typer.Option(help="The file's column names, comma-separated.")] = None,
    decimal: Annotated[str, typer.Option(help="Decimal separator of numbers: . or ,")] = ".",
    thousands: Annotated[Optional[str], typer.Option(help="Thousands separator of numbers, e.g. . or ' '.")] = None,
    id_from: Annotated[Optional[str], typer.Option(help="Make the missing key: 'line' or 'hash:COL,COL' (file columns).")] = None,
    currency: Annotated[Optional[str], typer.Option(help="Project currency amounts are stored in, e.g. EUR.")] = None,
    rates: Annotated[Optional[Path], typer.Option(help="Rates file (currency,date,rate) to convert other currencies.")] = None,
    min_date: Annotated[Optional[str], typer.Option(help="Earliest accepted date (default 1900-01-01).")] = None,
    max_date: Annotated[Optional[str], typer.Option(help="Latest accepted date (default 2100-12-31).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Load files into a knowledge-base table, all or nothing; bad rows go to quarantine with their reason."""
    from segmento.store.options import Syntax

    options = {
        "columns": _pairs(map_, "--map", "customer_id=CustNo", "ours=theirs"), "constants": _pairs(set_, "--set", "channel=web"),
        "values": _value_maps(values), "null_tokens": null_token or [], "date_format": date_format,
        "timestamp_format": timestamp_format, "delimiter": delimiter, "encoding": encoding, "header": not no_header,
        "names": [n.strip() for n in names.split(",")] if names else None, "decimal": decimal,
        "thousands": thousands, "id_from": _id_from(id_from), "currency": currency, "rates": rates,
        "min_date": min_date, "max_date": max_date,
    }
    with open_workspace(db, config) as ws:
        report = ws.ingest(table, path, progress=True, syntax=Syntax("cli"), **options)
        console.print(report.summary(Syntax("cli")), highlight=False)


@app.command()
def load(
    directory: Annotated[
        Optional[Path], typer.Argument(help="Directory of <table>.parquet/.csv files; omit to load the project's sources.")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Load a directory of files, or every source declared in segmento.yaml, in dependency order."""
    from segmento.store.options import Syntax

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
            jobs = [(s.table, s.path, s.options()) for s in sources]
        if not jobs:
            fail(f"{directory}: no {', '.join(LOAD_ORDER)} .parquet or .csv files" if directory else "no sources in the project file")
        syntax = Syntax("cli" if directory is not None else "yaml")
        for table, path, options in jobs:
            report = ws.ingest(table, path, progress=True, syntax=syntax, **options)
            console.print(report.summary(syntax), highlight=False)


@app.command()
def quarantine(
    table: Annotated[Optional[str], typer.Option(help="Only rows rejected for this table.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    resolve: Annotated[bool, typer.Option("--resolve", help="Re-check rows held for a customer/order not loaded then; load those that now pass.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Show rejected rows with their file, line, field and reason (or --resolve the ones that can load now)."""
    if table and table not in LOAD_ORDER:
        fail(f"--table {table!r}: rows are rejected for {', '.join(LOAD_ORDER)}")
    if resolve:
        with open_workspace(db, config) as ws:
            results = ws.resolve_quarantine(table)
        for result in results:
            console.print(str(result), highlight=False)
        if not results:
            console.print("no held row waits for a customer or an order", highlight=False)
        return
    with open_reader(db, config) as source:
        where, params = ("WHERE table_name = ?", [table]) if table else ("", [])
        total = rows(source, f"SELECT count(*) AS n FROM quarantine {where}", *params)[0]["n"]
        held = rows(source, f"SELECT * FROM quarantine {where} ORDER BY source, line LIMIT ?", *params, limit)
    out = Table("table", "source", "line", "field", "reason", title=f"{total:,} rejected rows")
    for row in held:
        out.add_row(row["table_name"], row["source"], str(row["line"]), row["field"] or "", row["reason"])
    console.print(out)


@app.command()
def status(db: DbOption = None, config: ConfigOption = None) -> None:
    """Row counts of the knowledge base and the last ingestion runs."""
    with open_reader(db, config) as source:
        counts = {name: rows(source, f"SELECT count(*) AS n FROM {name}")[0]["n"] for name in (*LOAD_ORDER, "quarantine")}
        top = rows(source, "SELECT table_name, rule, count(*) AS n FROM quarantine GROUP BY table_name, rule "
                           "ORDER BY n DESC, table_name, rule LIMIT 10")
        runs = rows(source, "SELECT * FROM ingestions ORDER BY started_at DESC LIMIT 10")
    sizes = Table("table", "rows", title="knowledge base")
    for name, count in counts.items():
        sizes.add_row(name, f"{count:,}")
    console.print(sizes)
    reasons = Table("table", "reason", "rows", title="held in quarantine, by reason")
    for row in top:
        reasons.add_row(row["table_name"], row["rule"] or "", f"{row['n']:,}")
    if reasons.row_count:
        console.print(reasons)
    log = Table("table", "source", "in", "loaded", "duplicates", "rejected", "suppressed", title="last ingestions")
    for run in runs:
        figures = ("rows_in", "loaded", "duplicates", "rejected", "suppressed")
        log.add_row(run["table_name"], run["source"], *(f"{run.get(k) or 0:,}" for k in figures))
    console.print(log)
