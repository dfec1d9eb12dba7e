"""Activation stage: deliver alerts and audience changes, and see how delivery went."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from segmento.cli.common import ConfigOption, DbOption, console, fail, open_workspace, print_frame

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
    with open_workspace(db, config) as ws:
        project, target = ws.project, db or ws.project.database
        if retry_failed:
            console.print(f"{ws.retry_failed():,} dead letters queued again")
    run_deliverer(target, project, destination or None, until, lease, poll, queue,
                  out=lambda text: console.print(text, highlight=False))


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
