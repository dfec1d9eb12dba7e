"""The synthetic retail generator: schema conformance, integrity, determinism, and that the
planted behaviours (persona drifts, seasonality, interest signals, email reactivity) are
really measurable in the output."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segmento.demo import PERSONA_NAMES, PERSONAS, TRANSITIONS, DemoData, generate, write_demo, write_parquet
from segmento.demo.columns import ARROW_TYPES
from segmento.store.schema import TABLES

CUSTOMERS, MONTHS, SEED = 3000, 12, 7
END = date(2024, 12, 31)
WINDOW_START = datetime(2024, 1, 1)
WINDOW_STOP = datetime(2025, 1, 1)


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate(CUSTOMERS, MONTHS, seed=SEED, end=END)


@pytest.fixture(scope="module")
def frames(data: DemoData) -> dict[str, pd.DataFrame]:
    return {name: table.to_pandas() for name, table in data.tables().items()}


@pytest.fixture(scope="module")
def monthly(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per (customer, month) of the truth table, with that month's orders and spend."""
    orders = frames["orders"].assign(month=lambda o: o.ordered_at.dt.to_period("M"))
    spend = orders.groupby(["customer_id", "month"]).agg(orders=("order_id", "size"), spend=("amount", "sum"))
    truth = frames["truth"].assign(month=lambda t: pd.to_datetime(t.month).dt.to_period("M"))
    table = truth.join(spend, on=["customer_id", "month"]).fillna({"orders": 0, "spend": 0.0})
    return table.sort_values(["customer_id", "month"]).reset_index(drop=True)


# --- schema conformance ------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(TABLES))
def test_columns_are_exactly_the_schema_columns_with_their_types(data: DemoData, name: str) -> None:
    spec, table = TABLES[name], getattr(data, name)
    assert table.column_names == spec.column_names
    for column in spec.columns:
        assert table.schema.field(column.name).type == ARROW_TYPES[column.type], column.name


@pytest.mark.parametrize("name", list(TABLES))
def test_required_columns_have_no_nulls(data: DemoData, name: str) -> None:
    table = getattr(data, name)
    assert table.num_rows > 0
    for column in TABLES[name].columns:
        if column.required:
            assert table.column(column.name).null_count == 0, column.name


@pytest.mark.parametrize("name", list(TABLES))
def test_allowed_values_and_minimums_are_respected(frames: dict[str, pd.DataFrame], name: str) -> None:
    frame = frames[name]
    for column in TABLES[name].columns:
        values = frame[column.name].dropna()
        if column.allowed is not None:
            assert set(values) <= set(column.allowed), column.name
        if column.min_value is not None:
            assert values.min() >= column.min_value, column.name


def test_identifiers_are_unique_and_well_formed(frames: dict[str, pd.DataFrame]) -> None:
    for name, spec in TABLES.items():
        assert not frames[name].duplicated(list(spec.key)).any(), name
    assert frames["customers"].customer_id.str.fullmatch(r"C\d{7}").all()
    assert frames["orders"].order_id.str.fullmatch(r"O\d{10}").all()
    assert frames["events"].event_id.str.fullmatch(r"E\d{11}").all()
    assert frames["order_lines"].product_id.str.fullmatch(r"P\d{5}").all()


def test_references_resolve(frames: dict[str, pd.DataFrame]) -> None:
    customers = set(frames["customers"].customer_id)
    for name in ("orders", "events", "consents", "truth"):
        assert set(frames[name].customer_id) <= customers, name
    assert set(frames["order_lines"].order_id) == set(frames["orders"].order_id)


def test_line_numbers_run_from_one_in_each_order(frames: dict[str, pd.DataFrame]) -> None:
    lines = frames["order_lines"]
    per_order = lines.groupby("order_id").line_no.agg(["min", "max", "size"])
    assert (per_order["min"] == 1).all() and (per_order["max"] == per_order["size"]).all()


# --- time ---------------------------------------------------------------------------------------


def test_no_activity_before_signup_nor_outside_the_window(frames: dict[str, pd.DataFrame]) -> None:
    signup = frames["customers"].set_index("customer_id").signup_date.astype("datetime64[us]")
    for name, column in (("orders", "ordered_at"), ("events", "occurred_at")):
        at = frames[name][column]
        assert at.min() >= WINDOW_START and at.max() < WINDOW_STOP, name
        assert (at.to_numpy() >= signup.loc[frames[name].customer_id].to_numpy()).all(), name
    consents = frames["consents"]
    assert consents.recorded_at.max() < WINDOW_STOP
    assert (consents.recorded_at.to_numpy() >= signup.loc[consents.customer_id].to_numpy()).all()


def test_customers_join_before_and_during_the_window(frames: dict[str, pd.DataFrame]) -> None:
    signup = pd.to_datetime(frames["customers"].signup_date)
    joined_during = (signup >= WINDOW_START).mean()
    assert 0.08 < joined_during < 0.25
    assert signup.max() < WINDOW_STOP
    assert signup.min() < WINDOW_START - timedelta(days=3 * 365)


def test_window_ending_mid_month_stops_at_the_end_date() -> None:
    data = generate(300, 2, seed=1, end=date(2024, 6, 15))
    stop = datetime(2024, 6, 16)
    assert pa.compute.max(data.orders.column("ordered_at")).as_py() < stop
    assert pa.compute.max(data.events.column("occurred_at")).as_py() < stop
    assert pa.compute.min(data.events.column("occurred_at")).as_py() >= datetime(2024, 5, 1)
    assert set(data.truth.column("month").to_pylist()) == {date(2024, 5, 31), date(2024, 6, 15)}


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        generate(0, 12)
    with pytest.raises(ValueError):
        generate(100, 0)


# --- determinism and files -----------------------------------------------------------------------


def test_same_seed_gives_identical_tables_and_files(tmp_path) -> None:
    first, second = generate(400, 3, seed=11), generate(400, 3, seed=11)
    for name, table in first.tables().items():
        assert table.equals(second.tables()[name]), name
    paths_a, paths_b = write_parquet(first, tmp_path / "a"), write_parquet(second, tmp_path / "b")
    for name in paths_a:
        assert paths_a[name].read_bytes() == paths_b[name].read_bytes(), name


def test_different_seeds_give_different_data() -> None:
    first, second = generate(400, 3, seed=11), generate(400, 3, seed=12)
    for name in ("customers", "orders", "order_lines", "events", "consents", "truth"):
        assert not first.tables()[name].equals(second.tables()[name]), name


def test_write_parquet_writes_every_table(data: DemoData, tmp_path) -> None:
    paths = write_parquet(data, tmp_path)
    assert set(paths) == {*TABLES, "truth"}
    for name, path in paths.items():
        assert path.name == f"{name}.parquet"
        assert pq.read_table(path).equals(data.tables()[name]), name


def test_write_demo_streams_the_same_data_as_generate(tmp_path) -> None:
    expected = generate(400, 3, seed=5)
    paths = write_demo(tmp_path, 400, 3, seed=5)
    for name, table in expected.tables().items():
        assert pq.read_table(paths[name]).equals(table), name


# --- money -----------------------------------------------------------------------------------------


def test_order_amounts_follow_their_lines(frames: dict[str, pd.DataFrame]) -> None:
    orders, lines = frames["orders"].set_index("order_id"), frames["order_lines"]
    subtotal = (lines.quantity * lines.unit_price).groupby(lines.order_id).sum()
    gap = orders.amount + orders.discount_amount - subtotal.loc[orders.index]
    assert gap.abs().max() < 0.01
    assert (orders.discount_amount >= 0).all() and (orders.amount >= 0).all()
    assert (lines.unit_price > 0).all() and (lines.quantity >= 1).all()
    assert set(orders.currency) == {"EUR"}
    assert 0.0 < (orders.discount_amount > 0).mean() < 0.3
    assert lines.groupby("order_id").size().max() > 3


def test_promotions_peak_in_the_sales(frames: dict[str, pd.DataFrame]) -> None:
    lines = frames["order_lines"].merge(frames["orders"][["order_id", "ordered_at"]], on="order_id")
    promo_share = lines.groupby(lines.ordered_at.dt.month).promo.mean()
    assert promo_share[1] > 2 * promo_share[3] and promo_share[7] > 2 * promo_share[9]


def test_december_is_the_biggest_month(frames: dict[str, pd.DataFrame]) -> None:
    orders = frames["orders"]
    revenue = orders.groupby(orders.ordered_at.dt.month).amount.sum()
    assert revenue.idxmax() == 12
    assert revenue[12] > 1.3 * revenue.mean()


# --- catalogue and profile ---------------------------------------------------------------------------


def test_catalogue_has_sports_categories_with_the_right_sizes(frames: dict[str, pd.DataFrame]) -> None:
    lines = frames["order_lines"]
    assert {"tennis", "running", "hiking shoes", "nutrition", "accessories"} <= set(lines.category)
    sizes = lines.groupby("category")["size"].agg(lambda s: set(s.dropna()))
    assert sizes["hiking shoes"] <= {str(s) for s in range(36, 47)} and "43" in sizes["hiking shoes"]
    assert sizes["outdoor clothing"] <= {"XS", "S", "M", "L", "XL", "XXL"}
    assert sizes["nutrition"] == set()
    assert lines[lines.category == "hiking shoes"]["size"].notna().all()


def test_customer_profiles_look_real(frames: dict[str, pd.DataFrame]) -> None:
    customers = frames["customers"]
    age = (pd.Timestamp(END) - pd.to_datetime(customers.birth_date)).dt.days / 365.25
    assert age.min() >= 18 and age.max() < 86 and 35 < age.median() < 55
    assert 0 < customers.birth_date.isna().mean() < 0.05
    country = customers.country.value_counts(normalize=True)
    assert country["FR"] > 0.8 and {"BE", "ES", "DE"} <= set(country.index)
    french = customers[customers.country == "FR"]
    assert french.postcode.str.fullmatch(r"\d{5}").all()
    assert set(french[french.city == "Paris"].postcode) <= {f"750{d:02d}" for d in range(1, 21)}
    assert customers.gender.value_counts(normalize=True)[["F", "M"]].min() > 0.4
    traits = customers.traits.dropna().map(json.loads)
    assert 0.7 < len(traits) / len(customers) < 0.95
    assert traits.map(lambda t: isinstance(t["loyalty_card"], bool)).all()
    assert traits.map(lambda t: "preferred_store" in t).mean() > 0.8


# --- consents -------------------------------------------------------------------------------------------


def test_consent_rates_vary_by_channel_and_some_are_withdrawn(frames: dict[str, pd.DataFrame]) -> None:
    consents = frames["consents"]
    first = consents.sort_values("recorded_at").groupby(["customer_id", "channel"]).first()
    grant_rate = first.groupby("channel").granted.mean()
    assert grant_rate["email"] > grant_rate["sms"] > grant_rate["phone"]
    assert grant_rate["post"] > grant_rate["phone"]
    assert first.groupby("channel").size()["push"] < first.groupby("channel").size()["email"]
    assert set(consents.purpose) == {"marketing"}
    assert {"web_form", "store", "call_centre"} <= set(consents.source)
    withdrawals = consents[~consents.granted].merge(
        consents[consents.granted], on=["customer_id", "channel"], suffixes=("", "_grant")
    )
    assert (withdrawals.recorded_at > withdrawals.recorded_at_grant).sum() > 20


def test_campaigns_only_reach_customers_who_consented(frames: dict[str, pd.DataFrame]) -> None:
    events, consents = frames["events"], frames["consents"]
    for channel, reached in (("email", events[events.type == "email_sent"]),
                             ("sms", events[events.channel == "sms"]), ("push", events[events.channel == "push"])):
        assert len(reached) > 0, channel
        ledger = consents[consents.channel == channel].sort_values("recorded_at")
        latest = pd.merge_asof(
            reached.sort_values("occurred_at"), ledger[["customer_id", "recorded_at", "granted"]],
            left_on="occurred_at", right_on="recorded_at", by="customer_id",
        )
        assert latest.granted.eq(True).all(), channel


# --- events ---------------------------------------------------------------------------------------------


def test_event_channels_match_their_types(frames: dict[str, pd.DataFrame]) -> None:
    events = frames["events"]
    channels = events.groupby("type").channel.agg(set)
    assert set(channels.index) == set(TABLES["events"].column("type").allowed)
    for web_type in ("page_view", "product_view", "search", "add_to_cart"):
        assert channels[web_type] == {"web", "app"}
    for email_type in ("email_sent", "email_open", "email_click"):
        assert channels[email_type] == {"email"}
    assert channels["call"] == {"phone"} and channels["chatbot"] == {"chatbot"} and channels["selfcare"] == {"selfcare"}
    assert channels["campaign_response"] <= {"email", "sms", "push"}
    campaign_types = events.type.isin(["email_sent", "email_open", "email_click", "campaign_response"])
    assert events[campaign_types].campaign_id.notna().all() and events[~campaign_types].campaign_id.isna().all()
    searches = events[events.type == "search"].properties.map(json.loads)
    assert searches.map(lambda p: isinstance(p["query"], str) and p["query"] != "").all()
    assert events[events.type == "product_view"].category.notna().all()


def test_email_opens_and_clicks_follow_a_send(frames: dict[str, pd.DataFrame]) -> None:
    events = frames["events"]
    email = events[events.channel == "email"]
    first = email.pivot_table(index=["customer_id", "campaign_id"], columns="type", values="occurred_at", aggfunc="min")
    opened, clicked = first.email_open.notna(), first.email_click.notna()
    assert opened.sum() > 100 and clicked.sum() > 20
    assert first.email_sent[opened].notna().all() and (first.email_open[opened] > first.email_sent[opened]).all()
    assert first.email_open[clicked].notna().all() and (first.email_click[clicked] > first.email_open[clicked]).all()
    assert (email.groupby(["customer_id", "campaign_id", "type"]).size() == 1).all()


def test_open_rates_depend_on_the_persona(frames: dict[str, pd.DataFrame]) -> None:
    events = frames["events"]
    email = events[events.type.isin(["email_sent", "email_open"])].assign(
        month=lambda e: e.occurred_at.dt.to_period("M")
    )
    sent = email[email.type == "email_sent"]
    opened = email[email.type == "email_open"][["customer_id", "campaign_id"]].assign(opened=True)
    truth = frames["truth"].assign(month=lambda t: pd.to_datetime(t.month).dt.to_period("M"))
    sends = sent.merge(opened, on=["customer_id", "campaign_id"], how="left").merge(truth, on=["customer_id", "month"])
    rate = sends.opened.eq(True).groupby(sends.persona).mean()
    assert rate["loyal_high_value"] > rate["occasional"] > rate["lapsing"] > rate["churned"]
    assert rate["loyal_high_value"] > 2 * rate["lapsing"]


def test_viewing_a_category_predicts_buying_it(frames: dict[str, pd.DataFrame]) -> None:
    events, lines, orders = frames["events"], frames["order_lines"], frames["orders"]
    views = events[events.type == "product_view"].assign(month=lambda e: e.occurred_at.dt.month)
    viewed = views[["customer_id", "category", "month"]].drop_duplicates()
    bought = lines.merge(orders[["order_id", "customer_id", "ordered_at"]], on="order_id")
    bought = bought.assign(month=bought.ordered_at.dt.month)[["customer_id", "category", "month"]].drop_duplicates()
    next_month = bought.assign(month=bought.month - 1)
    # Among customers who ordered next month: did they buy the category they viewed this month?
    buyers = next_month[["customer_id", "month"]].drop_duplicates()
    candidates = viewed.merge(buyers, on=["customer_id", "month"])
    matched = candidates.merge(next_month.assign(hit=True), on=["customer_id", "category", "month"], how="left")
    baseline = len(next_month) / (len(buyers) * bought.category.nunique())  # chance a buyer buys a given category
    assert matched.hit.eq(True).mean() > 2.5 * baseline


def test_viewed_shoe_size_is_the_size_bought(frames: dict[str, pd.DataFrame]) -> None:
    events, lines, orders = frames["events"], frames["order_lines"], frames["orders"]

    def shoe(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame.category.isin(["hiking shoes", "running"]) & frame["size"].str.fullmatch(r"\d+")]

    browsed = shoe(events[events.type.isin(["product_view", "search"]) & (events.channel != "email")])
    usual_view = browsed.groupby("customer_id")["size"].agg(lambda s: s.mode().iloc[0])
    bought = shoe(lines).merge(orders[["order_id", "customer_id"]], on="order_id")
    bought = bought[bought.customer_id.isin(usual_view.index)]
    assert len(bought) > 200
    assert (bought["size"].to_numpy() == usual_view.loc[bought.customer_id].to_numpy()).mean() > 0.7
    # The brief's example: those who mostly look at hiking shoes in 43 buy 43s.
    looks_at_43 = usual_view[usual_view == "43"].index
    hiking_43 = bought[(bought.category == "hiking shoes") & bought.customer_id.isin(looks_at_43)]
    assert len(hiking_43) > 30 and (hiking_43["size"] == "43").mean() > 0.7


# --- personas and their drifts ----------------------------------------------------------------------------


def test_transition_matrix_is_a_proper_markov_chain() -> None:
    assert TRANSITIONS.shape == (len(PERSONAS), len(PERSONAS))
    np.testing.assert_allclose(TRANSITIONS.sum(axis=1), 1.0)
    assert (TRANSITIONS >= 0).all()
    assert np.isclose(sum(p.initial_share for p in PERSONAS), 1.0)


def test_truth_holds_every_signed_up_customer_every_month(frames: dict[str, pd.DataFrame]) -> None:
    truth, customers = frames["truth"], frames["customers"]
    assert set(truth.persona) == set(PERSONA_NAMES)
    assert truth.month.nunique() == MONTHS
    signup = customers.set_index("customer_id").signup_date
    assert (truth.month >= signup.loc[truth.customer_id].to_numpy()).all()
    for month, rows in truth.groupby("month"):
        assert len(rows) == (customers.signup_date <= month).sum()
    joined_in_window = set(customers[pd.to_datetime(customers.signup_date) >= WINDOW_START].customer_id)
    first = truth.sort_values("month").groupby("customer_id").persona.first()
    assert (first.loc[list(joined_in_window)] == "new").all()


def test_spend_follows_the_persona(monthly: pd.DataFrame) -> None:
    spend = monthly.groupby("persona").spend.mean()
    assert spend["loyal_high_value"] > spend["regular"] > spend["occasional"] > spend["lapsing"] > spend["churned"]
    assert spend["loyal_high_value"] > 4 * spend["occasional"]


def _split_at_first_change(monthly: pd.DataFrame, start: set[str], after: set[str]) -> pd.DataFrame:
    """Customers who begin in `start` and later move to `after`: their mean spend before and after the move."""
    rows = []
    for customer, history in monthly.groupby("customer_id", sort=False):
        personas = history.persona.to_numpy()
        if personas[0] not in start:
            continue
        moved = np.flatnonzero(np.isin(personas, list(after)))
        if len(moved) == 0:
            continue
        spend = history.spend.to_numpy()
        rows.append((customer, spend[: moved[0]].mean(), spend[moved[0]:].mean()))
    return pd.DataFrame(rows, columns=["customer_id", "before", "after"])


def test_loyal_customers_who_slide_spend_less(monthly: pd.DataFrame) -> None:
    sliders = _split_at_first_change(monthly, {"loyal_high_value"}, {"regular", "occasional", "lapsing", "churned"})
    assert len(sliders) > 30
    assert sliders.after.mean() < 0.6 * sliders.before.mean()
    assert (sliders.after < sliders.before).mean() > 0.65


def test_occasional_customers_who_upgrade_spend_more(monthly: pd.DataFrame) -> None:
    upgraders = _split_at_first_change(monthly, {"occasional"}, {"regular", "loyal_high_value"})
    assert len(upgraders) > 30
    assert upgraders.after.mean() > 1.8 * upgraders.before.mean()
    assert (upgraders.after > upgraders.before).mean() > 0.65


def test_churned_customers_almost_stop_ordering(monthly: pd.DataFrame) -> None:
    churned = monthly[monthly.persona == "churned"]
    active = monthly[monthly.persona.isin(["loyal_high_value", "regular"])]
    assert len(churned) > 1000
    assert churned.orders.mean() < 0.05 < 1.0 < active.orders.mean()
    churners = _split_at_first_change(monthly, {"regular", "occasional", "lapsing"}, {"churned"})
    assert len(churners) > 30 and churners.after.mean() < 0.2 * churners.before.mean()


def test_volumes_per_customer_month_are_in_the_intended_range(data: DemoData, monthly: pd.DataFrame) -> None:
    customer_months = len(monthly)
    assert 1.1 < data.orders.num_rows / customer_months < 1.8
    assert 2.5 < data.events.num_rows / customer_months < 4.5
    assert 1.6 < data.order_lines.num_rows / data.orders.num_rows < 2.4
    # The full-scale target (1M customers, 24 months -> ~30M orders, ~60M events) per customer of the base:
    per_base_customer_month = data.orders.num_rows / (CUSTOMERS * MONTHS)
    assert 1.0 < per_base_customer_month < 1.6
