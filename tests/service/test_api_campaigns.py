"""The campaigns API over a generated base: create, launch (control group held out), read back."""

from __future__ import annotations

from markupsafe import escape as html_escape
from service_support import Api, Base

import segmento

CAMPAIGN = {"id": "vip-thanks", "name": "Thank you, very good customers", "offer": "gift", "start": "2024-12-01",
            "segment": {"segmentation": "value", "segment": "very_good"}, "to": "crm-files", "control_share": 0.3}


def test_create_launch_and_read_a_campaign(api: Api, reader: segmento.Workspace, base: Base):
    assert api.as_(base.keys["read"]).post("/api/campaigns", json=CAMPAIGN).status_code == 403
    created = api.post("/api/campaigns", json=CAMPAIGN)
    assert created.status_code == 201, created.text
    assert created.json()["target"] == "value:very_good" and created.json()["target_kind"] == "segment"
    assert api.post("/api/campaigns", json=CAMPAIGN).status_code == 422  # exists already
    assert api.post("/api/campaigns", json={**CAMPAIGN, "id": "x", "control_share": 2}).status_code == 422
    assert api.post("/api/campaigns/nope/launch").status_code == 404
    assert api.post("/api/campaigns/vip-thanks/launch", params={"at": "2024-11-01"}).status_code == 422

    launched = api.post("/api/campaigns/vip-thanks/launch", params={"at": "2024-12-15"})
    assert launched.status_code == 200, launched.text
    report = launched.json()
    very_good = reader.segments("value", "2024-12-15").to_pandas()
    members = set(very_good.customer_id[very_good.segment_id == "very_good"])
    targets = reader.campaigns.targets("vip-thanks").to_pandas()
    assert set(targets.customer_id) == members and report["members"] == len(members)
    assert report["control"] == (targets.arm == "control").sum() and report["treated"] == (targets.arm == "treated").sum()
    outbox = reader.table("activation_outbox").to_pandas()
    sent = set(outbox.customer_id[outbox.source == "campaign"])
    assert sent == set(targets.customer_id[targets.arm == "treated"])
    listed = {c["id"]: c for c in api.as_(base.keys["read"]).get("/api/campaigns").json()}
    assert listed["vip-thanks"]["drawn"] == {"treated": report["treated"], "control": report["control"]}
    assert api.get("/api/campaigns/vip-thanks").json()["offer"] == "gift"
    assert api.get("/api/campaigns/nope").status_code == 404


def test_results_by_segment_over_the_api(api: Api, reader: segmento.Workspace, base: Base):
    if not api.get("/api/campaigns/vip-thanks").is_success:
        api.post("/api/campaigns", json=CAMPAIGN)
        api.post("/api/campaigns/vip-thanks/launch", params={"at": "2024-12-15"})
    answer = api.as_(base.keys["read"]).get("/api/campaigns/vip-thanks/results", params={"segmentation": "rfm"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    targets = reader.campaigns.targets("vip-thanks").to_pandas()
    assert body["total"]["treated"] == (targets.arm == "treated").sum()
    assert body["total"]["control"] == (targets.arm == "control").sum()
    assert sum(s["treated"] + s["control"] for s in body["segments"]) == len(targets)
    assert body["total"]["conversion_verdict"] in ("not significant", "significant uplift", "significant fall")
    assert api.get("/api/campaigns/vip-thanks/results", params={"segmentation": "nope"}).status_code == 422
    assert api.get("/api/campaigns/vip-thanks/results", params={"level": 2}).status_code == 422
    assert api.get("/api/campaigns/nope/results").status_code == 404


def test_report_section_and_dashboard_page_show_the_results(api: Api, reader: segmento.Workspace, base: Base,
                                                            tmp_path):
    from segmento.report import build_report
    from segmento.report.campaigns import campaigns

    if not api.get("/api/campaigns/vip-thanks").is_success:
        api.post("/api/campaigns", json=CAMPAIGN)
        api.post("/api/campaigns/vip-thanks/launch", params={"at": "2024-12-15"})
    results = reader.campaigns.results("vip-thanks", "rfm")
    section = campaigns(reader, "rfm")
    worked, table = section.tables[:2]
    assert [row[0] for row in worked.rows] == [g.label for g in results.segments]
    assert worked.columns == ["segment", "vip-thanks"]
    assert [row[0].text for row in table.rows] == ["all targets", *(g.label for g in results.segments)]
    assert [row[1] for row in table.rows] == [f"{g.treated:,}" for g in (results.total, *results.segments)]
    html = build_report(reader, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Campaigns: uplift against the control group" in html and "vip-thanks" in html
    portraits = html[html.index('id="portraits-rfm"'):]
    portraits = portraits[:portraits.index("</section>")]
    assert "which campaigns worked for each segment of rfm" in portraits  # the portraits say what worked for whom
    page = api.get("/dashboard/campaigns", params={"segmentation": "rfm"})
    assert page.status_code == 200 and "conversion uplift" in page.text and "vip-thanks" in page.text
    assert all(html_escape(g.label) in page.text for g in results.segments)
