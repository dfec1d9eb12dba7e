"""Choosing k for k-means: try k_min..k_max on a subsample and keep the best mean rank of
silhouette (on a sample), Calinski-Harabasz and Davies-Bouldin among the k whose smallest
segment holds at least ``min_share`` of the customers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

SELECTION_ROWS = 50_000  # rows used to compare candidate k
SILHOUETTE_ROWS = 5_000


def choose_k(Z: np.ndarray, k_min: int, k_max: int, min_share: float, seed: int) -> tuple[int, list[dict[str, Any]]]:
    """The chosen k and one record per candidate (its scores, whether eligible and chosen)."""
    rng = np.random.default_rng(seed)
    rows = Z[rng.permutation(len(Z))[:SELECTION_ROWS]]
    table = []
    for k in range(k_min, min(k_max, len(rows) - 1) + 1):
        labels = KMeans(k, n_init=1, random_state=seed).fit_predict(rows)
        shares = np.bincount(labels, minlength=k) / len(labels)
        table.append({
            "k": k,
            "silhouette": float(silhouette_score(rows, labels, sample_size=min(SILHOUETTE_ROWS, len(rows)),
                                                 random_state=seed)),
            "calinski_harabasz": float(calinski_harabasz_score(rows, labels)),
            "davies_bouldin": float(davies_bouldin_score(rows, labels)),
            "min_share": float(shares.min()),
        })
    frame = pd.DataFrame(table)
    frame["eligible"] = frame.min_share >= min_share
    pool = frame[frame.eligible] if frame.eligible.any() else frame
    ranks = (pool.silhouette.rank(ascending=False) + pool.calinski_harabasz.rank(ascending=False)
             + pool.davies_bouldin.rank(ascending=True))
    best = pool.assign(mean_rank=ranks / 3).sort_values(["mean_rank", "silhouette"], ascending=[True, False])
    chosen = int(best.k.iloc[0])
    frame["chosen"] = frame.k == chosen
    return chosen, frame.to_dict("records")
