"""What every stage's verbs share: the console, the --db/--config options, opening the
workspace, and the one error handler.

A `SegmentoError` is the user's to fix: it is printed on one red line and the command
exits with code 2. Anything else is a bug and surfaces as one (a traceback, exit 1).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError  # typer's click (pinned)
from typer.core import TyperGroup

from segmento.errors import NotFoundError, SegmentoError

if TYPE_CHECKING:
    from segmento.store.quick import Source
    from segmento.workspace import Workspace

console = Console(markup=False)  # printed text is data: "[tiers]" or a label in brackets is not a style
_errors = Console(stderr=True, soft_wrap=True)  # soft wrap: an error stays on one line however narrow the terminal

DbOption = Annotated[
    Optional[str],
    typer.Option("--db", envvar="SEGMENTO_DB", help="DuckDB file or Ibis URL (default: the project's database)."),
]
ConfigOption = Annotated[
    Optional[Path], typer.Option("--config", "-c", envvar="SEGMENTO_CONFIG", help="Project file (segmento.yaml).")
]
PROJECT_FILE = Path("segmento.yaml")


class UserErrors(TyperGroup):
    """The command group of `segmento`: prints a SegmentoError raised by any verb, or a usage
    error (unknown option, missing argument, bad value), as one line, exit 2."""

    def main(self, *args: Any, **kwargs: Any) -> NoReturn:
        kwargs["standalone_mode"] = False  # usage errors come back here rather than to a framed box
        try:
            code = super().main(*args, **kwargs)
        except NoArgsIsHelpError as exc:
            exc.show()  # the help, as before (exit 2: nothing was asked)
            sys.exit(exc.exit_code)
        except UsageError as exc:
            where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            _errors.print(Text.assemble(("error:", "red"), " ", exc.format_message() + where))
            sys.exit(exc.exit_code)
        except ClickException as exc:
            _errors.print(Text.assemble(("error:", "red"), " ", exc.format_message()))
            sys.exit(exc.exit_code)
        except typer.Abort:
            _errors.print("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SegmentoError as exc:
            _errors.print(Text.assemble(("error:", "red"), " ", str(exc)))
            raise typer.Exit(code=2) from None


@contextmanager
def open_workspace(db: str | None, config: Path | None) -> Iterator[Workspace]:
    """The workspace named on the command line, or the project's, or ./segmento.yaml's."""
    from segmento.workspace import connect

    config = project_file(config)
    with connect(db, config) as workspace:
        workspace.actor = "cli"
        yield workspace


@contextmanager
def open_reader(db: str | None, config: Path | None) -> Iterator[Source]:
    """What listing verbs read from: the DuckDB file itself when it is at this layout (no Ibis, pandas or
    settings loaded, see store/quick.py), else the workspace's engine (Spark, a base to create or migrate)."""
    from segmento.store.quick import open_file

    config = project_file(config)
    path = _local_database(db, config)
    with open_file(path) if path is not None else nullcontext() as connection:
        if connection is not None:
            yield connection
            return
    with open_workspace(db, config) as workspace:
        yield workspace.con


def _local_database(db: str | None, config: Path | None) -> Path | None:
    """The DuckDB file named by --db, or by the project file's ``database`` when the batch runs on DuckDB;
    None when the base is elsewhere or the project file does not say plainly (the workspace then checks it)."""
    if db is not None:
        return None if "://" in db else Path(db)
    project = _raw_project(config)
    if project is None:
        return None
    database, engine = project.get("database", "segmento.duckdb"), project.get("engine") or {}
    spark = not isinstance(engine, dict) or engine.get("analytics", "duckdb") != "duckdb"
    return None if spark or not isinstance(database, str) or "://" in database else Path(database)


def project_value(config: Path | None, *keys: str) -> Any:
    """One setting read straight from the project file (``./segmento.yaml`` when not given), unvalidated,
    None if absent or unreadable: quick verbs need where the base and its key are, not the whole project."""
    found: Any = _raw_project(project_file(config))
    for key in keys:
        found = found.get(key) if isinstance(found, dict) else None
    return found


def project_file(config: Path | None) -> Path | None:
    """The project file named by --config, else ./segmento.yaml when present."""
    return PROJECT_FILE if config is None and PROJECT_FILE.exists() else config


def _raw_project(config: Path | None) -> dict[str, Any] | None:
    """The project file's YAML mapping ({} without a project file), or None when it cannot be read."""
    if config is None:
        return {}
    import yaml

    try:
        # libyaml's loader where the wheel has it: the pure-Python one took 0.05 s of a quick verb's 0.5 s
        found = yaml.load(config.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return found if isinstance(found, dict) else {} if found is None else None


def fail(message: str) -> NoReturn:
    """Refuse bad command-line input (the handler prints it)."""
    raise SegmentoError(message)


def day(text: str, option: str) -> date:
    """A YYYY-MM-DD option's date, or a message naming the option."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date (YYYY-MM-DD)")


def print_frame(frame, title: str, digits: int | dict[str, int] = 0) -> None:
    """A small DataFrame as a rich table (index as the first column), figures formatted for people:
    whole-number columns as counts, others with ``digits`` decimals (one number, or per column)."""
    from segmento import formatting as fmt

    out = Table(frame.index.name or "", *map(str, frame.columns), title=title)
    shown = []
    for k, column in enumerate(frame.columns):
        kind = frame.dtypes.iloc[k].kind
        if kind in "iuf":
            out.columns[k + 1].justify = "right"
        places = digits.get(str(column), 0) if isinstance(digits, dict) else digits
        shown.append(fmt.count if kind in "iu" else lambda v, d=places: fmt.number(v, d))
    for label, row in frame.iterrows():
        out.add_row(str(label), *(show(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
                                  for show, v in zip(shown, row)))
    console.print(out)


def segment_names(source: Source, segmentation: str) -> dict[str, str]:
    """Segment id -> label of the latest stored model ('new'/'lost' for the transition margins)."""
    from segmento.segmentations.stored import model_document, segment_labels

    names = {"(new)": "new customers", "(exit)": "lost (left the base)"}
    try:
        return names | segment_labels(model_document(source, segmentation))
    except NotFoundError:
        return names  # no stored model: ids it is
