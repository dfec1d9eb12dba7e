"""Activation stage: deliver alerts and audience changes, and see how delivery went."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from rich.table import Table

from segmento.cli.common import ConfigOption, DbOption, console, fail, open_reader, open_workspace, project_value

app = typer.Typer()


@app.command()
def deliver(
    destination: Annotated[Optional[list[str]], typer.Option("--destination", "-d", help="Only these.")] = None,
    until: Annotated[str, typer.Option(help="due: what is due now; settled: wait out retries; stopped: run until Ctrl-C.")] = "due",
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Give dead letters another round first.")] = False,
    lease: Annotated[float, typer.Option(help="Seconds a claimed batch is reserved.")] = 60.0,
    poll: Annotated[float, typer.Option(help="Seconds between checks when idle.")] = 1.0,
    queue: Annotated[bool, typer.Option(help="Queue stored alerts, audience changes and due exports first.")] = True,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Deliver queued alerts and audience changes to their destinations (consent checked at send time)."""
    from segmento.activation.deliver import deliver as run_deliverer

    if until not in ("due", "settled", "stopped"):
        fail(f"--until {until!r}: valid values are due, settled, stopped")
    from segmento.store.engines import engine_of

    def run(target: Any) -> None:
        run_deliverer(target, ws.project, destination or None, until, lease, poll, queue,
                      out=lambda text: console.print(text, highlight=False))

    with open_workspace(db, config) as ws:
        if retry_failed:
            console.print(f"{ws.retry_failed():,} dead letters queued again")
        if engine_of(ws.con).name == "spark":  # over this workspace's session (one per step would cost more)
            run(ws.con)
            return
    run(db or ws.project.database)  # a DuckDB file, opened per step so that other processes can use it between


@app.command("export")
def export(
    audience: Annotated[str, typer.Argument(help="Audience name.")],
    to: Annotated[str, typer.Option("--to", help="Destination name (under `destinations:`).")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Send an audience's full membership to a destination now (its `exports:` profile columns, consent checked)."""
    with open_workspace(db, config) as ws:
        ws.audiences.checked().closure([audience])  # a misspelt name is an error here, not an empty export
        report = ws.export_audience(audience, to)
    console.print(str(report), highlight=False)


@app.command("delivery-status")
def delivery_status(db: DbOption = None, config: ConfigOption = None) -> None:
    """Messages per destination: pending, delivered, failed (dead letter), filtered (no consent)."""
    from segmento import formatting as fmt
    from segmento.activation.delivery_status import STATUSES, dead_letter_rows, status_rows

    declared = project_value(config, "destinations")
    names = [d["name"] for d in declared if isinstance(d, dict) and isinstance(d.get("name"), str)] \
        if isinstance(declared, list) else []
    with open_reader(db, config) as source:
        status, dead = status_rows(source, names), dead_letter_rows(source)
    if not status:
        console.print("the outbox is empty")
    else:
        out = Table("destination", *STATUSES, "oldest pending", "last error", title="delivery status")
        for column in out.columns[1:1 + len(STATUSES)]:
            column.justify = "right"
        for row in status:
            out.add_row(row["destination"], *(fmt.count(row[s]) for s in STATUSES),
                        str(row["oldest_pending"] or ""), row["last_error"] or "")
        console.print(out)
    if dead:
        letters = Table("message", "destination", "customer", "attempts", "last error", "settled at",
                        title=f"latest {len(dead)} dead letters (`segmento deliver --retry-failed` queues them again)")
        for row in dead:
            letters.add_row(row["message_id"], row["destination"], row["customer_id"] or "", str(row["attempts"]),
                            row["last_error"] or "", str(row["settled_at"]))
        console.print(letters)