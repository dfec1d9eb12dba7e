"""Everything one month's simulation reads: the fixed world and the customers' state this month."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from segmento.demo.catalogue import Catalogue
from segmento.demo.consents import Ledger
from segmento.demo.interest import Interest
from segmento.demo.personas import persona_values
from segmento.demo.population import Population
from segmento.demo.window import US_PER_DAY, Month, Window


@dataclass(frozen=True)
class MonthContext:
    month: Month
    window: Window
    population: Population
    catalogue: Catalogue
    ledger: Ledger
    personas: np.ndarray  # persona code per customer this month
    interest: Interest

    @cached_property
    def first_day(self) -> np.ndarray:
        """First day each customer can act this month: the month start, or her signup day."""
        return np.maximum(self.population.signup_day, self.month.start_day)

    @cached_property
    def exposure(self) -> np.ndarray:
        """Share of the month each customer is a customer (0 before signup): scales every rate."""
        return self.month.exposure(self.population.signup_day)

    @cached_property
    def earliest_us(self) -> np.ndarray:
        """No event may come before this instant: the window start, or the customer's signup day."""
        return np.maximum(self.population.signup_day, self.window.start_day) * US_PER_DAY

    def per_customer(self, attribute: str) -> np.ndarray:
        """A persona attribute for every customer, from her persona this month."""
        return persona_values(attribute)[self.personas]
