"""Trajectories: each customer's path through a segmentation over several periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from ibis.backends import BaseBackend

from segmento.dynamics.store import snapshots
from segmento.errors import NotFoundError, NotReadyError

ABSENT = "-"


@dataclass
class Trajectories:
    """Per-customer paths, the most frequent ones, and a Sankey-ready structure."""

    periods: list[date]
    paths: pd.DataFrame  # customer_id, one column per period, path

    def top_paths(self, n: int = 10) -> pd.DataFrame:
        counts = self.paths["path"].value_counts().head(n)
        return counts.rename_axis("path").reset_index(name="customers")

    def sankey(self) -> dict:
        """Nodes are (period, segment); links count customers between consecutive periods."""
        columns = [p.isoformat() for p in self.periods]
        nodes: list[str] = []
        index: dict[str, int] = {}
        links: dict[tuple[int, int], int] = {}
        for before, after in zip(columns, columns[1:]):
            pairs = self.paths.groupby([before, after]).size()
            for (a, b), count in pairs.items():
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
    """Paths over ``periods`` ('-' where the customer was not in the base yet)."""
    if not periods:
        raise NotReadyError(f"no period to trace {segmentation!r} over: run `segmento snapshot` or `segmento backfill` first")
    table = snapshots(con)
    rows = table.filter((table.segmentation == segmentation) & table.period.isin(periods))
    if customer_id is not None:
        rows = rows.filter(rows.customer_id == customer_id)
    columns = [p.isoformat() for p in periods]
    wide = (
        rows.select("customer_id", "segment_label", period=rows.period.cast("string"))
        .to_pandas()
        .pivot(index="customer_id", columns="period", values="segment_label")
        .reindex(columns=columns)
        .fillna(ABSENT)
    )
    if customer_id is not None and wide.empty:
        raise NotFoundError(f"customer {customer_id!r} is in no snapshot of {segmentation!r} from {periods[0]} to {periods[-1]}")
    first, rest = columns[0], columns[1:]
    wide["path"] = wide[first].str.cat([wide[c] for c in rest], sep=" -> ") if rest else wide[first]
    return Trajectories(periods, wide.reset_index())
