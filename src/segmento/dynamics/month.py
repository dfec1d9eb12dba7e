"""What one period's batch (a snapshot with its alerts, then the audience refresh) reads, shared.

Both read the features as of the period end: they are computed once, in one table, instead
of once by each part (at 1M customers a features query scans 30M orders and 60M events).
The features as of the period before (the alerts' edges, the why of each audience change)
are left to each: in one table they cost as much as apart, and held the memory longer.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from ibis.backends import BaseBackend

from segmento.dynamics.snapshots import features_read
from segmento.features.compute import share_features

if TYPE_CHECKING:
    from segmento.audiences.definitions import AudienceSet
    from segmento.config import Project


def share_month_features(con: BaseBackend, project: Project, audiences: AudienceSet, end: date) -> None:
    """Declare to the open batch step the features the period ending ``end`` reads then."""
    share_features(con, end, project, features_read(con, project) | set(audiences.fields(audiences.names)))
