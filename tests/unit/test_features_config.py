"""User features from segmento.yaml and Python, configurable windows, and the errors analysts see."""

from __future__ import annotations

import textwrap
from datetime import date, datetime
from pathlib import Path

import ibis
import pytest
from features_data import assert_same, knowledge_base, load, rows_by_customer
from features_oracle import Oracle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segmento
from segmento.config import ConfigError, load_project
from segmento.features import AsOf, FeatureError, PointInTime, catalog, compute_features, feature, unregister

D = date(2024, 6, 30)
ORDER_LINE_COLUMNS = (
    "order_id, line_no, product_id, category, size, quantity, unit_price, promo, "
    "customer_id, ordered_at, channel, spend"
)


def _order(order_id: str, customer: str, at: datetime, amount: float, channel: str) -> dict:
    return dict(order_id=order_id, customer_id=customer, ordered_at=at, amount=amount, discount_amount=None,
                channel=channel, currency="EUR")  # fmt: skip


def _line(order_id: str, category: str, quantity: int, price: float) -> dict:
    return dict(order_id=order_id, line_no=1 if category != "golf" else 2, product_id="p", category=category,
                size=None, quantity=quantity, unit_price=price, promo=None)  # fmt: skip


def _view(event_id: str, customer: str, at: datetime, kind: str, category: str) -> dict:
    return dict(event_id=event_id, customer_id=customer, occurred_at=at, type=kind, channel="web",
                category=category, size=None, campaign_id=None, properties=None)  # fmt: skip


SHOP = {
    "customers": [dict(customer_id=c, signup_date=date(2020, 1, 1)) for c in ("a", "b")],
    "orders": [
        _order("o1", "a", datetime(2024, 6, 1, 10), 30.0, "web"),
        _order("o2", "a", datetime(2024, 1, 10, 10), 70.0, "store"),
        _order("o3", "b", datetime(2023, 1, 1, 10), 10.0, "app"),
        _order("o4", "a", datetime(2024, 7, 5, 10), 999.0, "web"),  # after D
    ],
    "order_lines": [
        _line("o1", "tennis", 2, 10.0), _line("o1", "golf", 1, 10.0), _line("o2", "tennis", 1, 70.0),
        _line("o3", "tennis", 1, 10.0), _line("o4", "tennis", 1, 999.0),
    ],  # fmt: skip
    "events": [
        _view("e1", "a", datetime(2024, 6, 20), "product_view", "tennis"),
        _view("e2", "a", datetime(2024, 6, 25), "product_view", "golf"),
        _view("e3", "a", datetime(2024, 6, 26), "search", "tennis"),
        _view("e4", "a", datetime(2024, 5, 1), "product_view", "ski"),  # outside 30 days
        _view("e5", "b", datetime(2024, 7, 2), "product_view", "tennis"),  # after D
    ],
}

PROJECT = """\
name: shop
features:
  custom:
    - name: tennis_share_pct
      expr: round(tennis_share_12m * 100, 1)
    - name: tennis_spend_12m
      axis: product
      description: Spend on tennis in the last 12 months
      unit: currency
      table: order_lines
      aggregation: sum
      column: spend
      where: category = 'tennis'
      window: 12m
    - name: tennis_share_12m
      axis: product
      expr: tennis_spend_12m / nullif(spend_12m, 0)
    - name: viewed_categories_30d
      axis: interests
      table: events
      aggregation: count_distinct
      column: category
      where: type in ('product_view', 'search')
      window: 30d
    - name: biggest_order
      table: orders
      aggregation: max
      column: amount
    - name: web_orders
      table: orders
      aggregation: count
      where: channel = 'web'
"""


def project_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "segmento.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> segmento.Workspace:
    workspace = segmento.connect(tmp_path_factory.mktemp("shop") / "kb.duckdb")
    load(workspace.con, SHOP)
    yield workspace
    workspace.close()


def features_with(shop: segmento.Workspace, path: Path, names: list[str] | None = None) -> dict[str, dict]:
    return rows_by_customer(compute_features(shop.con, D, load_project(path), names).to_pyarrow())


def test_yaml_aggregates_and_derived_features(shop: segmento.Workspace, tmp_path: Path) -> None:
    path = project_file(tmp_path, PROJECT)
    names = ["tennis_spend_12m", "tennis_share_12m", "tennis_share_pct", "viewed_categories_30d", "biggest_order",
             "web_orders"]  # fmt: skip
    assert features_with(shop, path, names) == {
        "a": dict(tennis_spend_12m=90.0, tennis_share_12m=0.9, tennis_share_pct=90.0, viewed_categories_30d=2,
                  biggest_order=70.0, web_orders=1),
        "b": dict(tennis_spend_12m=0.0, tennis_share_12m=None, tennis_share_pct=None, viewed_categories_30d=0,
                  biggest_order=10.0, web_orders=0),
    }  # fmt: skip


def test_project_features_are_in_the_catalog_with_their_line(tmp_path: Path) -> None:
    path = project_file(tmp_path, PROJECT)
    listed = {f.name: f for f in catalog(load_project(path))}
    spend = listed["tennis_spend_12m"]
    assert (spend.axis, spend.description, spend.unit, spend.dtype) == (
        "product", "Spend on tennis in the last 12 months", "currency", "float64"
    )  # fmt: skip
    assert spend.defined_at == f"{path}, line 6"
    assert listed["tennis_share_pct"].dtype == "float64"
    assert listed["viewed_categories_30d"].dtype == "int64"


def test_all_features_by_default_include_the_project_ones_last(shop: segmento.Workspace, tmp_path: Path) -> None:
    table = compute_features(shop.con, D, load_project(project_file(tmp_path, PROJECT)))
    assert table.columns[-6:] == ("tennis_share_pct", "tennis_spend_12m", "tennis_share_12m",
                                  "viewed_categories_30d", "biggest_order", "web_orders")  # fmt: skip
    assert table.columns[0] == "customer_id"


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_windows_are_configurable(tmp_path: Path, data: st.DataObject) -> None:
    path = project_file(tmp_path, """\
        features:
          windows:
            rfm: [30d, 2w]
            social: [7d]
            service: [1m]
            interests: [1y]
            period: 6m
        """)  # fmt: skip
    base = data.draw(knowledge_base(D))
    with segmento.connect(tmp_path / f"kb{data.draw(st.integers(0, 10**9))}.duckdb", path) as ws:
        load(ws.con, base)
        got = rows_by_customer(ws.features(D).to_pyarrow())
    windows = {"rfm": ["30d", "2w"], "social": ["7d"], "service": ["1m"], "interests": ["1y"]}
    assert_same(got, Oracle(base, D, windows, period="6m").rows())


def test_share_cat_features_can_be_used_in_formulas(shop: segmento.Workspace, tmp_path: Path) -> None:
    path = project_file(tmp_path, """\
        features:
          custom:
            - name: golf_pct
              expr: round(100 * share_cat_golf)
        """)  # fmt: skip
    assert features_with(shop, path, ["golf_pct", "share_cat_golf"]) == {
        "a": {"golf_pct": 10.0, "share_cat_golf": 0.1},
        "b": {"golf_pct": None, "share_cat_golf": None},
    }


ERRORS = [
    pytest.param(
        """\
        features:
          custom:
            - name: tennis_spend
              table: order_lines
              aggregation: sum
              column: spend
              where: categry = 'tennis'
        """,
        "line 7: feature 'tennis_spend': unknown column 'categry' in where; did you mean 'category'? "
        f"(columns of order_lines: {ORDER_LINE_COLUMNS})",
        id="unknown column in where",
    ),
    pytest.param(
        """\
        features:
          custom:
            - name: big
              table: orders
              aggregation: max
              column: amout
        """,
        "line 6: feature 'big': unknown column 'amout'; did you mean 'amount'? (columns of orders: order_id, "
        "customer_id, ordered_at, amount, discount_amount, channel, currency)",
        id="unknown column",
    ),
    pytest.param(
        """\
        features:
          custom:
            - name: channels
              table: orders
              aggregation: sum
              column: channel
        """,
        "line 6: feature 'channels': cannot sum column 'channel' of type string",
        id="sum of text",
    ),
    pytest.param(
        """\
        features:
          custom:
            - name: n
              table: events
              aggregation: count
              where: category
        """,
        "line 6: feature 'n': where must be a true/false condition, not string",
        id="where not boolean",
    ),
    pytest.param(
        """\
        features:
          custom:
            - name: n
              table: events
              aggregation: count
              where: size > 42
        """,
        "line 6: feature 'n': in where: type error in 'size > 42' (operand types: string, int64)",
        id="type error in where",
    ),
    pytest.param(
        """\
        features:
          custom:
            - name: a
              expr: b + 1
            - name: b
              expr: orders_12m + a
        """,
        "line 4: feature 'a' is defined in a cycle: a -> b -> a",
        id="cycle",
    ),
    pytest.param(
        """\
        features:
          custom:
            - name: a
              expr: a * 2
        """,
        "line 4: feature 'a' is defined in a cycle: a -> a",
        id="self reference",
    ),
    pytest.param(
        """\
        features:
          custom:
            - name: basket
              expr: spend_12m / nullif(order_12m, 0)
        """,
        "line 4: feature 'basket': unknown feature 'order_12m' in expr; did you mean 'orders_12m'?",
        id="unknown feature",
    ),
    pytest.param(
        """\
        features:
          custom:
            - name: odd
              expr: country - 1
        """,
        "line 4: feature 'odd': in expr: type error in 'country - 1' (operand types: string, int64)",
        id="type error in expr",
    ),
    pytest.param(
        """\
        features:
          custom:
            - name: odd
              expr: median(spend_12m)
        """,
        "line 4: feature 'odd': in expr: unknown function 'median'; supported: abs, array_contains, array_length, "
        "cardinality, cast, ceil, coalesce, exp, floor, greatest, if, iif, least, length, ln, lower, nullif, round, "
        "sqrt, upper",
        id="unknown function",
    ),
    pytest.param(
        """\
        features:
          custom:
            - name: orders_12m
              table: orders
              aggregation: count
        """,
        "line 3: feature 'orders_12m' is already defined (built-in); rename it",
        id="duplicate name",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_definition_errors_name_the_feature_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = project_file(tmp_path, text)
    with pytest.raises(FeatureError) as caught:
        catalog(load_project(path))
    assert str(caught.value) == f"{path}, {message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("features:\n  windows:\n    rfm: [90d, 3 months]\n",
         "line 3: features.windows.rfm.1: bad window '3 months': write a number then d, w, m or y "
         "(e.g. '30d', '12m'), or 'lifetime'"),
        ("features:\n  custom:\n    - name: x\n      table: orders\n      aggregation: count\n      window: 90\n",
         "line 6: features.custom.0.window: bad window 90: write a number then d, w, m or y (e.g. '30d', '12m'), "
         "or 'lifetime'"),
        ("features:\n  custom:\n    - name: x\n      table: orders\n      aggregation: sum\n",
         "line 3: features.custom.0: feature 'x': aggregation 'sum' needs a column"),
        ("features:\n  custom:\n    - name: Spend\n      expr: spend_12m\n",
         "line 3: features.custom.0.name: bad feature name 'Spend': use lowercase letters, digits and _, "
         "starting with a letter"),
    ],
)  # fmt: skip
def test_config_errors_are_reported_when_loading(tmp_path: Path, text: str, message: str) -> None:
    path = project_file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_project(path)
    assert str(caught.value) == f"{path}, {message}"


def test_unknown_requested_feature_suggests_the_closest(shop: segmento.Workspace) -> None:
    with pytest.raises(FeatureError, match=r"^unknown feature 'spend_12mm'; did you mean 'spend_12m'\?$"):
        shop.features(D, names=["spend_12mm"])
    with pytest.raises(FeatureError, match=r"^unknown feature 'share_cat_tenis'; did you mean 'share_cat_tennis'\?$"):
        shop.features(D, names=["share_cat_tenis"])


def test_python_features(shop: segmento.Workspace) -> None:
    @feature(name="tennis_views", axis="interests", description="Tennis product views", unit="events")
    def tennis_views(tables: PointInTime, as_of: AsOf) -> ibis.Table:
        e = tables.events
        return e.group_by("customer_id").aggregate(n=e.count(where=e.category == "tennis"))

    @feature(name="signup_year", axis="profile")
    def signup_year(tables: PointInTime, as_of: AsOf) -> ibis.Value:
        return tables.customers.signup_date.year()

    try:
        listed = {f.name: f for f in catalog()}
        assert listed["tennis_views"].axis == "interests" and listed["tennis_views"].source == "python"
        got = rows_by_customer(shop.features(D, names=["tennis_views", "signup_year"]).to_pyarrow())
        assert got == {"a": {"tennis_views": 2, "signup_year": 2020}, "b": {"tennis_views": None, "signup_year": 2020}}
    finally:
        unregister("tennis_views")
        unregister("signup_year")


def test_python_feature_with_a_wrong_result_is_reported(shop: segmento.Workspace) -> None:
    @feature(name="broken")
    def broken(tables: PointInTime, as_of: AsOf) -> ibis.Table:
        return tables.orders

    try:
        with pytest.raises(FeatureError, match=r"feature 'broken': return a table with customer_id and one value col"):
            shop.features(D, names=["broken"])
    finally:
        unregister("broken")
