"""How delivery stands per destination, and the dead letters: plain SQL over the outbox (see
store/quick.py), so ``segmento delivery-status`` reads the file without loading Ibis or pandas
and the library, the API and the CLI count the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segmento.store.quick import Source, rows

OUTBOX = "activation_outbox"  # declared in store/registry_stages.py
PENDING, DELIVERED, FAILED, FILTERED = "pending", "delivered", "failed", "filtered"
STATUSES = (PENDING, DELIVERED, FAILED, FILTERED)
COLUMNS = ("destination", *STATUSES, "oldest_pending", "last_error")


def status_rows(source: Source, destinations: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Per destination: pending, delivered, failed (dead letter) and filtered (no consent) counts, the oldest
    pending message and the latest dead letter's error. Declared but unused destinations show zeros."""
    counts = ", ".join(f"count(*) FILTER (WHERE status = '{s}') AS {s}" for s in STATUSES)
    found = {row["destination"]: row for row in rows(
        source, f"SELECT destination, {counts}, min(created_at) FILTER (WHERE status = '{PENDING}') AS oldest_pending, "
                f"arg_max(last_error, settled_at) FILTER (WHERE status = '{FAILED}') AS last_error "
                f"FROM {OUTBOX} GROUP BY destination")}
    empty = dict.fromkeys(STATUSES, 0) | {"oldest_pending": None, "last_error": None}
    return [{c: found.get(name, {"destination": name, **empty})[c] for c in COLUMNS}
            for name in sorted({*destinations, *found})]


def dead_letter_rows(source: Source, limit: int = 10) -> list[dict[str, Any]]:
    """The latest messages that failed every attempt, with their last error."""
    return rows(source, f"SELECT message_id, destination, topic, customer_id, attempts, last_error, created_at, settled_at "
                        f"FROM {OUTBOX} WHERE status = '{FAILED}' ORDER BY settled_at DESC LIMIT ?", limit)
