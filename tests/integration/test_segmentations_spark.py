"""The same frozen models assign a base on Spark: the pushed-down expressions are engine-neutral.

Run with ``pytest -m spark``; the shared small local session (tests/integration/conftest.py).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from segmento.segmentations import fit
from segmento.segmentations.assign import assign
from segmento.segmentations.synthetic import FEATURES, planted_features, rfm_features

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
AS_OF = "2024-06-30"


def on_spark(spark, name: str, frame: pd.DataFrame) -> tuple[ibis.BaseBackend, ibis.Table]:
    spark.createDataFrame(frame.astype({c: "object" for c in frame.columns if frame[c].dtype == "string"})) \
        .createOrReplaceTempView(name)
    con = ibis.pyspark.connect(spark)
    return con, con.table(name)


def test_kmeans_rfm_and_tiers_assign_on_spark_as_in_memory(spark, tmp_path):
    behaviour = planted_features(3000, 6, seed=2).drop(columns="truth")
    behaviour["gender"] = np.resize(np.array(["F", "M", None], dtype=object), len(behaviour))
    buyers = rfm_features(3000, seed=3)
    duck = ibis.duckdb.connect(str(tmp_path / "kb.duckdb"))
    definitions = [
        ({"kind": "kmeans", "name": "behaviour", "features": [*FEATURES, "gender"], "categorical": ["gender"], "k": 6},
         behaviour),
        ({"kind": "rfm", "name": "rfm"}, buyers),
        ({"kind": "tiers", "name": "value", "tiers": [{"id": "top", "quantile": 0.8}, {"id": "buyer", "above": 0},
                                                      {"id": "none"}]}, buyers),
    ]
    for definition, frame in definitions:
        model = fit(duck, definition, AS_OF, features=ibis.memtable(frame))
        if definition["kind"] == "kmeans":  # the reference is scikit-learn's own predict
            estimator = model.estimator
            expected = np.asarray(estimator.cluster_ids_)[estimator.kmeans_.predict(estimator.transform(frame))]
        else:
            expected = model.predict(frame)
        con, table = on_spark(spark, definition["name"], frame)
        got = assign(con, model, table).to_pandas().set_index("customer_id").sort_index()
        assert got.index.is_unique and got.segment_id.notna().all()
        assert got.segment_id.tolist() == pd.Series(expected, index=frame.customer_id).sort_index().tolist()
    duck.disconnect()
