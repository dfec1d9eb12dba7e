"""Transition matrices between two period snapshots of a segmentation.

Counted in the engine (one join, one group-by); only the small matrix comes back.
Customers absent from the first snapshot enter from the ``(new)`` row; customers absent
from the second leave to the ``(exit)`` column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from segmento.dynamics.store import EXIT, NEW, period_of, require_periods


@dataclass
class TransitionMatrix:
    """Counts, row percentages and next-period revenue between two periods."""

    segmentation: str
    from_period: date
    to_period: date
    counts: pd.DataFrame  # rows: from segment (+ (new)), columns: to segment (+ (exit))
    revenue: pd.DataFrame  # revenue in (from_period, to_period] of the customers in each cell

    @property
    def row_percent(self) -> pd.DataFrame:
        totals = self.counts.sum(axis=1).replace(0, float("nan"))
        return (self.counts.div(totals, axis=0) * 100).fillna(0.0)

    @property
    def stayed(self) -> int:
        """Customers in the same segment at both dates."""
        return int(sum(self.counts.at[s, s] for s in self.counts.index if s in self.counts.columns))

    def to_dict(self) -> dict:
        return {
            "segmentation": self.segmentation,
            "from_period": self.from_period.isoformat(),
            "to_period": self.to_period.isoformat(),
            "rows": list(self.counts.index),
            "columns": list(self.counts.columns),
            "counts": self.counts.to_numpy().tolist(),
            "row_percent": self.row_percent.round(2).to_numpy().tolist(),
            "revenue": self.revenue.round(2).to_numpy().tolist(),
        }


def transition_pairs(con: BaseBackend, segmentation: str, from_period: date, to_period: date) -> ibis.Table:
    """One row per customer present at either date: from/to segment and next-period revenue."""
    before = period_of(con, segmentation, from_period).select(
        "customer_id", from_segment="segment_id", from_rank="segment_rank"
    )
    after = period_of(con, segmentation, to_period).select(
        "customer_id", to_segment="segment_id", to_rank="segment_rank"
    ).view()  # a self-join of the snapshot table needs a distinct view
    pairs = before.outer_join(after, before.customer_id == after.customer_id).select(
        customer_id=ibis.coalesce(before.customer_id, after.customer_id),
        from_segment=before.from_segment.fill_null(NEW),
        to_segment=after.to_segment.fill_null(EXIT),
        from_rank=before.from_rank,
        to_rank=after.to_rank,
    )
    orders = con.table("orders")
    start = ibis.timestamp(f"{from_period.isoformat()} 23:59:59.999999")
    end = ibis.timestamp(f"{to_period.isoformat()} 23:59:59.999999")
    spend = (
        orders.filter((orders.ordered_at > start) & (orders.ordered_at <= end))
        .group_by("customer_id")
        .agg(revenue=orders.amount.sum())
    )
    pairs = pairs.view()  # start a fresh join chain (ibis otherwise merges it into the outer join)
    joined = pairs.left_join(spend, pairs.customer_id == spend.customer_id)
    return joined.select(*pairs.columns, revenue=joined.revenue.fill_null(0.0))


def transition_matrix(con: BaseBackend, segmentation: str, from_period: date, to_period: date) -> TransitionMatrix:
    """The matrix between two taken periods, segments in rank order."""
    require_periods(con, segmentation, from_period, to_period)
    cells = (
        transition_pairs(con, segmentation, from_period, to_period)
        .group_by(["from_segment", "to_segment"])
        .agg(customers=ibis._.count(), revenue=ibis._.revenue.sum(),
             from_rank=ibis._.from_rank.min(), to_rank=ibis._.to_rank.min())
        .to_pandas()
    )
    order = _segment_order(cells)
    rows, columns = [NEW, *order], [*order, EXIT]
    counts = cells.pivot_table(index="from_segment", columns="to_segment", values="customers", aggfunc="sum")
    revenue = cells.pivot_table(index="from_segment", columns="to_segment", values="revenue", aggfunc="sum")
    shape = dict(index=rows, columns=columns, fill_value=0)
    return TransitionMatrix(
        segmentation,
        from_period,
        to_period,
        counts.reindex(**shape).fillna(0).astype("int64").rename_axis(index="from", columns="to"),
        revenue.reindex(**shape).fillna(0.0).astype("float64").rename_axis(index="from", columns="to"),
    )


def _segment_order(cells: pd.DataFrame) -> list[str]:
    """Segments best first (by rank), then by name."""
    ranks: dict[str, float] = {}
    for segment, rank in [*zip(cells.from_segment, cells.from_rank), *zip(cells.to_segment, cells.to_rank)]:
        if segment in (NEW, EXIT):
            continue
        rank = float("inf") if pd.isna(rank) else float(rank)
        ranks[segment] = min(ranks.get(segment, rank), rank)
    return sorted(ranks, key=lambda s: (ranks[s], s))
