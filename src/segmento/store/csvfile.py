"""Parse delimited text into Arrow with the physical line where each record starts.

Arrow's CSV parser does the work; it does not say on which line a record starts, and a
quoted field may span lines, blank lines are skipped and CRLF/CR/LF all end a line. So
the bytes are scanned once (numpy, vectorised) for the lines that end a record outside
quotes, and the scan is checked against Arrow's own record count and the records it
found ragged. When they disagree (hostile quoting), Python's csv module, which counts
lines itself, parses the file instead: slower, still exact.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from segmento.errors import SegmentoError

WHITESPACE = "whitespace"
QUOTE = ord('"')


class SourceError(SegmentoError):
    """A source that cannot be read at all; the message names the file and line."""


@dataclass
class BrokenRow:
    """A record that does not split into the header's number of fields."""

    line: int
    text: str
    reason: str


@dataclass
class Parsed:
    """The header, the rows (all text) with their lines, and the records that did not split."""

    columns: list[str]
    table: pa.Table
    lines: np.ndarray
    broken: list[BrokenRow] = field(default_factory=list)


def decode(name: str, data: bytes, encoding: str, hint: str) -> str:
    """The text of the file; a byte that does not decode is an error naming its line."""
    try:
        text = data.decode(encoding)
    except LookupError:
        raise SourceError(f"{name}: unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SourceError(
            f"{name}, line {line}: not valid {encoding} (byte 0x{data[exc.start]:02x} at column {column}); "
            f"give the file's encoding, e.g. {hint}"
        ) from None
    return text.removeprefix("\ufeff")


def parse(name: str, text: str, delimiter: str, names: list[str] | None) -> Parsed:
    """Split ``text`` into string columns; ``names`` given means the file has no header."""
    if delimiter == WHITESPACE:
        return _whitespace(name, text, names)
    data = text.encode("utf-8")
    header = names if names is not None else _header(name, text, delimiter)
    try:
        parsed = _arrow(data, delimiter, header, has_header=names is None)
    except pa.ArrowInvalid:
        parsed = None
    if parsed is None:
        return _python(name, text, delimiter, header, has_header=names is None)
    return parsed


def _header(name: str, text: str, delimiter: str) -> list[str]:
    try:
        header = next(csv.reader(io.StringIO(text[:1 << 20], newline=""), delimiter=delimiter), [])
    except csv.Error as exc:
        raise SourceError(f"{name}, line 1: cannot read the header ({exc})") from None
    if not any(h.strip() for h in header):
        raise SourceError(f"{name}, line 1: empty file or missing header row")
    return [h.strip() for h in header]


def _arrow(data: bytes, delimiter: str, header: list[str], has_header: bool) -> Parsed | None:
    """Arrow's parse, or None when the line scan and Arrow do not agree on the records."""
    starts, fields = record_lines(data, delimiter)
    if has_header:
        starts, fields = starts[1:], fields[1:]
    ragged = fields != len(header)
    invalid: list[tuple[int | None, str, int]] = []

    def keep(row: pa_csv.InvalidRow) -> str:
        invalid.append((row.number, row.text, row.actual_columns))
        return "skip"

    columns = [f"f{i}" for i in range(len(header))]
    table = pa_csv.read_csv(
        pa.BufferReader(data),
        read_options=pa_csv.ReadOptions(
            use_threads=False, column_names=columns, skip_rows=int(has_header), block_size=16 << 20
        ),
        parse_options=pa_csv.ParseOptions(delimiter=delimiter, invalid_row_handler=keep),
        convert_options=pa_csv.ConvertOptions(
            column_types={c: pa.string() for c in columns}, strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    ordinals = np.flatnonzero(ragged) + 1 + int(has_header)
    if table.num_rows != int((~ragged).sum()) or [n for n, _, _ in invalid] != ordinals.tolist():
        return None
    broken = [
        BrokenRow(int(line), text, _ragged_reason(len(header), count, delimiter))
        for line, (_, text, count) in zip(starts[ragged], invalid)
    ]
    return Parsed(header, table, starts[~ragged], broken)


def record_lines(data: bytes, delimiter: str) -> tuple[np.ndarray, np.ndarray]:
    """For every non-blank record: the line it starts on (1-based) and its number of fields.

    A line break or delimiter is inside quotes when an odd number of quote characters
    precede it (RFC 4180's doubled quotes count twice, so they change nothing).
    """
    b = np.frombuffer(data, np.uint8)
    quotes = np.flatnonzero(b == QUOTE)
    newlines = np.flatnonzero(b == 10)
    returns = np.flatnonzero(b == 13)
    lone = returns[(returns + 1 >= len(b)) | (b[np.minimum(returns + 1, len(b) - 1)] != 10)]
    breaks = np.union1d(newlines, lone)  # a line ends at LF, at CR not followed by LF
    ends = breaks[(np.searchsorted(quotes, breaks) & 1) == 0]
    if len(b) and (not len(ends) or ends[-1] != len(b) - 1):
        ends = np.append(ends, len(b))
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    length = ends - starts
    crlf = length > 0
    crlf[crlf] = b[np.minimum(ends[crlf] - 1, len(b) - 1)] == 13
    blank = (length == 0) | ((length == 1) & crlf)
    delimiters = np.flatnonzero(b == ord(delimiter))
    delimiters = delimiters[(np.searchsorted(quotes, delimiters) & 1) == 0]
    fields = np.searchsorted(delimiters, ends) - np.searchsorted(delimiters, starts) + 1
    lines = np.searchsorted(breaks, starts) + 1
    keep = ~blank
    return lines[keep].astype(np.int64), fields[keep]


def _python(name: str, text: str, delimiter: str, header: list[str], has_header: bool) -> Parsed:
    """Python's csv module: slower, but it counts the lines of every record itself."""
    csv.field_size_limit(sys.maxsize)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    broken: list[BrokenRow] = []
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record:
                continue
            if has_header:
                has_header = False
                continue
            if len(record) == len(header):
                rows.append(record)
                lines.append(line)
            else:
                raw = delimiter.join(record)
                broken.append(BrokenRow(line, raw, _ragged_reason(len(header), len(record), delimiter)))
    except csv.Error as exc:
        raise SourceError(f"{name}, line {start}: cannot parse ({exc})") from None
    columns = list(zip(*rows)) if rows else [[] for _ in header]
    table = pa.table({f"f{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})
    return Parsed(header, table, np.array(lines, np.int64), broken)


def _whitespace(name: str, text: str, names: list[str] | None) -> Parsed:
    """Fields separated by any run of spaces or tabs (fixed-width-looking exports), no quoting."""
    rows: list[list[str]] = []
    lines: list[int] = []
    broken: list[BrokenRow] = []
    header = names
    for number, line in enumerate(io.StringIO(text, newline=None), start=1):
        record = line.split()
        if not record:
            continue
        if header is None:
            header = record
            continue
        if len(record) == len(header):
            rows.append(record)
            lines.append(number)
        else:
            broken.append(BrokenRow(number, line.rstrip("\r\n"), _ragged_reason(len(header), len(record), "whitespace")))
    if not header:
        raise SourceError(f"{name}, line 1: empty file or missing header row")
    columns = list(zip(*rows)) if rows else [[] for _ in header]
    table = pa.table({f"f{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})
    return Parsed(list(header), table, np.array(lines, np.int64), broken)


def _ragged_reason(expected: int, found: int, delimiter: str) -> str:
    separator = "whitespace" if delimiter == WHITESPACE else repr(delimiter)
    return f"expected {expected} fields separated by {separator}, found {found}"
