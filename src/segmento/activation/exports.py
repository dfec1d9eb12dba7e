"""Audience exports: the full membership of an audience, to a file drop or a webhook, on demand or on schedule.

To a file destination, the export is written at once (consent checked then) as one
file with its manifest. To a webhook or plug-in, each member becomes an outbox message
(consent checked again at send time) so a full export gets the same retries, dead
letters and idempotency keys as alerts. A scheduled export runs once per window
(hour, day, week, month): its id is derived from the window, so running the scheduler
twice in a window exports once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.activation.consent import consenting_members
from segmento.activation.destinations import write_table
from segmento.activation.outbox import enqueue, new_message, to_json
from segmento.activation.routing import CHANGES, EXPORT, check_activation, destination
from segmento.activation.settings import AudienceExport, FileDestination
from segmento.store.backend import append
from segmento.store.registry import EXPORTS as EXPORTS_TABLE
from segmento.store.tables import table

if TYPE_CHECKING:
    from segmento.config import Project

EXPORTS = EXPORTS_TABLE.name


@dataclass(frozen=True)
class ExportReport:
    """What one export did: members = sent + filtered."""

    export_id: str
    audience: str
    destination: str
    members: int
    filtered: int
    sent: int
    location: str

    def __str__(self) -> str:
        return (f"{self.audience} -> {self.destination}: {self.members:,} members, {self.sent:,} sent, "
                f"{self.filtered:,} without consent ({self.location})")


def members_from_changes(con: BaseBackend, audience: str, at: datetime) -> ibis.Table:
    """Members at ``at`` replayed from the enter/exit log: those whose latest change is an enter."""
    changes = con.table(CHANGES)
    changes = changes.filter((changes.audience == audience) & (changes.at <= at))
    latest = ibis.window(group_by="customer_id", order_by=ibis.desc("seq"))  # seq: the order they were written
    ranked = changes.mutate(_n=ibis.row_number().over(latest))
    return ranked.filter((ranked._n == 0) & (ranked.kind == "enter")).select("customer_id")


def export_audience(
    con: BaseBackend,
    project: Project,
    audience: str,
    to: str,
    members: ibis.Table | None = None,
    profile: list[str] | None = None,
    at: datetime | None = None,
    window_start: datetime | None = None,
) -> ExportReport:
    """Send the audience's members at ``at`` (default now) to destination ``to``.

    ``members`` (a table with customer_id) defaults to the membership replayed from
    ``audience_changes``; ``profile`` lists customer columns to include.
    """
    check_activation(project)
    config = destination(project, to)
    at = at or datetime.now()
    export_id = _export_id(audience, to, window_start or at)
    members = (members if members is not None else members_from_changes(con, audience, at)).select("customer_id").distinct()
    allowed = consenting_members(con, config, members, at)
    if profile:
        customers = con.table("customers").select("customer_id", *profile)
        allowed = allowed.left_join(customers, "customer_id").select("customer_id", *profile)
    rows = allowed.order_by("customer_id").to_pyarrow()
    total = int(members.count().execute())
    if isinstance(config, FileDestination):
        about = {"export_id": export_id, "audience": audience, "destination": to, "members": total,
                 "without_consent": total - rows.num_rows, "as_of": at.isoformat(timespec="seconds")}
        path = write_table(Path(config.path) / f"export-{audience}", f"{at:%Y%m%dT%H%M%S}-{export_id[:16]}",
                           rows, config.format, about)
        location = str(path)
    else:
        enqueue(con, _member_messages(rows, export_id, audience, to, at))
        location = "outbox"
    report = ExportReport(export_id, audience, to, total, total - rows.num_rows, rows.num_rows, location)
    _log(con, report, window_start, at)
    return report


def _member_messages(rows: pa.Table, export_id: str, audience: str, to: str, at: datetime) -> list[dict]:
    """One outbox message per member, keyed by export and customer."""
    messages = []
    for row in rows.to_pylist():
        customer = row.pop("customer_id")
        body = to_json({"type": EXPORT, "export_id": export_id, "audience": audience, "customer_id": customer,
                        "as_of": at, "profile": row})
        messages.append(new_message(to, EXPORT, f"{export_id}:{customer}", f"export-{audience}", customer, 0.0, body))
    return messages


def _export_id(audience: str, to: str, moment: datetime) -> str:
    return hashlib.sha256(f"{audience}\x1f{to}\x1f{moment.isoformat()}".encode()).hexdigest()[:32]


def _log(con: BaseBackend, report: ExportReport, window_start: datetime | None, at: datetime) -> None:
    row = {**vars(report), "window_start": window_start, "started_at": at}
    table(con, EXPORTS)
    append(con, EXPORTS, pa.Table.from_pylist([row], EXPORTS_TABLE.schema.to_pyarrow()))


def window_start(every: str, now: datetime) -> datetime:
    """The start of the schedule window holding ``now``."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    starts = {
        "hourly": hour,
        "daily": day,
        "weekly": day - timedelta(days=day.weekday()),
        "monthly": day.replace(day=1),
    }
    return starts[every]


def due_exports(con: BaseBackend, project: Project, now: datetime) -> list[tuple[AudienceExport, datetime]]:
    """Scheduled exports whose current window has not been exported yet."""
    done = set(table(con, EXPORTS).export_id.to_pyarrow().to_pylist())
    due = []
    for export in project.exports:
        if export.every is None:
            continue
        start = window_start(export.every, now)
        if _export_id(export.audience, export.to, start) not in done:
            due.append((export, start))
    return due


def run_due_exports(con: BaseBackend, project: Project, now: datetime | None = None) -> list[ExportReport]:
    """Run every scheduled export that is due (call it from the deliverer loop or a cron)."""
    now = now or datetime.now()
    return [
        export_audience(con, project, export.audience, export.to, profile=export.profile, at=now, window_start=start)
        for export, start in due_exports(con, project, now)
    ]
