"""Erasure against a real running `segmento serve` (uvicorn, its own process): the customer
leaves the read model and the real-time audience state, her bytes leave the database file
while the server runs, and the server keeps serving everyone else from the rewritten file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from service_support import END, PROJECT, Base, serving


@pytest.fixture(scope="module")
def server(base: Base, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    directory = tmp_path_factory.mktemp("gdpr-server")
    (directory / "segmento.yaml").write_text(PROJECT)
    database = base.copy(directory)
    with serving(database, directory / "segmento.yaml") as url:
        yield url, database


def event(event_id: str, customer: str) -> dict:
    return {"event_id": event_id, "customer_id": customer, "occurred_at": f"{END}T12:00:00",
            "type": "product_view", "channel": "web", "category": "tennis"}


def on_disk(database: Path, value: str) -> int:
    wal = Path(f"{database}.wal")
    data = database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    return data.count(value.encode())


def test_a_running_server_forgets_the_customer_in_memory_and_on_disk(server, base: Base) -> None:
    url, database = server
    erased, other = base.customers[40], base.customers[41]
    admin = httpx.Client(base_url=url, headers={"X-API-Key": base.keys["admin"]}, timeout=120)
    writer = {"X-API-Key": base.keys["write"]}
    # the real-time state and the read model both hold her before
    assert admin.post("/api/events", json=event("gdpr-e1", erased), headers=writer).status_code == 200
    assert admin.get(f"/api/customers/{erased}").status_code == 200
    assert on_disk(database, erased)

    response = admin.delete(f"/api/customers/{erased}")
    assert response.status_code == 200, response.text
    assert response.json()["physically_complete"] is True
    assert on_disk(database, erased) == 0 and on_disk(database, other)

    assert admin.get(f"/api/customers/{erased}").status_code == 404
    assert admin.get(f"/api/customers/{erased}", params={"fresh": True}).status_code == 404
    refused = admin.post("/api/events", json=event("gdpr-e2", erased), headers=writer)
    assert refused.status_code == 422 and "unknown customer_id" in refused.text
    assert admin.get(f"/api/customers/{erased}/export").status_code == 404

    accepted = admin.post("/api/events", json=event("gdpr-e3", other), headers=writer)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert admin.get(f"/api/customers/{other}").status_code == 200
    admin.close()
    assert on_disk(database, erased) == 0
