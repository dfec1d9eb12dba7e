"""Arrow column builders.

The generator works on integer codes and numpy arrays; these helpers turn them into the
knowledge-base's Arrow types in C speed, so no Python loop ever runs over rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from segmento.store.schema import TableSpec

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}
_MAX_STRING_BYTES = 2**31 - 1  # Arrow `string` offsets are int32


def arrow_schema(spec: TableSpec) -> pa.Schema:
    """The Arrow schema of a knowledge-base table, in the spec's column order."""
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=not c.required) for c in spec.columns])


def table(spec: TableSpec, columns: Mapping[str, pa.Array]) -> pa.Table:
    """Assemble a table exactly as the spec declares it, so a drifting generator fails here, not in ingestion."""
    if set(columns) != set(spec.column_names):
        raise ValueError(f"{spec.name}: built {sorted(columns)}, spec wants {spec.column_names}")
    return pa.Table.from_arrays([columns[name] for name in spec.column_names], schema=arrow_schema(spec))


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded identifiers ('C0000042') written straight into an Arrow buffer."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers) and numbers.max() >= 10**width:
        raise ValueError(f"{prefix} identifiers need more than {width} digits")
    row_bytes = len(prefix) + width
    if len(numbers) * row_bytes > _MAX_STRING_BYTES:
        raise ValueError("too many identifiers for one Arrow chunk")
    text = np.empty((len(numbers), row_bytes), dtype=np.uint8)
    text[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    remaining = numbers.copy()
    for position in range(row_bytes - 1, len(prefix) - 1, -1):
        text[:, position] = ord("0") + remaining % 10
        remaining //= 10
    offsets = np.arange(0, (len(numbers) + 1) * row_bytes, row_bytes, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), len(numbers), [None, pa.py_buffer(offsets), pa.py_buffer(text)])


def labels(vocabulary: Sequence[str], codes: np.ndarray) -> pa.Array:
    """Strings looked up by code; a negative code is a null."""
    codes = np.asarray(codes)
    indices = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.array(list(vocabulary), type=pa.string()).take(indices)


def timestamps(microseconds: np.ndarray) -> pa.Array:
    """Microseconds since the epoch as timestamp[us]."""
    return pa.array(np.asarray(microseconds, dtype=np.int64).view("datetime64[us]"), type=pa.timestamp("us"))


def dates(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Days since the epoch as date32, with optional nulls."""
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.int32(), mask=missing).view(pa.date32())
