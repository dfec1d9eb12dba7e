"""The predictive stage's entry points: fit a new frozen version, read traits, validate.

    from segmento.predictive import fit_model, traits
    model = fit_model(con, "2024-12-31")                    # BG/NBD + Gamma-Gamma, stored as version N
    traits(con, "2025-01-31").filter(_.p_alive < 0.3)       # scored with the model for that date
"""

from __future__ import annotations

from datetime import date, datetime

import ibis
from ibis.backends import BaseBackend

from segmento.config import Project
from segmento.features import AsOf, compute_features
from segmento.predictive.registry import PredictiveModel, store_model
from segmento.predictive.settings import UNIT_DAYS, PredictiveSettings
from segmento.predictive.summary import distinct_spend, distinct_triples, summary
from segmento.predictive.scoring import TRAITS


def settings_of(project: Project | None, settings: PredictiveSettings | None = None) -> PredictiveSettings:
    if settings is not None:
        return settings
    return project.predictive if project is not None else PredictiveSettings()


def fit_summary(table: ibis.Table, as_of: date, settings: PredictiveSettings) -> PredictiveModel:
    """Fit the purchase and spend models on a BTYD summary table (days), grouped in the engine."""
    from segmento.predictive.models import PURCHASE_MODELS, GammaGamma

    triples = distinct_triples(table, UNIT_DAYS[settings.unit])
    purchase = PURCHASE_MODELS[settings.model](penalizer=settings.penalizer)
    purchase.fit(triples.frequency, triples.recency, triples["T"], triples.n)
    pairs = distinct_spend(table)
    spend = GammaGamma(penalizer=settings.penalizer).fit(pairs.btyd_frequency, pairs.btyd_monetary_value, pairs.n)
    fit = {
        "customers": purchase.n_customers_,
        "distinct_triples": purchase.n_rows_,
        "log_likelihood": purchase.log_likelihood_,
        "repeat_customers": spend.n_customers_,
        "distinct_spend_pairs": spend.n_rows_,
        "spend_log_likelihood": spend.log_likelihood_,
        "penalizer": settings.penalizer,
    }
    return PredictiveModel(
        version=0, as_of=as_of, kind=settings.model, unit=settings.unit, params=purchase.params_,
        spend_params=spend.params_, discount_rate=settings.discount_rate, fit=fit,
    )  # fmt: skip


def fit_model(
    con: BaseBackend, as_of: date | str, *, project: Project | None = None,
    settings: PredictiveSettings | None = None, store: bool = True,
) -> PredictiveModel:  # fmt: skip
    """Fit on the customers' history up to the end of ``as_of`` and store it as a new version."""
    day = as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of))
    model = fit_summary(summary(con, day, project), day, settings_of(project, settings))
    return store_model(con, model) if store else model


def traits(
    con: BaseBackend, as_of: date | datetime | str, names: list[str] | None = None, project: Project | None = None
) -> ibis.Table:
    """customer_id and the predictive traits as of ``as_of`` (null for customers without orders)."""
    return compute_features(con, AsOf.of(as_of), project, names=names or list(TRAITS))
