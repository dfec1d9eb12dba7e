"""Physical erasure: after forget (library, CLI), the erased customer's id, email and city and
postcode are not in the raw bytes of the database file or its WAL; a control customer's are."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import segmento
from segmento.cli import app
from segmento.errors import UnsupportedError

ERASED = {"id": "C0000042", "email": "c0000042.orchid@example.org", "city": "Zyxvillebourg", "postcode": "98765-ZX"}
CONTROL = {"id": "C0000043", "email": "c0000043.fern@example.org", "city": "Quorvillesur", "postcode": "12345-QW"}


def build(path: Path) -> Path:
    people = [ERASED, CONTROL] + [{"id": f"C00001{i:02d}", "email": f"p{i}@example.org", "city": "Lyon",
                                   "postcode": "69001"} for i in range(20)]
    with segmento.connect(path) as ws:
        ws.ingest("customers", pd.DataFrame({
            "customer_id": [p["id"] for p in people], "city": [p["city"] for p in people],
            "postcode": [p["postcode"] for p in people], "signup_date": ["2023-01-01"] * len(people),
            "traits": [json.dumps({"email": p["email"]}) for p in people]}))
        ws.ingest("orders", pd.DataFrame({
            "order_id": [f"O-{p['id']}" for p in people], "customer_id": [p["id"] for p in people],
            "ordered_at": ["2024-01-05 10:00"] * len(people), "amount": [10.0] * len(people),
            "channel": ["web"] * len(people)}))
        ws.ingest("events", pd.DataFrame({
            "event_id": [f"E-{p['id']}" for p in people], "customer_id": [p["id"] for p in people],
            "occurred_at": ["2024-02-01"] * len(people), "type": ["search"] * len(people),
            "channel": ["web"] * len(people), "properties": [json.dumps({"email": p["email"]}) for p in people]}))
        # a rejected row of each keeps the raw values in the quarantine
        ws.ingest("customers", pd.DataFrame({
            "customer_id": [ERASED["id"], CONTROL["id"]], "city": [ERASED["city"], CONTROL["city"]],
            "postcode": [ERASED["postcode"], CONTROL["postcode"]], "signup_date": ["not a date"] * 2}))
        # and so does a rejected row of an export whose id column has its own name (mapped)
        ws.ingest("events", pd.DataFrame({
            "id": ["X-1", "X-2"], "who": [ERASED["id"], CONTROL["id"]], "occurred_at": ["not a date"] * 2,
            "type": ["search"] * 2, "channel": ["web"] * 2,
            "properties": [json.dumps({"email": p["email"], "city": p["city"]}) for p in (ERASED, CONTROL)]}),
            columns={"event_id": "id", "customer_id": "who"})
    return path


def on_disk(path: Path, person: dict[str, str]) -> dict[str, int]:
    """Occurrences of each of a person's values in the bytes of the database file and its WAL."""
    data = path.read_bytes() + (Path(f"{path}.wal").read_bytes() if Path(f"{path}.wal").exists() else b"")
    return {field: data.count(value.encode()) for field, value in person.items()}


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return build(tmp_path / "shop.duckdb")


def test_library_forget_rewrites_the_file_without_the_customers_bytes(base: Path) -> None:
    assert all(on_disk(base, ERASED).values())  # the scan does see her before
    with segmento.connect(base) as ws:
        erasure = ws.forget(ERASED["id"])
        assert on_disk(base, ERASED) == dict.fromkeys(ERASED, 0)
        assert all(on_disk(base, CONTROL).values())
        assert erasure.physically_complete and "rewritten" in erasure.note
        assert ws.pending_erasures() == []
        assert ws.table("customers").count().execute() == 21  # the base is open and whole after the swap
    assert on_disk(base, ERASED) == dict.fromkeys(ERASED, 0)


def test_without_compaction_the_erasure_says_it_is_pending_and_compact_completes_it(base: Path) -> None:
    with segmento.connect(base) as ws:
        erasure = ws.forget(ERASED["id"], compact=False)
        assert not erasure.physically_complete and "gdpr compact" in erasure.note
        ws.con.raw_sql("CHECKPOINT")
        assert any(on_disk(base, ERASED).values())  # deleted rows keep their bytes until the rewrite
        assert len(ws.pending_erasures()) == 1
        report = ws.compact()
        assert report.completed == 1 and ws.pending_erasures() == []
    assert on_disk(base, ERASED) == dict.fromkeys(ERASED, 0)
    assert all(on_disk(base, CONTROL).values())


def test_cli_forget_status_and_compact(base: Path) -> None:
    runner = CliRunner()
    db = ["--db", str(base)]
    result = runner.invoke(app, ["gdpr", "forget", ERASED["id"], "--yes", "--no-compact", *db])
    assert result.exit_code == 0, result.output
    assert "NOT physically complete" in result.output
    result = runner.invoke(app, ["gdpr", "status", *db], env={"COLUMNS": "200"})
    assert "1 erasure(s) pending compaction" in result.output and ERASED["id"] not in result.output
    result = runner.invoke(app, ["gdpr", "compact", *db])
    assert result.exit_code == 0 and "1 erasure(s) now physically complete" in result.output, result.output
    assert "every erasure is physically complete" in runner.invoke(app, ["gdpr", "status", *db]).output
    assert on_disk(base, ERASED) == dict.fromkeys(ERASED, 0)

    result = runner.invoke(app, ["gdpr", "forget", CONTROL["id"], "--yes", *db])
    assert result.exit_code == 0 and "erasure physically complete" in result.output, result.output
    assert on_disk(base, CONTROL) == dict.fromkeys(CONTROL, 0)


def test_a_file_open_elsewhere_is_not_swapped_and_the_erasure_says_so(base: Path) -> None:
    with segmento.connect(base) as other, segmento.connect(base) as ws:
        erasure = ws.forget(ERASED["id"])
        assert not erasure.physically_complete and "open on another connection" in erasure.note
        assert other.table("customers").count().execute() == 21 and len(ws.pending_erasures()) == 1


def test_an_in_memory_base_says_there_is_no_file_to_rewrite() -> None:
    with segmento.connect(":memory:") as ws, pytest.raises(UnsupportedError, match="in-memory"):
        ws.compact()
