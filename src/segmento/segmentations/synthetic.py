"""Feature tables with planted segments, for tests, benchmarks and examples.

Each customer belongs to one hidden cluster; features are drawn around the cluster's
centre in a latent space and mapped to realistic units (heavy-tailed spend, integer
order counts, shares in [0, 1]), so a method that recovers the clusters has to cope with
the same tails and ties as on real features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# feature -> maps latent values (about N(0, 1)) to its units
UNITS = {
    "spend_12m": lambda z: np.round(np.exp(5.5 + 0.9 * z), 2),
    "orders_12m": lambda z: np.maximum(1, np.round(np.exp(1.0 + 0.6 * z))),
    "recency_days": lambda z: np.round(np.exp(3.8 + 0.8 * z)),
    "avg_basket": lambda z: np.round(np.exp(4.0 + 0.4 * z), 2),
    "share_web_12m": lambda z: 1 / (1 + np.exp(-z)),
    "share_store_12m": lambda z: 1 / (1 + np.exp(z)),
    "promo_spend_share_12m": lambda z: 1 / (1 + np.exp(-z - 1)),
    "email_open_rate_12m": lambda z: 1 / (1 + np.exp(-z + 0.5)),
    "age": lambda z: np.round(45 + 11 * z),
    "tenure_days": lambda z: np.round(np.exp(6.3 + 0.6 * z)),
    "n_categories_12m": lambda z: np.maximum(1, np.round(np.exp(0.8 + 0.5 * z))),
    "social_90d": lambda z: np.round(np.exp(0.5 + 0.8 * z)),
}
FEATURES = list(UNITS)


def planted_features(customers: int, clusters: int, seed: int = 0, spread: float = 0.35,
                     features: list[str] | None = None) -> pd.DataFrame:
    """customer_id, the features, and ``truth`` (the planted cluster, 0..clusters-1)."""
    names = features or FEATURES
    rng = np.random.default_rng(seed)
    centres = _separated_centres(rng, clusters, len(names))
    truth = rng.integers(0, clusters, customers)
    latent = centres[truth] + rng.normal(0, spread, (customers, len(names)))
    frame = pd.DataFrame({name: UNITS[name](latent[:, j]) for j, name in enumerate(names)})
    frame.insert(0, "customer_id", [f"C{i:07d}" for i in range(customers)])
    frame["truth"] = truth
    return frame


def _separated_centres(rng: np.random.Generator, k: int, dims: int, min_gap: float = 2.5) -> np.ndarray:
    """Cluster centres at least ``min_gap`` apart (in latent units), drawn until they are."""
    while True:
        centres = rng.normal(0, 1.6, (k, dims))
        gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1) + np.eye(k) * 1e9
        if gaps.min() >= min_gap:
            return centres


def rfm_features(customers: int, seed: int = 0, never_bought: float = 0.1) -> pd.DataFrame:
    """recency_days, orders and spend over 12 months and lifetime, shaped like retail: most
    customers bought once, spend heavy-tailed, a share never bought (NULL recency, 0 orders and spend)."""
    rng = np.random.default_rng(seed)
    orders = np.where(rng.random(customers) < 0.55, 1, 1 + rng.geometric(0.35, customers))
    orders = np.where(rng.random(customers) < 0.15, 0, orders)  # bought before the 12 months only
    spend = np.where(orders > 0, np.round(orders * rng.lognormal(3.8, 0.7, customers), 2), 0.0)
    recency = np.where(orders > 0, rng.integers(0, 365, customers), rng.integers(365, 900, customers)).astype(float)
    never = rng.random(customers) < never_bought
    earlier = np.where(orders > 0, rng.geometric(0.5, customers) - 1, rng.geometric(0.3, customers))
    earlier_spend = np.round(earlier * rng.lognormal(3.8, 0.7, customers), 2)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in range(customers)],
            "recency_days": np.where(never, np.nan, recency),
            "orders_12m": np.where(never, 0, orders).astype("int64"),
            "spend_12m": np.where(never, 0.0, spend),
            "orders_lifetime": np.where(never, 0, orders + earlier).astype("int64"),
            "spend_lifetime": np.where(never, 0.0, spend + earlier_spend),
        }
    )
    return frame
