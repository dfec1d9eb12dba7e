"""Predictive traits: probability alive, expected orders and lifetime value per customer.

Stage after features: it reads the BTYD summary (features), fits BG/NBD or Pareto/NBD
with Gamma-Gamma on it, freezes each fit as a version in the knowledge base, and
provides ``p_alive``, ``expected_orders_90d``, ``expected_orders_365d``,
``expected_avg_order_value`` and ``clv_12m`` to the feature catalog. scipy is only
loaded when a model is fitted or scored.

Importing this package stays light (the project file's settings live here); the
traits are registered in the catalog by importing ``segmento.predictive.scoring`` (``import segmento`` does).
"""

from __future__ import annotations

from typing import Any

__all__ = ["fit_model", "traits", "validate", "load_model", "model_as_of", "fitted_versions", "PredictiveModel"]

_HOME = {
    "fit_model": "api", "traits": "api", "validate": "validation", "load_model": "registry",
    "model_as_of": "registry", "fitted_versions": "registry", "PredictiveModel": "registry",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _HOME:
        import importlib

        return getattr(importlib.import_module(f"segmento.predictive.{_HOME[name]}"), name)
    raise AttributeError(name)
