"""Features read by hand from the orders, the oracle of the alert tests."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd


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
