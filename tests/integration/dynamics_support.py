"""Features read by hand from the orders, the oracle of the alert tests."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pyarrow as pa

VALUE_TIERS = """
segmentations:
  - name: value
    kind: tiers
    feature: spend_12m
    tiers:
      - {id: very_good, quantile: 0.75}
      - {id: good, quantile: 0.35}
      - {id: occasional, above: 0}
      - {id: inactive}
"""  # the value tiers the dynamics tests watch: the top quarter, the next 40%, any spend, none


def features_by_hand(orders: pd.DataFrame, day: date) -> pd.DataFrame:
    """spend_12m, recency_days and the mean gap between order days as of the end of ``day``."""
    seen = orders[orders.ordered_at < pd.Timestamp(day + timedelta(days=1))]
    start = pd.Timestamp(day) - pd.DateOffset(months=12) + pd.Timedelta(days=1)
    spend = seen[seen.ordered_at >= start].groupby("customer_id").amount.sum()
    days = seen.assign(day=seen.ordered_at.dt.normalize()).groupby("customer_id").day
    first, last, count = days.min(), days.max(), days.nunique()
    recency = (pd.Timestamp(day) - last).dt.days
    interval = ((last - first).dt.days / (count - 1)).where(count > 1)
    frame = pd.DataFrame({"spend_12m": spend, "recency_days": recency, "interval": interval})
    return frame.fillna({"spend_12m": 0.0})


def plant_snapshots(con, rows: pd.DataFrame) -> None:
    """Snapshot rows as readers see them (period, segmentation, version, customer_id, segment_id,
    segment_label, segment_rank, value), written as they are stored: the narrow rows, each model
    version's labels and ranks once, each period's version once."""
    from segmento.store.backend import append
    from segmento.store.engines import engine_of
    from segmento.store.registry import SEGMENT_SNAPSHOTS, SNAPSHOT_PERIODS, SNAPSHOT_SEGMENTS
    from segmento.store.tables import table

    engine = engine_of(con)
    for spec in (SEGMENT_SNAPSHOTS, SNAPSHOT_PERIODS, SNAPSHOT_SEGMENTS):
        table(con, spec.name)
    narrow = rows[list(SEGMENT_SNAPSHOTS.column_names)]
    append(con, SEGMENT_SNAPSHOTS.name, pa.Table.from_pandas(narrow, SEGMENT_SNAPSHOTS.schema.to_pyarrow(), preserve_index=False))
    for spec in (SNAPSHOT_SEGMENTS, SNAPSHOT_PERIODS):
        held = [c for c in spec.column_names if c in rows.columns]
        found = rows[held].drop_duplicates().to_dict("records")
        engine.upsert(spec.name, pa.Table.from_pylist(found, spec.schema.to_pyarrow()), spec.key)
