"""Where customers live: French cities (with their real postcodes) and a few across the borders."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np


@dataclass(frozen=True)
class City:
    name: str
    country: str
    weight: float  # relative share of customers
    postcodes: tuple[str, ...]
    has_store: bool = True
    terrain: str | None = None  # 'mountain' or 'sea'
    nearest_store: str | None = None  # where its customers shop when the city has no store

    @property
    def store(self) -> str | None:
        """The brand's store its customers call theirs."""
        return self.name if self.has_store else self.nearest_store


def _numbered(prefix: str, count: int) -> tuple[str, ...]:
    """Postcodes of a city split into districts (Paris 75001..75020)."""
    return tuple(f"{prefix}{district:02d}" for district in range(1, count + 1))


CITIES: tuple[City, ...] = (
    City("Paris", "FR", 10.0, _numbered("750", 20)),
    City("Marseille", "FR", 4.0, _numbered("130", 16), terrain="sea"),
    City("Lyon", "FR", 3.5, _numbered("690", 9)),
    City("Toulouse", "FR", 2.8, ("31000", "31100", "31200", "31300", "31400", "31500")),
    City("Nice", "FR", 2.0, ("06000", "06100", "06200", "06300"), terrain="sea"),
    City("Nantes", "FR", 2.0, ("44000", "44100", "44200", "44300")),
    City("Montpellier", "FR", 1.8, ("34000", "34070", "34080", "34090"), terrain="sea"),
    City("Strasbourg", "FR", 1.8, ("67000", "67100", "67200")),
    City("Bordeaux", "FR", 1.8, ("33000", "33100", "33200", "33300", "33800")),
    City("Lille", "FR", 1.7, ("59000", "59160", "59260", "59800")),
    City("Rennes", "FR", 1.4, ("35000", "35200", "35700")),
    City("Reims", "FR", 1.0, ("51100",)),
    City("Toulon", "FR", 1.0, ("83000", "83100", "83200"), terrain="sea"),
    City("Saint-Étienne", "FR", 1.0, ("42000", "42100")),
    City("Le Havre", "FR", 0.9, ("76600", "76610", "76620"), terrain="sea"),
    City("Grenoble", "FR", 1.0, ("38000", "38100"), terrain="mountain"),
    City("Dijon", "FR", 0.9, ("21000",)),
    City("Angers", "FR", 0.9, ("49000", "49100")),
    City("Nîmes", "FR", 0.8, ("30000", "30900")),
    City("Villeurbanne", "FR", 0.8, ("69100",), has_store=False, nearest_store="Lyon"),
    City("Clermont-Ferrand", "FR", 0.8, ("63000", "63100"), terrain="mountain"),
    City("Le Mans", "FR", 0.8, ("72000", "72100")),
    City("Aix-en-Provence", "FR", 0.8, ("13090", "13100")),
    City("Brest", "FR", 0.8, ("29200",), terrain="sea"),
    City("Tours", "FR", 0.8, ("37000", "37100", "37200")),
    City("Amiens", "FR", 0.7, ("80000", "80080", "80090")),
    City("Limoges", "FR", 0.7, ("87000", "87100")),
    City("Annecy", "FR", 0.7, ("74000", "74960"), terrain="mountain"),
    City("Perpignan", "FR", 0.7, ("66000", "66100"), terrain="sea"),
    City("Metz", "FR", 0.6, ("57000", "57050", "57070")),
    City("Besançon", "FR", 0.6, ("25000",), terrain="mountain"),
    City("Orléans", "FR", 0.6, ("45000", "45100")),
    City("Rouen", "FR", 0.6, ("76000", "76100")),
    City("Caen", "FR", 0.6, ("14000",)),
    City("Nancy", "FR", 0.6, ("54000", "54100")),
    City("La Rochelle", "FR", 0.5, ("17000",), terrain="sea"),
    City("Pau", "FR", 0.4, ("64000",), terrain="mountain"),
    City("Bayonne", "FR", 0.4, ("64100",), terrain="sea"),
    City("Chambéry", "FR", 0.4, ("73000",), terrain="mountain"),
    City("Chamonix-Mont-Blanc", "FR", 0.1, ("74400",), has_store=False, terrain="mountain", nearest_store="Annecy"),
    City("Bruxelles", "BE", 1.6, ("1000", "1050", "1180")),
    City("Liège", "BE", 0.5, ("4000",), has_store=False, nearest_store="Bruxelles"),
    City("Namur", "BE", 0.3, ("5000",), has_store=False, nearest_store="Bruxelles"),
    City("Barcelona", "ES", 0.9, ("08001", "08008", "08015"), has_store=False, terrain="sea"),
    City("San Sebastián", "ES", 0.3, ("20001",), has_store=False, terrain="sea"),
    City("Madrid", "ES", 0.4, ("28001", "28004"), has_store=False),
    City("Freiburg im Breisgau", "DE", 0.4, ("79098",), has_store=False, terrain="mountain"),
    City("Saarbrücken", "DE", 0.4, ("66111",), has_store=False),
    City("Berlin", "DE", 0.3, ("10115", "10245"), has_store=False),
)


@dataclass(frozen=True)
class Addresses:
    """One row per (city, postcode): the vocabulary customers' addresses are drawn from."""

    city: np.ndarray  # city index per address
    postcodes: tuple[str, ...]
    weight: np.ndarray

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(len(self.city), size=n, p=self.weight / self.weight.sum())


@cache
def addresses() -> Addresses:
    """Every postcode of every city, sharing the city's weight."""
    city = [index for index, c in enumerate(CITIES) for _ in c.postcodes]
    weight = [c.weight / len(c.postcodes) for c in CITIES for _ in c.postcodes]
    postcodes = tuple(code for c in CITIES for code in c.postcodes)
    return Addresses(np.array(city), postcodes, np.array(weight))
