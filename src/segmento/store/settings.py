"""The store's sections of the project file: where sources are read from, and data protection."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from segmento.settings import Strict


class SourceMapping(Strict):
    """How to read one user file into a knowledge-base table."""

    table: str
    path: str
    columns: dict[str, str] = Field(default_factory=dict, description="our column -> the file's column")
    date_format: str | None = None
    timestamp_format: str | None = None
    delimiter: str | None = None
    encoding: str = "utf-8"


class Gdpr(Strict):
    """Data-protection settings."""

    retention_days: dict[Literal["events", "orders"], int] = Field(
        default_factory=dict, description="purge rows older than this many days, e.g. {events: 730}"
    )
