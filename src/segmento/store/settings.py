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
    key_file: str | None = Field(
        None, description="file holding the secret of keyed pseudonyms (default: <database>.key; "
        "SEGMENTO_SECRET overrides it); created on first use, mode 0600"
    )
    compact: Literal["on_erasure", "scheduled"] = Field(
        "on_erasure", description="rewrite the database file at each erasure, or leave erasures pending until "
        "`segmento gdpr compact` (cron) or compact_at"
    )
    compact_at: str | None = Field(
        None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="HH:MM: the service compacts then each day when erasures are pending",
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
    memory_limit: str | None = Field(
        None, pattern=r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$",
        description="most memory DuckDB may use, e.g. 2GB (default: DuckDB's own, 80% of RAM); "
                    "bigger sorts and joins spill to disk beside the database",
    )

    @model_validator(mode="after")
    def _spark_only(self) -> EngineSection:
        given = [k for k in ("master", "remote", "warehouse", "spark_database") if getattr(self, k) is not None]
        if self.analytics == "duckdb" and given:
            raise ValueError(f"{', '.join(given)}: only used with `analytics: spark`")
        if self.master and self.remote:
            raise ValueError("give either `master` (a Spark the process starts) or `remote` (Spark Connect), not both")
        return self
