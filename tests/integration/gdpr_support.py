"""A small base whose ids are built to trip text search, and an oracle that finds a
customer's rows by brute force over the tables' contents, following the declared structure."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

import segmento
from segmento.activation.outbox import DELIVERED, new_message, to_json
from segmento.store.registry import ALERTS, SEGMENT_SNAPSHOTS
from segmento.service import keys as api_keys
from segmento.store.backend import append, base_tables
from segmento.store.customer_refs import DECLARED
from segmento.store.schema import CustomerColumn, HeldId, JsonField, ThroughParent

# Ids that a LIKE, a substring match or a sloppy escape would confuse with each other or with
# names of models, keys, tables and audiences.
IDS = [
    "AB_1", "AB1", "A%", "%", "_", "a_b", "aXb", "O'Brien", 'say "hi"', "back\\slash", "é", "e\u0301",
    "🙂", "x" * 5000, "x" * 4999, "value", "read", "orders", "C1", "C10", "C100", "O1", "  spaced ", "null",
    "[1]", '{"a": 1}', "line\nbreak", "%_%", "\\%",
]
SIGNUP = "2023-01-01"


def build(path: Path, ids: list[str] = IDS) -> Path:
    """Every table of the flow, with rows for each id, through the real writers where they exist."""
    with segmento.connect(path) as ws:
        ws.ingest("customers", pd.DataFrame({
            "customer_id": ids, "city": [f"city-{i}" for i in range(len(ids))],
            "postcode": [f"{10000 + i}" for i in range(len(ids))], "signup_date": [SIGNUP] * len(ids),
            "traits": [json.dumps({"email": f"person{i}@example.org"}) for i in range(len(ids))]}))
        # each customer has two orders; order "C1" belongs to AB1 (an order id equal to a customer id)
        orders = [(f"O-{i}-{k}" if (i, k) != (1, 0) else "C1", cid) for i, cid in enumerate(ids) for k in range(2)]
        ws.ingest("orders", pd.DataFrame({
            "order_id": [o for o, _ in orders], "customer_id": [c for _, c in orders],
            "ordered_at": ["2024-01-05 10:00"] * len(orders), "amount": [10.0] * len(orders),
            "channel": ["web"] * len(orders)}))
        ws.ingest("order_lines", pd.DataFrame({
            "order_id": [o for o, _ in orders], "line_no": [1] * len(orders), "product_id": ["P"] * len(orders),
            "category": ["tennis"] * len(orders), "quantity": [1] * len(orders), "unit_price": [10.0] * len(orders)}))
        ws.ingest("events", pd.DataFrame({
            "event_id": [f"E-{i}" for i in range(len(ids))], "customer_id": ids,
            "occurred_at": ["2024-02-01"] * len(ids), "type": ["search"] * len(ids), "channel": ["web"] * len(ids),
            "properties": [json.dumps({"query": cid}) for cid in ids]}))
        ws.ingest("consents", pd.DataFrame({
            "customer_id": ids, "channel": ["email"] * len(ids), "purpose": ["marketing"] * len(ids),
            "granted": [True] * len(ids), "recorded_at": [SIGNUP] * len(ids)}))
        # rejected rows: a bad order, a line of that rejected order, a bad line of a loaded order, a bad event
        ws.ingest("orders", pd.DataFrame({
            "order_id": [f"Q-{i}" for i in range(len(ids))], "customer_id": ids,
            "ordered_at": ["not a date"] * len(ids), "amount": [1.0] * len(ids), "channel": ["web"] * len(ids)}))
        ws.ingest("order_lines", pd.DataFrame({
            "order_id": [f"Q-{i}" for i in range(len(ids))] + [o for o, _ in orders[::2]],
            "line_no": [1] * len(ids) + [2] * len(orders[::2]), "product_id": ["P"] * (len(ids) + len(orders[::2])),
            "category": ["tennis"] * (len(ids) + len(orders[::2])),
            "quantity": [1] * len(ids) + [0] * len(orders[::2]), "unit_price": [1.0] * (len(ids) + len(orders[::2]))}))
        ws.ingest("events", pd.DataFrame({
            "event_id": [f"BAD-{i}" for i in range(len(ids))], "customer_id": ids,
            "occurred_at": ["2024-02-01"] * len(ids), "type": ["teleport"] * len(ids), "channel": ["web"] * len(ids)}))
        _renamed_exports(ws, ids)
        _later_stages(ws, ids)
    return path


def _renamed_exports(ws: segmento.Workspace, ids: list[str]) -> None:
    """Rejected rows of files whose id columns have their own names (mapped with ``columns``),
    and a decoy column named like ours holding someone else's id."""
    decoys = ids[1:] + ids[:1]
    ws.ingest("orders", pd.DataFrame({
        "ref": [f"R-{i}" for i in range(len(ids))], "client": ids, "customer_id": decoys,
        "ordered_at": ["2024-13-45"] * len(ids), "amount": [1.0] * len(ids), "channel": ["web"] * len(ids)}),
        columns={"order_id": "ref", "customer_id": "client"})
    ws.ingest("order_lines", pd.DataFrame({
        "ref": [f"R-{i}" for i in range(len(ids))], "line_no": [1] * len(ids), "product_id": ["P"] * len(ids),
        "category": ["tennis"] * len(ids), "quantity": [-1] * len(ids), "unit_price": [1.0] * len(ids)}),
        columns={"order_id": "ref"})
    ws.ingest("events", pd.DataFrame({
        "id": [f"RE-{i}" for i in range(len(ids))], "who": ids, "customer_id": decoys,
        "occurred_at": ["2024-02-01"] * len(ids), "type": ["teleport"] * len(ids), "channel": ["web"] * len(ids)}),
        columns={"event_id": "id", "customer_id": "who"})


def _later_stages(ws: segmento.Workspace, ids: list[str]) -> None:
    con = ws.con
    append(con, "segment_snapshots", pa.Table.from_pylist([
        {"period": date(2024, 1, 31), "segmentation": "value", "customer_id": cid, "segment_id": "a", "value": 1.0}
        for cid in ids],
        SEGMENT_SNAPSHOTS.schema.to_pyarrow()))
    append(con, "alerts", pa.Table.from_pylist([
        {"alert_id": f"A-{i}", "period": date(2024, 1, 31), "customer_id": cid, "rule": "read",
         "segmentation": "value", "from_segment": "a", "to_segment": "b", "kind": "down", "journey": "orders",
         "priority": 1.0, "created_at": datetime(2024, 2, 1)} for i, cid in enumerate(ids)], ALERTS.schema.to_pyarrow()))
    append(con, "audience_changes", pa.Table.from_pylist([
        {"change_id": f"ch-{i}", "seq": i + 1, "customer_id": cid, "audience": "read", "kind": "enter",
         "at": datetime(2024, 2, 1), "reason": f"event:E-{i}", "recorded_at": datetime(2024, 2, 1), "why": ""}
        for i, cid in enumerate(ids)]))
    append(con, "audiences", pa.Table.from_pylist([{"name": "value", "rule": "age > 1", "description": "",
                                                   "owner": "AB_1", "tags": ["%"], "updated_at": datetime(2024, 1, 1)}]))
    # outbox: a message per customer by column, one more by payload only (customer_id NULL), some delivered
    messages = [new_message("hook", "alert", f"A-{i}", "alert-down", cid, 1.0, to_json({"type": "alert", "customer_id": cid}))
                for i, cid in enumerate(ids)]
    messages += [new_message("hook", "export", f"X-{i}", "export-read", None, 0.0, to_json({"type": "export", "customer_id": cid}))
                 for i, cid in enumerate(ids)]
    rows = [{**m, "status": DELIVERED if i % 3 == 0 else "pending", "attempts": 1, "next_attempt_at": datetime(2024, 2, 1),
             "last_error": None, "created_at": datetime(2024, 2, 1), "settled_at": None} for i, m in enumerate(messages)]
    append(con, "activation_outbox", pa.Table.from_pylist(rows))
    api_keys.create_key(con, "value", ["read"])
    api_keys.create_key(con, "AB_1", ["read", "admin"])
    append(con, "segmentation_models", pa.Table.from_pylist([
        {"name": name, "version": 1, "kind": "tiers", "as_of": date(2024, 1, 1), "fitted_at": datetime(2024, 1, 1),
         "model": json.dumps({"customer": name})} for name in ("value", "AB_1", "%", "_")]))


def contents(ws: segmento.Workspace) -> dict[str, list[dict[str, Any]]]:
    """Every row of every base table, as JSON-ready values."""
    return {name: normal(ws.con.con.execute(f'SELECT * FROM "{name}"').fetch_arrow_table().to_pylist())
            for name in base_tables(ws.con)}


def normal(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return json.loads(json.dumps(rows, default=str))


def bag(rows: list[dict[str, Any]]) -> Counter:
    return Counter(json.dumps(row, sort_keys=True) for row in rows)


def _scalar(text: str | None, field: str) -> str | None:
    """What a JSON text holds at a top-level field, as text (a number as its JSON text)."""
    if text is None:
        return None
    value = json.loads(text).get(field)
    return value if isinstance(value, str) or value is None else json.dumps(value)


def _held(row: dict[str, Any], column: str) -> str | None:
    """A held row's id: as mapped at ingestion, else as its raw values name it (older rows)."""
    return row[column] if row.get(column) is not None else _scalar(row["raw"], column)


def oracle(tables: dict[str, list[dict[str, Any]]], customer_id: str) -> dict[str, list[dict[str, Any]]]:
    """The customer's rows per table, by brute force over the contents and the declarations."""
    loaded = {row["order_id"] for row in tables["orders"]}
    orders = {row["order_id"] for row in tables["orders"] if row["customer_id"] == customer_id}
    for row in tables["quarantine"]:
        order = _held(row, "order_id")
        if row["table_name"] == "orders" and _held(row, "customer_id") == customer_id \
                and order is not None and order not in loaded:
            orders.add(order)

    def belongs(row: dict[str, Any], part: Any) -> bool:
        if isinstance(part, CustomerColumn):
            return row[part.column] == customer_id
        if isinstance(part, ThroughParent):
            return row[part.column] in orders
        assert isinstance(part, JsonField | HeldId)
        value = _held(row, part.column) if isinstance(part, HeldId) else _scalar(row[part.column], part.field)
        return value == customer_id if part.of == "customer" else value in orders

    return {name: [row for row in rows if any(belongs(row, part) for part in DECLARED[name])]
            for name, rows in tables.items()}
