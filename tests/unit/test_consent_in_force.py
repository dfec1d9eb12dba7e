"""The consent in force, decided once (store/consents.py) and read by the store and the
features stage alike, equals a brute-force walk over a random ledger."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmento.features import compute_features
from segmento.store.consents import consents_in_force
from segmento.store.tables import ensure_tables

CUSTOMERS = ["C0", "C1", "C2", "C3"]
CHANNELS = ["email", "sms", "push"]
PURPOSES = ["marketing", "service"]
START = datetime(2024, 3, 1)
DAYS = 4

ROW = st.tuples(
    st.sampled_from(CUSTOMERS), st.sampled_from(CHANNELS), st.sampled_from(PURPOSES),
    st.integers(0, DAYS * 24 - 1).map(lambda hours: START + timedelta(hours=hours)),  # several rows a day, some at midnight
    st.booleans(),
)
LEDGER = st.lists(ROW, max_size=40, unique_by=lambda r: r[:4])  # the ledger's key: one row per instant
AT = st.one_of(
    st.integers(-1, DAYS).map(lambda d: (START + timedelta(days=d)).date()),
    st.integers(-1, DAYS * 24).map(lambda hours: START + timedelta(hours=hours)),  # exactly on a row's instant too
)


def oracle(ledger: list[tuple], at: date | datetime) -> dict[tuple[str, str, str], bool]:
    """Walk the rows in time order up to ``at`` (a date: its whole day); the last one seen wins."""
    last = at if isinstance(at, datetime) else datetime.combine(at, time.max)
    state: dict[tuple[str, str, str], bool] = {}
    for customer, channel, purpose, recorded_at, granted in sorted(ledger, key=lambda r: r[3]):
        if recorded_at <= last:
            state[(customer, channel, purpose)] = granted
    return state


@pytest.fixture(scope="module")
def con():
    backend = ibis.duckdb.connect()
    ensure_tables(backend)
    backend.insert("customers", pa.table({"customer_id": CUSTOMERS, "signup_date": [date(2020, 1, 1)] * len(CUSTOMERS)}))
    return backend


def load(con, ledger: list[tuple]) -> None:
    con.raw_sql("DELETE FROM consents")
    if ledger:
        columns = list(zip(*ledger))
        con.insert("consents", pa.table({"customer_id": columns[0], "channel": columns[1], "purpose": columns[2],
                                         "recorded_at": pa.array(columns[3], pa.timestamp("us")), "granted": columns[4]}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=LEDGER, at=AT)
def test_the_store_reads_the_consent_in_force_of_the_oracle(con, ledger: list[tuple], at: date | datetime) -> None:
    load(con, ledger)
    rows = consents_in_force(con, at, purpose=None).to_pyarrow().to_pylist()
    assert {(r["customer_id"], r["channel"], r["purpose"]): r["granted"] for r in rows} == oracle(ledger, at)
    marketing = consents_in_force(con, at).to_pyarrow().to_pylist()
    assert {(r["customer_id"], r["channel"]) for r in marketing} == {
        (c, ch) for c, ch, p in oracle(ledger, at) if p == "marketing"}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=LEDGER, at=AT)
def test_the_consent_features_read_the_same_consent_in_force(con, ledger: list[tuple], at: date | datetime) -> None:
    load(con, ledger)
    names = [f"consent_{channel}" for channel in CHANNELS]
    got = {r.pop("customer_id"): r for r in compute_features(con, at, names=names).to_pyarrow().to_pylist()}
    state = oracle(ledger, at)
    assert got == {c: {f"consent_{ch}": state.get((c, ch, "marketing"), False) for ch in CHANNELS} for c in CUSTOMERS}
