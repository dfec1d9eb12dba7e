"""Quick reads: values written into the query as literals come back exactly, on the file and through Ibis."""

from __future__ import annotations

import duckdb
import ibis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmento.store.quick import open_file, rows


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    import segmento

    path = tmp_path_factory.mktemp("quick") / "q.duckdb"
    segmento.connect(path).con.disconnect()  # at this layout, so the file is read directly
    with open_file(path) as direct:
        assert direct is not None
        yield direct, ibis.duckdb.connect()


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",))), number=st.integers(-(2**62), 2**62))
def test_hostile_values_come_back_as_given(sources, text, number):
    for source in sources:
        found = rows(source, "SELECT ? AS text, ? AS number FROM schema_version LIMIT 1", text, number)
        assert found == [{"text": text, "number": number}]


def test_values_are_strings_or_integers_one_per_placeholder(sources):
    direct, _ = sources
    with pytest.raises(TypeError):
        rows(direct, "SELECT ? AS v", 1.5)
    with pytest.raises(ValueError):
        rows(direct, "SELECT ? AS v, ? AS w", "a")


def test_a_base_to_migrate_or_missing_is_not_read_directly(tmp_path):
    assert open_file(tmp_path / "missing.duckdb").__enter__() is None
    old = tmp_path / "old.duckdb"
    with duckdb.connect(str(old)) as raw:
        raw.execute("CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (1)")
    with open_file(old) as direct:
        assert direct is None


def test_quick_reads_name_the_registry_tables():
    from segmento.activation import delivery_status
    from segmento.dynamics import alert_reads
    from segmento.segmentations import stored
    from segmento.store import pseudonyms, registry

    assert (pseudonyms.SUPPRESSION_LIST, pseudonyms.KEY_TABLE) == (registry.ERASED.name, registry.GDPR_KEY.name)
    assert delivery_status.OUTBOX == registry.OUTBOX.name
    assert (alert_reads.ALERTS, stored.MODELS) == (registry.ALERTS.name, registry.SEGMENTATION_MODELS.name)
