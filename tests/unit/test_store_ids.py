"""The id index answers as the dict of id -> position it replaces (hundreds of random bases)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmento.store.ids import IdIndex

ids = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)  # NUL bytes too


@settings(max_examples=300, deadline=None)
@given(st.lists(ids, unique=True, max_size=60), st.lists(ids, max_size=20), st.data())
def test_the_index_answers_as_a_dict_of_positions(values: list[str], asked: list[str], data: st.DataObject) -> None:
    if data.draw(st.booleans()):
        values = sorted(values, key=lambda v: v.encode())  # the service's case: ids as the engine sorts them
    oracle = {value: i for i, value in enumerate(values)}
    index = IdIndex(pa.array(values, pa.string()) if data.draw(st.booleans()) else values)
    gone = data.draw(st.lists(st.sampled_from(values), max_size=5)) if values else []
    for value in gone:
        assert index.pop(value) == oracle.pop(value, None)
    for key in [*values, *asked, *(v + "x" for v in values), *(v[:-1] for v in values)]:
        assert index.get(key) == oracle.get(key)
        assert (key in index) == (key in oracle)
    assert list(index) == list(oracle) and len(index) == len(oracle)
    with pytest.raises(KeyError):
        index["\x01 not any id!"]
