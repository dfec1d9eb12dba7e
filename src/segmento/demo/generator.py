"""Realistic synthetic retail data: the public entry points.

`generate` builds the customer base, its consent ledger and campaign calendar once, then
simulates month by month (personas drift, interests move, orders and events follow) and
concatenates each month's Arrow chunks. `write_demo` runs the same simulation but streams
each month to Parquet, for bases too large to hold in memory. Same seed, same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from segmento.demo import columns
from segmento.demo.behaviour import month_events
from segmento.demo.campaigns import Campaign, plan_campaigns
from segmento.demo.catalogue import Catalogue, build_catalogue
from segmento.demo.consents import Ledger, build_ledger, consents_table
from segmento.demo.context import MonthContext
from segmento.demo.events import events_table
from segmento.demo.interest import Interest, initial_interest, next_interest
from segmento.demo.personas import PERSONA_NAMES, drift
from segmento.demo.population import Population, build_population, customer_ids, customers_table
from segmento.demo.purchases import lines_table, orders_table, simulate_purchases
from segmento.demo.window import Month, Window, build_window
from segmento.store.schema import TABLES

DEFAULT_END = date(2024, 12, 31)
TRUTH_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("month", pa.date32(), nullable=False),  # last day of the month (or the window's end)
        pa.field("persona", pa.string(), nullable=False),
    ]
)
MONTHLY_TABLES = ("orders", "order_lines", "events", "truth")


@dataclass(frozen=True)
class DemoData:
    """The five knowledge-base tables, plus `truth`: each customer's latent persona per month."""

    customers: pa.Table
    orders: pa.Table
    order_lines: pa.Table
    events: pa.Table
    consents: pa.Table
    truth: pa.Table

    def tables(self) -> dict[str, pa.Table]:
        """Tables by name: the knowledge-base tables first, then truth."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class MonthChunk:
    """One month of the tables that grow with time."""

    orders: pa.Table
    order_lines: pa.Table
    events: pa.Table
    truth: pa.Table


class Simulation:
    """The fixed world (customers, catalogue, consents, campaigns) and the month-by-month simulation over it."""

    def __init__(self, customers: int, months: int, seed: int, end: date) -> None:
        self.window: Window = build_window(end, months)
        setup_seed, *month_seeds = np.random.SeedSequence(seed).spawn(1 + months)
        setup = np.random.default_rng(setup_seed)
        self.catalogue: Catalogue = build_catalogue(setup)
        self.population: Population = build_population(setup, customers, self.window)
        self.ledger: Ledger = build_ledger(setup, self.population, self.window)
        self.campaigns: tuple[Campaign, ...] = plan_campaigns(setup, self.window)
        self._month_seeds = month_seeds

    def customers_table(self) -> pa.Table:
        return customers_table(self.population)

    def consents_table(self) -> pa.Table:
        return consents_table(self.ledger, self.population.size)

    def months(self) -> Iterator[MonthChunk]:
        """Simulate each month in turn; ids keep counting across months."""
        personas = self.population.initial_persona.copy()
        interest: Interest | None = None
        next_order, next_event = 1, 1
        for month, seed in zip(self.window.months, self._month_seeds, strict=True):
            rng = np.random.default_rng(seed)
            if month.index > 0:
                personas = self._drift(rng, personas, self.window.months[month.index - 1])
            interest = (
                initial_interest(rng, self.population, month)
                if interest is None
                else next_interest(rng, interest, self.population, month)
            )
            context = MonthContext(month, self.window, self.population, self.catalogue, self.ledger, personas, interest)
            purchases = simulate_purchases(rng, context)
            campaigns = [(i, c) for i, c in enumerate(self.campaigns) if c.month == month.index]
            events = month_events(rng, context, purchases, campaigns)
            yield MonthChunk(
                orders=orders_table(purchases, next_order, self.population.size),
                order_lines=lines_table(purchases, next_order, self.catalogue),
                events=events_table(events, next_event, self.population.size, self.campaigns),
                truth=self._truth(month, personas),
            )
            next_order += purchases.order_count
            next_event += len(events)

    def _drift(self, rng: np.random.Generator, personas: np.ndarray, previous: Month) -> np.ndarray:
        """Customers who were already customers last month move along the transition matrix."""
        already = self.population.signup_day < previous.stop_day
        return np.where(already, drift(rng, personas), personas).astype(np.int8)

    def _truth(self, month: Month, personas: np.ndarray) -> pa.Table:
        """Persona of every customer who has signed up by the end of the month."""
        customers = np.flatnonzero(self.population.signup_day < month.stop_day)
        return pa.Table.from_arrays(
            [
                customer_ids(customers, self.population.size),
                columns.dates(np.full(len(customers), month.last_day)),
                columns.labels(PERSONA_NAMES, personas[customers]),
            ],
            schema=TRUTH_SCHEMA,
        )


def generate(customers: int, months: int, seed: int = 42, end: date = DEFAULT_END) -> DemoData:
    """A synthetic retail base of `customers` customers over the `months` months ending at `end`."""
    simulation = Simulation(customers, months, seed, end)
    chunks = list(simulation.months())
    monthly = {name: pa.concat_tables([getattr(chunk, name) for chunk in chunks]) for name in MONTHLY_TABLES}
    return DemoData(customers=simulation.customers_table(), consents=simulation.consents_table(), **monthly)


def write_parquet(data: DemoData, directory: str | Path) -> dict[str, Path]:
    """Write `<table>.parquet` for the five knowledge-base tables and `truth.parquet`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in data.tables().items():
        paths[name] = directory / f"{name}.parquet"
        pq.write_table(table, paths[name])
    return paths


def write_demo(
    directory: str | Path, customers: int, months: int, seed: int = 42, end: date = DEFAULT_END
) -> dict[str, Path]:
    """Generate and write the same files as `write_parquet(generate(...))`, holding one month in memory at a time."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    simulation = Simulation(customers, months, seed, end)
    paths = {name: directory / f"{name}.parquet" for name in (*TABLES, "truth")}
    pq.write_table(simulation.customers_table(), paths["customers"])
    pq.write_table(simulation.consents_table(), paths["consents"])
    schemas = {name: columns.arrow_schema(TABLES[name]) for name in MONTHLY_TABLES if name in TABLES}
    schemas["truth"] = TRUTH_SCHEMA
    writers = {name: pq.ParquetWriter(paths[name], schemas[name]) for name in MONTHLY_TABLES}
    try:
        for chunk in simulation.months():
            for name, writer in writers.items():
                writer.write_table(getattr(chunk, name))
    finally:
        for writer in writers.values():
            writer.close()
    return paths
