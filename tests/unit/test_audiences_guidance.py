"""Granularity guidance: sizes, the overlap matrix and warnings, checked against counting by hand."""

from __future__ import annotations

from datetime import datetime
from itertools import combinations

import ibis
from hypothesis import given, settings
from hypothesis import strategies as st

from segmento.audiences.guidance import Thresholds, guidance

AT = datetime(2024, 6, 30, 23, 59)


def members(pairs: list[tuple[str, str]]) -> ibis.Table:
    return ibis.memtable({"customer_id": [c for c, _ in pairs], "audience": [a for _, a in pairs]},
                         schema={"customer_id": "string", "audience": "string"})  # fmt: skip


def test_each_kind_of_warning_with_its_message() -> None:
    base = 1000
    pairs = [(f"C{i}", "everyone_but") for i in range(900)]
    pairs += [(f"C{i}", "tennis") for i in range(100)]
    pairs += [(f"C{i}", "tennis_fans") for i in range(5, 100)]
    pairs += [(f"C{i}", "rare") for i in range(3)]
    found = guidance(members(pairs), ["everyone_but", "tennis", "tennis_fans", "rare", "nobody"], base, AT)
    assert found.sizes == {"everyone_but": 900, "tennis": 100, "tennis_fans": 95, "rare": 3, "nobody": 0}
    assert [str(w) for w in found.warnings] == [
        "everyone_but: broad: 90.0% of the base; a group this large is rarely homogeneous, cross it with another "
        "criterion",
        "rare: tiny: 3 customers (0.3% of the base); too few to act on, widen the rule or merge it into another",
        "nobody: empty: no customer matches; check the rule's values and thresholds",
        "tennis: near duplicate of 'tennis_fans': 95% of their members are shared; merge them or sharpen one",
    ]
    assert found.overlaps.loc["tennis", "tennis_fans"] == 95
    assert found.overlaps.loc["everyone_but", "rare"] == 3


def test_thresholds_are_settings() -> None:
    pairs = [(f"C{i}", "a") for i in range(40)]
    strict = guidance(members(pairs), ["a"], 100, AT, Thresholds(tiny_count=50, broad_share=0.9))
    assert [w.kind for w in strict.warnings] == ["tiny"]


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([f"C{i}" for i in range(12)]),
        st.sets(st.sampled_from(["a", "b", "c", "d"]), max_size=4),
        max_size=12,
    )
)
def test_overlap_matrix_counts_shared_members(held: dict[str, set[str]]) -> None:
    names = ["a", "b", "c", "d"]
    pairs = [(c, a) for c, audiences in held.items() for a in audiences]
    found = guidance(members(pairs), names, 12, AT)
    for a, b in [*combinations(names, 2), *((n, n) for n in names)]:
        shared = sum(1 for audiences in held.values() if a in audiences and b in audiences)
        assert found.overlaps.loc[a, b] == found.overlaps.loc[b, a] == shared


def test_an_audience_of_over_a_third_of_the_base_is_flagged_broad() -> None:
    pairs = [(f"C{i}", "vips") for i in range(370)] + [(f"C{i}", "niche") for i in range(100)]
    found = guidance(members(pairs), ["vips", "niche"], 1000, AT)
    assert [(w.audience, w.kind) for w in found.warnings] == [("vips", "broad")]
    assert "37.0% of the base" in found.warnings[0].message
