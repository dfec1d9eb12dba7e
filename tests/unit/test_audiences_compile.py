"""The two compilations of a rule agree with SQL, NULLs and NaN included.

DuckDB running the Ibis compilation is the reference for SQL's three-valued logic; the
Python predicate (real time) must give the same True/False/None on every row, and an
event function must count the same events. Random rules are also written out as text
and parsed back, so the parser is held to the same trees.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmento.audiences.ast import (
    EVENT_FUNCTIONS,
    And,
    AudienceRef,
    Between,
    Compare,
    Contains,
    EventCount,
    Field,
    InList,
    IsNull,
    Like,
    Literal,
    Node,
    Not,
    Or,
)
from segmento.audiences.parser import parse_rule
from segmento.audiences.to_ibis import event_count_table, to_ibis
from segmento.audiences.to_python import Context, to_python

SCHEMA = ibis.schema({"n": "int64", "x": "float64", "s": "string", "b": "boolean", "tags": "array<string>"})
TEXTS = ["a", "A", "ab", "b%", "a_b", "é", "É", "", "zz"]
PATTERNS = ["a%", "%b", "_", "a_b", "%", "É%", "a", "%\\%"]
CATEGORIES = ["tennis", "golf", "hiking shoes", None]


@pytest.fixture(scope="module")
def duck():
    return ibis.duckdb.connect()


# ---- random rules and rows --------------------------------------------------------------

numbers = st.one_of(st.integers(-3, 3), st.sampled_from([0.5, -1.5, 2.0]))
texts = st.sampled_from(TEXTS)


def leaves() -> st.SearchStrategy[Node]:
    op = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
    numeric = st.sampled_from([Field("n"), Field("x")])
    return st.one_of(
        st.builds(Compare, op, numeric, numbers.map(Literal)),
        st.builds(Compare, op, numeric, numeric),
        st.builds(Compare, op, st.just(Field("s")), texts.map(Literal)),
        st.builds(Compare, st.sampled_from(["=", "!="]), st.just(Field("b")), st.booleans().map(Literal)),
        st.just(Field("b")),
        st.builds(Between, numeric, numbers.map(Literal), numbers.map(Literal), st.booleans()),
        st.builds(InList, numeric, st.lists(numbers.map(Literal), min_size=1, max_size=3).map(tuple), st.booleans()),
        st.builds(InList, st.just(Field("s")), st.lists(texts.map(Literal), min_size=1, max_size=3).map(tuple),
                  st.booleans()),
        st.builds(Contains, texts.map(Literal), st.just(Field("tags")), st.booleans()),
        st.builds(IsNull, st.sampled_from([Field(f) for f in SCHEMA.names]), st.booleans()),
        st.builds(Like, st.just(Field("s")), st.sampled_from(PATTERNS).map(Literal), st.booleans(), st.booleans()),
        st.just(AudienceRef("other")),
    )


rules = st.recursive(
    leaves(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
        st.lists(inner, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
        inner.map(Not),
    ),
    max_leaves=6,
)
rows = st.lists(
    st.fixed_dictionaries(
        {
            "n": st.one_of(st.none(), st.integers(-3, 3)),
            "x": st.one_of(st.none(), st.sampled_from([0.5, -1.5, 2.0, 3.0, math.nan, math.inf])),
            "s": st.one_of(st.none(), texts),
            "b": st.one_of(st.none(), st.booleans()),
            "tags": st.one_of(st.none(), st.lists(texts, max_size=3)),
        }
    ),
    min_size=1,
    max_size=8,
)
def frame(data: list[dict]) -> ibis.Table:
    """Through Arrow, so NaN stays NaN (pandas would make it NULL)."""
    return ibis.memtable(pa.Table.from_pylist(data, schema=SCHEMA.to_pyarrow()))


OTHER = Or((Compare(">", Field("n"), Literal(0)), IsNull(Field("s"))))  # what in_audience('other') means


def sql_text(node: Node) -> str:
    """The rule as an analyst would write it (to check the parser gives the tree back)."""
    match node:
        case Field(name=name):
            return name
        case Literal(value=value):
            return {True: "TRUE", False: "FALSE"}.get(value, repr(value)) if isinstance(value, bool) else (
                "'" + value.replace("'", "''") + "'" if isinstance(value, str) else repr(value))
        case Compare(op=op, left=left, right=right):
            return f"{sql_text(left)} {op} {sql_text(right)}"
        case Between(value=v, low=lo, high=hi, negated=neg):
            return f"{sql_text(v)} {'NOT ' * neg}BETWEEN {sql_text(lo)} AND {sql_text(hi)}"
        case InList(value=v, options=opts, negated=neg):
            return f"{sql_text(v)} {'NOT ' * neg}IN ({', '.join(map(sql_text, opts))})"
        case Contains(item=item, collection=c, negated=neg):
            return f"{sql_text(item)} {'NOT ' * neg}IN {sql_text(c)}"
        case IsNull(value=v, negated=neg):
            return f"{sql_text(v)} IS {'NOT ' * neg}NULL"
        case Like(value=v, pattern=p, negated=neg, case_insensitive=ci):
            return f"{sql_text(v)} {'NOT ' * neg}{'ILIKE' if ci else 'LIKE'} {sql_text(p)}"
        case And(items=items) | Or(items=items):
            return "(" + f" {type(node).__name__.upper()} ".join(map(sql_text, items)) + ")"
        case Not(item=item):
            return f"NOT ({sql_text(item)})"
        case AudienceRef(name=name):
            return f"in_audience('{name}')"
    raise TypeError(node)


def normalised(node: Node) -> Node:
    """What parsing gives back: nested And/Or of the same kind flattened, a negative number literal kept."""
    match node:
        case And(items=items) | Or(items=items):
            flat = []
            for item in map(normalised, items):
                flat.extend(item.items if type(item) is type(node) else (item,))
            return type(node)(tuple(flat))
        case Not(item=item):
            return Not(normalised(item))
    return node


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rule=rules, data=rows)
def test_python_predicate_equals_sql_on_every_row(duck, rule: Node, data: list[dict]) -> None:
    assert normalised(parse_rule(sql_text(rule))) == normalised(rule)
    table = frame(data)
    other_sql = lambda name: to_ibis(OTHER, lambda f: table[f]).fill_null(False)  # noqa: E731
    expr = table.select(v=to_ibis(rule, lambda f: table[f], audience=other_sql))
    expected = duck.to_pyarrow(expr).column("v").to_pylist()
    other_py = to_python(OTHER)
    predicate = to_python(rule, audience=lambda name: other_py)
    got = [predicate(Context(row, [], datetime(2024, 1, 1))) for row in data]
    assert got == expected


@pytest.mark.parametrize(
    ("rule", "row", "expected"),
    [
        (Between(Field("n"), Literal(1), Literal(3)), {"n": None}, None),
        (Not(Between(Field("n"), Literal(1), Literal(3))), {"n": None}, None),
        (Or((Compare(">", Field("n"), Literal(1)), Field("b"))), {"n": None, "b": True}, True),
        (And((Compare(">", Field("n"), Literal(1)), Field("b"))), {"n": None, "b": False}, False),
        (InList(Field("n"), (Literal(1),), negated=True), {"n": None}, None),
        (Contains(Literal("a"), Field("tags")), {"tags": []}, False),
        (Contains(Literal("a"), Field("tags")), {"tags": None}, None),
        (Compare("=", Field("x"), Field("x")), {"x": math.nan}, True),  # SQL engines: NaN = NaN
        (Compare(">", Field("x"), Literal(1e308)), {"x": math.nan}, True),  # NaN sorts above every number
        (Like(Field("s"), Literal("a\\%")), {"s": "a\\b"}, True),  # no escape character
    ],
)
def test_three_valued_logic_by_hand(duck, rule: Node, row: dict, expected) -> None:
    assert to_python(rule)(Context(row, [], datetime(2024, 1, 1))) is expected
    table = frame([{**dict.fromkeys(SCHEMA.names), **row}])
    assert duck.to_pyarrow(table.select(v=to_ibis(rule, lambda f: table[f]))).column("v")[0].as_py() is expected


# ---- event functions ------------------------------------------------------------------

EVENTS_SCHEMA = ibis.schema(
    {"customer_id": "string", "occurred_at": "timestamp", "type": "string", "channel": "string",
     "category": "string", "size": "string", "campaign_id": "string"}
)  # fmt: skip
START = datetime(2024, 3, 1)

events = st.lists(
    st.fixed_dictionaries(
        {
            "customer_id": st.sampled_from(["C1", "C2"]),
            "occurred_at": st.one_of(  # midnights too: a window starts at one
                st.integers(0, 60 * 24 * 50).map(lambda m: START + timedelta(minutes=m)),
                st.integers(0, 50).map(lambda d: START + timedelta(days=d)),
            ),
            "type": st.sampled_from(["product_view", "page_view", "search", "call", "email_open"]),
            "channel": st.sampled_from(["web", "app", "phone"]),
            "category": st.sampled_from(CATEGORIES),
            "size": st.sampled_from(["42", "43", None]),
            "campaign_id": st.none(),
        }
    ),
    max_size=12,
)
filters = st.one_of(
    st.none(),
    st.builds(Compare, st.just("="), st.just(Field("category")), st.sampled_from(CATEGORIES[:3]).map(Literal)),
    st.builds(InList, st.just(Field("size")), st.just((Literal("43"), Literal("44")))),
    st.builds(IsNull, st.just(Field("category")), st.booleans()),
)
event_counts = st.builds(
    lambda fn, where, window: EventCount(fn, EVENT_FUNCTIONS[fn], where, window),
    st.sampled_from(list(EVENT_FUNCTIONS)),
    filters,
    st.sampled_from([None, "1d", "7d", "30d", "2w", "1m"]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    nodes=st.lists(event_counts, min_size=1, max_size=3, unique=True),
    data=events,
    at=st.one_of(
        st.integers(0, 60 * 24 * 55).map(lambda m: START + timedelta(minutes=m, microseconds=7)),
        st.integers(1, 55).map(lambda d: START + timedelta(days=d, microseconds=-1)),  # a day's last instant
    ),
)
def test_event_functions_count_the_same_events(duck, nodes: list[EventCount], data: list[dict], at) -> None:
    table = ibis.memtable(data, schema=EVENTS_SCHEMA)
    counted = duck.to_pyarrow(event_count_table(table, nodes, at)).to_pylist()
    batch = {row["customer_id"]: [row[f"_n{i}"] for i in range(len(nodes))] for row in counted}
    for customer in ("C1", "C2"):
        mine = [e for e in data if e["customer_id"] == customer]
        context = Context({}, mine, at)
        python = [to_python(node)(context) for node in nodes]
        assert python == batch.get(customer, [0] * len(nodes))


def test_windows_are_whole_calendar_days_ending_on_the_day() -> None:
    """'7d' at any time of 10 March is 4 March 00:00 .. the instant: the features' definition."""
    node = EventCount("searched", ("search",), None, "7d")
    at = datetime(2024, 3, 10, 8, 0)
    stamps = [datetime(2024, 3, 3, 23, 59), datetime(2024, 3, 4, 0, 0), at, at + timedelta(microseconds=1)]
    events_ = [{"occurred_at": s, "type": "search"} for s in stamps]
    assert to_python(node)(Context({}, events_, at)) == 2
