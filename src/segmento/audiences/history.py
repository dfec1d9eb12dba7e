"""Membership history: refreshes that move people as time passes, and the change records.

A refresh evaluates every audience as of an instant and appends one change per customer
whose membership differs from the open intervals: an ``enter`` or an ``exit``, with the
refresh as the reason (the idempotency cause) and ``why`` naming the clause that changed
("age 40 -> 41", see why.py). History only moves forward, so an interval never overlaps the next.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime

import ibis
import pyarrow as pa
from ibis import _
from ibis.backends import BaseBackend

from segmento.audiences.definitions import AudienceSet
from segmento.audiences.evaluate import FeatureSource, evaluate, rule_inputs
from segmento.audiences.tables import ENTER, EXIT, current_membership
from segmento.audiences.why import Explainer, with_features
from segmento.errors import SegmentoError
from segmento.store.backend import append, append_mapped, batch_step, held, staged, transaction
from segmento.store.tables import table


@dataclass(frozen=True)
class Change:
    """One enter/exit record, as the activation stage delivers it (``change_id`` is its idempotency key)."""

    change_id: str
    seq: int
    customer_id: str
    audience: str
    kind: str
    at: datetime
    reason: str


@dataclass
class RefreshReport:
    """What one refresh did, per audience: size after it, entries and exits."""

    refresh_id: str
    as_of: datetime
    sizes: dict[str, int] = field(default_factory=dict)
    enters: dict[str, int] = field(default_factory=dict)
    exits: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def __str__(self) -> str:
        lines = [f"refresh {self.refresh_id} as of {self.as_of:%Y-%m-%d %H:%M:%S} ({self.seconds:.1f}s)"]
        for name in sorted(set(self.sizes) | set(self.exits)):
            moved = f"+{self.enters.get(name, 0):,} / -{self.exits.get(name, 0):,}"
            lines.append(f"  {name}: {self.sizes.get(name, 0):,} members ({moved})")
        return "\n".join(lines)


def change_id(reason: str, audience: str, customer_id: str, kind: str) -> str:
    """The same change (same cause, audience, customer, kind) always gets the same id."""
    return hashlib.md5(f"{reason}|{audience}|{customer_id}|{kind}".encode()).hexdigest()


def last_instant(con: BaseBackend) -> datetime | None:
    """The latest instant history has been written at (a refresh or a change)."""
    changes = table(con, "audience_changes").at.max().execute()
    refreshes = con.table("audience_refreshes").as_of.max().execute()
    present = [t.to_pydatetime() if hasattr(t, "to_pydatetime") else t for t in (changes, refreshes)]
    present = [t for t in present if t is not None and t == t]  # NaT != NaT
    return max(present) if present else None


def next_seq(con: BaseBackend) -> int:
    value = con.table("audience_changes").seq.max().execute()
    return 1 if value is None or value != value else int(value) + 1


def refresh(con: BaseBackend, audiences: AudienceSet, as_of: datetime, source: FeatureSource) -> RefreshReport:
    """Re-evaluate every audience as of ``as_of`` and record who entered and who left."""
    started = time.perf_counter()
    last = last_instant(con)
    if last is not None and as_of < last:
        raise SegmentoError(
            f"cannot refresh as of {as_of:%Y-%m-%d %H:%M:%S}: history is already written up to "
            f"{last:%Y-%m-%d %H:%M:%S} and only moves forward (evaluate past dates with members(name, as_of))"
        )
    report = RefreshReport(uuid.uuid4().hex[:12], as_of)
    reason = f"refresh:{report.refresh_id}"
    # what the rules read now, computed once: for the memberships and for the why of each change
    with batch_step(con), _inputs(con, audiences, as_of, source) as now:
        members = evaluate(con, audiences, as_of, source, inputs=now)
        with staged(con, members) as target:
            current = current_membership(con.table("audience_changes"))
            keys = ["customer_id", "audience"]
            enters = target.anti_join(current, keys).mutate(kind=ibis.literal(ENTER))
            exits = current.anti_join(target, keys).mutate(kind=ibis.literal(EXIT))
            defined = list(audiences.names) or [""]
            # computed once: counted, then numbered and worded (the open intervals read every change ever made)
            moved = held(con, enters.union(exits).mutate(
                reason=ibis.ifelse(_.audience.isin(defined), reason, f"removed:{report.refresh_id}")
            ))
            counts = moved.group_by(["audience", "kind"]).agg(n=_.count()).to_pyarrow().to_pylist()
            sizes = target.group_by("audience").agg(n=_.count()).to_pyarrow().to_pylist()
            report.sizes = {row["audience"]: row["n"] for row in sizes}
            report.enters = {r["audience"]: r["n"] for r in counts if r["kind"] == ENTER}
            report.exits = {r["audience"]: r["n"] for r in counts if r["kind"] == EXIT}
            changes = moved.select(
                change_id=(_.reason + "|" + _.audience + "|" + _.customer_id + "|" + _.kind).hexdigest("md5"),
                seq=_seq(moved, counts, next_seq(con)),
                customer_id=_.customer_id,
                audience=_.audience,
                kind=_.kind,
                at=ibis.literal(as_of, type="timestamp"),
                reason=_.reason,
                recorded_at=ibis.literal(datetime.now(), type="timestamp"),
            )
            # the why of each change is worded where the changes are (a first refresh moves everyone)
            moved_audiences = sorted({row["audience"] for row in counts})
            explained = with_features(con, audiences, changes, moved_audiences, now, last, source)
            report.seconds = time.perf_counter() - started
            with transaction(con):
                append_mapped(con, "audience_changes", explained, Explainer(audiences, moved_audiences, as_of, last))
                append(con, "audience_refreshes", pa.Table.from_pylist([_log_row(report, audiences)]))
    return report


def _inputs(con: BaseBackend, audiences: AudienceSet, as_of: datetime,
            source: FeatureSource) -> AbstractContextManager[ibis.Table | None]:
    names = audiences.names
    return staged(con, rule_inputs(con, audiences, names, as_of, source)) if names else nullcontext()


def _seq(moved: ibis.Table, counts: list[dict], base: int) -> ibis.Value:
    """Changes numbered in (audience, customer) order from ``base``, one window per audience.

    A window over the whole base would send every row through one Spark partition; each
    audience's numbering starts after the changes of the audiences before it (from ``counts``).
    """
    per_audience: dict[str, int] = {}
    for row in counts:
        per_audience[row["audience"]] = per_audience.get(row["audience"], 0) + row["n"]
    offsets, total = {}, base
    for name in sorted(per_audience):
        offsets[name] = total
        total += per_audience[name]
    start = moved.audience.cases(*offsets.items(), else_=base) if offsets else ibis.literal(base)
    return ibis.row_number().over(group_by="audience", order_by="customer_id") + start.cast("int64")


def _log_row(report: RefreshReport, audiences: AudienceSet) -> dict:
    return {
        "refresh_id": report.refresh_id,
        "as_of": report.as_of,
        "started_at": datetime.now(),
        "seconds": report.seconds,
        "audiences": len(audiences.names),
        "members": sum(report.sizes.values()),
        "enters": sum(report.enters.values()),
        "exits": sum(report.exits.values()),
    }
