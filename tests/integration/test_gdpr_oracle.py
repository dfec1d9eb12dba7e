"""Erasure by structure on a base built with adversarial ids: the rows removed are exactly
the oracle's (brute force over the contents), tables that refer to no customer never
change, and the right of access returns exactly the rows erasure removes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gdpr_support import IDS, bag, build, contents, oracle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segmento
from segmento.store.customer_refs import DECLARED, CustomerColumn, HeldId
from segmento.store.gdpr import declared_tables

APPEND_ONLY = ("audit_log", "erased_customers", "gdpr_key")  # erasure and access add to these, never remove


@pytest.fixture(scope="module")
def adversarial(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The base file, and its contents (every example starts from a copy of it)."""
    path = build(tmp_path_factory.mktemp("adversarial") / "base.duckdb")
    with segmento.connect(path) as ws:
        return path, contents(ws)


def test_every_table_declares_how_it_refers_to_a_customer(adversarial: tuple[Path, dict]) -> None:
    with segmento.connect(adversarial[0]) as ws:
        tables = contents(ws)
        assert set(tables) <= set(DECLARED), "a table of the flow has no customer_ref"
        for name in tables:
            if "customer_id" in ws.table(name).columns:
                assert {CustomerColumn(), HeldId("customer_id", "raw", "customer_id")} & set(DECLARED[name]), \
                    f"{name} has customer_id but does not declare it"
        assert {"api_keys", "segmentation_models", "ingestions", "audiences"}.isdisjoint(declared_tables(ws.con))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(customer_id=st.one_of(st.sampled_from(IDS), st.text(min_size=1, max_size=12)))
def test_erasure_removes_exactly_the_oracles_rows_and_access_shows_them(
    adversarial: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory, customer_id: str
) -> None:
    path = tmp_path_factory.mktemp("erase") / "base.duckdb"
    shutil.copy(adversarial[0], path)
    before = adversarial[1]
    with segmento.connect(path) as ws:
        expected = oracle(before, customer_id)
        exported = ws.export_customer(customer_id)["data"]
        erasure = ws.forget(customer_id, compact=False)
        after = contents(ws)
    for name, rows in before.items():
        gone = bag(rows) - bag(after[name])
        if name in APPEND_ONLY:
            assert not gone, f"{name} lost rows"
            continue
        assert gone == bag(expected[name]), f"{name}: removed rows differ from the oracle's"
        assert bag(exported.get(name, [])) == gone, f"{name}: access export differs from what erasure removed"
    assert erasure.removed == {name: len(rows) for name, rows in expected.items() if rows}
    if customer_id in IDS:  # every seeded customer has rows in each of these
        assert {"customers", "orders", "order_lines", "events", "consents", "quarantine", "segment_snapshots",
                "alerts", "audience_changes", "activation_outbox"} <= set(erasure.removed)
        assert len(expected["activation_outbox"]) == 2 and len(expected["quarantine"]) == 7
