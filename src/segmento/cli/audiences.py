"""Audiences stage: declare, refresh and list members of rule-based audiences."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from segmento.cli.common import ConfigOption, DbOption, console, fail, open_workspace, print_frame

app = typer.Typer()


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
