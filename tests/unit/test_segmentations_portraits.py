"""Portraits against pandas group-bys, and labels that say what the planted segments are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from segmentations_oracles import duckdb_features

from segmento.segmentations import fit, portraits_frame
from segmento.segmentations.portraits import portraits
from segmento.segmentations.synthetic import planted_features


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    """Planted clusters plus the kinds of features portraits read: channels, consents, categories, text."""
    frame = planted_features(3000, 4, seed=21, features=["spend_12m", "orders_12m", "recency_days",
                                                           "promo_spend_share_12m", "email_open_rate_12m"])
    rng = np.random.default_rng(0)
    store = np.where(frame.truth == 0, 0.9, 0.3) + rng.uniform(-0.05, 0.05, len(frame))
    frame["share_store_12m"] = store
    frame["share_web_12m"] = (1 - store) * 0.7
    frame["share_app_12m"] = (1 - store) * 0.3
    frame["consent_email"] = rng.random(len(frame)) < np.where(frame.truth == 1, 0.9, 0.4)
    frame["share_cat_tennis"] = np.where(frame.truth == 2, 0.6, 0.1)
    frame["share_cat_hiking_shoes"] = np.where(frame.truth == 2, 0.1, 0.3)
    frame["top_category_12m"] = np.where(frame.truth == 2, "tennis", rng.choice(["hiking shoes", "golf"], len(frame)))
    frame.loc[frame.index[:30], "top_category_12m"] = None
    return frame.drop(columns="truth")


def test_portraits_match_pandas(tmp_path, shop):
    con, table = duckdb_features(tmp_path / "kb.duckdb", shop)
    model = fit(con, {"kind": "kmeans", "name": "b", "k": 4,
                      "features": ["spend_12m", "orders_12m", "recency_days", "promo_spend_share_12m"]},
                "2024-06-30", features=table)
    result = portraits(con, model, table)
    segment = pd.Series(model.predict(shop), index=shop.index)
    numeric = shop.drop(columns=["customer_id", "top_category_12m"]).astype(float)
    assert [p.segment_id for p in result] == [s.id for s in model.segments]
    assert sum(p.size for p in result) == len(shop)
    for p in result:
        rows = numeric[segment == p.segment_id]
        assert p.size == len(rows) and p.share == pytest.approx(len(rows) / len(shop))
        assert p.revenue_share == pytest.approx(rows.spend_12m.sum() / numeric.spend_12m.sum())
        for feature in ("spend_12m", "recency_days", "consent_email", "share_cat_tennis"):
            assert p.stats.at[feature, "mean"] == pytest.approx(rows[feature].mean())
            assert p.stats.at[feature, "median"] == pytest.approx(rows[feature].median())
            assert p.stats.at[feature, "index"] == pytest.approx(rows[feature].mean() / numeric[feature].mean() * 100)
        z = ((rows.mean() - numeric.mean()) / numeric.std(ddof=0)).abs().sort_values(ascending=False)
        assert abs(p.distinctive[0][1]) == pytest.approx(z.iloc[0])
        assert p.reach == {"email": pytest.approx(rows.consent_email.mean())}
        assert p.preferred_channel == ("store" if rows.share_store_12m.mean() > rows.share_web_12m.mean() else "web")
        text = shop.top_category_12m[segment == p.segment_id].dropna().value_counts(normalize=True)
        assert p.top_values["top_category_12m"][0] == (text.index[0], pytest.approx(text.iloc[0]))
        assert p.description.startswith(p.label)
    con.disconnect()


def test_labels_and_descriptions_say_what_the_segment_is(tmp_path, shop):
    con, table = duckdb_features(tmp_path / "kb.duckdb", shop)
    model = fit(con, {"kind": "kmeans", "name": "b", "k": 4,
                      "features": ["spend_12m", "orders_12m", "recency_days", "promo_spend_share_12m",
                                   "share_store_12m", "share_cat_tennis"]},
                "2024-06-30", features=table)
    result = {p.segment_id: p for p in portraits(con, model, table)}
    segment = pd.Series(model.predict(shop), index=shop.index)
    store_first = shop.groupby(segment).share_store_12m.mean().idxmax()
    tennis = shop.groupby(segment).share_cat_tennis.mean().idxmax()
    assert "store-first" in result[store_first].generated_label.lower()
    assert result[tennis].top_categories[0][0] == "tennis"
    assert "tennis" in result[tennis].description
    top_spender = shop.groupby(segment).spend_12m.mean().idxmax()
    spend = shop.spend_12m[segment == top_spender]
    index = spend.mean() / shop.spend_12m.mean() * 100
    z = (spend.mean() - shop.spend_12m.mean()) / shop.spend_12m.std(ddof=0)
    assert index > 150 and z > 1  # planted: the top segment spends far above the base
    description = result[top_spender].description
    assert f"spend {spend.mean():,.0f} a year on average (index {index:.0f})" in description
    assert "big spenders" in description.lower() and "small spenders" not in description.lower()
    assert len({s.label for s in model.segments}) == 4  # generated at fit, unique
    frame = portraits_frame(list(result.values()))
    assert set(frame.columns) >= {"segment_id", "label", "size", "share", "generated_label", "description"}
    con.disconnect()
