"""One customer's features now: the live path of the customer 360 (customers written since the read
model was built, ``?fresh=true``, the answer to a written order)."""

from __future__ import annotations

import threading
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from segmento.predictive.scoring import SCORES
from segmento.predictive.summary import TRIPLE
from segmento.store.customer_rows import ORDER_LINES, RowsOf, owned_by_customers
from segmento.store.engines import local
from segmento.store.registry import REGISTRY
from segmento.workspace import Workspace


class FeatureSQL:
    """The features query of one instant, compiled once, run on one customer's rows.

    Building and compiling the features expression takes most of a second, so it is done once per
    instant. The engine running the whole query filtered on the customer still scanned the events and
    orders (0.7 s at 1M customers: a filter on the customer beside a window does not use the
    customer_id index); the customer's rows come back through the index in milliseconds, and the same
    SQL runs on them alone in a private in-memory engine, as the real-time path does
    (audiences/slice_features.py). Tables holding no customer's rows (the predictive scores of purchase
    histories, the campaigns) are read whole once, with the compilation that scores that instant's histories.
    Of the scores, each read passes on those of the customer's purchase history alone (its BTYD triple,
    computed first from the same rows): the scores grow with every instant scored, and joined whole they
    cost each read more as they do (17 ms for the demo base's 355,000, 55 ms for 2.8M).
    """

    def __init__(self, ws: Workspace, as_of: datetime) -> None:
        self.as_of = as_of
        features = ws.features(as_of)
        self.schema = features.schema().to_pyarrow()
        self.sql = local.compile_local(features)
        # order lines last: they are read by the ids of the orders read before them
        read = {name: ws.con.table(name) for name in sorted(local.tables_read(self.sql, REGISTRY), key=ORDER_LINES.__eq__)}
        self.lookups = {name: RowsOf(ws.con, name, t.columns) for name, t in read.items() if owned_by_customers(t)}
        self.shared = {name: t.to_pyarrow() for name, t in read.items() if name not in self.lookups}
        self.scores = self.shared.pop(SCORES, None)
        self.triple = local.compile_local(ws.features(as_of, TRIPLE)) if self.scores is not None else ""
        self.local = local.LocalQuery()
        self.lock = threading.Lock()  # one private engine, asked by every request thread

    def one(self, ws: Workspace, customer_id: str) -> pa.Table:
        """The customer's features row (no row: not a customer as of that instant)."""
        rows: dict[str, pa.Table] = {}
        for name, lookup in self.lookups.items():
            rows[name] = lookup.read(ws.con, customer_id, rows.get("orders"))
        with self.lock:
            shared = self.shared if self.scores is None else {**self.shared, SCORES: self._scores_of(rows)}
            found = self.local.table({**rows, **shared}, self.sql)
        return found.cast(self.schema)

    def _scores_of(self, rows: dict[str, pa.Table]) -> pa.Table:
        """The scores of the customer's purchase history (every model version's): none without an order."""
        triple = self.local.table(rows, self.triple).to_pylist()
        values = triple[0] if triple else {}
        if any(values.get(name) is None for name in TRIPLE):
            return self.scores.slice(0, 0)
        same = [pc.equal(self.scores[name], pa.scalar(float(values[name]))) for name in TRIPLE]
        return self.scores.filter(pc.and_(pc.and_(same[0], same[1]), same[2]))
