"""One schema registry: every table declared once, created and migrated in one place, versioned."""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

import segmento
from segmento.errors import UnsupportedError
from segmento.store.backend import append, open_backend
from segmento.store.registry import REGISTRY
from segmento.store.schema import CustomerColumn, HashedCustomer, JsonField, NoCustomer, QuarantinedRow, ThroughParent
from segmento.store.tables import MIGRATIONS, Migration, ensure_tables, stored_version
from segmento.store.views import VIEWS

SRC = Path(segmento.__file__).parent

# Every table and its columns as Segmento made them before the registry (each module
# created its own on first use), read from such a database: the version 1 layout.
V1_LAYOUT = {
    "activation_exports": "export_id string, audience string, destination string, window_start timestamp(6), started_at timestamp(6), members int64, filtered int64, sent int64, location string",
    "activation_outbox": "message_id string, destination string, source string, source_id string, topic string, customer_id string, priority float64, payload string, status string, attempts int64, next_attempt_at timestamp(6), last_error string, created_at timestamp(6), settled_at timestamp(6)",
    "alerts": "alert_id string, period date, customer_id string, rule string, segmentation string, from_segment string, to_segment string, kind string, journey string, priority float64, created_at timestamp(6)",
    "api_keys": "key_id string, name string, key_hash string, scopes string, created_at timestamp(6), revoked_at timestamp(6)",
    "audience_changes": "change_id string, seq int64, customer_id string, audience string, kind string, at timestamp(6), reason string, recorded_at timestamp(6)",
    "audience_refreshes": "refresh_id string, as_of timestamp(6), started_at timestamp(6), seconds float64, audiences int64, members int64, enters int64, exits int64",
    "audiences": "name string, rule string, description string, owner string, tags array<string>, updated_at timestamp(6)",
    "audit_log": "at timestamp(6), actor string, action string, target string, details string",
    "consents": "customer_id string, channel string, purpose string, granted boolean, recorded_at timestamp(6), source string",
    "customers": "customer_id string, birth_date date, gender string, city string, postcode string, country string, signup_date date, traits string",
    "erased_customers": "id_hash string, erased_at timestamp(6)",
    "events": "event_id string, customer_id string, occurred_at timestamp(6), type string, channel string, category string, size string, campaign_id string, properties string",
    "ingestions": "ingestion_id string, table_name string, source string, started_at timestamp(6), rows_in int64, loaded int64, duplicates int64, rejected int64",
    "order_lines": "order_id string, line_no int64, product_id string, category string, size string, quantity int64, unit_price float64, promo boolean",
    "orders": "order_id string, customer_id string, ordered_at timestamp(6), amount float64, discount_amount float64, channel string, currency string",
    "quarantine": "ingestion_id string, table_name string, source string, line int64, field string, reason string, raw string",
    "segment_snapshots": "period date, segmentation string, version int64, customer_id string, segment_id string, segment_label string, segment_rank int64, value float64",
    "segmentation_models": "name string, version int64, kind string, as_of date, fitted_at timestamp(6), model string",
}
# Layout 7 stores snapshot rows narrow: these columns live once per period or model version
# (snapshot_periods, snapshot_segments); test_snapshot_migration.py reads them back the same.
MOVED = {"segment_snapshots": {"version", "segment_label", "segment_rank"}}
# What a workspace opened with that code created at once; the other tables came on first use.
V1_CREATED_AT_ONCE = ("customers", "orders", "order_lines", "events", "consents", "quarantine", "ingestions",
                      "erased_customers", "audit_log")


def layout(con) -> dict[str, str]:
    return {name: ", ".join(f"{c} {t}" for c, t in con.table(name).schema().items())
            for name in con.list_tables() if name not in VIEWS}


def v1_database(path: Path):
    """A database as the pre-registry code left it: no version recorded, some tables, some rows."""
    con = open_backend(path)
    for name in V1_CREATED_AT_ONCE:
        con.create_table(name, schema=ibis.schema(dict(pair.split(" ") for pair in V1_LAYOUT[name].split(", "))))
    con.raw_sql("INSERT INTO customers (customer_id, signup_date, city) VALUES ('C1', DATE '2024-01-02', 'Lyon')")
    return con


def test_a_fresh_database_has_every_declared_table_at_the_current_version(tmp_path: Path) -> None:
    con = open_backend(tmp_path / "fresh.duckdb")
    assert ensure_tables(con) == MIGRATIONS[-1].version
    assert set(con.list_tables()) == set(REGISTRY) | set(VIEWS)
    assert stored_version(con) == (MIGRATIONS[-1].version, True)
    fresh = layout(con)
    for name, columns in V1_LAYOUT.items():  # later layouts may add tables and columns, not lose these...
        moved = MOVED.get(name, set())  # ...but for columns moved to tables of their own, read joined back
        kept = ", ".join(c for c in columns.split(", ") if c.split(" ")[0] not in moved)
        assert fresh[name].startswith(kept), name


def test_a_database_made_before_versions_is_version_1_and_keeps_its_rows(tmp_path: Path) -> None:
    con = v1_database(tmp_path / "old.duckdb")
    assert stored_version(con) == (1, False)
    ensure_tables(con)
    assert stored_version(con) == (MIGRATIONS[-1].version, True)
    assert layout(con) == layout(_fresh(tmp_path))
    assert con.table("customers").select("customer_id", "city").to_pyarrow().to_pylist() == [
        {"customer_id": "C1", "city": "Lyon"}]
    steps = len(MIGRATIONS) - 1  # every step after version 1, recorded once each
    assert con.table("schema_version").count().execute() == steps
    ensure_tables(con)  # a second opening changes nothing
    assert con.table("schema_version").count().execute() == steps


def _fresh(tmp_path: Path):
    con = open_backend(tmp_path / "reference.duckdb")
    ensure_tables(con)
    return con


def _add_column(table: str, column: str, sql_type: str):
    def apply(con) -> None:
        con.raw_sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {sql_type}')
    return apply


STEPS = (
    MIGRATIONS[0],
    Migration(2, "orders: a store_id", _add_column("orders", "store_id", "VARCHAR")),
    Migration(3, "orders: a cashier", _add_column("orders", "cashier", "VARCHAR")),
)


@pytest.mark.parametrize("upgrades", [[3], [2, 3]], ids=["1 to 3", "1 to 2 to 3"])
def test_a_database_at_version_n_gets_the_later_steps_in_order_once(tmp_path: Path, upgrades: list[int]) -> None:
    con = open_backend(tmp_path / "shop.duckdb")
    ensure_tables(con, STEPS[:1])
    con.raw_sql("INSERT INTO orders (order_id, customer_id, amount) VALUES ('O1', 'C1', 12.5)")
    for version in upgrades:  # a step run twice would fail: ALTER TABLE ADD of an existing column
        assert ensure_tables(con, STEPS[:version]) == version
        assert stored_version(con) == (version, True)
    assert list(con.table("orders").schema())[-2:] == ["store_id", "cashier"]
    assert con.table("orders").select("order_id", "amount").to_pyarrow().to_pylist() == [
        {"order_id": "O1", "amount": 12.5}]
    recorded = con.table("schema_version").order_by("version").version.to_pyarrow().to_pylist()
    assert recorded == [1, 2, 3]
    assert ensure_tables(con, STEPS) == 3
    assert con.table("schema_version").count().execute() == 3


def test_a_database_newer_than_the_code_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    con = open_backend(tmp_path / "future.duckdb")
    ensure_tables(con)
    newer = MIGRATIONS[-1].version + 1
    row = {"version": newer, "applied_at": datetime(2030, 1, 1), "description": "a later layout"}
    append(con, "schema_version", pa.Table.from_pylist([row]))
    con.disconnect()
    with pytest.raises(UnsupportedError, match=rf"version {newer}, newer than this Segmento knows \(up to "):
        segmento.connect(tmp_path / "future.duckdb")


def test_migration_steps_are_numbered_from_1_without_gaps() -> None:
    assert [step.version for step in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_every_table_says_how_its_rows_refer_to_a_customer() -> None:
    for name, spec in REGISTRY.items():
        columns = spec.column_names
        refs = spec.customer_ref if isinstance(spec.customer_ref, tuple) else (spec.customer_ref,)
        assert set(spec.key) <= set(columns), name
        if "customer_id" in columns:
            assert CustomerColumn() in refs or QuarantinedRow() in refs, \
                f"{name} has a customer_id column but declares {refs}"
        for ref in refs:
            match ref:
                case CustomerColumn(column=column) | JsonField(column=column) | HashedCustomer(column=column):
                    assert column in columns, name
                case ThroughParent(column=column, parent=parent, parent_column=key):
                    assert column in columns and key in REGISTRY[parent].column_names, name
                    assert isinstance(REGISTRY[parent].customer_ref, CustomerColumn), name
                case QuarantinedRow(raw=raw):
                    assert raw in columns and {part.column for part in ref.parts} <= set(columns), name
                case NoCustomer(why=why):
                    assert why and len(refs) == 1, name
                case _:
                    pytest.fail(f"{name}: unknown customer_ref {ref!r}")


def test_no_module_but_the_store_creates_a_lasting_table() -> None:
    """Temporary tables are a stage's business; lasting ones are declared in the registry and
    created by store/tables.py, through the engine's adapter (store/engines/)."""
    creators = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            is_call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            if is_call and node.func.attr in ("create_table", "create_view"):
                temp = any(k.arg == "temp" and isinstance(k.value, ast.Constant) and k.value.value for k in node.keywords)
                if not temp:
                    creators.append(str(path.relative_to(SRC)))
    assert "store/tables.py" in creators
    assert [c for c in sorted(set(creators)) if c != "store/tables.py" and not c.startswith("store/engines/")] == []


def lookup_indexes(con) -> set[tuple[str, str]]:
    """(table, indexed columns) of every index in the file, from DuckDB's catalog."""
    return {(table, columns) for table, columns in con.con.execute(
        "SELECT table_name, expressions FROM duckdb_indexes()").fetchall()}


def test_tables_read_per_customer_have_a_customer_index_that_a_point_query_uses(tmp_path: Path) -> None:
    con = open_backend(tmp_path / "fresh.duckdb")
    ensure_tables(con)
    assert lookup_indexes(con) == {("orders", "[customer_id]"), ("events", "[customer_id]")}
    con.raw_sql("INSERT INTO events (event_id, customer_id, occurred_at, type, channel) SELECT 'E' || i, "
                "'C' || (i % 500), TIMESTAMP '2024-01-01' + INTERVAL (i) MINUTE, 'product_view', 'web' FROM range(20000) t(i)")
    plan = con.con.execute("EXPLAIN ANALYZE SELECT occurred_at FROM events WHERE customer_id = 'C7' "
                           "AND occurred_at <= TIMESTAMP '2024-02-01'").fetchall()[0][1]
    assert "Index Scan" in plan


def test_a_database_made_before_lookup_indexes_gets_them_when_opened(tmp_path: Path) -> None:
    con = v1_database(tmp_path / "old.duckdb")
    assert lookup_indexes(con) == set()
    ensure_tables(con)
    ensure_tables(con)  # once only
    assert lookup_indexes(con) == {("orders", "[customer_id]"), ("events", "[customer_id]")}
