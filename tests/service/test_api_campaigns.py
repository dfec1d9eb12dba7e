"""The campaigns API over a generated base: create, launch (control group held out), read back."""

from __future__ import annotations

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
