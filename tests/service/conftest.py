"""One small generated base for the service tests, built once per session; each module
works on its own copy of the DuckDB file, so writes in one never leak into another.

API tests talk to the app in process through httpx's ASGI transport (with the app's
lifespan, so the read model and the audit flushes run as in production); browser tests
run the real `segmento serve` (uvicorn) on a free port.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from service_support import END, PROJECT, Api, Base

import segmento
from segmento.audiences.service import Audiences
from segmento.config import parse_project
from segmento.demo import generate
from segmento.dynamics.snapshots import backfill
from segmento.service import keys as api_keys
from segmento.service.app import create_app
from segmento.store import slices


@pytest.fixture(scope="session", autouse=True)
def small_slices() -> Iterator[None]:
    """Whole-base reads (the read model's features) in slices of 47 customers, 7 slices here, as a base
    of 1M customers is read in slices of 250k (``segmento serve`` in its own process reads them whole)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(slices, "CUSTOMERS_PER_SLICE", 47)
        yield


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    path = tmp_path_factory.mktemp("service-base") / "shop.duckdb"
    project = parse_project(PROJECT)
    data = generate(customers=300, months=18, seed=11, end=END)  # 12-month windows complete from 2024-06
    keys, key_ids = {}, {}
    with segmento.connect(path, project) as ws:
        for table in ("customers", "orders", "order_lines", "events", "consents"):
            assert ws.ingest(table, getattr(data, table)).rejected == 0
        for name in ("value", "rfm"):
            ws.fit_segmentation(name, END)
        backfill(ws.con, project, "2024-07", "2024-12")
        Audiences(ws.con, project).refresh(END)
        ws.enqueue_alerts(END)
        for role, scopes in {"admin": ["admin"], "read": ["read"], "write": ["write"], "revoked": ["read"]}.items():
            keys[role], record = api_keys.create_key(ws.con, role, scopes)
            key_ids[role] = record.key_id
        api_keys.revoke_key(ws.con, key_ids["revoked"])
        customers = ws.table("customers").order_by("customer_id").customer_id.to_pyarrow().to_pylist()
    return Base(path, project, keys, key_ids, customers)


@pytest.fixture(scope="module")
def workspace(base: Base, tmp_path_factory: pytest.TempPathFactory) -> Iterator[segmento.Workspace]:
    """This module's own copy of the base, opened."""
    path = base.copy(tmp_path_factory.mktemp("service"))
    with segmento.connect(path, base.project) as ws:
        yield ws


@pytest.fixture(scope="module")
def api(workspace: segmento.Workspace, base: Base) -> Iterator[Api]:
    """The app over this module's copy, its read model built, as the admin by default."""
    client = Api(create_app(workspace, as_of=END, refresh_seconds=0.2))
    client.wait_for_read_model()
    yield client.as_(base.keys["admin"])
    client.close()


@pytest.fixture(scope="module")
def reader(api: Api) -> Iterator[segmento.Workspace]:
    """A workspace on the test thread's own cursor: reads beside the running app, never on its connection."""
    with api.service.reader() as ws:
        yield ws
