"""Typer CLI: one verb per stage of the flow."""

from __future__ import annotations

from datetime import date
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import ibis
import typer
from rich.console import Console
from rich.table import Table

from segmento.store.schema import TABLES
from segmento.workspace import Workspace, connect

app = typer.Typer(help="Segmento: customer knowledge and dynamic segmentation.", no_args_is_help=True)
console = Console()

DbOption = Annotated[
    Optional[str],
    typer.Option("--db", envvar="SEGMENTO_DB", help="DuckDB file or Ibis URL (default: the project's database)."),
]
ConfigOption = Annotated[
    Optional[Path], typer.Option("--config", "-c", envvar="SEGMENTO_CONFIG", help="Project file (segmento.yaml).")
]
LOAD_ORDER = ("customers", "orders", "order_lines", "events", "consents")


@contextmanager
def open_workspace(db: str | None, config: Path | None) -> Iterator[Workspace]:
    """The workspace named on the command line, or the project's, or ./segmento.yaml's.

    Every error of ours is a ValueError whose message names what is wrong (file, line,
    field...): it is printed as is, with exit code 2, instead of a traceback.
    """
    if config is None and Path("segmento.yaml").exists():
        config = Path("segmento.yaml")
    try:
        with connect(db, config) as workspace:
            workspace.actor = "cli"
            yield workspace
    except ValueError as exc:
        fail(str(exc))


def fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code=2)


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

    with console.status(f"generating {customers:,} customers over {months} months"):
        paths = write_demo(out, customers=customers, months=months, seed=seed, end=date.fromisoformat(end))
    for name, path in paths.items():
        console.print(f"{name:12} {pq.ParquetFile(path).metadata.num_rows:>12,} rows  {path}")


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


@app.command("audiences")
def audiences_list(
    define: Annotated[Optional[str], typer.Option(help="Declare a library audience with this name (needs --rule).")] = None,
    rule: Annotated[Optional[str], typer.Option(help="Its rule, e.g. \"gender = 'F' AND 'tennis' IN interests_90d\".")] = None,
    description: Annotated[str, typer.Option(help="Its description.")] = "",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """List the audiences (from segmento.yaml and the library), or declare one with --define/--rule."""
    with open_workspace(db, config) as ws:
        if define:
            if not rule:
                fail("--define needs --rule")
            ws.audiences.define(define, rule, description)
        items = ws.audiences.list()
        out = Table("audience", "rule", "description", "declared in", title=f"{len(items)} audiences")
        for a in items:
            out.add_row(a.name, a.rule, a.description, a.where)
        console.print(out)


@app.command()
def refresh(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Instant (default: now).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Re-evaluate every audience so time alone moves people; record who entered and who left."""
    with open_workspace(db, config) as ws:
        report = ws.refresh_audiences(as_of)
        console.print(str(report), highlight=False)


@app.command()
def members(
    audience: Annotated[str, typer.Argument(help="Audience name.")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Instant (default: now).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write the member ids to this CSV or Parquet file.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Members of an audience as of an instant (count, or every id to a file)."""
    with open_workspace(db, config) as ws:
        table = ws.audience_members(audience, as_of)
        if out:
            (table.to_parquet if out.suffix == ".parquet" else table.to_csv)(out)
            console.print(f"wrote {out}")
        else:
            console.print(f"{audience}: {table.count().execute():,} members")


@app.command()
def guidance(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Instant (default: now).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Audience sizes, overlaps, and warnings for empty, tiny or near-duplicate audiences."""
    with open_workspace(db, config) as ws:
        result = ws.audience_guidance(as_of)
        console.print(str(result), highlight=False)
        if len(result.overlaps):
            print_frame(result.overlaps, "overlaps (shared members; sizes on the diagonal)")


@app.command()
def fit(
    segmentation: Annotated[str, typer.Argument(help="Segmentation declared in segmento.yaml.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Fit on features as of this date (YYYY-MM-DD).")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Fit a segmentation: a new frozen version, matched to the previous one."""
    with open_workspace(db, config) as ws:
        model = ws.fit_segmentation(segmentation, as_of)
        console.print(f"{model.name} version {model.version} fitted as of {model.as_of} on {model.fit_rows:,} customers")
        for segment in model.segments:
            console.print(f"  {segment.rank:>2}. {segment.id:<20} {segment.label}", highlight=False)
        if model.match:
            console.print(f"  matched to version {model.match.get('previous_version')}: "
                          + ", ".join(f"{k} {v}" for k, v in model.match.items() if k != "previous_version" and not isinstance(v, (dict, list))),
                          highlight=False)


@app.command()
def refit(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    as_of: Annotated[str, typer.Option("--as-of", help="New cut points or centres as of this date.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """A new version of a segmentation, its segments matched to the previous version's."""
    with open_workspace(db, config) as ws:
        model = ws.refit_segmentation(segmentation, as_of)
        console.print(str(model), highlight=False)


@app.command()
def models(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Stored versions of a segmentation, and the latest one in full."""
    from segmento.segmentations import load_model, versions

    with open_workspace(db, config) as ws:
        stored = versions(ws.con, segmentation)
        if not stored:
            fail(f"segmentation {segmentation!r} has no fitted version; run `segmento fit {segmentation} --as-of ...`")
        console.print(f"versions: {', '.join(map(str, stored))}")
        console.print(str(load_model(ws.con, segmentation)), highlight=False)


@app.command()
def segments(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Date (YYYY-MM-DD).")],
    out: Annotated[Optional[Path], typer.Option(help="Write every membership to this Parquet or CSV file.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Who is in which segment as of a date (sizes, or every membership to a file)."""
    with open_workspace(db, config) as ws:
        members = ws.segments(segmentation, as_of)
        if out:
            (members.to_parquet if out.suffix == ".parquet" else members.to_csv)(out)
            console.print(f"wrote {out}")
            return
        sizes = members.group_by(["segment_rank", "segment_id", "segment_label"]).agg(customers=ibis._.count())
        print_frame(sizes.order_by("segment_rank").to_pandas().set_index("segment_rank"), f"{segmentation} as of {as_of}")


@app.command()
def portraits(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Date (YYYY-MM-DD).")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """A portrait of each segment: size, revenue, what distinguishes it, channel, reach, a description."""
    with open_workspace(db, config) as ws:
        items = ws.portraits(segmentation, as_of)
        for p in items:
            revenue = f", {p.revenue_share:.0%} of revenue" if p.revenue_share is not None else ""
            console.print(f"[bold]{p.rank}. {p.label}[/bold] ({p.generated_label}): {p.size:,} customers, "
                          f"{p.share:.0%} of the base{revenue}")
            console.print(f"   {p.description}", highlight=False)


@app.command()
def quality(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Date (YYYY-MM-DD).")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Homogeneity, separation, stability and predictive power, with warnings."""
    with open_workspace(db, config) as ws:
        console.print(str(ws.quality(segmentation, as_of)), highlight=False)


@app.command()
def snapshot(
    as_of: Annotated[str, typer.Option("--as-of", help="Period (YYYY-MM or a date in it).")],
    segmentation: Annotated[Optional[list[str]], typer.Option("--segmentation", "-s", help="Only these.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Snapshot every segmentation at a period end, and raise the period's trajectory alerts."""
    with open_workspace(db, config) as ws:
        console.print(str(ws.snapshot(as_of, segmentation or None)), highlight=False)


@app.command()
def backfill(
    from_period: Annotated[str, typer.Option("--from", help="First period (YYYY-MM).")],
    to_period: Annotated[str, typer.Option("--to", help="Last period (YYYY-MM).")],
    segmentation: Annotated[Optional[list[str]], typer.Option("--segmentation", "-s", help="Only these.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Rebuild past periods from raw history, point in time, with the frozen models."""
    with open_workspace(db, config) as ws:
        ws.backfill(from_period, to_period, segmentation or None,
                    on_period=lambda report: console.print(str(report), highlight=False))


@app.command()
def deliver(
    destination: Annotated[Optional[list[str]], typer.Option("--destination", "-d", help="Only these.")] = None,
    until: Annotated[str, typer.Option(help="due: what is due now; settled: wait out retries; stopped: run until Ctrl-C.")] = "due",
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Give dead letters another round first.")] = False,
    lease: Annotated[float, typer.Option(help="Seconds a claimed batch is reserved.")] = 60.0,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Deliver queued alerts and audience changes to their destinations (consent checked at send time)."""
    from segmento.activation.deliver import deliver as run_deliverer

    if until not in ("due", "settled", "stopped"):
        fail(f"--until {until!r}: valid values are due, settled, stopped")
    with open_workspace(db, config) as ws:
        project, target = ws.project, db or ws.project.database
        if retry_failed:
            console.print(f"{ws.retry_failed():,} dead letters queued again")
    run_deliverer(target, project, destination or None, until, lease, out=lambda text: console.print(text, highlight=False))


@app.command("delivery-status")
def delivery_status(db: DbOption = None, config: ConfigOption = None) -> None:
    """Messages per destination: pending, delivered, failed (dead letter), filtered (no consent)."""
    with open_workspace(db, config) as ws:
        status = ws.delivery_status()
        if len(status):
            print_frame(status.set_index(status.columns[0]), "delivery status")
        else:
            console.print("the outbox is empty")
        dead = ws.dead_letters().limit(10).to_pandas()
        if len(dead):
            console.print(dead.to_string(max_colwidth=60), highlight=False)


def print_frame(frame, title: str, digits: int = 0) -> None:
    """A small DataFrame as a rich table (index as the first column)."""
    out = Table(frame.index.name or "", *map(str, frame.columns), title=title)
    for label, row in frame.iterrows():
        out.add_row(str(label), *(f"{v:,.{digits}f}" if isinstance(v, (int, float)) else str(v) for v in row))
    console.print(out)


@app.command()
def transitions(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    from_period: Annotated[str, typer.Option("--from", help="Earlier period (YYYY-MM or date).")],
    to_period: Annotated[str, typer.Option("--to", help="Later period (YYYY-MM or date).")],
    percent: Annotated[bool, typer.Option(help="Row percentages instead of counts.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Transition matrix of a segmentation between two snapshot periods."""
    with open_workspace(db, config) as ws:
        matrix = ws.transitions(segmentation, from_period, to_period)
        if as_json:
            console.print_json(data=matrix.to_dict())
            return
        frame = matrix.row_percent if percent else matrix.counts
        print_frame(frame, f"{segmentation}: {matrix.from_period} -> {matrix.to_period}", 1 if percent else 0)


@app.command()
def trajectories(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    last: Annotated[int, typer.Option(help="Number of most recent periods.")] = 6,
    top: Annotated[int, typer.Option(help="Most frequent paths to show.")] = 15,
    customer: Annotated[Optional[str], typer.Option(help="One customer's path.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The most frequent paths through a segmentation (or one customer's)."""
    with open_workspace(db, config) as ws:
        result = ws.trajectories(segmentation, last=last, customer_id=customer)
        if customer:
            for row in result.paths.to_dict("records"):
                console.print(f"{row['customer_id']}: {row['path']}", highlight=False)
            return
        print_frame(result.top_paths(top).set_index("path"), f"{segmentation}: top paths over {last} periods")


@app.command()
def markov(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    steps: Annotated[int, typer.Option(help="Periods to forecast.")] = 6,
    horizon: Annotated[int, typer.Option(help="Periods of expected value.")] = 12,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Average transition matrix, segment-mix forecast, stationary mix and expected value per segment."""
    with open_workspace(db, config) as ws:
        model = ws.markov(segmentation)
        import pandas as pd

        print_frame(pd.DataFrame(model.P * 100, index=model.states, columns=model.states),
                    f"{segmentation}: average transition % over {len(model.periods) - 1} period pairs", 1)
        print_frame(model.forecast(steps) * 100, "segment mix forecast (%)", 1)
        summary = pd.DataFrame({
            "stationary %": model.stationary() * 100,
            f"expected value ({horizon} periods)": model.expected_value(horizon, ws.project.dynamics.discount_rate),
        })
        print_frame(summary, "long run", 1)


@app.command()
def alerts(
    period: Annotated[Optional[str], typer.Option(help="Period end (YYYY-MM or date).")] = None,
    kind: Annotated[Optional[str], typer.Option(help="negative, positive or high_stakes.")] = None,
    rule: Annotated[Optional[str], typer.Option(help="Rule name.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Trajectory alerts, highest value at stake first."""
    from segmento.dynamics.periods import period_end

    with open_workspace(db, config) as ws:
        when = period_end(period, ws.project.dynamics.grid) if period else None
        rows = ws.alerts(period=when, kind=kind, rule=rule, limit=limit).to_pyarrow().to_pylist()
        out = Table("period", "customer", "rule", "move", "kind", "journey", "priority", title=f"{len(rows)} alerts")
        for r in rows:
            out.add_row(str(r["period"]), r["customer_id"], r["rule"], f"{r['from_segment']} -> {r['to_segment']}",
                        r["kind"], r["journey"] or "", f"{r['priority']:,.0f}")
        console.print(out)


gdpr_app = typer.Typer(help="GDPR: access, erasure, retention, audit log.", no_args_is_help=True)
app.add_typer(gdpr_app, name="gdpr")


@gdpr_app.command("export")
def gdpr_export(
    customer_id: Annotated[str, typer.Argument(help="Customer id.")],
    out: Annotated[Optional[Path], typer.Option(help="Write the JSON here instead of printing it.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Right of access: everything held about a customer, as JSON."""
    import json

    with open_workspace(db, config) as ws:
        export = ws.export_customer(customer_id)
    if not export["data"]:
        fail(f"nothing is held about customer {customer_id!r}")
    text = json.dumps(export, indent=2, ensure_ascii=False)
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")
    else:
        print(text)


@gdpr_app.command("forget")
def gdpr_forget(
    customer_id: Annotated[str, typer.Argument(help="Customer id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Right to erasure: remove the customer from every table; her id can never be re-ingested."""
    if not yes:
        typer.confirm(f"Erase customer {customer_id} everywhere? This cannot be undone", abort=True)
    with open_workspace(db, config) as ws:
        removed = ws.forget(customer_id)
    if not removed:
        console.print(f"nothing held about {customer_id}; the id is on the suppression list now")
    for table, count in removed.items():
        console.print(f"{table:24} {count:>8,} rows removed")


@gdpr_app.command("purge")
def gdpr_purge(
    apply: Annotated[bool, typer.Option("--apply", help="Really delete (default: dry run).")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Retention: remove events and orders older than gdpr.retention_days (dry run by default)."""
    with open_workspace(db, config) as ws:
        if not ws.project.gdpr.retention_days:
            fail("no retention configured: set gdpr.retention_days in segmento.yaml, e.g. {events: 730}")
        counts = ws.purge(dry_run=not apply)
    verb = "removed" if apply else "would be removed"
    for table, count in counts.items():
        console.print(f"{table:24} {count:>10,} rows {verb}")


@gdpr_app.command("audit")
def gdpr_audit(
    limit: Annotated[int, typer.Option(help="Entries to show.")] = 20,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The audit log: who read or changed what, newest first."""
    with open_workspace(db, config) as ws:
        log = ws.table("audit_log")
        out = Table("at", "actor", "action", "details", title="audit log")
        for row in log.order_by(ibis.desc("at")).limit(limit).to_pyarrow().to_pylist():
            out.add_row(str(row["at"]), row["actor"], row["action"], row["details"])
        console.print(out)


# ---- service: REST API, dashboard, report, API keys ---------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    as_of: Annotated[
        Optional[str], typer.Option("--as-of", help="Pin the service's today (YYYY-MM-DD) for replayed or demo data.")
    ] = None,
    read_model: Annotated[bool, typer.Option(help="Answer customer 360s from the in-memory read model.")] = True,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs) and the web dashboard (/dashboard/)."""
    import uvicorn

    from segmento.service.app import create_app

    pinned = _day(as_of) if as_of else None
    with open_workspace(db, config) as ws:
        console.print(f"Segmento on http://{host}:{port}  API docs: /docs  dashboard: /dashboard/?key=<a read key>  "
                      "(create keys with `segmento keys create`)", highlight=False)
        uvicorn.run(create_app(ws, as_of=pinned, read_model=read_model), host=host, port=port,
                    access_log=access_log, log_level="warning")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is not a date (YYYY-MM-DD)")


@app.command()
def report(
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """A self-contained HTML report: segment mix, transitions, trajectories, portraits, audiences, alerts."""
    from segmento.report import build_report

    with open_workspace(db, config) as ws, console.status("building the report"):
        path = build_report(ws, out)
    console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, opens without a network)")


keys_app = typer.Typer(help="API keys of the REST API and dashboard (stored hashed).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key, e.g. call-centre.")],
    scope: Annotated[list[str], typer.Option("--scope", "-s", help="read, write or admin (repeatable).")] = ["read"],  # noqa: B006
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a key; it is printed once and stored only as a hash."""
    from segmento.service import keys as api_keys

    with open_workspace(db, config) as ws:
        try:
            secret, record = api_keys.create_key(ws.con, name, scope)
        except api_keys.ApiKeyError as exc:
            fail(str(exc))
    console.print(f"key {record.key_id} ({', '.join(sorted(record.scopes))}) for {name}; keep it now, it is not shown again:")
    print(secret)


@keys_app.command("list")
def keys_list(db: DbOption = None, config: ConfigOption = None) -> None:
    """Every key with its scopes and whether it is revoked (never the secret)."""
    from segmento.service import keys as api_keys

    with open_workspace(db, config) as ws:
        found = api_keys.list_keys(ws.con)
    out = Table("key id", "name", "scopes", "created", "revoked", title=f"{len(found)} API keys")
    for k in found:
        out.add_row(k.key_id, k.name, ", ".join(sorted(k.scopes)), str(k.created_at), str(k.revoked_at or ""))
    console.print(out)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id shown by `segmento keys list`.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Revoke a key: every request with it is refused from now on."""
    from segmento.service import keys as api_keys

    with open_workspace(db, config) as ws:
        try:
            record = api_keys.revoke_key(ws.con, key_id)
        except api_keys.ApiKeyError as exc:
            fail(str(exc))
    console.print(f"revoked {record.key_id} ({record.name})")

if __name__ == "__main__":  # pragma: no cover
    app()
