"""GDPR verbs: access, erasure, retention, audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from segmento.cli.common import ConfigOption, DbOption, console, fail, open_workspace

app = typer.Typer(help="GDPR: access, erasure, retention, audit log.", no_args_is_help=True)




@app.command("export")
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


@app.command("forget")
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


@app.command("purge")
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


@app.command("audit")
def gdpr_audit(
    limit: Annotated[int, typer.Option(help="Entries to show.")] = 20,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The audit log: who read or changed what, newest first."""
    with open_workspace(db, config) as ws:
        log = ws.table("audit_log")
        out = Table("at", "actor", "action", "details", title="audit log")
        for row in log.order_by(log.at.desc()).limit(limit).to_pyarrow().to_pylist():
            out.add_row(str(row["at"]), row["actor"], row["action"], row["details"])
        console.print(out)
