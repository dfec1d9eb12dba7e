"""Per-customer predictive traits as of D, scored in the engine with the model frozen for D.

The closed forms of the purchase models need the Gauss hypergeometric function,
which engines do not have; but they depend on (frequency, recency, T) only. So the
distinct triples are scored in Python once per model version, kept in the knowledge
base (``predictive_scores``: no customer data, only triples) and joined back in the
engine; the spend part, linear in each customer's mean spend, is an Ibis expression.
A later date only scores the triples not seen before, where they are (see TripleScorer).
The traits are registered in the feature catalog, so audiences, segmentations, alerts,
portraits, the API and the customer 360 read them as features.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.features.asof import AsOf
from segmento.features.model import Feature
from segmento.features.providers import Provider, register_provider
from segmento.predictive.registry import PredictiveModel, model_as_of, version_as_of
from segmento.predictive.summary import TRIPLE, in_unit, summary
from segmento.store.backend import append_mapped, held, transaction
from segmento.store.registry import PREDICTIVE_SCORES
from segmento.store.tables import table

AXIS = "predictive"
TRAITS = {
    "p_alive": ("Probability the customer is still active (BG/NBD or Pareto/NBD)", "probability"),
    "expected_orders_90d": ("Expected repeat purchase days in the next 90 days", "orders"),
    "expected_orders_365d": ("Expected repeat purchase days in the next 365 days", "orders"),
    "expected_avg_order_value": ("Expected mean order value (Gamma-Gamma; population mean for one-time buyers)",
                                 "currency"),
    "clv_12m": ("Expected spend over the next 12 months, discounted monthly (customer lifetime value)", "currency"),
}  # fmt: skip
HORIZONS = {"expected_orders_90d": 90, "expected_orders_365d": 365}
DISCOUNTED = "discounted_orders_12m"  # expected purchases over 12 months, each month discounted
SCORES = PREDICTIVE_SCORES.name
SCORES_SCHEMA = PREDICTIVE_SCORES.schema


def score_triples(model: PredictiveModel, triples: pd.DataFrame) -> pd.DataFrame:
    """p_alive, expected orders and discounted 12-month purchases of each distinct triple."""
    from segmento.predictive.models import discounted_purchases

    purchase = model.purchase_model()
    x, t_x, T = (triples[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
    scored = triples[TRIPLE].astype("float64")
    scored.insert(0, "version", model.version)
    scored["p_alive"] = purchase.p_alive(x, t_x, T)
    for name, days in HORIZONS.items():
        scored[name] = purchase.expected_purchases(days / model.unit_days, x, t_x, T)
    scored[DISCOUNTED] = discounted_purchases(purchase, x, t_x, T, 12, model.discount_rate, model.month_length)
    return scored


def scores_table(con: BaseBackend) -> ibis.Table:
    """Scores per (model version, triple): they do not depend on the date, so each triple is scored once."""
    return table(con, SCORES)


def scored(con: BaseBackend, model: PredictiveModel, customers: ibis.Table) -> ibis.Table:
    """The model's scores of every triple in ``customers``, scoring (and storing) the ones not seen yet."""
    if model.version < 1:
        raise ValueError("score with a stored model version (fit_model(..., store=True))")
    stored = scores_table(con)
    # distinct: two processes scoring the same new triples at once store them twice, identically
    known = stored.filter(stored.version == model.version).distinct()
    triples = customers.select(*TRIPLE).distinct()
    with transaction(con):
        append_mapped(con, SCORES, triples.anti_join(known, TRIPLE), TripleScorer(model))
    return known


class TripleScorer:
    """Scores a batch of new triples: a function of Arrow batches, so the engine runs it where they are
    (on Spark, in the executors' Python workers; a first scoring reads every customer's triple)."""

    def __init__(self, model: PredictiveModel) -> None:
        self.model = model

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        rows = score_triples(self.model, in_unit(batch.to_pandas(), self.model.unit_days))
        return pa.RecordBatch.from_pandas(rows[list(SCORES_SCHEMA)], preserve_index=False)


def expected_value(model: PredictiveModel, frequency: ibis.Value, monetary: ibis.Value) -> ibis.Value:
    """Gamma-Gamma expected mean order value as an engine expression."""
    p, q, v = (model.spend_params[k] for k in ("p", "q", "v"))
    weight = (frequency * p) / (frequency * p + (q - 1))
    return (1 - weight) * (v * p / (q - 1)) + weight * monetary


def traits_table(con: BaseBackend, as_of: AsOf, names: Sequence[str] = tuple(TRAITS)) -> ibis.Table:
    """customer_id and the requested traits for customers with orders by D (lazy, in the engine).

    The summary is read twice (its new triples scored, then joined to their scores): in a batch step it
    is computed once, and once for every reader of the same date in the step (a snapshot's alerts read
    the traits of the period before; a refresh, those of the refresh before)."""
    return score_summary(con, model_as_of(con, as_of), held(con, summary(con, as_of)), names)


def score_summary(
    con: BaseBackend, model: PredictiveModel, customers: ibis.Table, names: Sequence[str] = tuple(TRAITS)
) -> ibis.Table:
    """Traits of every row of a BTYD summary table (days): triples scored in Python, joined back in the engine."""
    joined = customers.left_join(scored(con, model, customers).drop("version"), TRIPLE)
    value = expected_value(model, joined.btyd_frequency, joined.btyd_monetary_value)
    columns = {
        "p_alive": joined.p_alive,
        **{name: joined[name] for name in HORIZONS},
        "expected_avg_order_value": value,
        "clv_12m": joined[DISCOUNTED] * value,
    }
    return joined.select("customer_id", **{name: columns[name].cast("float64") for name in names})


def _ready(con: BaseBackend, as_of: AsOf) -> bool:
    return version_as_of(con, as_of) is not None


FEATURES = tuple(
    Feature(name, AXIS, description, unit, "float64", "provided") for name, (description, unit) in TRAITS.items()
)
register_provider(Provider(AXIS, FEATURES, traits_table, _ready))
