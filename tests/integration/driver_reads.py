"""Counting what a Spark computation brings back to the driver: every result Ibis hands this process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def counting_rows(con: Any, counted: list[int]) -> None:
    """Every result Ibis hands this process from the engine adds its row count to ``counted``."""

    def wrap(read: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            result = read(*args, **kwargs)
            counted.append(1 if not hasattr(result, "__len__") else len(result))
            return result

        return run

    for name in ("execute", "to_pyarrow"):
        setattr(con, name, wrap(getattr(con, name)))

    batches = con.to_pyarrow_batches

    def streamed(*args: Any, **kwargs: Any) -> Any:
        read = list(batches(*args, **kwargs))
        counted.append(sum(batch.num_rows for batch in read))
        return iter(read)

    con.to_pyarrow_batches = streamed
