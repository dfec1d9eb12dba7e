"""The BTYD summary as the models read it: distinct triples with their counts, grouped in the engine.

The features stage computes each customer's (btyd_frequency, btyd_recency, btyd_T,
btyd_monetary_value) in days. The purchase models' likelihood depends on the triple
only, so the engine groups customers by triple and only those groups (a few thousand
whatever the base) come to Python. The spend model groups by (frequency, monetary value).
"""

from __future__ import annotations

from datetime import date, datetime

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from segmento.config import Project
from segmento.features import AsOf, compute_features

BTYD = ("btyd_frequency", "btyd_recency", "btyd_T", "btyd_monetary_value")
TRIPLE = list(BTYD[:3])


def summary(con: BaseBackend, as_of: date | datetime | AsOf, project: Project | None = None) -> ibis.Table:
    """customer_id and the BTYD summary (days) of customers with at least one order by ``as_of``."""
    table = compute_features(con, as_of, project, names=list(BTYD))
    return table.filter(table.btyd_frequency.notnull())


def distinct_triples(table: ibis.Table, unit_days: float) -> pd.DataFrame:
    """One row per distinct triple: the day values (join keys), frequency, recency, T in the unit, n customers.

    Ordered: a fit sums over these rows, and the same rows in another order (another run, another
    engine) would give a model differing in its last digits."""
    grouped = table.group_by(TRIPLE).aggregate(n=table.count()).order_by(TRIPLE).to_pandas()
    return in_unit(grouped, unit_days)


def in_unit(frame: pd.DataFrame, unit_days: float) -> pd.DataFrame:
    """Add frequency, recency, T in the model's unit beside the day columns."""
    return frame.assign(
        frequency=frame.btyd_frequency.astype("float64"),
        recency=frame.btyd_recency.astype("float64") / unit_days,
        T=frame.btyd_T.astype("float64") / unit_days,
    )


def distinct_spend(table: ibis.Table) -> pd.DataFrame:
    """Repeat customers grouped by (frequency, mean spend): what the Gamma-Gamma fit reads."""
    repeat = table.filter((table.btyd_frequency > 0) & (table.btyd_monetary_value > 0))
    grouped = repeat.group_by(["btyd_frequency", "btyd_monetary_value"]).aggregate(n=repeat.count())
    return grouped.order_by(["btyd_frequency", "btyd_monetary_value"]).to_pandas()  # ordered: see distinct_triples
