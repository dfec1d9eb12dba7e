"""Figures for people: every formatted number reads back to the value it shows (checked against
Python's own parsing), with separators every three digits and the unit where it belongs."""

from __future__ import annotations

import math
import re
from datetime import date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from segmento import formatting as fmt

GROUPED = re.compile(r"\d{1,3}(,\d{3})*")


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=10**12))
def test_counts_group_thousands_and_read_back(n: int) -> None:
    text = fmt.count(n)
    assert GROUPED.fullmatch(text) and int(text.replace(",", "")) == n


@settings(max_examples=300)
@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.sampled_from(["EUR", "USD", "GBP", "SEK"]))
def test_money_carries_its_currency_and_reads_back_to_the_unit(amount: float, currency: str) -> None:
    text = fmt.money(amount, currency)
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(currency)
    body = text.lstrip("−")
    if symbol:
        assert body.startswith(symbol)
        body = body[len(symbol):]
    else:
        assert body.endswith(f" {currency}")
        body = body[: -len(currency) - 1]
    assert GROUPED.fullmatch(body)
    shown = int(body.replace(",", "")) * (-1 if text.startswith("−") else 1)
    assert abs(shown - amount) <= 0.5 + 1e-9 * abs(amount)


@settings(max_examples=300)
@given(st.floats(min_value=0, max_value=1, allow_nan=False))
def test_percentages_read_back_and_small_shares_keep_two_digits(share: float) -> None:
    text = fmt.percent(share)
    assert text.endswith("%")
    value = float(text[:-1].replace(",", ""))
    if 100 * share >= 0.05 or share == 0:
        assert abs(value - 100 * share) <= 0.05 + 1e-12
    else:  # 0.0042% rather than 0.0%
        assert value > 0 and math.isclose(value, float(f"{100 * share:.2g}"))


def test_feature_values_follow_their_unit() -> None:
    assert fmt.value(27451.67, "currency") == "€27,452"
    assert fmt.value(12.5, "currency", "USD") == "$12.50"
    assert fmt.value(0.69, "share") == "69.0%"
    assert fmt.value(True) == "yes" and fmt.value(False) == "no"
    assert fmt.value(["camping", "ski"]) == "camping, ski"
    assert fmt.value(1, "days") == "1 day" and fmt.value(84.0, "days") == "84 days"
    assert fmt.value(None) == fmt.MISSING and fmt.value(float("nan"), "share") == fmt.MISSING
    assert fmt.value(1234567, "orders") == "1,234,567"
    assert fmt.value(3.14159) == "3.14"


def test_dates_and_changes() -> None:
    assert fmt.day(date(2024, 12, 31)) == "2024-12-31"
    assert fmt.day(datetime(2024, 12, 31, 18, 5)) == "2024-12-31 18:05"
    assert fmt.day(datetime(2024, 12, 31)) == "2024-12-31"
    assert fmt.points(0.012) == "+1.2 pt" and fmt.points(-0.004) == "−0.4 pt" and fmt.points(0) == "±0.0 pt"
    assert fmt.compact_money(1_234_567) == "€1.2M" and fmt.compact_money(45_300) == "€45k"
    assert fmt.compact_money(830) == "€830"
