"""Trajectories: each customer's path through a segmentation over several periods.

The paths are one engine-side pivot (a conditional aggregate per period, grouped by
customer); the summaries (top paths, flows between periods, distinct paths) are counted
in the engine too, so only aggregates reach Python whatever the size of the base.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from segmento.dynamics.store import snapshots
from segmento.errors import NotFoundError, NotReadyError

ABSENT = "-"


@dataclass
class Trajectories:
    """Per-customer paths (lazy, in the engine), the most frequent ones, and a Sankey-ready structure."""

    periods: list[date]
    table: ibis.Table  # customer_id, one column per period (ISO date), path

    @property
    def columns(self) -> list[str]:
        return [p.isoformat() for p in self.periods]

    @cached_property
    def paths(self) -> pd.DataFrame:
        """Every customer's path as a DataFrame (for one customer or a small base; the summaries below scale)."""
        return self.table.order_by("customer_id").to_pandas()

    @cached_property
    def customers(self) -> int:
        return int(self.table.count().execute())

    def top_paths(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` most frequent paths (ties by path), counted in the engine."""
        counts = self.table.group_by("path").aggregate(customers=ibis._.count())
        return counts.order_by([ibis.desc("customers"), "path"]).limit(n).to_pandas()

    def counts(self) -> pd.DataFrame:
        """Each distinct path (one column per period) with its number of customers."""
        counted = self.table.group_by(self.columns).aggregate(customers=ibis._.count())
        return counted.order_by(self.columns).to_pandas()

    def pairs(self, before: str, after: str) -> pd.DataFrame:
        """Customers per (segment at ``before``, segment at ``after``), two period columns."""
        counted = self.table.group_by([before, after]).aggregate(customers=ibis._.count())
        return counted.order_by([before, after]).to_pandas()

    def sankey(self) -> dict:
        """Nodes are (period, segment); links count customers between consecutive periods."""
        columns = self.columns
        nodes: list[str] = []
        index: dict[str, int] = {}
        links: dict[tuple[int, int], int] = {}
        for before, after in zip(columns, columns[1:]):
            for a, b, count in self.pairs(before, after).itertuples(index=False):
                for label in (f"{before} {a}", f"{after} {b}"):
                    if label not in index:
                        index[label] = len(nodes)
                        nodes.append(label)
                key = (index[f"{before} {a}"], index[f"{after} {b}"])
                links[key] = links.get(key, 0) + int(count)
        return {
            "nodes": nodes,
            "source": [s for s, _ in links],
            "target": [t for _, t in links],
            "value": list(links.values()),
        }


def trajectories(
    con: BaseBackend, segmentation: str, periods: list[date], customer_id: str | None = None
) -> Trajectories:
    """Paths over ``periods`` ('-' where the customer was not in the base yet), as an engine-side pivot."""
    if not periods:
        raise NotReadyError(f"no period to trace {segmentation!r} over: run `segmento snapshot` or `segmento backfill` first")
    table = snapshots(con)
    rows = table.filter((table.segmentation == segmentation) & table.period.isin(periods))
    if customer_id is not None:
        rows = rows.filter(rows.customer_id == customer_id)
    at = {
        p.isoformat(): rows.segment_label.max(where=rows.period == p).coalesce(ABSENT)
        for p in periods
    }
    wide = rows.group_by("customer_id").aggregate(**at)
    wide = wide.mutate(path=ibis.literal(" -> ").join([wide[c] for c in at]))
    result = Trajectories(periods, wide)
    if customer_id is not None and result.paths.empty:
        raise NotFoundError(f"customer {customer_id!r} is in no snapshot of {segmentation!r} from {periods[0]} to {periods[-1]}")
    return result
