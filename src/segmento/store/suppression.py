"""The suppression list at ingestion: rows of erased customers (or of their orders) are
counted as ``suppressed`` and dropped before any check, so they are never stored, not even
rejected into the quarantine with their raw values."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from segmento.store.customer_refs import DECLARED
from segmento.store.schema import CustomerColumn, ThroughParent
from segmento.store.pseudonyms import CUSTOMER, ORDER, Pseudonyms, default_key_file, load
from segmento.store import registry
from segmento.store.schema import TABLES

ERASED = registry.ERASED.name

LEGACY = "customer-sha256"  # erased before pseudonyms were keyed: plain SHA-256, still honoured


def _keys(table: str) -> tuple[tuple[str, str], ...]:
    """(column, kind of erased id) checked for a loaded table: its declared customer and order
    columns, and an order's own id (an erased customer's order must not come back under another)."""
    keys = [(part.column, CUSTOMER if isinstance(part, CustomerColumn) else ORDER)
            for part in DECLARED[table] if isinstance(part, CustomerColumn | ThroughParent)]
    return tuple(keys + ([("order_id", ORDER)] if table == "orders" else []))


KEYS = {table: _keys(table) for table in TABLES}


@dataclass(frozen=True)
class Suppression:
    """The erased pseudonyms by kind, and the secret that makes them."""

    pseudonyms: Pseudonyms
    erased: dict[str, frozenset[str]]

    @classmethod
    def held(cls, con: BaseBackend, pseudonyms: Pseudonyms) -> Suppression:
        rows = con.table(ERASED).select("id_hash", "kind").to_pyarrow().to_pylist()
        erased = {kind: frozenset(r["id_hash"] for r in rows if r["kind"] == kind) for kind in (CUSTOMER, ORDER, LEGACY)}
        return cls(pseudonyms, erased)

    @classmethod
    def of_base(cls, con: BaseBackend) -> Suppression | None:
        """The base's list under its default secret (None while it is empty: no secret needed)."""
        if not con.table(ERASED).count().execute():
            return None
        return cls.held(con, load(con, default_key_file(con)))

    def drop(self, table: str, batch: pa.Table, mapping: dict[str, str]) -> tuple[pa.Table, int]:
        """The batch without the rows of erased customers and orders, and how many those were."""
        mask = self.mask(table, {ours: batch[theirs] for ours, theirs in mapping.items()})
        dropped = 0 if mask is None else pc.sum(mask).as_py() or 0
        return (batch.filter(pc.invert(mask)), dropped) if dropped else (batch, 0)

    def mask(self, table: str, values: dict[str, pa.ChunkedArray]) -> pa.ChunkedArray | None:
        """True for the rows to suppress, given the raw values of the table's key columns."""
        mask = None
        for column, kind in KEYS.get(table, ()):
            if column not in values or not (self.erased[kind] or kind == CUSTOMER and self.erased[LEGACY]):
                continue
            text = pc.cast(values[column], pa.string())
            unique = pc.unique(text).drop_null().to_pylist()
            hits = [v for v in unique if self.pseudonyms.of(v) in self.erased[kind]
                    or kind == CUSTOMER and hashlib.sha256(v.encode()).hexdigest() in self.erased[LEGACY]]
            found = pc.fill_null(pc.is_in(text, value_set=pa.array(hits, pa.string())), False)
            mask = found if mask is None else pc.or_(mask, found)
        return mask

    def line(self, text: str) -> bool:
        """A line that did not split into the table's fields: suppressed when any field is an erased id."""
        fields = next(csv.reader([text]), [])
        erased = self.erased[CUSTOMER] | self.erased[ORDER]
        return any(self.pseudonyms.of(field.strip()) in erased for field in fields)
