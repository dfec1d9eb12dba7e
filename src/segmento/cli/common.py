"""What every stage's verbs share: the console, the --db/--config options, opening the workspace."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from segmento.workspace import Workspace, connect

console = Console()

DbOption = Annotated[
    Optional[str],
    typer.Option("--db", envvar="SEGMENTO_DB", help="DuckDB file or Ibis URL (default: the project's database)."),
]
ConfigOption = Annotated[
    Optional[Path], typer.Option("--config", "-c", envvar="SEGMENTO_CONFIG", help="Project file (segmento.yaml).")
]


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


def print_frame(frame, title: str, digits: int = 0) -> None:
    """A small DataFrame as a rich table (index as the first column)."""
    out = Table(frame.index.name or "", *map(str, frame.columns), title=title)
    for label, row in frame.iterrows():
        out.add_row(str(label), *(f"{v:,.{digits}f}" if isinstance(v, (int, float)) else str(v) for v in row))
    console.print(out)
