"""The why of a month's changes worded in one batch is each change's why worded alone.

A refresh words its changes a batch at a time and words each distinct set of a clause's
figures once. Drawn batches repeat values on purpose (ages, day counts, order counts
recur across customers) so the shared wording is exercised; each row, worded in a batch
of its own, shares nothing, and must read the same.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from segmento.audiences.check import BOOL, LIST, NUMBER
from segmento.audiences.definitions import Audience, AudienceSet
from segmento.audiences.why import NOW, THEN, WAS, Explainer

KINDS = {"age": NUMBER, "recency_days": NUMBER, "spend_12m": NUMBER, "consent_email": BOOL, "interests_90d": LIST}
RULES = {
    "thirties": "age BETWEEN 30 AND 40",
    "lapsing-vips": "recency_days > 60 AND spend_12m >= 500",
    "reachable": "consent_email AND recency_days <= 30 AND spend_12m > 100",
    "tennis": "'tennis' IN interests_90d AND age >= 18",
    "either": "age < 25 OR spend_12m > 1000",
    "viewers": "viewed(within = '30d') AND age > 20",
}
AUDIENCES = AudienceSet.check([Audience(name, rule) for name, rule in RULES.items()], KINDS)
AS_OF, PREVIOUS = datetime(2024, 12, 31, 23, 59, 59), datetime(2024, 11, 30, 23, 59, 59)

VALUES = {
    "age": st.one_of(st.none(), st.integers(28, 42)),
    "recency_days": st.one_of(st.none(), st.sampled_from([0, 12, 30, 31, 61, 90, 400])),
    "spend_12m": st.one_of(st.none(), st.sampled_from([0.0, 99.5, 100.0, 500.0, 1234.56, float("nan")])),
    "consent_email": st.one_of(st.none(), st.booleans()),
    "interests_90d": st.one_of(st.none(), st.sampled_from([[], ["tennis"], ["running", "tennis"], ["running"]])),
}


@st.composite
def changes(draw: st.DrawFn) -> pa.RecordBatch:
    rows = []
    for i in range(draw(st.integers(1, 40))):
        row = {"change_id": f"ch{i}", "customer_id": f"C{i}",
               "audience": draw(st.sampled_from([*RULES, "removed-since"])),
               "kind": draw(st.sampled_from(["enter", "exit"])), WAS: draw(st.one_of(st.none(), st.just(True)))}
        for name, values in VALUES.items():
            row[NOW + name], row[THEN + name] = draw(values), draw(values)
        rows.append(row)
    schema = pa.schema([("change_id", pa.string()), ("customer_id", pa.string()), ("audience", pa.string()),
                        ("kind", pa.string()), (WAS, pa.bool_()),
                        *((prefix + name, pa.list_(pa.string()) if name == "interests_90d" else
                           pa.int64() if name in ("age", "recency_days") else
                           pa.bool_() if name == "consent_email" else pa.float64())
                          for name in VALUES for prefix in (NOW, THEN))])
    return pa.RecordBatch.from_pylist(rows, schema=schema)


@settings(max_examples=300, deadline=None)
@given(changes())
def test_a_batch_is_worded_as_each_of_its_rows_alone(batch: pa.RecordBatch) -> None:
    explain = Explainer(AUDIENCES, [*RULES, "removed-since"], AS_OF, PREVIOUS)
    together = explain(batch).column("why").to_pylist()
    alone = [Explainer(AUDIENCES, [*RULES, "removed-since"], AS_OF, PREVIOUS)(batch.slice(i, 1)).column("why")[0].as_py()
             for i in range(batch.num_rows)]
    assert together == alone
    assert all(together)


def test_only_the_clauses_that_flipped_are_named() -> None:
    rows = [
        {"audience": "lapsing-vips", "kind": "enter", "now": {"recency_days": 61, "spend_12m": 800.0},
         "then": {"recency_days": 30, "spend_12m": 800.0}, "why": "no order for 61 days"},
        {"audience": "lapsing-vips", "kind": "enter", "now": {"recency_days": 61, "spend_12m": 800.0},
         "then": {"recency_days": 30, "spend_12m": 400.0}, "why": "no order for 61 days; spend_12m 400 -> 800"},
        {"audience": "lapsing-vips", "kind": "exit", "now": {"recency_days": 12, "spend_12m": 800.0},
         "then": {"recency_days": 90, "spend_12m": 800.0}, "why": "no order for 12 days"},
        {"audience": "viewers", "kind": "enter", "now": {"age": 30}, "then": {"age": 30},
         "why": "viewed(within = '30d') now true"},
        {"audience": "removed-since", "kind": "exit", "now": {}, "then": {}, "why": "the audience was removed"},
    ]
    batch = pa.RecordBatch.from_pylist([
        {"change_id": str(i), "customer_id": f"C{i}", "audience": r["audience"], "kind": r["kind"], WAS: True,
         **{NOW + k: v for k, v in r["now"].items()}, **{THEN + k: v for k, v in r["then"].items()}}
        for i, r in enumerate(rows)
    ])
    worded = Explainer(AUDIENCES, [*RULES, "removed-since"], AS_OF, PREVIOUS)(batch).column("why").to_pylist()
    assert worded == [r["why"] for r in rows]
