"""GDPR verbs: access, erasure, retention, audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from segmento.cli.common import ConfigOption, DbOption, console, fail, open_reader, open_workspace, project_value

app = typer.Typer(help="GDPR: access, erasure (and its physical completion), retention, audit log, pseudonym key.",
                  no_args_is_help=True)


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
    compact: Annotated[
        Optional[bool],
        typer.Option("--compact/--no-compact", help="Rewrite the database file now so the bytes go too "
                     "(default: gdpr.compact in the project file, on_erasure unless set to scheduled)."),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Right to erasure: remove the customer from every table and drop file; her id can never be re-ingested."""
    if not yes:
        typer.confirm(f"Erase customer {customer_id} everywhere? This cannot be undone", abort=True)
    with open_workspace(db, config) as ws:
        erasure = ws.forget(customer_id, compact=compact)
    if not erasure.removed:
        console.print(f"nothing held about {customer_id}; the id is on the suppression list now")
    for table, count in erasure.removed.items():
        console.print(f"{table:24} {count:>8,} rows removed")
    state = "physically complete" if erasure.physically_complete else "NOT physically complete"
    console.print(f"erasure {state}: {erasure.note}", highlight=False)


@app.command("compact")
def gdpr_compact(db: DbOption = None, config: ConfigOption = None) -> None:
    """Rewrite the database file so erased rows' bytes are gone (completes pending erasures; cron-able)."""
    with open_workspace(db, config) as ws:
        report = ws.compact()
    console.print(str(report), highlight=False)


@app.command("status")
def gdpr_status(db: DbOption = None, config: ConfigOption = None) -> None:
    """Erasures not yet physically complete (rows deleted, bytes still in the file until `gdpr compact`)."""
    from segmento.store import pseudonyms
    from segmento.store.quick import is_file

    with open_reader(db, config) as source:
        pending = pseudonyms.pending_erasures(source)
        found = pseudonyms.verify(source, pseudonyms.default_key_file(source, project_value(config, "gdpr", "key_file"))) \
            if is_file(source) else None
    if found is None:  # first use, a rotation to finish, another engine: the workspace's check, which may write
        with open_workspace(db, config) as ws:
            found = ws.pseudonyms
    secret = found.where  # checked: it is the one the suppression list was made with
    console.print(f"pseudonym secret: {secret} (checked)", highlight=False)
    if not pending:
        console.print("every erasure is physically complete")
        return
    out = Table("erased at", "customer (keyed pseudonym)", title=f"{len(pending)} erasure(s) pending compaction")
    for row in pending:
        out.add_row(str(row["erased_at"]), row["id_hash"][:16])
    console.print(out)
    console.print("run `segmento gdpr compact` to complete them")


@app.command("rotate-key")
def gdpr_rotate_key(db: DbOption = None, config: ConfigOption = None) -> None:
    """Add a key to the pseudonym secret and re-key the suppression list and audit log with it."""
    with open_workspace(db, config) as ws:
        rotated = ws.rotate_key()
    if rotated.where == "SEGMENTO_SECRET":
        console.print("re-keyed; set this before the next run (the old value no longer matches):")
        print(f"SEGMENTO_SECRET={','.join(rotated.keys)}")
    else:
        console.print(f"re-keyed with key {len(rotated.keys)} of the chain in {rotated.where}", highlight=False)


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
