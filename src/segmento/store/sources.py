"""Read a user's files or frame into Arrow tables that remember where each row came from.

Every row gets ``_line``: the physical line in a text file (header = line 1) or the
1-based row number in a Parquet file or frame, so a rejected row can be found again.
A path may be a file (plain, .gz, .zst or .bz2, found by its first bytes), a directory
or a glob; each file is read whole before anything is written, so a file that fails
to read loads nothing.
"""

from __future__ import annotations

import glob
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from segmento.store.csvfile import WHITESPACE, BrokenRow, SourceError, decode, parse

LINE = "_line"
SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
COMPRESSION = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd", b"BZh": "bz2"}
PARQUET = (".parquet", ".pq")

Source = str | Path | pa.Table | Any  # Any: pandas or Polars DataFrame

__all__ = ["LINE", "BrokenRow", "Source", "SourceError", "SourceReader", "open_sources"]


@dataclass
class SourceReader:
    """One file or frame as Arrow (the source's column names plus ``_line``) and its broken rows."""

    name: str
    columns: list[str]
    table: pa.Table
    broken: list[BrokenRow] = field(default_factory=list)
    unit: str = "line"  # what _line counts: text lines or rows


@dataclass(frozen=True)
class TextFormat:
    """How to split a text file: delimiter (None: detect), encoding, and names when there is no header."""

    delimiter: str | None = None
    encoding: str = "utf-8"
    names: list[str] | None = None
    header: bool = True
    encoding_hint: str = "encoding='latin-1'"


def open_sources(source: Source, text: TextFormat) -> list[SourceReader]:
    """Every file the source names (a file, a directory, a glob) or the frame, read whole."""
    if not isinstance(source, (str, Path)):
        return [_frame(source)]
    return [_file(path, text) for path in _expand(source)]


def _expand(source: str | Path) -> list[Path]:
    text = str(source)
    if any(ch in text for ch in "*?[") and not Path(text).exists():
        paths = [Path(p) for p in sorted(glob.glob(text)) if Path(p).is_file()]
        if not paths:
            raise SourceError(f"{text}: no file matches this pattern")
        return paths
    path = Path(text)
    if path.is_dir():
        paths = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not paths:
            raise SourceError(f"{path}: empty directory")
        return paths
    if not path.exists():
        raise SourceError(f"{path}: file not found")
    return [path]


def _file(path: Path, text: TextFormat) -> SourceReader:
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == b"PAR1" or path.suffix.lower() in PARQUET:
        return _parquet(path)
    compression = next((kind for head, kind in COMPRESSION.items() if magic.startswith(head)), None)
    try:
        data = pa.input_stream(str(path), compression=compression).read()
    except (OSError, pa.ArrowInvalid) as exc:
        raise SourceError(f"{path}: cannot read the {compression} file ({exc})") from None
    decoded = decode(str(path), data, text.encoding, text.encoding_hint)
    delimiter = _delimiter(text.delimiter, decoded)
    parsed = parse(str(path), decoded, delimiter, None if text.header else text.names)
    columns = check_header(str(path), parsed.columns, "column")
    if text.header and text.names:  # the user's names replace the file's header
        if len(text.names) != len(columns):
            raise SourceError(f"{path}, line 1: {len(text.names)} names given for {len(columns)} columns")
        columns = check_header(str(path), text.names, "column")
    table = parsed.table.rename_columns(columns).append_column(LINE, pa.array(parsed.lines, pa.int64()))
    return SourceReader(str(path), columns, table, parsed.broken)


def _delimiter(given: str | None, text: str) -> str:
    if given is None:
        return _sniff_delimiter(text[:SNIFF_BYTES])
    given = DELIMITER_NAMES.get(given.lower(), given)
    if given.lower() == WHITESPACE:
        return WHITESPACE
    if len(given) != 1:
        raise SourceError(f"delimiter {given!r}: give one character, 'tab' or 'whitespace'")
    return given


def check_header(name: str, columns: list[str], unit: str) -> list[str]:
    """Column names must be named and unique: say which are not, and where."""
    where = f"{name}, line 1" if unit == "column" else name
    for position, column in enumerate(columns, start=1):
        if not str(column).strip():
            raise SourceError(f"{where}: {unit} {position} has no name; name it or remove it")
    repeated = [c for c, n in Counter(columns).items() if n > 1]
    if repeated:
        positions = [str(i) for i, c in enumerate(columns, start=1) if c == repeated[0]]
        raise SourceError(
            f"{where}: {unit} name {repeated[0]!r} appears {len(positions)} times ({unit}s {', '.join(positions)}); "
            "rename or remove the repeats"
        )
    return [str(c) for c in columns]


def _numbered(table: pa.Table) -> pa.Table:
    return table.append_column(LINE, pa.array(np.arange(1, table.num_rows + 1), pa.int64()))


def _parquet(path: Path) -> SourceReader:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(f"{path}: not a readable Parquet file ({exc})") from None
    columns = check_header(str(path), table.column_names, "column")
    return SourceReader(str(path), columns, _numbered(table), unit="row")


def _frame(frame: Any) -> SourceReader:
    name = f"<{type(frame).__module__.split('.')[0]} {type(frame).__name__}>"
    if isinstance(frame, pa.Table):
        columns = check_header(name, frame.column_names, "column")
        table = frame
    elif hasattr(frame, "to_arrow"):  # Polars
        table = frame.to_arrow()
        columns = check_header(name, table.column_names, "column")
    elif hasattr(frame, "to_parquet") and hasattr(frame, "columns"):  # pandas
        columns = check_header(name, [str(c) for c in frame.columns], "column")
        table = pa.table({c: _pandas_column(frame.iloc[:, i]) for i, c in enumerate(columns)})
    else:
        raise SourceError(
            f"cannot read a {type(frame).__name__}; pass a CSV/Parquet path or a pandas, Polars or Arrow frame"
        )
    return SourceReader(name, columns, _numbered(table), unit="row")


def _pandas_column(series: Any) -> pa.Array:
    """A column as Arrow; a column of mixed values (10 and "abc") becomes text, checked row by row later."""
    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if _missing(v) else str(v) for v in series], pa.string())


def _missing(value: Any) -> bool:
    """None, NaN, NaT and pandas' NA alike."""
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or array in a cell: a value, shown as text
        return False


def _sniff_delimiter(head: str) -> str:
    """The delimiter the header line uses most among , ; tab | (comma when none)."""
    header = head.splitlines()[0] if head else ""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","
