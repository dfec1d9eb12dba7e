"""The demo's audiences say what the source documents say: hiking shoes, size 43, asked about
in the last 30 days, from a product view, a search or a self-care request; checked against
a pandas reading of the generated events, and with planted events in real time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import segmento
from segmento.config import load_project
from segmento.demo import generate

DEMO = Path(__file__).parents[2] / "examples" / "demo.yaml"
END = date(2024, 6, 30)
AT = datetime(2024, 6, 30, 23, 0)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    data = generate(customers=1500, months=3, seed=9, end=END)
    project = load_project(DEMO)
    # the intent audiences only: the real-time path cannot evaluate predictive traits yet (valuable-at-risk)
    project = project.model_copy(update={"audiences": [a for a in project.audiences if "predictive" not in a.tags]})
    with segmento.connect(tmp_path_factory.mktemp("demo-audiences") / "shop.duckdb", project) as workspace:
        for name in ("customers", "orders", "order_lines", "events", "consents"):
            assert workspace.ingest(name, getattr(data, name)).rejected == 0
        yield workspace, data.events.to_pandas()


def asked_about_43(events: pd.DataFrame, at: datetime) -> set[str]:
    """Viewed, searched or asked self-care about hiking shoes in size 43 within 30 days of ``at``."""
    start = datetime.combine((at - timedelta(days=29)).date(), datetime.min.time())
    recent = events[(events.occurred_at >= start) & (events.occurred_at <= at)]
    wanted = recent.type.isin(["product_view", "page_view", "search", "selfcare"])
    return set(recent[wanted & (recent.category == "hiking shoes") & (recent["size"] == "43")].customer_id)


def test_members_are_the_customers_who_asked_about_size_43(ws):
    workspace, events = ws
    members = set(workspace.audience_members("hiking-shoes-43", AT).to_pandas().customer_id)
    expected = asked_about_43(events, AT)
    assert members == expected and len(members) > 0
    sized = events[(events.category == "hiking shoes") & events["size"].notna() & (events["size"] != "43")]
    assert not (members & set(sized.customer_id) - expected), "another size never lets anyone in"


def test_a_size_38_search_stays_out_and_a_self_care_request_comes_in(ws):
    workspace, _ = ws
    outside = set(workspace.table("customers").customer_id.to_pandas()) - set(
        workspace.audience_members("hiking-shoes-43", AT).to_pandas().customer_id)
    first, second = sorted(outside)[:2]
    workspace.audiences.warm(AT)
    search = {"event_id": "X38", "customer_id": first, "occurred_at": AT + timedelta(minutes=1), "type": "search",
              "channel": "web", "category": "hiking shoes", "size": "38"}
    assert [c for c in workspace.push_event(search) if c.audience == "hiking-shoes-43"] == []
    selfcare = {"event_id": "X43", "customer_id": second, "occurred_at": AT + timedelta(minutes=2),
                "type": "selfcare", "channel": "web", "category": "hiking shoes", "size": "43"}
    entered = [c for c in workspace.push_event(selfcare) if c.audience == "hiking-shoes-43"]
    assert [(c.customer_id, c.kind) for c in entered] == [(second, "enter")]
    later = set(workspace.audience_members("hiking-shoes-43", AT + timedelta(minutes=3)).to_pandas().customer_id)
    assert second in later and first not in later
