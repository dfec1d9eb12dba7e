"""Read a user's file or frame into Arrow batches that remember where each row came from.

Every row gets ``_line``: the physical line in a CSV file (header = line 1) or the
1-based row number in a Parquet file or frame, so a rejected row can be found again.
Rows a CSV parser cannot even split into fields are returned as ``broken`` rows with
their line and text instead of being dropped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

LINE = "_line"
DEFAULT_BATCH_ROWS = 2_000_000
SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"

Source = str | Path | pa.Table | Any  # Any: pandas or Polars DataFrame


class SourceError(ValueError):
    """A source that cannot be read at all; the message names the file and line."""


@dataclass
class BrokenRow:
    """A CSV line that does not split into the header's number of fields."""

    line: int
    text: str
    reason: str


@dataclass
class SourceReader:
    """Batches of a source as Arrow, with the source's name and its broken rows."""

    name: str
    columns: list[str]
    batches: Iterator[pa.Table]
    broken: list[BrokenRow] = field(default_factory=list)
    unit: str = "line"  # what _line counts: CSV lines or rows


def open_source(
    source: Source,
    *,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> SourceReader:
    """Open a CSV/Parquet path or a pandas/Polars/Arrow frame for batch reading."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise SourceError(f"{path}: file not found")
        suffix = path.suffix.lower()
        if suffix in {".parquet", ".pq"}:
            return _parquet(path, batch_rows)
        if suffix in {".csv", ".txt", ".tsv"}:
            return _csv(path, delimiter, encoding)
        raise SourceError(f"{path}: unsupported file type {suffix!r}; use .csv, .tsv or .parquet")
    return _frame(source, batch_rows)


def _numbered(table: pa.Table, first: int) -> pa.Table:
    return table.append_column(LINE, pa.array(range(first, first + table.num_rows), pa.int64()))


def _parquet(path: Path, batch_rows: int) -> SourceReader:
    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(f"{path}: not a readable Parquet file ({exc})") from None

    def batches() -> Iterator[pa.Table]:
        first = 1
        for batch in file.iter_batches(batch_size=batch_rows):
            table = pa.Table.from_batches([batch])
            yield _numbered(table, first)
            first += table.num_rows

    return SourceReader(str(path), file.schema_arrow.names, batches(), unit="row")


def _frame(frame: Any, batch_rows: int) -> SourceReader:
    if isinstance(frame, pa.Table):
        table = frame
    elif hasattr(frame, "to_arrow"):  # Polars
        table = frame.to_arrow()
    elif hasattr(frame, "to_parquet") and hasattr(frame, "columns"):  # pandas
        table = pa.Table.from_pandas(frame, preserve_index=False)
    else:
        raise SourceError(
            f"cannot read a {type(frame).__name__}; pass a CSV/Parquet path or a pandas, Polars or Arrow frame"
        )
    name = f"<{type(frame).__module__.split('.')[0]} {type(frame).__name__}>"

    def batches() -> Iterator[pa.Table]:
        for start in range(0, max(table.num_rows, 1), batch_rows):
            yield _numbered(table.slice(start, batch_rows), start + 1)

    return SourceReader(name, table.column_names, batches(), unit="row")


def _csv(path: Path, delimiter: str | None, encoding: str) -> SourceReader:
    head = _head(path, encoding)
    delimiter = delimiter or _sniff_delimiter(head)
    header = next(csv.reader([head.splitlines()[0] if head else ""], delimiter=delimiter), [])
    if not header or not any(name.strip() for name in header):
        raise SourceError(f"{path}, line 1: empty file or missing header row")
    broken: list[BrokenRow] = []

    def keep_broken(row: pa_csv.InvalidRow) -> str:
        broken.append(
            BrokenRow(
                row.number or 0,
                row.text,
                f"expected {row.expected_columns} fields separated by {delimiter!r}, found {row.actual_columns}",
            )
        )
        return "skip"

    def batches() -> Iterator[pa.Table]:
        reader = pa_csv.open_csv(
            path,
            # Single-threaded reading is what gives each broken row its line number.
            read_options=pa_csv.ReadOptions(encoding=encoding, use_threads=False, block_size=16 << 20),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, invalid_row_handler=keep_broken),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=True
            ),
        )
        next_line = 2
        try:
            for batch in reader:
                table = pa.Table.from_batches([batch])
                lines, next_line = _physical_lines(table.num_rows, next_line, broken)
                yield table.append_column(LINE, pa.array(lines, pa.int64()))
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc) or "decode" in str(exc).lower():
                raise SourceError(_encoding_error(path, encoding)) from None
            raise SourceError(f"{path}: cannot parse CSV: {exc}") from None

    try:
        return SourceReader(str(path), header, batches(), broken)
    except pa.ArrowInvalid as exc:  # pragma: no cover - raised lazily above
        raise SourceError(f"{path}: {exc}") from None


def _physical_lines(rows: int, next_line: int, broken: list[BrokenRow]) -> tuple[np.ndarray, int]:
    """Line numbers of the next ``rows`` parsed rows, skipping lines that were broken."""
    skipped = np.array([row.line for row in broken if row.line >= next_line], dtype=np.int64)
    candidates = np.arange(next_line, next_line + rows + len(skipped), dtype=np.int64)
    lines = candidates[~np.isin(candidates, skipped)][:rows]
    return lines, int(lines[-1]) + 1 if rows else next_line


def _head(path: Path, encoding: str) -> str:
    with path.open("rb") as handle:
        raw = handle.read(SNIFF_BYTES)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.start < len(raw) - 4:  # not just a character cut at the sniff boundary
            raise SourceError(_encoding_error(path, encoding)) from None
        return raw[: exc.start].decode(encoding)
    except LookupError:
        raise SourceError(f"{path}: unknown encoding {encoding!r}") from None


def _encoding_error(path: Path, encoding: str) -> str:
    """Find the first line that does not decode, so the user can look at it."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as exc:
                return (
                    f"{path}, line {number}: not valid {encoding} (byte 0x{raw[exc.start]:02x} at "
                    f"column {exc.start + 1}); give the file's encoding, e.g. encoding='latin-1'"
                )
    return f"{path}: not valid {encoding}; give the file's encoding, e.g. encoding='latin-1'"


def _sniff_delimiter(head: str) -> str:
    """The delimiter the header line uses most among , ; tab | (comma when none)."""
    header = head.splitlines()[0] if head else ""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","
