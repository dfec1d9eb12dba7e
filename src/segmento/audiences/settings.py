"""The audiences section of the project file: named rule-based audiences."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from segmento.audiences.ast import RuleError
from segmento.audiences.parser import parse_rule
from segmento.settings import Strict

AUDIENCE_NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,62}"


def _check_audience_name(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(AUDIENCE_NAME_PATTERN, value):
        raise PydanticCustomError(
            "audience_name",
            "bad audience name {value}: use lowercase letters, digits, '_' or '-' (at most 63), e.g. email_vips",
            {"value": repr(value)},
        )
    return value


def _check_rule_syntax(value: Any) -> str:
    """Syntax only here (names and types need the feature catalog, checked when audiences load)."""
    text = str(value) if isinstance(value, (int, float, bool)) else value
    if not isinstance(text, str):
        raise PydanticCustomError("rule", "a rule is text, e.g. rule: gender = 'F' AND age < 30", {})
    try:
        parse_rule(text)
    except RuleError as exc:
        raise PydanticCustomError("rule", "{message}", {"message": str(exc)}) from None
    return text


class AudienceDefinition(Strict):
    """A named, rule-based audience: a SQL-style condition over features and events."""

    name: Annotated[str, BeforeValidator(_check_audience_name)]
    rule: Annotated[str, BeforeValidator(_check_rule_syntax)] = Field(
        description="e.g. gender = 'M' AND age BETWEEN 30 AND 40 AND 'tennis' IN interests_90d"
    )
    description: str = ""
    owner: str = ""
    tags: list[str] = Field(default_factory=list)
