"""Profile axis: who the customer is at D (age moves with D, so it is computed, not stored)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from segmento.features.model import Context, Feature, Windows

AXIS = "profile"


def _age(ctx: Context, t: ibis.Table) -> ir.IntegerValue:
    """Whole years at D: the birthday counts from its day (29 Feb birthdays from 1 Mar)."""
    born, day = t.birth_date, ctx.as_of.day
    not_yet = (born.month() > day.month) | ((born.month() == day.month) & (born.day() > day.day))
    return (day.year - born.year().cast("int64") - not_yet.cast("int64")).cast("int64")


def _region(ctx: Context, t: ibis.Table) -> ir.StringValue:
    """Country + first two postcode characters ('FR-69'): a department in France."""
    postcode = t.postcode.strip()
    known = t.country.notnull() & postcode.notnull() & (postcode.length() > 0)
    return ibis.ifelse(known, t.country.concat("-", postcode.substr(0, 2)), ibis.null("string"))


def _column(name: str, description: str) -> Feature:
    return Feature(name, AXIS, description, "", "string", "customers", value=lambda ctx, t: t[name])


def features(windows: Windows, categories: tuple[str, ...] | None) -> list[Feature]:
    return [
        Feature("age", AXIS, "Age in whole years at D (null if no birth date)", "years", "int64", "customers",
                value=_age),
        _column("gender", "Gender: F, M or X"),
        Feature("tenure_days", AXIS, "Days since signing up", "days", "int64", "customers",
                value=lambda ctx, t: ctx.as_of.days_since(t.signup_date)),
        _column("country", "ISO country code"),
        Feature("region", AXIS, "Country and first two postcode characters, e.g. FR-69", "", "string",
                "customers", value=_region),
        _column("city", "City"),
    ]  # fmt: skip
