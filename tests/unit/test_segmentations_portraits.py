"""Portraits against pandas group-bys, and labels that say what the planted segments are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from segmentations_oracles import duckdb_features

from segmento.segmentations import fit, portraits_frame
from segmento.segmentations.portraits import portraits
from segmento.segmentations.synthetic import planted_features
from segmento.store import slices


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


@pytest.mark.parametrize("per_slice", [None, 700], ids=["whole", "5 slices"])
def test_portraits_match_pandas(tmp_path, shop, per_slice, monkeypatch):
    """Also with the features staged a slice of customers at a time (3,000 customers, slices of 700)."""
    if per_slice:
        monkeypatch.setattr(slices, "CUSTOMERS_PER_SLICE", per_slice)
    con, table = duckdb_features(tmp_path / "kb.duckdb", shop)
    model = fit(con, {"kind": "kmeans", "name": "b", "k": 4,
                      "features": ["spend_12m", "orders_12m", "recency_days", "promo_spend_share_12m"]},
                "2024-06-30", features=table)
    if per_slice:  # the slices are ranges of the customers table's ids
        con.raw_sql("INSERT INTO customers (customer_id, signup_date) SELECT customer_id, DATE '2020-01-01' FROM features")
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
            assert p.stats.at[feature, "std"] == pytest.approx(rows[feature].std(ddof=0))
            assert p.stats.at[feature, "index"] == pytest.approx(rows[feature].mean() / numeric[feature].mean() * 100)
        z = ((rows.mean() - numeric.mean()) / numeric.std(ddof=0)).abs().sort_values(ascending=False)
        assert abs(p.distinctive[0][1]) == pytest.approx(z.iloc[0])
        assert p.reach == {"email": pytest.approx(rows.consent_email.mean())}
        lift = {c: rows[f"share_{c}_12m"].mean() / numeric[f"share_{c}_12m"].mean() for c in ("store", "web", "app")
                if rows[f"share_{c}_12m"].mean() >= 0.05}  # a channel under 5% of their spend is not recommended
        order = sorted(lift, key=lambda c: (round(lift[c], 9), rows[f"share_{c}_12m"].mean()), reverse=True)
        assert p.preferred_channel == order[0]  # by index against the base (then share), not by share alone
        assert [c for c, _, _ in p.channels] == order
        for name, share, index in p.top_categories:
            column = f"share_cat_{name.replace(' ', '_')}"
            assert share == pytest.approx(rows[column].mean()) and share >= 0.05
            assert index == pytest.approx(rows[column].mean() / numeric[column].mean() * 100)
        assert [i for _, _, i in p.top_categories] == sorted((i for _, _, i in p.top_categories), reverse=True)
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


CLAIMS = {  # phrase -> what the figures must show for it to be true (the oracle)
    "long-time buyers": lambda r: r.orders_12m.median() >= 1,
    "single-category": lambda r: r.orders_12m.median() >= 1 and r.n_categories_12m.median() >= 1,
    "frequent buyers": lambda r: r.orders_12m.median() >= 1,
    "big spenders": lambda r: r.spend_12m.mean() > 0,
    "never bought": lambda r: (r.orders_lifetime == 0).mean() > 0.5,
    "no order in 12 months": lambda r: (r.orders_12m == 0).mean() > 0.5,
}


@pytest.fixture(scope="module")
def lifecycle() -> pd.DataFrame:
    """Active buyers, customers silent for over a year (long-standing), and customers who never bought."""
    rng = np.random.default_rng(5)
    n = 600
    kind = np.repeat(["active", "dormant", "never"], n)
    orders_life = np.where(kind == "never", 0, rng.integers(1, 30, 3 * n))
    orders_12m = np.where(kind == "active", rng.integers(1, 12, 3 * n), 0)
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(3 * n)],
        "spend_12m": orders_12m * rng.uniform(20, 90, 3 * n),
        "orders_12m": orders_12m,
        "orders_lifetime": orders_life,
        "recency_days": np.where(kind == "never", np.nan, np.where(kind == "active", rng.integers(0, 200, 3 * n),
                                                                     rng.integers(370, 900, 3 * n))),
        "first_order_days": np.where(kind == "never", np.nan, np.where(kind == "dormant", rng.integers(900, 1500, 3 * n),
                                                                         rng.integers(30, 1500, 3 * n))),
        "n_categories_12m": np.where(kind == "active", rng.integers(1, 5, 3 * n), 0),
        "promo_spend_share_12m": np.where(kind == "active", rng.uniform(0, 0.6, 3 * n), np.nan),
        "consent_email": rng.random(3 * n) < np.where(kind == "active", 0.7, 0.3),
        "consent_sms": rng.random(3 * n) < 0.1,
        "share_cat_tennis": np.where(kind == "active", rng.uniform(0, 0.5, 3 * n), np.nan),
        "share_cat_hiking_shoes": np.where(kind == "active", rng.uniform(0.2, 0.5, 3 * n), np.nan),
        "truth": kind,
    })


def test_descriptions_only_claim_what_the_figures_show(tmp_path, lifecycle):
    frame = lifecycle.drop(columns="truth")
    con, table = duckdb_features(tmp_path / "kb.duckdb", frame)
    model = fit(con, {"kind": "tiers", "name": "value", "feature": "orders_lifetime",
                      "tiers": [{"id": "buyers", "min": 1}, {"id": "never"}]}, "2024-06-30", features=table)
    tiers = portraits(con, model, table)
    model = fit(con, {"kind": "tiers", "name": "recent", "feature": "orders_12m",
                      "tiers": [{"id": "active", "min": 1}, {"id": "inactive"}]}, "2024-06-30", features=table)
    result = tiers + portraits(con, model, table)
    described = 0
    members = {"buyers": frame.orders_lifetime >= 1, "never": frame.orders_lifetime == 0,
               "active": frame.orders_12m >= 1, "inactive": frame.orders_12m == 0}
    for name, p in zip(("buyers", "never", "active", "inactive"), result):
        inside = frame[members[name]]
        assert p.segment_id == name and p.size == len(inside)
        text = f"{p.generated_label}. {p.description}".lower()
        for phrase, holds in CLAIMS.items():
            if phrase in text:
                described += 1
                assert holds(inside), (p.label, phrase, text)
        assert f"{p.label} ({p.label})".lower() not in text
    assert "never bought" in result[1].description.lower() and "single-category" not in result[1].description
    assert "long-time buyers" not in result[3].description.lower() and "no order in 12 months" in result[3].generated_label.lower()
    assert described >= 2
    # next best action: the category bought more than the base, a reachable channel, promotion or not
    active = result[2]
    assert ": offer hiking shoes " in active.next_best_action and "by email" in active.next_best_action
    assert not active.next_best_action.startswith(("Win-back", "First-purchase"))
    assert result[1].next_best_action.startswith("First-purchase offer")
    assert result[3].next_best_action.startswith("Win-back")
    con.disconnect()


def test_phrases_are_words_for_people_never_feature_names() -> None:
    """Predictive traits, campaign history and features without a phrase of their own are said in
    words: a marketer reads 'likely lapsed', not 'low p_alive'."""
    from segmento.segmentations.labels import phrases

    features = ["p_alive", "clv_12m", "expected_orders_90d", "campaign_response_rate_12m", "visits_per_week_3m"]
    base_mean, base_std = dict.fromkeys(features, 1.0), dict.fromkeys(features, 1.0)
    for direction in (+2.0, -2.0):
        said = phrases({f: 1.0 + direction for f in features}, base_mean, base_std)
        assert len(said) >= 4, said
        assert not [p for p in said if "_" in p], said
    assert "likely lapsed" in phrases({"p_alive": 0.1}, {"p_alive": 0.6}, {"p_alive": 0.2})
