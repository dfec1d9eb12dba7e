"""Timing and memory helpers shared by the benchmarks."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


SOURCES = ("customers", "orders", "order_lines", "events", "consents")


def copy_sources(raw: object, base: str) -> None:
    """The generated base's source tables copied into an open DuckDB connection's database (setup)."""
    raw.execute(f"ATTACH '{base}' AS source (READ_ONLY)")
    for name in SOURCES:
        raw.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM source."{name}"')
    raw.execute("DETACH source")
    raw.execute("CHECKPOINT")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


@contextmanager
def section(title: str) -> Iterator[None]:
    print(f"\n== {title}", flush=True)
    yield


def line(label: str, seconds: float, rows: int | None = None, baseline: float | None = None) -> None:
    """One result line: time, throughput, and the ratio to the baseline when given."""
    text = f"  {label:<44} {seconds:8.2f} s"
    if rows:
        text += f"  {rows / seconds:>12,.0f} rows/s"
    if baseline:
        text += f"  ratio {seconds / baseline:5.2f}x the baseline time"
    print(text, flush=True)
