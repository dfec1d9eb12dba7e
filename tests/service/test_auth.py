"""API keys: only /health answers without one, scopes are enforced, revocation is
immediate, keys are stored hashed, and the dashboard takes a key once from a link."""

from __future__ import annotations

import hashlib
import re

import pytest

from segmento.service.keys import KEYS

SAMPLE = {"customer_id": "C0000001", "name": "big_spenders", "key_id": "00000000"}


def operations(api) -> list[tuple[str, str]]:
    """Every (method, path) of the OpenAPI schema, path parameters filled in."""
    schema = api.get("/openapi.json").json()
    found = []
    for path, methods in schema["paths"].items():
        concrete = re.sub(r"\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), "value"), path)
        found += [(method.upper(), concrete) for method in methods]
    return found


def test_only_health_answers_without_a_key(api) -> None:
    public = api.as_(None)
    assert public.get("/health").json()["status"] == "ok"
    checked = operations(public)
    assert len(checked) >= 25
    for method, path in checked:
        if path == "/health":
            continue
        response = public.request(method, path, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.headers["www-authenticate"] == "ApiKey"
    for page in ("/dashboard/", "/dashboard/customers", "/dashboard/static/plotly.min.js"):
        assert public.get(page).status_code == 401


@pytest.mark.parametrize(
    ("role", "method", "path", "status"),
    [
        ("read", "GET", "/api/customers/C0000001", 200),
        ("read", "POST", "/api/events", 403),
        ("read", "DELETE", "/api/customers/C0000001", 403),
        ("read", "GET", "/api/keys", 403),
        ("write", "GET", "/api/customers/C0000001", 403),
        ("write", "GET", "/api/segmentations", 403),
        ("write", "GET", "/api/customers/C0000001/export", 403),
        ("revoked", "GET", "/api/customers/C0000001", 401),
    ],
)
def test_each_key_does_only_what_its_scopes_allow(api, base, role, method, path, status) -> None:
    response = api.request(method, path, headers={"X-API-Key": base.keys[role]}, json=None)
    assert response.status_code == status, response.text
    if status == 403:
        assert "needs" in response.json()["detail"]


def test_wrong_keys_are_refused_and_a_bearer_token_works(api, base) -> None:
    for wrong in ("nonsense", "sgk_deadbeef_nottherealsecret", base.keys["read"][:-1] + "x"):
        assert api.get("/api/segmentations", headers={"X-API-Key": wrong}).status_code == 401
    bearer = {"Authorization": f"Bearer {base.keys['read']}", "X-API-Key": ""}
    assert api.request("GET", "/api/segmentations", headers=bearer).status_code == 200


def test_keys_are_stored_only_as_hashes(reader, base) -> None:
    rows = reader.table(KEYS).to_pyarrow().to_pylist()
    stored = " ".join(str(value) for row in rows for value in row.values())
    for role, key in base.keys.items():
        assert key not in stored and key.split("_")[2] not in stored
        row = next(r for r in rows if r["key_id"] == base.key_ids[role])
        assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()


def test_an_admin_creates_and_revokes_keys_over_the_api(api, base) -> None:
    created = api.post("/api/keys", json={"name": "chatbot", "scopes": ["write"]})
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["key_id"]
    assert api.post("/api/events", json={}, headers={"X-API-Key": key}).status_code == 422  # authorised, bad body
    listed = {k["key_id"]: k for k in api.get("/api/keys").json()}
    assert "key" not in listed[key_id] and listed[key_id]["scopes"] == ["write"]
    assert api.delete(f"/api/keys/{key_id}").json()["revoked"] is True
    assert api.post("/api/events", json={}, headers={"X-API-Key": key}).status_code == 401
    assert api.delete("/api/keys/ffffffff").status_code == 404
    assert api.post("/api/keys", json={"name": "x", "scopes": ["root"]}).status_code == 422


def test_the_dashboard_takes_a_key_from_a_link_once(api, base) -> None:
    public = api.as_(None)
    link = public.get(f"/dashboard/alerts?kind=negative&key={base.keys['read']}")
    assert link.status_code == 303 and link.headers["location"] == "/dashboard/alerts?kind=negative"
    cookie = link.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    page = public.get("/dashboard/alerts?kind=negative", headers={"Cookie": f"segmento_key={value}"})
    assert page.status_code == 200 and "Trajectory alerts" in page.text
    assert public.get(f"/dashboard/?key={base.keys['revoked']}").status_code == 401
    refused = public.get("/dashboard/", headers={"X-API-Key": base.keys["write"]})
    assert refused.status_code == 403 and "read" in refused.text
