"""The engine layer on a real DuckDB file and a real local Spark: the same operations, the same rows.

Each write is checked against a plain-Python oracle over the rows before it. On Spark a
write that fails halfway must leave the table as it was (files are swapped in at commit).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import ibis
import pyarrow as pa
import pytest

from segmento.errors import UnsupportedError
from segmento.store import slices
from segmento.store.engines import Engine, engine_of, equals, require
from segmento.store.engines.spark import connect_spark

pytestmark = [pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
SCHEMA = ibis.schema({"period": "date", "kind": "string", "customer_id": "string", "amount": "float64"})
JAN, FEB, MAR = date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)
ROWS = [
    {"period": p, "kind": k, "customer_id": c, "amount": float(i)}
    for i, (p, k, c) in enumerate(
        [(JAN, "a", "C1"), (JAN, "a", "C2"), (JAN, "b", "C3"), (FEB, "a", "C1"), (FEB, "b", None), (MAR, "a", "C1")]
    )
]


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Engine]:
    if request.param == "duckdb":
        con = ibis.duckdb.connect(str(tmp_path / "kb.duckdb"))
        yield engine_of(con)
        con.disconnect()
        return
    spark = request.getfixturevalue("spark")
    con = connect_spark(spark, database="engines")
    yield engine_of(con)
    spark.sql("DROP DATABASE engines CASCADE")
    spark.catalog.setCurrentDatabase("default")


def table_with_rows(engine: Engine, name: str, partition_by: tuple[str, ...] = ()) -> None:
    engine.create_table(name, SCHEMA, partition_by)
    engine.append(name, pa.Table.from_pylist(ROWS, SCHEMA.to_pyarrow()))


def held(engine: Engine, name: str) -> list[tuple]:
    rows = engine.con.table(name).select(*SCHEMA.names).to_pyarrow().to_pylist()
    return sorted((tuple(r.values()) for r in rows), key=repr)


def as_tuples(rows: list[dict]) -> list[tuple]:
    return sorted((tuple(r[c] for c in SCHEMA.names) for r in rows), key=repr)


def test_capabilities_are_declared(engine: Engine) -> None:
    caps = engine.capabilities
    if engine.name == "duckdb":
        assert caps.transactions and caps.delete and caps.merge and not caps.missing()
    else:
        assert caps.missing() == ["transactions", "temporary tables", "delete", "merge"] and caps.partition_overwrite
        with pytest.raises(UnsupportedError, match="spark engine has no transactions, so it cannot serve"):
            require(engine.con, "transactions", "serve", "use DuckDB")


@pytest.mark.parametrize("partition_by", [(), ("period",)])
def test_delete_removes_exactly_the_matching_rows(engine: Engine, partition_by: tuple[str, ...]) -> None:
    table_with_rows(engine, "facts", partition_by)
    assert engine.delete_where("facts", equals("customer_id", "C1")) == 3
    assert held(engine, "facts") == as_tuples([r for r in ROWS if r["customer_id"] != "C1"])  # NULL ids kept
    assert engine.delete_where("facts", equals("customer_id", "nobody")) == 0
    if partition_by and engine.name == "spark":  # March held only C1: its partition is gone, not left stale
        assert [r.partition for r in engine.session.sql("SHOW PARTITIONS facts").collect()] == [
            "period=2024-01-31", "period=2024-02-29"]


def test_holds_and_counts_match_exactly_the_rows_with_those_values(engine: Engine) -> None:
    table_with_rows(engine, "facts")
    assert engine.holds("facts", {"customer_id": "C1", "kind": "a"})
    assert not engine.holds("facts", {"customer_id": "C3", "kind": "a"})  # each value on its own is there
    assert not engine.holds("facts", {"customer_id": "C1' OR '1' = '1", "kind": "a"})  # a value, never SQL
    assert engine.count_where("facts", equals("customer_id", "C1")) == 3


@pytest.mark.parametrize("partition_by", [(), ("period", "kind")])
def test_replace_partitions_touches_only_those(engine: Engine, partition_by: tuple[str, ...]) -> None:
    table_with_rows(engine, "facts", partition_by)
    new = [{"period": JAN, "kind": "a", "customer_id": "C9", "amount": 9.0}]
    replaced = [{"period": JAN, "kind": "a"}, {"period": FEB, "kind": "b"}]  # Feb/b: no new rows, emptied
    engine.replace_partitions("facts", replaced, ibis.memtable(pa.Table.from_pylist(new, SCHEMA.to_pyarrow())))
    kept = [r for r in ROWS if {"period": r["period"], "kind": r["kind"]} not in replaced]
    assert held(engine, "facts") == as_tuples(kept + new)


def test_a_failed_replace_leaves_the_table_as_it_was(engine: Engine) -> None:
    table_with_rows(engine, "facts", ("period", "kind"))
    good = ibis.memtable(pa.Table.from_pylist(ROWS[:1], SCHEMA.to_pyarrow()))
    broken = good.mutate(amount=ibis.literal("not a number").cast("float64"))  # fails while the job runs
    with pytest.raises(Exception):  # noqa: B017 - each engine raises its own conversion error
        engine.replace_partitions("facts", [{"period": JAN, "kind": "a"}], good.union(broken))
    assert held(engine, "facts") == as_tuples(ROWS)


def test_upsert_and_update_by_key(engine: Engine) -> None:
    schema = ibis.schema({"key": "string", "status": "string", "error": "string"})
    engine.create_table("states", schema)
    engine.append("states", pa.table({"key": ["m1", "m2"], "status": ["pending", "pending"], "error": ["x", None]}))
    engine.upsert("states", pa.table({"key": ["m2", "m3"], "status": ["sent", "pending"], "error": [None, None]}),
                  ["key"])
    engine.update("states", pa.table({"key": ["m1", "m9"], "error": pa.array([None, "y"], pa.string())}), "key")
    rows = sorted(tuple(r.values()) for r in engine.con.table("states").to_pyarrow().to_pylist())
    assert rows == [("m1", "pending", None), ("m2", "sent", None), ("m3", "pending", None)]


def test_replace_values_maps_only_the_listed_ones(engine: Engine) -> None:
    table_with_rows(engine, "facts", ("period",))
    mapping = {"C1": "K1", "C3": "K3", "C9": "K9"}
    engine.replace_values("facts", "customer_id", pa.table({"old": list(mapping), "new": list(mapping.values())}))
    assert held(engine, "facts") == as_tuples([{**r, "customer_id": mapping.get(r["customer_id"], r["customer_id"])}
                                              for r in ROWS])


def test_null_text_stays_null_through_staging_and_memtables(engine: Engine) -> None:
    data = pa.table({"customer_id": ["C1", "C2"], "gender": pa.array([None, "F"], pa.string())})
    with engine.staged(data) as staged:
        assert staged.to_pyarrow().sort_by("customer_id").column("gender").to_pylist() == [None, "F"]
    frame = ibis.memtable(data.to_pandas())  # pandas turns the NULL into NaN on the way
    assert engine.con.execute(frame.gender.isnull().sum()) == 1


def test_rows_after_an_empty_first_batch_are_appended(engine: Engine) -> None:
    """Results concatenated per rule start with an empty batch when the first rule matched nothing."""
    engine.create_table("moves", SCHEMA, ("period",))
    empty = pa.Table.from_pylist([], SCHEMA.to_pyarrow())
    engine.append("moves", pa.concat_tables([empty, empty, pa.Table.from_pylist(ROWS, SCHEMA.to_pyarrow())]))
    assert held(engine, "moves") == as_tuples(ROWS)


def test_a_batch_step_computes_a_held_expression_once_and_drops_it_at_its_end(engine: Engine) -> None:
    def totals(source: ibis.Table) -> ibis.Table:  # built anew at each call: equal expressions, not one object
        return source.group_by("kind").aggregate(total=source.amount.sum())

    def read(table: ibis.Table) -> dict[str, float]:
        return {row["kind"]: row["total"] for row in table.to_pyarrow().to_pylist()}

    def oracle(rows: list[dict]) -> dict[str, float]:
        out: dict[str, float] = {}
        for row in rows:
            out[row["kind"]] = out.get(row["kind"], 0.0) + row["amount"]
        return out

    table_with_rows(engine, "source")
    source = engine.con.table("source")
    assert engine.held(totals(source)).equals(totals(source))  # outside a step: as it is, computed where read
    late = {"period": MAR, "kind": "a", "customer_id": "C9", "amount": 100.0}
    with engine.batch_step():
        with engine.batch_step():  # a step within (a monthly run's snapshot): what it holds outlives it
            first = engine.held(totals(source))
        engine.append("source", pa.Table.from_pylist([late], SCHEMA.to_pyarrow()))
        with engine.batch_step():
            again = engine.held(totals(source))
        # computed once, before the late row: the same expression asked again reads the same table
        assert again.get_name() == first.get_name()
        assert read(first) == read(again) == oracle(ROWS)
        elsewhere: list[bool] = []  # another thread (the service's real-time path) never sees the step
        thread = threading.Thread(target=lambda: elsewhere.append(engine.held(totals(source)).equals(totals(source))))
        thread.start()
        thread.join()
        assert elsewhere == [True]
        name = first.get_name()
    assert name not in engine.con.list_tables()  # gone at the end of the step
    assert read(totals(source)) == oracle([*ROWS, late])


def test_append_mapped_runs_a_python_step_where_the_rows_are(engine: Engine) -> None:
    def doubled(batch: pa.RecordBatch) -> pa.RecordBatch:  # local: pickled by value for Spark's workers
        """Amounts doubled, and which process ran it written in ``kind``."""
        rows = batch.to_pylist()
        for row in rows:
            row["amount"] *= 2
            row["kind"] = f"{row['kind']}:{os.getpid()}"
        return pa.RecordBatch.from_pylist(rows, schema=batch.schema)

    table_with_rows(engine, "source")
    engine.create_table("mapped", SCHEMA, ("period",))
    source = engine.con.table("source")
    engine.append_mapped("mapped", source.filter(source.kind == "a").select(*SCHEMA.names), doubled)
    rows = held(engine, "mapped")
    expected = [{**r, "amount": r["amount"] * 2} for r in ROWS if r["kind"] == "a"]
    assert [(p, k.split(":")[0], c, a) for p, k, c, a in rows] == as_tuples(expected)
    ran_in = {int(k.split(":")[1]) for _, k, _, _ in rows}
    # DuckDB runs it in this process; Spark in its Python workers, with nothing collected to the driver
    assert (ran_in == {os.getpid()}) == (engine.name != "spark"), ran_in


@pytest.mark.parametrize("per_slice", [1, 2, 100])
def test_a_table_read_in_slices_of_customers_is_the_table_read_whole(engine: Engine, per_slice: int) -> None:
    table_with_rows(engine, "source")
    source = engine.con.table("source")
    ids = ["C2", "C1", "C3"]  # the ids of the base: unsorted, and not every id of the rows (C0, C9 are not)
    extra = [{"period": MAR, "kind": k, "customer_id": c, "amount": 9.0} for k, c in [("c", "C0"), ("c", "C9")]]
    engine.append("source", pa.Table.from_pylist(extra, SCHEMA.to_pyarrow()))
    bounds = slices.ranges(ids, per_slice)
    assert len(bounds) == max(1, -(-len(ids) // per_slice))
    whole = slices.read_sliced(lambda b: source.filter(slices.within(source.customer_id, b)), ids, per_slice)
    owned = [r for r in ROWS if r["customer_id"] is not None or len(bounds) == 1]  # no id: in no slice of several
    assert as_tuples(whole.to_pylist()) == as_tuples([*owned, *extra])  # every row of a customer once
    parts = [source.filter(slices.within(source.customer_id, b)) for b in bounds]
    with engine.staged_parts(parts) as staged:  # computed a slice at a time into one table
        assert as_tuples(staged.to_pyarrow().to_pylist()) == as_tuples([*owned, *extra])


@pytest.mark.parametrize("values", [["C1"], ["C3", "C1", "C9"], ["C9"], []])
def test_a_prepared_lookup_finds_exactly_the_rows_with_those_values(engine: Engine, values: list[str]) -> None:
    table_with_rows(engine, "source")
    prepared = engine.prepare_lookup(engine.con.table("source"), "customer_id")
    found = engine.run_lookup_in(prepared, values)
    assert tuple(found.schema.names) == tuple(SCHEMA.names)
    assert as_tuples(found.to_pylist()) == as_tuples([r for r in ROWS if r["customer_id"] in values])
    if len(values) == 1:
        assert as_tuples(engine.run_lookup(prepared, values[0]).to_pylist()) == as_tuples(found.to_pylist())
