"""How to read one source: every option of an ingestion, validated once.

The same options come from Python keywords, CLI options and a project file's
``sources:`` entry; ``Syntax`` writes an option back the way the user wrote it, so an
error message tells the fix in the words of where it is shown.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from segmento.errors import SegmentoError

DEFAULT_RANGE = (date(1900, 1, 1), date(2100, 12, 31))


class IngestOptions(BaseModel):
    """Reading, mapping and value options of one source (see the README's ingestion section)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, arbitrary_types_allowed=True)

    columns: dict[str, str] = Field(default_factory=dict, description="our column -> the file's column")
    header: bool = Field(True, description="false: the file has no header row; give names")
    names: list[str] | None = Field(None, description="the file's column names when it has no header")
    delimiter: str | None = Field(None, description="one character, 'tab' or 'whitespace'; detected when omitted")
    encoding: str = "utf-8"
    null_tokens: list[str] = Field(default_factory=list, description="text read as NULL besides an empty field")
    date_format: str | None = None
    timestamp_format: str | None = None
    decimal: Literal[".", ","] = "."
    thousands: str | None = Field(None, description="thousands separator in numbers, e.g. '.' or ' '")
    constants: dict[str, str] = Field(default_factory=dict, alias="set", description="column -> a constant value")
    values: dict[str, dict[str, str]] = Field(default_factory=dict, description="column -> {theirs: ours}")
    id_from: Literal["line"] | list[str] | None = Field(
        None, description="make the key from the line ('line') or a hash of these source columns"
    )
    currency: str | None = Field(None, description="the project currency amounts are stored in")
    rates: Any = Field(None, description="rates file or frame: currency, date, rate (1 unit = rate project units)")
    min_date: date = DEFAULT_RANGE[0]
    max_date: date = DEFAULT_RANGE[1]

    @field_validator("thousands")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 1:
            raise ValueError("give one character, e.g. '.' or ' '")
        return value

    @field_validator("currency")
    @classmethod
    def _iso_code(cls, value: str | None) -> str | None:
        if value is not None and not (len(value) == 3 and value.isalpha()):
            raise ValueError("give an ISO 4217 code such as EUR")
        return value.upper() if value else value


def options_from(syntax: "Syntax", **given: Any) -> IngestOptions:
    """Validate keyword options, naming a wrong one in the caller's syntax."""
    given = {k: v for k, v in given.items() if v is not None}
    try:
        return IngestOptions(**given)
    except ValidationError as exc:  # one line, naming the option as the caller wrote it
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "options"
        raise SegmentoError(f"{syntax.option(name)}: {first['msg']}") from None


class Syntax:
    """Options as the user writes them: Python keywords, CLI options or project-file keys."""

    CLI_NAMES = {"columns": "-m", "constants": "--set", "values": "--values", "null_tokens": "--null-token"}

    def __init__(self, kind: Literal["python", "cli", "yaml"] = "python") -> None:
        self.kind = kind

    def option(self, name: str) -> str:
        if self.kind == "cli":
            return self.CLI_NAMES.get(name, "--" + name.replace("_", "-"))
        return name

    def assign(self, name: str, value: Any) -> str:
        """``encoding='latin-1'`` / ``--encoding latin-1`` / ``encoding: latin-1``."""
        if self.kind == "cli":
            return f"{self.option(name)} {value}"
        if self.kind == "yaml":
            return f"{name}: {value}"
        return f"{name}={value!r}"

    def pair(self, name: str, key: str, value: str) -> str:
        """``columns={'order_id': 'THEIRS'}`` / ``-m order_id=THEIRS`` / ``columns: {order_id: THEIRS}``."""
        if self.kind == "cli":
            return f"{self.option(name)} {key}={value}"
        if self.kind == "yaml":
            return f"{name}: {{{key}: {value}}}"
        return f"{name}={{{key!r}: {value!r}}}"
