"""Turn the files' columns into ours, in Arrow, before anything reaches the engine.

Renaming, NULL tokens, constants, value maps, made-up keys, decimal commas and user
date formats all happen here, vectorised. The staged table keeps ``_raw_<column>``
(the text that is checked) beside the parsed helpers, and ``_row`` (the row's place in
the run) so a rejected row's original values can be found again.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from segmento.store.csvfile import SourceError
from segmento.store.options import IngestOptions, Syntax
from segmento.store.schema import TableSpec
from segmento.store.sources import LINE, SourceReader

RAW = "_raw_"
FMT = "_fmt_"
NUM = "_num_"
ROW = "_row"
SOURCE = "_source"
NUMERIC = ("int", "float")


def resolve_mapping(spec: TableSpec, reader: SourceReader, options: IngestOptions, syntax: Syntax) -> dict[str, str]:
    """Our column -> the source's column, checking the user's mapping and required columns."""
    for option in ("columns", "constants", "values"):
        unknown = sorted(set(getattr(options, option)) - set(spec.column_names))
        if unknown:
            what = "column mapping" if option == "columns" else syntax.option(option)
            raise SourceError(
                f"{reader.name}: {what} names {', '.join(map(repr, unknown))}, not a column of {spec.name}; "
                f"valid: {', '.join(spec.column_names)}"
            )
    mapping = {name: options.columns.get(name, name) for name in spec.column_names}
    present = {name: src for name, src in mapping.items() if src in reader.columns}
    made = set(options.constants) | ({spec.key[0]} if options.id_from else set())
    missing = [n for n in spec.column_names if spec.column(n).required and n not in present and n not in made]
    if missing:
        described = ", ".join(
            repr(name) if mapping[name] == name else f"{name!r} (mapped from {mapping[name]!r})" for name in missing
        )
        hint = ""
        if len(reader.columns) == 1 and any(d in reader.columns[0] for d in ",;\t|"):
            hint = f"; the header is one field, so the delimiter is probably not {options.delimiter or ','!r}"
        where = f"{reader.name}, line 1" if reader.unit == "line" else reader.name
        raise SourceError(
            f"{where}: missing required column {described} for table {spec.name}; "
            f"the source has: {', '.join(reader.columns)}{hint}. Map a column with "
            f"{syntax.pair('columns', missing[0], 'THEIRS')}"
            + (f" or give it with {syntax.pair('constants', missing[0], 'VALUE')}" if missing[0] != spec.key[0]
               else f" or make it with {syntax.assign('id_from', 'line')}")
        )
    if isinstance(options.id_from, list):
        absent = [c for c in options.id_from if c not in reader.columns]
        if absent:
            raise SourceError(f"{reader.name}: {syntax.option('id_from')} names {absent[0]!r}, not a column of the "
                              f"source; it has: {', '.join(reader.columns)}")
    return present


def stage(
    spec: TableSpec, reader: SourceReader, mapping: dict[str, str], options: IngestOptions, first_row: int,
    source_no: int,
) -> pa.Table:
    """The staged rows of one source: raw text of our columns plus the parsed helpers."""
    table = reader.table
    rows = table.num_rows
    arrays: dict[str, pa.Array | pa.ChunkedArray] = {
        SOURCE: pa.array([source_no] * rows, pa.int32()),
        ROW: pa.array(range(first_row, first_row + rows), pa.int64()),
        LINE: table[LINE],
    }
    nulls = pa.array([""] + options.null_tokens, pa.string())
    for column in spec.columns:
        raw = _column(column.name, column.name == spec.key[0], table, mapping, options, reader)
        if raw is None:
            continue
        if pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type):
            raw = pc.if_else(pc.is_in(raw, value_set=nulls), pa.scalar(None, raw.type), raw)
        elif pa.types.is_null(raw.type):
            raw = raw.cast(pa.string())
        if column.name in options.values:
            raw = _map_values(raw, options.values[column.name])
        if column.name in options.constants and column.name in mapping:
            raw = pc.coalesce(raw.cast(pa.string()), pa.scalar(options.constants[column.name]))
        arrays[RAW + column.name] = raw
        if not pa.types.is_string(raw.type):
            continue
        fmt = {"date": options.date_format, "timestamp": options.timestamp_format}.get(column.type)
        if fmt:
            arrays[FMT + column.name] = _strptime(raw, fmt)
        if column.type in NUMERIC and (options.decimal != "." or options.thousands):
            arrays[NUM + column.name] = _number(raw, options.decimal, options.thousands)
    return pa.table(arrays)


def _column(
    name: str, is_key: bool, table: pa.Table, mapping: dict[str, str], options: IngestOptions, reader: SourceReader
) -> pa.Array | pa.ChunkedArray | None:
    """A column's raw values: from the source, a constant, or a made-up key (in that order)."""
    if name in mapping:
        return table[mapping[name]]
    if name in options.constants:
        return pa.array([options.constants[name]] * table.num_rows, pa.string())
    if options.id_from and is_key:
        return made_ids(reader, options.id_from)
    return None


def made_ids(reader: SourceReader, id_from: str | list[str]) -> pa.Array:
    """Ids for a source without any: '<file name>:<line>', or a hash of the named columns.

    Both are the same for the same file read again, so re-ingesting it changes nothing;
    the hash is also the same for the same row in another file (then a duplicate).
    """
    if id_from == "line":
        prefix = Path(reader.name).name + ":" if reader.unit == "line" else "row:"
        return pc.binary_join_element_wise(prefix, reader.table[LINE].cast(pa.string()), "")
    parts = zip(*(reader.table[c].cast(pa.string()).to_pylist() for c in id_from))
    return pa.array(
        [hashlib.sha256("\x1f".join("" if v is None else v for v in values).encode()).hexdigest()[:16]
         for values in parts],
        pa.string(),
    )


def _map_values(raw: pa.ChunkedArray, mapping: dict[str, str]) -> pa.ChunkedArray:
    """Values found in the map are replaced; others are kept as they are (and checked)."""
    text = raw.cast(pa.string())
    index = pc.index_in(text, value_set=pa.array(list(mapping), pa.string()))
    return pc.coalesce(pc.take(pa.array(list(mapping.values()), pa.string()), index), text)


def _number(raw: pa.ChunkedArray, decimal: str, thousands: str | None) -> pa.ChunkedArray:
    """'1 234,50' -> '1234.50' where the text is a number written that way; NULL where not."""
    sep = "[ \u00a0\u202f]" if thousands == " " else re.escape(thousands) if thousands else None
    d = re.escape(decimal)
    pattern = f"[+-]?([0-9]+({d}[0-9]*)?|{d}[0-9]+)"
    if sep:
        pattern += f"|[+-]?[0-9]{{1,3}}({sep}[0-9]{{3}})+({d}[0-9]*)?"
    text = pc.utf8_trim_whitespace(raw)
    ok = pc.match_substring_regex(text, f"^({pattern})$")
    if sep:
        text = pc.replace_substring_regex(text, sep, "")
    if decimal != ".":
        text = pc.replace_substring(text, decimal, ".")
    return pc.if_else(ok, text, pa.scalar(None, pa.string()))


def _strptime(raw: pa.ChunkedArray, fmt: str) -> pa.ChunkedArray:
    """Parse with a user format; NULL where it does not match or names an impossible date.

    Arrow's strptime rolls 31/02 over to 02/03, so a value only counts as parsed when
    formatting it back gives the same text (leading zeros aside).
    """
    parsed = pc.strptime(raw, format=fmt, unit="us", error_is_null=True)
    unpadded = r"(^|[^0-9])0+([0-9])"
    same = pc.equal(
        pc.replace_substring_regex(pc.strftime(parsed, format=fmt), unpadded, r"\1\2"),
        pc.replace_substring_regex(pc.utf8_trim_whitespace(raw), unpadded, r"\1\2"),
    )
    return pc.if_else(same, parsed, pa.scalar(None, parsed.type))
