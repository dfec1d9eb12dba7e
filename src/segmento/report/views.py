"""Small summaries read from the stages for people: what the dashboard, the report and
the REST API show. Each is one aggregate in the engine; only a few rows come back."""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

from segmento.dynamics.alerts import alerts_table
from segmento.dynamics.store import snapshots
from segmento.segmentations.registry import models_table
from segmento.workspace import Workspace


def fitted_segmentations(ws: Workspace) -> list[str]:
    """Segmentations with a fitted model or a snapshot, by name."""
    models = models_table(ws.con).select("name").distinct().to_pyarrow().column(0).to_pylist()
    taken = snapshots(ws.con).select("segmentation").distinct().to_pyarrow().column(0).to_pylist()
    return sorted(set(models) | set(taken))


def segment_sizes(ws: Workspace, segmentation: str) -> pd.DataFrame:
    """Customers per (period, segment) of every snapshot: period, segment_id, label, rank, customers, value."""
    table = snapshots(ws.con)
    rows = table.filter(table.segmentation == segmentation)
    sizes = rows.group_by(["period", "segment_id"]).agg(
        label=_.segment_label.argmax(_.period), rank=_.segment_rank.min(), customers=_.count(), value=_.value.sum()
    )
    frame = sizes.order_by(["period", "rank", "segment_id"]).to_pandas()
    frame["period"] = [pd.Timestamp(p).date() for p in frame["period"]]
    return frame.astype({"customers": "int64"})


def segment_mix(ws: Workspace, segmentation: str) -> pd.DataFrame:
    """Period x segment label customer counts, segments best first (the mix over time)."""
    sizes = segment_sizes(ws, segmentation)
    if sizes.empty:
        return pd.DataFrame()
    order = sizes.sort_values(["rank", "segment_id"]).drop_duplicates("segment_id")
    labels = dict(zip(order.segment_id, order.label))
    mix = sizes.pivot_table(index="period", columns="segment_id", values="customers", aggfunc="sum", fill_value=0)
    mix.index = [str(p) for p in mix.index]
    return mix.reindex(columns=list(labels)).rename(columns=labels).astype("int64")


def alert_counts(ws: Workspace) -> pd.DataFrame:
    """Alerts per period and kind, with the value at stake."""
    table = alerts_table(ws.con)
    counts = table.group_by(["period", "kind"]).agg(alerts=_.count(), value=_.priority.sum())
    return counts.order_by(["period", "kind"]).to_pandas()


def page(table: ibis.Table, offset: int, limit: int) -> tuple[int, list[dict]]:
    """(total rows, the rows of one page)."""
    total = int(table.count().execute())
    return total, table.limit(limit, offset=offset).to_pyarrow().to_pylist()
