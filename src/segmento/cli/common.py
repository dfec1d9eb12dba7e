"""What every stage's verbs share: the console, the --db/--config options, opening the workspace."""

from __future__ import annotations

from typing import Any

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
    """A small DataFrame as a rich table (index as the first column), figures formatted for people."""
    from segmento import formatting as fmt

    out = Table(frame.index.name or "", *map(str, frame.columns), title=title)
    for column in frame.columns[frame.dtypes.map(lambda t: t.kind in "iuf").to_numpy()]:
        out.columns[list(frame.columns).index(column) + 1].justify = "right"
    for label, row in frame.iterrows():
        out.add_row(str(label), *(fmt.number(v, digits) if isinstance(v, (int, float)) and not isinstance(v, bool)
                                  else str(v) for v in row))
    console.print(out)


def segment_names(ws: Any, segmentation: str) -> dict[str, str]:
    """Segment id -> label of the fitted model ('new'/'lost' for the transition margins)."""
    names = {"(new)": "new customers", "(exit)": "lost (left the base)"}
    try:
        names |= {s.id: s.label for s in ws.segmentation_model(segmentation).segments}
    except (KeyError, LookupError, ValueError):
        pass  # no stored model: ids it is
    return names
