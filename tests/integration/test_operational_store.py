"""Operational state beside a Spark warehouse, on a real local Spark and a real DuckDB file.

The outbox (and its delivery state), export log, API keys and audit log live in the
operational store, in transactions; the knowledge base and the batch outputs stay in
the warehouse. Each check reads the DuckDB file and the Spark catalog directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pyarrow as pa
import pytest

from segmento.activation.outbox import DELIVERED, Change, enqueue, new_message, record
from segmento.service.keys import create_key, digest
from segmento.store.backend import transaction
from segmento.store.registry import KEPT_APART, REGISTRY
from segmento.store.engines import engine_of
from segmento.store.engines.spark import connect_spark
from segmento.workspace import Workspace

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


@pytest.fixture
def split(spark: Any, tmp_path: Path) -> Iterator[tuple[Workspace, Path]]:
    path = tmp_path / "operational.duckdb"
    ws = Workspace(connect_spark(spark, database="split", operational=engine_of(ibis.duckdb.connect(str(path)))))
    yield ws, path
    ws.close()
    spark.sql("DROP DATABASE IF EXISTS split CASCADE")
    spark.catalog.setCurrentDatabase("default")


def in_file(path: Path, sql: str) -> list[tuple]:
    """Read the operational DuckDB file with a connection of its own (after the workspace let it go)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def message(customer: str, n: int) -> dict:
    return new_message("crm", "alert", f"a{n}", "alert-negative", customer, 10.0, f'{{"customer_id":"{customer}"}}')


def test_operational_tables_live_in_the_store_and_the_batch_in_the_warehouse(spark: Any, split: Any) -> None:
    ws, path = split
    in_warehouse = {t.name for t in spark.catalog.listTables("split")}
    ws.close()
    in_store = {name for (name,) in in_file(path, "SELECT table_name FROM information_schema.tables")}
    assert KEPT_APART == {"activation_outbox", "activation_exports", "api_keys", "audit_log", "campaigns", "campaign_targets"}
    assert in_store == set(KEPT_APART)
    assert in_warehouse >= set(REGISTRY) - KEPT_APART and not in_warehouse & KEPT_APART


def test_outbox_writes_commit_or_roll_back_together(split: Any) -> None:
    ws, path = split
    with pytest.raises(RuntimeError), transaction(ws.con):
        assert enqueue(ws.con, [message("C1", 1), message("C2", 2)]) == 2
        assert ws.table("activation_outbox").count().execute() == 2
        raise RuntimeError("stopped mid-batch")
    assert ws.table("activation_outbox").count().execute() == 0
    assert enqueue(ws.con, [message("C1", 1)]) == 1 and enqueue(ws.con, [message("C1", 1)]) == 0
    key = message("C1", 1)["message_id"]
    with transaction(ws.con):
        record(ws.con, [Change(key, DELIVERED, 1, None, settled_at=datetime(2024, 5, 1))])
    ws.close()
    assert in_file(path, "SELECT message_id, status, attempts FROM activation_outbox") == [(key, DELIVERED, 1)]


def test_keys_audit_and_erasure_across_both_stores(spark: Any, split: Any) -> None:
    ws, path = split
    secret, _ = create_key(ws.con, "crm", ["read"])
    customers = pa.table({"customer_id": ["C1", "C2"], "signup_date": ["2024-01-02", "2024-01-03"]})
    assert ws.ingest("customers", customers).loaded == 2
    enqueue(ws.con, [message("C1", 1), message("C2", 2)])
    removed = ws.forget("C1")
    assert removed.removed == {"customers": 1, "activation_outbox": 1}
    assert sorted(r.customer_id for r in spark.table("split.customers").collect()) == ["C2"]
    ws.close()
    assert in_file(path, "SELECT key_hash FROM api_keys") == [(digest(secret),)]
    assert in_file(path, "SELECT customer_id FROM activation_outbox") == [("C2",)]
    assert in_file(path, "SELECT action FROM audit_log") == [("erasure",)]


def test_campaign_history_features_read_targets_from_the_operational_store(split: Any) -> None:
    """Targets live in the DuckDB file, customers in the warehouse: the features join both (one engine each)."""
    from segmento.features import compute_features

    ws, _ = split
    ws.ingest("customers", pa.table({"customer_id": ["C1", "C2", "C3"], "signup_date": ["2024-01-02"] * 3}))
    sent = [("spring", "C1", "treated", "2024-03-01"), ("summer", "C1", "treated", "2024-06-01"),
            ("summer", "C2", "control", "2024-06-01"), ("winter", "C3", "treated", "2025-01-10")]  # after D: unseen
    ws.con._segmento_engine.append("campaign_targets", pa.table({
        "campaign_id": [r[0] for r in sent], "customer_id": [r[1] for r in sent], "arm": [r[2] for r in sent],
        "sent_at": [datetime.fromisoformat(r[3]) for r in sent], "channel": ["email"] * 4, "offer": ["discount"] * 4,
        "draw": [0.5] * 4, "source_id": [""] * 4, "message_id": [None] * 4,
    }))
    features = compute_features(ws.con, datetime(2024, 12, 31), names=["campaigns_received_12m"]).to_pyarrow()
    assert dict(zip(*features.to_pydict().values())) == {"C1": 2, "C2": 0, "C3": 0}
