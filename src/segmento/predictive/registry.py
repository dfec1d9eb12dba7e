"""Frozen, versioned predictive models in the knowledge base (``predictive_models``).

A fit as of F stores the parameters, the settings they were fitted with (unit,
discount rate) and what they were fitted on, as one JSON document under the next
version number. Traits as of D use the version fitted as of the latest F <= D: a model
fitted later would carry knowledge of orders after D, so it is never used for D.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from segmento.errors import NotFoundError, NotReadyError
from segmento.features.asof import AsOf
from segmento.predictive.settings import MONTH_DAYS, UNIT_DAYS
from segmento.store.backend import transaction
from segmento.store.registry import PREDICTIVE_MODELS
from segmento.store.tables import table

MODELS = PREDICTIVE_MODELS.name
SCHEMA = PREDICTIVE_MODELS.schema
FIT_HINT = "run `segmento predict fit --as-of YYYY-MM-DD`"


@dataclass
class PredictiveModel:
    """One version: the purchase model's and the spend model's parameters, and how they were fitted."""

    version: int
    as_of: date
    kind: str  # bgnbd | pareto_nbd
    unit: str  # day | week
    params: dict[str, float]
    spend_params: dict[str, float]
    discount_rate: float
    fit: dict[str, Any] = field(default_factory=dict)  # customers, distinct triples, log-likelihoods
    fitted_at: datetime = field(default_factory=lambda: datetime.now().replace(microsecond=0))

    @property
    def unit_days(self) -> float:
        return UNIT_DAYS[self.unit]

    @property
    def month_length(self) -> float:
        """A month in the model's time unit (for clv_12m)."""
        return MONTH_DAYS[self.unit] / UNIT_DAYS[self.unit]

    def purchase_model(self) -> Any:
        from segmento.predictive.models import PURCHASE_MODELS

        return PURCHASE_MODELS[self.kind].from_params(self.params)

    def spend_model(self) -> Any:
        from segmento.predictive.models import GammaGamma

        return GammaGamma.from_params(self.spend_params)

    def to_json(self) -> str:
        doc = asdict(self)
        doc["as_of"], doc["fitted_at"] = self.as_of.isoformat(), self.fitted_at.isoformat()
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str) -> PredictiveModel:
        doc = json.loads(text)
        doc["as_of"] = date.fromisoformat(doc["as_of"])
        doc["fitted_at"] = datetime.fromisoformat(doc["fitted_at"])
        return cls(**doc)

    def __str__(self) -> str:
        purchase = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        spend = ", ".join(f"{k}={v:.4g}" for k, v in self.spend_params.items())
        return f"predictive v{self.version} ({self.kind}, {self.unit}s) as of {self.as_of}: {purchase}; spend {spend}"


def models_table(con: BaseBackend) -> ibis.Table:
    """The model store (declared in the schema registry)."""
    return table(con, MODELS)


def fitted_versions(con: BaseBackend) -> pd.DataFrame:
    """version, kind, as_of, fitted_at of every stored version, oldest first (no JSON parsing)."""
    stored = models_table(con)
    return stored.select("version", "kind", "as_of", "fitted_at").order_by("version").to_pandas()


def store_model(con: BaseBackend, model: PredictiveModel) -> PredictiveModel:
    """Append ``model`` under the next version number (set on the model)."""
    stored = models_table(con)  # created (outside the transaction) if this database lacks it
    with transaction(con):
        latest = stored.version.max().to_pyarrow().as_py()
        model.version = (latest or 0) + 1
        row = {"version": [model.version], "kind": [model.kind], "as_of": [model.as_of],
               "fitted_at": [model.fitted_at], "model": [model.to_json()]}  # fmt: skip
        con.insert(MODELS, ibis.memtable(pd.DataFrame(row)).cast(SCHEMA))
    return model


def _read(con: BaseBackend, version: int) -> PredictiveModel:
    stored = models_table(con)
    text = stored.filter(stored.version == version).select("model").to_pyarrow()
    return PredictiveModel.from_json(text.column("model")[0].as_py())


def load_model(con: BaseBackend, version: int | None = None) -> PredictiveModel:
    """A stored version (the latest by default)."""
    known = fitted_versions(con)
    if known.empty:
        raise NotReadyError(f"no predictive model fitted: {FIT_HINT}")
    wanted = int(known.version.iloc[-1]) if version is None else version
    if wanted not in set(known.version):
        listed = ", ".join(str(v) for v in known.version)
        raise NotFoundError(f"no predictive model version {wanted}; versions: {listed} (see `segmento predict show`)")
    return _read(con, wanted)


def model_as_of(con: BaseBackend, at: date | datetime | AsOf) -> PredictiveModel:
    """The model traits as of ``at`` use: fitted as of the latest day on or before ``at``."""
    at = AsOf.of(at)
    day = at.day
    version = version_as_of(con, at)
    if version is None:
        known = fitted_versions(con)
        if known.empty:
            raise NotReadyError(f"no predictive model fitted: {FIT_HINT}")
        first = min(_days(known))
        if first == day:  # an instant inside the day the first model saw whole
            raise NotReadyError(
                f"no predictive model fitted as of {at.last:%Y-%m-%d %H:%M:%S}: the first saw {first} to the end of "
                f"the day, after this instant; ask for {first} (its end) or later, or fit one as of {day - timedelta(days=1)}"
            )
        raise NotReadyError(
            f"no predictive model fitted as of {day} (the first is as of {first}): "
            f"run `segmento predict fit --as-of {day}` or ask for a date on or after {first}"
        )
    return _read(con, version)


def version_as_of(con: BaseBackend, at: date | datetime | AsOf) -> int | None:
    """The version fitted as of the latest day <= ``at`` (its fit saw nothing after ``at``); ties: the newest."""
    end = AsOf.of(at).end
    known = fitted_versions(con)
    usable = [(day, v) for v, day in zip(known.version, _days(known)) if AsOf.of(day).end <= end]
    return int(max(usable)[1]) if usable else None


def _days(known: pd.DataFrame) -> list[date]:
    return [pd.Timestamp(day).date() for day in known.as_of]
