"""Segmentation: fit k-means on a sample and assign the whole base in DuckDB, against
scikit-learn KMeans fit + predict on the full matrix in memory (12 features, k=8).

Scale 1.0 = 1M customers and a 200k fit sample. Also RFM and value tiers (fit + assign).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import ibis
import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from benchmarks.common import line, peak_rss_mb, section, timed
from segmento.segmentations import fit
from segmento.segmentations.assign import assign
from segmento.segmentations.synthetic import FEATURES, planted_features, rfm_features

AS_OF = "2024-06-30"
K = 8
N_INIT = 4


def run(scale: float) -> None:
    customers = int(1_000_000 * scale)
    sample = max(int(200_000 * scale), 1_000)
    with section(f"segmentations: k-means k={K} on {len(FEATURES)} features, {customers:,} customers, "
                 f"fit sample {sample:,}"), tempfile.TemporaryDirectory() as tmp:
        frame = planted_features(customers, K, seed=0, spread=0.9)  # overlapping, like real customers
        con = ibis.duckdb.connect(str(Path(tmp) / "bench.duckdb"))
        con.create_table("features", frame.drop(columns="truth"))
        features = con.table("features")

        definition = {"kind": "kmeans", "name": "bench", "features": FEATURES, "k": K, "sample": sample,
                      "n_init": N_INIT}
        model, fit_seconds = timed(lambda: fit(con, definition, AS_OF, features=features))
        _, assign_seconds = timed(lambda: con.create_table("members", assign(con, model, features), overwrite=True))
        sizes = assign(con, model, features).group_by("segment_id").agg(n=ibis._.count())
        _, count_seconds = timed(lambda: sizes.to_pandas())
        ours = fit_seconds + assign_seconds
        members = con.table("members").order_by("customer_id").segment_id.to_pandas().to_numpy()

        matrix, read_seconds = timed(lambda: features.order_by("customer_id").to_pandas())
        scaled = model.estimator.transform(matrix)  # the same log and robust scaling, in memory
        baseline, baseline_seconds = timed(
            lambda: KMeans(K, n_init=N_INIT, random_state=0).fit(scaled).predict(scaled)
        )
        line(f"segmento fit ({model.fit_rows:,}-row sample, engine sampling)", fit_seconds)
        line("segmento assign in DuckDB (write memberships)", assign_seconds, customers)
        line("segmento assign in DuckDB (segment sizes only)", count_seconds, customers)
        line("segmento fit + assign", ours, customers, baseline=baseline_seconds)
        line("sklearn KMeans fit + predict, full matrix", baseline_seconds, customers)
        line("  (reading the matrix out of DuckDB, not counted)", read_seconds)
        truth = frame.sort_values("customer_id").truth.to_numpy()
        print(f"  adjusted Rand index vs planted truth: segmento {adjusted_rand_score(truth, members):.4f}, "
              f"sklearn full {adjusted_rand_score(truth, baseline):.4f}; between them "
              f"{adjusted_rand_score(members, baseline):.4f}")
        print(f"  peak RSS {peak_rss_mb():,.0f} MB", flush=True)

        buyers = rfm_features(customers, seed=1)
        con.create_table("buyers", buyers)
        table = con.table("buyers")
        for definition in (
            {"kind": "rfm", "name": "rfm"},
            {"kind": "tiers", "name": "value", "tiers": [{"id": "very_good", "quantile": 0.9},
                                                         {"id": "good", "quantile": 0.5},
                                                         {"id": "occasional", "above": 0}, {"id": "inactive"}]},
        ):
            model, seconds = timed(lambda d=definition: fit(con, d, AS_OF, features=table))
            line(f"{definition['kind']}: fit (cut points on a {model.fit_rows:,}-row sample)", seconds)
            _, seconds = timed(lambda m=model: con.create_table("members", assign(con, m, table), overwrite=True))
            line(f"{definition['kind']}: assign in DuckDB", seconds, customers)
        pandas_seconds = timed(lambda: _pandas_rfm(buyers))[1]
        line("plain pandas RFM quintiles (qcut on ranks), in memory", pandas_seconds, customers)
        con.disconnect()


def _pandas_rfm(frame) -> np.ndarray:  # noqa: ANN001 - a pandas frame
    """The usual notebook RFM: rank-based quintiles (ties broken by order) and a 3-digit code."""
    r = np.asarray(frame.recency_days.rank(method="first", ascending=False).pipe(lambda s: (s.fillna(0) * 5 // (len(s) + 1)) + 1))
    f = np.asarray(frame.orders_12m.rank(method="first") * 5 // (len(frame) + 1) + 1)
    m = np.asarray(frame.spend_12m.rank(method="first") * 5 // (len(frame) + 1) + 1)
    return (r * 100 + f * 10 + m).astype(int)
