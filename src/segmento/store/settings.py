"""The store's sections of the project file: where sources are read from, data protection, the engine."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from segmento.settings import Strict
from segmento.store.options import IngestOptions


class _Where(Strict):
    table: str
    path: str


class SourceMapping(IngestOptions, _Where):
    """How to read one user file (or directory, or glob) into a knowledge-base table."""

    def options(self) -> dict[str, Any]:
        """The ingestion options, as ``ingest`` takes them."""
        return self.model_dump(exclude={"table", "path"}, exclude_unset=True)


class Gdpr(Strict):
    """Data-protection settings."""

    retention_days: dict[Literal["events", "orders"], int] = Field(
        default_factory=dict, description="purge rows older than this many days, e.g. {events: 730}"
    )


class EngineSection(Strict):
    """Where the analytical batch runs. DuckDB (the default) holds everything in one file;
    with Spark, the knowledge base and every batch output are Parquet tables in a warehouse."""

    analytics: Literal["duckdb", "spark"] = Field("duckdb", description="engine of the knowledge base and batch")
    master: str | None = Field(None, description="Spark master, e.g. local[2], yarn, spark://host:7077")
    remote: str | None = Field(None, description="Spark Connect endpoint of a cluster, e.g. sc://host:15002")
    warehouse: str | None = Field(None, description="directory or URI of the Parquet tables (local Spark)")
    spark_database: str | None = Field(None, description="Spark database (namespace) holding the tables")
    conf: dict[str, str | int | float | bool] = Field(default_factory=dict, description="extra Spark settings")

    @model_validator(mode="after")
    def _spark_only(self) -> EngineSection:
        given = [k for k in ("master", "remote", "warehouse", "spark_database") if getattr(self, k) is not None]
        if self.analytics == "duckdb" and given:
            raise ValueError(f"{', '.join(given)}: only used with `analytics: spark`")
        if self.master and self.remote:
            raise ValueError("give either `master` (a Spark the process starts) or `remote` (Spark Connect), not both")
        return self
