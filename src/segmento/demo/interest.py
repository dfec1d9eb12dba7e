"""What each customer is into this month.

Every month a customer has a focus category: usually one of her favourites, weighted by the
season, and often the same as last month. Browsing leans on this month's focus, and buying
on this month's and last month's, so views of a category precede and predict purchases in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmento.demo.catalogue import CATEGORIES, category_season
from segmento.demo.population import Population
from segmento.demo.sampling import choose_rows
from segmento.demo.window import Month

FAVOURITE_WEIGHTS = np.array([0.55, 0.30, 0.15])
KEEP_FOCUS = 0.6  # chance the focus carries over to next month
STRAY = 0.12  # chance a new focus is outside the favourites
_SEASON = category_season()
_APPEAL = np.array([c.appeal for c in CATEGORIES]).mean(axis=1)


@dataclass(frozen=True)
class InterestMix:
    """Where the category of a purchase, view or question comes from (shares summing to 1)."""

    focus: float
    previous_focus: float
    favourite: float
    anything: float


@dataclass(frozen=True)
class Interest:
    focus: np.ndarray  # category code per customer, this month
    previous_focus: np.ndarray  # last month's


def initial_interest(rng: np.random.Generator, population: Population, month: Month) -> Interest:
    """First month: a fresh focus for everyone."""
    focus = _new_focus(rng, population, month, np.arange(population.size))
    return Interest(focus, focus)


def next_interest(rng: np.random.Generator, interest: Interest, population: Population, month: Month) -> Interest:
    """Keep last month's focus or move on to another category."""
    moves = np.flatnonzero(rng.random(population.size) >= KEEP_FOCUS)
    focus = interest.focus.copy()
    focus[moves] = _new_focus(rng, population, month, moves)
    return Interest(focus, interest.focus)


def categories(
    rng: np.random.Generator, customers: np.ndarray, interest: Interest, population: Population, month: Month,
    mix: InterestMix,
) -> np.ndarray:
    """One category per row for these customers, drawn from their interest with the given mix."""
    source = rng.choice(4, size=len(customers), p=[mix.focus, mix.previous_focus, mix.favourite, mix.anything])
    chosen = np.where(source == 0, interest.focus[customers], interest.previous_focus[customers])
    favourite = source == 2
    chosen[favourite] = _seasonal_favourite(rng, population, month, customers[favourite])
    anything = source == 3
    chosen[anything] = _any_category(rng, month, int(anything.sum()))
    return chosen.astype(np.int16)


def _new_focus(rng: np.random.Generator, population: Population, month: Month, customers: np.ndarray) -> np.ndarray:
    """A favourite in season, or now and then any category."""
    focus = _seasonal_favourite(rng, population, month, customers)
    strays = rng.random(len(customers)) < STRAY
    focus[strays] = _any_category(rng, month, int(strays.sum()))
    return focus


def _seasonal_favourite(
    rng: np.random.Generator, population: Population, month: Month, customers: np.ndarray
) -> np.ndarray:
    """One of each customer's favourites, in-season ones more likely."""
    favourites = population.favourites[customers]
    weights = FAVOURITE_WEIGHTS * _SEASON[favourites, month.calendar_month - 1]
    return np.take_along_axis(favourites, choose_rows(rng, weights)[:, None], axis=1)[:, 0]


def _any_category(rng: np.random.Generator, month: Month, n: int) -> np.ndarray:
    weights = _APPEAL * _SEASON[:, month.calendar_month - 1]
    return rng.choice(len(CATEGORIES), size=n, p=weights / weights.sum()).astype(np.int16)
