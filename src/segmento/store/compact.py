"""Physical erasure: rewrite the DuckDB file so deleted rows' bytes are gone from disk.

DuckDB keeps a deleted row's bytes in its block until the block is reused; CHECKPOINT and
VACUUM leave them, and so does rewriting a table in place (the old blocks are only marked
free). Copying the live data into a new file (``COPY FROM DATABASE``) and moving that file
over the old one removes them: the new file never held the deleted values, and the old
file's WAL is checkpointed and gone before the swap.

Every connection to the file must be closed during the swap (DuckDB keeps one database
instance per path while any connection or cursor is open); the caller closes its cursors,
this module closes and reopens the Ibis backend it is given.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
from ibis.backends import BaseBackend

from segmento.errors import SegmentoError, UnsupportedError
from segmento.store import registry

ERASED = registry.ERASED.name


class FileInUse(SegmentoError):
    """Another connection holds the file: it cannot be swapped under it."""


@dataclass(frozen=True)
class CompactReport:
    """One rewrite: the file, its size before and after, erasures it completed, seconds taken."""

    path: str
    bytes_before: int
    bytes_after: int
    completed: int
    seconds: float

    def __str__(self) -> str:
        return (f"{self.path}: rewritten in {self.seconds:.1f}s ({self.bytes_before / 1e6:,.1f} MB -> "
                f"{self.bytes_after / 1e6:,.1f} MB); {self.completed} erasure(s) now physically complete")


def database_file(con: BaseBackend) -> Path:
    """The DuckDB file behind ``con``; other engines and in-memory bases cannot be rewritten here."""
    if con.name != "duckdb":
        raise UnsupportedError(
            f"physical erasure rewrites a DuckDB file; on {con.name} deleted rows are removed from tables only, "
            "and their storage is reclaimed by that engine's own maintenance (e.g. rewriting the table's files)"
        )
    path = con.con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    if not path:
        raise UnsupportedError("an in-memory DuckDB base has no file to rewrite; nothing stays on disk")
    return Path(path)


def compact(con: BaseBackend) -> CompactReport:
    """Rewrite the base into a new file, mark pending erasures complete in it, and swap it in.

    ``con`` must be the only open connection to the file (an Ibis DuckDB backend opened from a
    path); it is reconnected to the new file before returning. A crash before the swap leaves
    the old file untouched (and a ``.compacting`` file to ignore); the swap itself is one rename.
    """
    path = database_file(con)
    started = time.perf_counter()
    before = _size(path)
    fresh = path.with_name(path.name + ".compacting")
    for leftover in (fresh, Path(f"{fresh}.wal")):
        leftover.unlink(missing_ok=True)
    raw = con.con
    catalog = raw.execute("SELECT current_database()").fetchone()[0]
    try:
        raw.execute("CHECKPOINT")
    except duckdb.TransactionException:
        raise FileInUse(f"{path} has writes in flight on another connection; run `segmento gdpr compact` "
                        "when nothing else has it open") from None
    raw.execute(f"ATTACH {_quote_literal(str(fresh))} AS _segmento_compact")
    try:
        raw.execute(f"COPY FROM DATABASE {_quote_name(catalog)} TO _segmento_compact")
        kinds = raw.execute(f'UPDATE _segmento_compact.main."{ERASED}" SET compacted_at = ? '
                            "WHERE compacted_at IS NULL RETURNING kind", [datetime.now()]).fetchall()
        completed = [kind for (kind,) in kinds if kind == "customer"]
        raw.execute("CHECKPOINT _segmento_compact")
    finally:
        raw.execute("DETACH _segmento_compact")
    _fsync(fresh)
    con.disconnect()  # checkpoints the old file and removes its WAL
    _check_closed(path, fresh, con)
    os.replace(fresh, path)
    Path(f"{path}.wal").unlink(missing_ok=True)  # a WAL of the old file would not belong to the new one
    _fsync(path.parent)
    con.reconnect()
    return CompactReport(str(path), before, _size(path), len(completed), time.perf_counter() - started)


def _check_closed(path: Path, fresh: Path, con: BaseBackend) -> None:
    """DuckDB keeps the old file open while any other connection of this process uses it, and would
    hand that stale instance back on reconnect: open it with a different configuration, which DuckDB
    only allows when no instance is alive."""
    try:
        duckdb.connect(str(path), config={"custom_user_agent": "segmento-compact-probe"}).close()
    except duckdb.ConnectionException:
        fresh.unlink(missing_ok=True)
        con.reconnect()
        raise FileInUse(f"{path} is open on another connection of this process; close it and run "
                        "`segmento gdpr compact`") from None


def _size(path: Path) -> int:
    wal = Path(f"{path}.wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote_name(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'
