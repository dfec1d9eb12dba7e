"""The rule language: what parses into which AST, and the exact error for every bad rule."""

from __future__ import annotations

import pytest

from segmento.audiences.ast import (
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
    Not,
    Or,
    RuleError,
)
from segmento.audiences.check import BOOL, LIST, NUMBER, TEXT, check_rule
from segmento.audiences.parser import parse_rule

FIELDS = {
    "age": NUMBER,
    "gender": TEXT,
    "city": TEXT,
    "recency_days": NUMBER,
    "spend_12m": NUMBER,
    "consent_email": BOOL,
    "interests_90d": LIST,
    "first_order": "date",
}
AUDIENCES = {"vip"}
VIEWED = ("product_view", "page_view")


def checked(rule: str):
    return check_rule(rule, parse_rule(rule), FIELDS, AUDIENCES)


@pytest.mark.parametrize(
    ("rule", "tree"),
    [
        (
            "gender = 'M' AND age BETWEEN 30 AND 40 AND 'tennis' IN interests_90d",
            And((Compare("=", Field("gender"), Literal("M")), Between(Field("age"), Literal(30), Literal(40)),
                 Contains(Literal("tennis"), Field("interests_90d")))),
        ),
        (
            "viewed(category = 'hiking shoes', size = 43, within = '30d')",
            Compare(">", EventCount("viewed", VIEWED, And((Compare("=", Field("category"), Literal("hiking shoes")),
                                                            Compare("=", Field("size"), Literal("43")))), "30d"),
                    Literal(0)),
        ),
        ("searched(category IN ('tennis', 'padel')) >= 3",
         Compare(">=", EventCount("searched", ("search",), InList(Field("category"), (Literal("tennis"),
                                                                                    Literal("padel")))), Literal(3))),
        ("event(type = 'call', within = 'lifetime')",
         Compare(">", EventCount("event", (), Compare("=", Field("type"), Literal("call"))), Literal(0))),
        ("recency_days > 90 OR recency_days IS NULL",
         Or((Compare(">", Field("recency_days"), Literal(90)), IsNull(Field("recency_days"))))),
        ("consent_email AND in_audience('vip')", And((Field("consent_email"), AudienceRef("vip")))),
        ("NOT city LIKE 'Saint%' AND city NOT ILIKE 'lyon'",
         And((Like(Field("city"), Literal("Saint%"), negated=True),
              Like(Field("city"), Literal("lyon"), negated=True, case_insensitive=True)))),
        ("age NOT BETWEEN 18 AND 25 AND gender NOT IN ('X') AND 'golf' NOT IN interests_90d AND city IS NOT NULL",
         And((Between(Field("age"), Literal(18), Literal(25), negated=True),
              InList(Field("gender"), (Literal("X"),), negated=True),
              Contains(Literal("golf"), Field("interests_90d"), negated=True),
              IsNull(Field("city"), negated=True)))),
        ("NOT (age < 30 OR spend_12m >= 1e3)",
         Not(Or((Compare("<", Field("age"), Literal(30)), Compare(">=", Field("spend_12m"), Literal(1000.0)))))),
        ("Age <> -1 AND consent_email = TRUE", And((Compare("!=", Field("age"), Literal(-1)),
                                                     Compare("=", Field("consent_email"), Literal(True))))),
    ],
)
def test_rules_parse_into_the_small_ast(rule: str, tree) -> None:
    assert checked(rule) == tree


def test_spans_point_into_the_rule_text() -> None:
    rule = "gender = 'M' AND age BETWEEN 30 AND 40"
    tree = parse_rule(rule)
    assert [rule[slice(*item.span)] for item in tree.items] == ["gender = 'M'", "age BETWEEN 30 AND 40"]


ERRORS = [
    ("", "the rule is empty", None),
    ("gender = 'M' AND agee BETWEEN 30 AND 40", "unknown field 'agee'; did you mean 'age'?", (1, 18)),
    ("gendr = 'M'", "unknown field 'gendr'; did you mean 'gender'?", (1, 1)),
    ("zzz > 3", "unknown field 'zzz'", (1, 1)),
    ("age > 30 AND\n  gendr = 'F'", "unknown field 'gendr'; did you mean 'gender'?", (2, 3)),
    ('gender = "M"', "unknown field 'M' (double quotes name a field; write text in single quotes: 'M')", (1, 10)),
    ("age >= ", "the rule ends too early: something is missing after '>='", (1, 5)),
    ("age BETWEEN 30 AND", "the rule ends too early: something is missing after 'AND'", (1, 16)),
    ("gender = 'M", "text is not closed: a quote is missing", (1, 10)),
    ("age > 30)", "unexpected ')'", (1, 9)),
    ("age > 30 foo", "unexpected 'foo'", (1, 10)),
    ("(age > 30", "a ')' is missing", (1, 8)),
    ("age > 30; gender = 'F'", "a rule is one condition; remove the ';'", (1, 9)),
    ("age + 1 > 30", "arithmetic ('+') is not supported; compare a field with a value", (1, 1)),
    ("SELECT age FROM t", "queries are not supported; write a condition", (1, 8)),
    ("x.age > 3", "qualified name 'x.age' is not supported; write the field name alone", (1, 1)),
    ("age IS TRUE", "IS only tests for NULL; compare values with = instead", (1, 1)),
    ("city LIKE 'a%' ESCAPE '!'", "LIKE ... ESCAPE is not supported; % and _ are the only wildcards", (1, 1)),
    ("age", "field 'age' is a number, not a condition; compare it with a value", (1, 1)),
    ("gender", "field 'gender' is text, not a condition; compare it with a value", (1, 1)),
    ("'tennis' IN gender", "gender is text, not a list; write gender = value", (1, 13)),
    ("interests_90d IN ('tennis')", "interests_90d is a list; write 'value' IN interests_90d to test membership",
     (1, 1)),
    ("interests_90d = 'tennis'", "interests_90d is a list; test membership with 'value' IN interests_90d", (1, 1)),
    ("3 IN interests_90d", "interests_90d holds text; the value before IN must be text", (1, 1)),
    ("age = 'thirty'", "cannot compare a number and text", (1, 1)),
    ("age IN (30, 'x')", "cannot compare a number and text", (1, 1)),
    ("age IN (30, spend_12m)", "IN takes a list of values, e.g. country IN ('FR', 'BE')", (1, 13)),
    ("age BETWEEN 'a' AND 'b'", "cannot compare a number and text", (1, 1)),
    ("age = NULL", "nothing equals NULL; write IS NULL or IS NOT NULL instead of = NULL", (1, 1)),
    ("consent_email > TRUE", "true/false values can only be compared with = or !=, not >", (1, 1)),
    ("city LIKE 3", "LIKE takes a pattern in quotes, e.g. city LIKE 'Saint%'", (1, 11)),
    ("age LIKE '3%'", "LIKE matches text; age is a number", (1, 1)),
    ("first_order > 3", "field 'first_order' is a date; rules compare numbers, text and true/false", (1, 1)),
    ("view(category = 'tennis')",
     "unknown function 'view'; did you mean 'viewed'? (functions: viewed, searched, carted, contacted, opened, "
     "clicked, responded, event, in_audience)", (1, 1)),
    ("age > 1 AND lower(city) = 'x'",
     "unknown function 'lower' (functions: viewed, searched, carted, contacted, opened, clicked, responded, event, "
     "in_audience)", (1, 13)),
    ("viewed(colour = 'red')",
     "unknown event field 'colour' in viewed() (event fields: type, channel, category, size, campaign_id)", (1, 8)),
    ("viewed(category = 'tennis', within = '3 months')",
     "within = '3 months' is not a window; write a number then d, w, m or y (e.g. '30d', '12m'), or 'lifetime'",
     (1, 29)),
    ("viewed(within = 30)", "within takes a window in quotes, e.g. within = '30d'", (1, 8)),
    ("viewed(within = '7d', within = '30d')", "within is given twice", (1, 23)),
    ("event(type = 'serch')",
     "unknown event type 'serch'; did you mean 'search'? (type is one of: page_view, product_view, search, "
     "add_to_cart, email_sent, email_open, email_click, chatbot, call, selfcare, social, campaign_response)", (1, 14)),
    ("viewed(channel = 'mail')",
     "unknown event channel 'mail'; did you mean 'email'? (channel is one of: web, app, email, sms, push, chatbot, "
     "phone, selfcare, social, store)", (1, 18)),
    ("viewed(searched())", "searched() cannot be used inside viewed()", (1, 8)),
    ("viewed(in_audience('vip'))", "in_audience() cannot be used inside viewed()", (1, 8)),
    ("in_audience('vipp')", "unknown audience 'vipp'; did you mean 'vip'?", (1, 1)),
    ("in_audience(vip)", "in_audience() takes one audience name in quotes, e.g. in_audience('vip')", (1, 1)),
]


@pytest.mark.parametrize(("rule", "message", "position"), ERRORS, ids=[e[0] or "empty" for e in ERRORS])
def test_each_bad_rule_gets_its_exact_message_and_position(rule: str, message: str, position) -> None:
    with pytest.raises(RuleError) as caught:
        checked(rule)
    assert caught.value.message == message
    assert caught.value.position == position


def test_the_error_shows_the_rule_with_a_caret_under_the_fault() -> None:
    with pytest.raises(RuleError) as caught:
        checked("gender = 'M' AND agee BETWEEN 30 AND 40")
    assert str(caught.value) == (
        "unknown field 'agee'; did you mean 'age'? (at column 18)\n"
        "  gender = 'M' AND agee BETWEEN 30 AND 40\n"
        "                   ^^^^"
    )
