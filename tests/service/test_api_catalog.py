"""Audiences, segmentations, snapshots, transitions, trajectories, the Markov view and
alerts over HTTP: each answer equals the stage's own, pages add up, filters filter."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime

import numpy as np
import pytest
from service_support import END

from segmento.audiences.service import Audiences
from segmento.dynamics.store import snapshots


@pytest.fixture(scope="module")
def recorded(reader) -> dict[str, set[str]]:
    """Each audience's recorded members, from the audiences stage."""
    found: dict[str, set[str]] = {}
    for row in Audiences(reader.con, reader.project).current().to_pyarrow().to_pylist():
        found.setdefault(row["audience"], set()).add(row["customer_id"])
    return found


def all_pages(api, url: str, size: int, **params: object) -> tuple[int, list[dict]]:
    items, page = [], 1
    while True:
        body = api.get(url, params={**params, "page": page, "size": size}).json()
        items += body["items"]
        if len(body["items"]) < size:
            return body["total"], items
        page += 1


def test_audiences_list_definitions_and_recorded_sizes(api, recorded) -> None:
    listed = {a["name"]: a for a in api.get("/api/audiences").json()}
    assert list(listed) == ["big_spenders", "tennis_browsers", "recent_contacts", "reachable_big_spenders"]
    assert listed["big_spenders"]["rule"] == "spend_12m > 300"
    assert listed["big_spenders"]["description"] == "spent over 300 in a year"
    assert "line 4" in listed["big_spenders"]["where"]
    assert {n: a["size"] for n, a in listed.items()} == {n: len(recorded.get(n, ())) for n in listed}
    assert api.get("/api/audiences/tennis_browsers").json()["size"] == len(recorded["tennis_browsers"])
    assert api.get("/api/audiences/nope").status_code == 404
    assert api.get("/api/audiences/BAD NAME").status_code == 422


def test_guidance_overlaps_count_shared_members(api, recorded) -> None:
    body = api.get("/api/audiences/guidance").json()
    names, counts = body["overlaps"]["rows"], body["overlaps"]["counts"]
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            assert counts[i][j] == len(recorded.get(a, set()) & recorded.get(b, set()))
    assert body["base"] == 300
    # every reachable big spender is a big spender: the rule says so
    assert counts[names.index("reachable_big_spenders")][names.index("big_spenders")] == body["sizes"]["reachable_big_spenders"]


def test_audience_members_page_through_the_recorded_membership(api, recorded) -> None:
    total, items = all_pages(api, "/api/audiences/big_spenders/members", size=40)
    ids = [row["customer_id"] for row in items]
    assert total == len(ids) == len(recorded["big_spenders"]) and ids == sorted(recorded["big_spenders"])
    assert api.get("/api/audiences/big_spenders/members", params={"size": 1001}).status_code == 422
    assert api.get("/api/audiences/big_spenders/members", params={"page": 0}).status_code == 422


def test_members_as_of_a_date_are_the_batch_evaluation(api, reader) -> None:
    day = "2024-10-31"
    total, items = all_pages(api, "/api/audiences/big_spenders/members", size=500, as_of=day)
    batch = Audiences(reader.con, reader.project).members("big_spenders", day).to_pyarrow().column(0).to_pylist()
    assert total == len(batch) and sorted(r["customer_id"] for r in items) == sorted(batch)


def test_audience_portraits_split_the_base(api) -> None:
    body = api.get("/api/audiences/big_spenders/portraits", params={"as_of": END.isoformat()}).json()
    assert [p["segment_id"] for p in body] == ["members", "others"]
    assert sum(p["size"] for p in body) == 300
    members = body[0]
    spend = next(s for s in members["stats"] if s["feature"] == "spend_12m")
    assert spend["mean"] > 300 and members["description"]


def test_segmentations_list_and_definition(api, reader) -> None:
    listed = {s["name"]: s for s in api.get("/api/segmentations").json()}
    assert set(listed) == {"rfm", "value"}
    value = api.get("/api/segmentations/value").json()
    assert value["kind"] == "tiers" and value["versions"] == [1] and value["periods"] == 6
    assert [s["segment_id"] for s in value["segments"]] == ["very_good", "good", "occasional", "inactive"]
    assert value["latest_period"] == END.isoformat() and value["definition"]["feature"] == "spend_12m"
    missing = api.get("/api/segmentations/nope")
    assert missing.status_code == 404 and "rfm, value" in missing.json()["detail"]


def test_snapshots_and_members_are_the_snapshot_table(api, reader) -> None:
    table = snapshots(reader.con)
    rows = table.filter(table.segmentation == "value").to_pyarrow().to_pylist()
    expected = Counter((r["period"].isoformat(), r["segment_id"]) for r in rows)
    body = api.get("/api/segmentations/value/snapshots").json()
    got = Counter({(p["period"], s["segment_id"]): s["customers"] for p in body["periods"] for s in p["sizes"]})
    assert got == expected
    checks = reader.period_checks("value").to_pyarrow().to_pylist()
    assert {p["period"]: (p["complete"], p["note"]) for p in body["periods"]} == {
        c["period"].isoformat(): (c["complete"], c["note"]) for c in checks}

    latest = [r for r in rows if r["period"] == END]
    total, items = all_pages(api, "/api/segmentations/value/members", size=70, segment="good")
    assert sorted(r["customer_id"] for r in latest if r["segment_id"] == "good") == [i["customer_id"] for i in items]
    assert total == len(items)
    earlier = api.get("/api/segmentations/value/members", params={"period": "2024-09-15", "size": 1}).json()
    assert earlier["total"] == sum(1 for r in rows if r["period"].isoformat() == "2024-09-30")
    wrong = api.get("/api/segmentations/value/members", params={"period": "2023-01-31"})
    assert wrong.status_code == 422 and "2024-07-31" in wrong.json()["detail"]


def test_transitions_default_to_the_last_two_periods(api, reader) -> None:
    body = api.get("/api/segmentations/value/transitions").json()
    expected = reader.transitions("value", "2024-11", "2024-12").to_dict()
    assert body == expected
    chosen = api.get("/api/segmentations/value/transitions", params={"from": "2024-07-31", "to": "2024-12-31"}).json()
    assert chosen["from_period"] == "2024-07-31" and sum(map(sum, chosen["counts"])) > 0
    assert api.get("/api/segmentations/value/transitions", params={"to": "2024-07-31"}).status_code == 422
    assert api.get("/api/segmentations/value/transitions", params={"from": "not-a-date"}).status_code == 422


def test_trajectories_and_markov(api, reader) -> None:
    body = api.get("/api/segmentations/rfm/trajectories", params={"last": 3, "top": 5}).json()
    assert body["periods"] == ["2024-10-31", "2024-11-30", "2024-12-31"]
    assert len(body["top_paths"]) == 5 and body["top_paths"] == sorted(body["top_paths"], key=lambda p: -p["customers"])
    assert sum(v for s, v in zip(body["sankey"]["source"], body["sankey"]["value"]) if s < 1_000) > 0
    markov = api.get("/api/segmentations/value/markov", params={"steps": 2}).json()
    assert all(abs(sum(row) - 1) < 1e-9 for row in markov["matrix"])
    assert len(markov["forecast"]) == 3 and abs(sum(markov["stationary"].values()) - 1) < 1e-9
    assert len(markov["forecast_with_inflow"]) == 3 and all(abs(sum(m.values()) - 1) < 1e-9 for m in markov["forecast_with_inflow"])
    assert all(i["low"] <= i["median"] <= i["high"] for i in markov["interval"])


def test_segment_portraits_cover_the_latest_snapshot(api, reader) -> None:
    body = api.get("/api/segmentations/value/portraits").json()
    assert [p["segment_id"] for p in body] == ["very_good", "good", "occasional", "inactive"]
    table = snapshots(reader.con)
    at_end = table.filter((table.segmentation == "value") & (table.period == END)).count().execute()
    assert sum(p["size"] for p in body) == at_end
    assert body[0]["revenue_share"] > body[0]["share"]  # the best tier earns more than its weight
    assert all(p["next_best_action"] for p in body if p["size"])
    assert all(p["top_categories"] == sorted(p["top_categories"], key=lambda c: (-round(c[2], 6), -c[1], c[0]))
               for p in body)  # ranked by index against the base


def test_quality_gives_homogeneity_and_separation_per_segment_and_feature(api, reader) -> None:
    body = api.get("/api/segmentations/value/quality").json()
    snaps = snapshots(reader.con)
    members = snaps.filter((snaps.segmentation == "value") & (snaps.period == END)).to_pandas()
    spend = reader.features(END, names=["spend_12m"]).to_pandas().set_index("customer_id").spend_12m.fillna(0.0)
    measured = np.log1p(spend) if body["per_feature"][0]["scale"] == "log" else spend
    segment = members.set_index("customer_id").segment_id.reindex(measured.index)
    for cell in body["per_feature"]:  # brute force over the members
        inside = measured[segment == cell["segment_id"]]
        others = measured[segment != cell["segment_id"]]
        assert cell["feature"] == "spend_12m"
        assert cell["homogeneity"] == pytest.approx(inside.std(ddof=0) / measured.std(ddof=0), rel=1e-6)
        assert cell["separation"] == pytest.approx(abs(inside.mean() - others.mean()) / measured.std(ddof=0), rel=1e-6)
    assert {c["segment_id"] for c in body["per_feature"]} == set(members.segment_id)


def test_alerts_filter_by_kind_period_and_value(api, reader) -> None:
    stored = reader.alerts().to_pyarrow().to_pylist()
    total, items = all_pages(api, "/api/alerts", size=50)
    assert total == len(stored) == len(items) > 0
    order = [(a["period"], a["priority"]) for a in items]
    assert order == sorted(order, reverse=True)  # latest period first, then highest value at stake
    by_id = {a["alert_id"]: a for a in stored}
    for item in items:
        assert item["reason"] == by_id[item["alert_id"]]["reason"] and item["reason"].startswith("12-month spend")
        assert json.loads(item["figures"]) == json.loads(by_id[item["alert_id"]]["figures"])
    totals = {(t["period"], t["kind"], t["rule"]): (t["alerts"], t["value_at_stake"])
              for t in api.get("/api/alerts", params={"size": 1}).json()["totals"]}
    by_hand: dict = {}
    for a in stored:
        n, value = by_hand.get((a["period"].isoformat(), a["kind"], a["rule"]), (0, 0.0))
        by_hand[(a["period"].isoformat(), a["kind"], a["rule"])] = (n + 1, value + a["priority"])
    assert totals.keys() == by_hand.keys()
    assert all(totals[k][0] == by_hand[k][0] and totals[k][1] == pytest.approx(by_hand[k][1]) for k in totals)
    negative = api.get("/api/alerts", params={"kind": "negative", "size": 1000}).json()
    assert negative["total"] == sum(a["kind"] == "negative" for a in stored) > 0
    assert {a["kind"] for a in negative["items"]} == {"negative"}
    november = api.get("/api/alerts", params={"period": "2024-11-02", "size": 1000}).json()
    assert november["total"] == sum(a["period"].isoformat() == "2024-11-30" for a in stored)
    rich = api.get("/api/alerts", params={"min_priority": 500, "size": 1000}).json()
    assert rich["total"] == sum(a["priority"] >= 500 for a in stored)
    assert api.get("/api/alerts", params={"kind": "lukewarm"}).status_code == 422


def test_delivery_status_counts_the_routed_alerts(api, reader) -> None:
    routed = reader.alerts(rule="slide", period=END).count().execute()
    queued = reader.table("activation_outbox").to_pandas()
    oldest = queued[(queued.destination == "crm-files") & (queued.status == "pending")].created_at.min()
    found = api.get("/api/delivery-status").json()
    assert routed > 0
    assert [{**row, "oldest_pending": datetime.fromisoformat(row["oldest_pending"])} for row in found] == [
        {"destination": "crm-files", "pending": routed, "delivered": 0, "failed": 0, "filtered": 0,
         "oldest_pending": oldest.to_pydatetime(), "last_error": None}
    ]


def test_the_dashboard_pages_are_computed_ahead_of_the_first_visitor(api) -> None:
    deadline = time.monotonic() + 120
    while api.get("/health").json()["dashboard"] != "ready":
        assert time.monotonic() < deadline, "the dashboard pages were not computed ahead in time"
        time.sleep(0.1)
    held = Counter(key[0] for key in api.service.results)
    assert {"stamp", "headline", "alerts", "audiences", "predictive"} <= set(held)
    assert {"currency", "segments", "customer-lookups"} <= set(held)  # what every customer's page shares
    for part in ("mix", "transitions", "trajectories", "portraits"):  # every segmentation's page as first opened
        assert {key[1] for key in api.service.results if key[0] == part} == {"value", "rfm"}, part


def test_audience_changes_say_which_clause_changed(api, reader) -> None:
    table = reader.table("audience_changes")
    stored = table.filter(table.audience == "big_spenders").order_by(table.seq.desc()).to_pyarrow().to_pylist()
    total, items = all_pages(api, "/api/audiences/big_spenders/changes", size=40)
    assert total == len(stored) == len(items) > 0
    assert [(i["change_id"], i["why"]) for i in items] == [(s["change_id"], s["why"]) for s in stored]
    assert all(i["why"].startswith("spend_12m ") for i in items if i["reason"].startswith("refresh:"))
    one = items[0]["customer_id"]
    mine = api.get("/api/audiences/big_spenders/changes", params={"customer_id": one}).json()
    assert {i["customer_id"] for i in mine["items"]} == {one}
