"""The product catalogue of a French sports retailer: categories, products, prices and sizes.

Each product has one size system: shoe sizes ('36'..'46'), apparel sizes ('XS'..'XXL') or
none (rackets, tents, gels...). A customer has one shoe size and one apparel size, so what
she views and what she buys share a size: someone browsing hiking shoes in 43 buys 43s.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa

from segmento.demo import columns
from segmento.demo.sampling import choose_rows

NO_SIZE, SHOE, APPAREL = 0, 1, 2
SHOE_SIZES: tuple[str, ...] = tuple(str(size) for size in range(36, 47))
APPAREL_SIZES: tuple[str, ...] = ("XS", "S", "M", "L", "XL", "XXL")
SIZES: tuple[str, ...] = SHOE_SIZES + APPAREL_SIZES  # size codes index this
_SIZE_RANGE = {SHOE: (0, len(SHOE_SIZES) - 1), APPAREL: (len(SHOE_SIZES), len(SIZES) - 1)}
PRODUCTS_PER_CATEGORY = 48


@dataclass(frozen=True)
class Category:
    """A product category and who it appeals to."""

    name: str
    mean_price: float
    size_mix: tuple[float, float, float]  # share of products sized none, shoe, apparel
    appeal: tuple[float, float, float]  # popularity among F, M, X customers
    peak_age: float
    age_spread: float
    busy_months: tuple[tuple[int, float], ...] = ()  # (calendar month, multiplier) where it sells more
    extra_units: float = 0.0  # mean units beyond the first on a line (consumables)
    terrain: str | None = None  # 'mountain' or 'sea': where customers like it more
    searches: tuple[str, ...] = ()


CATEGORIES: tuple[Category, ...] = (
    Category("running", 75, (0.15, 0.55, 0.30), (1.0, 1.1, 1.0), 33, 13,
             ((1, 1.4), (3, 1.2), (4, 1.2), (9, 1.3)), 0.05, None,
             ("chaussures running", "running shoes", "tenue running", "montre gps")),
    Category("tennis", 60, (0.40, 0.25, 0.35), (0.7, 0.9, 0.8), 40, 16,
             ((5, 1.3), (6, 1.3)), 0.1, None, ("raquette tennis", "balles tennis", "chaussures tennis")),
    Category("hiking shoes", 115, (0.0, 1.0, 0.0), (0.75, 0.9, 0.8), 45, 15,
             ((4, 1.3), (5, 1.4), (6, 1.4), (7, 1.4), (8, 1.3)), 0.0, "mountain",
             ("chaussures randonnée", "hiking shoes", "chaussures montagne")),
    Category("outdoor clothing", 65, (0.1, 0.0, 0.9), (0.8, 0.8, 0.8), 45, 16,
             ((10, 1.3), (11, 1.4), (1, 1.2)), 0.05, "mountain", ("veste imperméable", "polaire", "doudoune")),
    Category("cycling", 80, (0.6, 0.0, 0.4), (0.4, 1.0, 0.6), 45, 13,
             ((4, 1.3), (5, 1.3), (6, 1.3)), 0.1, None, ("casque vélo", "cuissard", "éclairage vélo")),
    Category("fitness", 35, (0.5, 0.0, 0.5), (1.0, 0.8, 0.9), 33, 12,
             ((1, 1.6), (9, 1.2)), 0.2, None, ("haltères", "tapis fitness", "legging sport")),
    Category("yoga", 30, (0.4, 0.0, 0.6), (1.2, 0.3, 0.9), 36, 12,
             ((1, 1.3),), 0.1, None, ("tapis yoga", "brassière yoga")),
    Category("swimming", 30, (0.3, 0.0, 0.7), (0.9, 0.7, 0.8), 35, 16,
             ((5, 1.3), (6, 1.8), (7, 1.8), (8, 1.4)), 0.2, "sea", ("maillot de bain", "lunettes natation")),
    Category("football", 45, (0.3, 0.35, 0.35), (0.3, 1.1, 0.6), 24, 10,
             ((8, 1.3), (9, 1.3)), 0.1, None, ("crampons", "ballon football", "maillot foot")),
    Category("ski", 130, (0.5, 0.1, 0.4), (0.6, 0.7, 0.6), 40, 14,
             ((11, 1.4), (12, 2.0), (1, 2.0), (2, 1.8), (5, 0.3), (6, 0.2), (7, 0.2), (8, 0.2)), 0.0, "mountain",
             ("skis", "masque ski", "pantalon ski")),
    Category("camping", 85, (1.0, 0.0, 0.0), (0.6, 0.8, 0.7), 40, 12,
             ((5, 1.4), (6, 1.6), (7, 1.6), (12, 0.5), (1, 0.5)), 0.1, None, ("tente", "sac de couchage", "réchaud")),
    Category("nutrition", 16, (1.0, 0.0, 0.0), (0.5, 0.9, 0.7), 30, 10,
             ((1, 1.3),), 1.0, None, ("barres énergétiques", "protéine", "gel énergétique")),
    Category("accessories", 20, (1.0, 0.0, 0.0), (1.0, 1.0, 1.0), 40, 20,
             ((12, 1.8),), 0.3, None, ("gourde", "sac à dos", "chaussettes")),
)
CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
SEARCH_TERMS: tuple[str, ...] = tuple(term for c in CATEGORIES for term in c.searches)
_SEARCH_COUNT = np.array([len(c.searches) for c in CATEGORIES])
_SEARCH_START = np.concatenate([[0], np.cumsum(_SEARCH_COUNT)[:-1]])


def category_season() -> np.ndarray:
    """(category, calendar month 0..11) multipliers: ski in winter, swimming in summer."""
    season = np.ones((len(CATEGORIES), 12))
    for index, category in enumerate(CATEGORIES):
        for month, multiplier in category.busy_months:
            season[index, month - 1] = multiplier
    return season


@dataclass(frozen=True)
class Catalogue:
    """Products sorted by category then price, so a category is a contiguous, price-ordered range."""

    category: np.ndarray  # per product
    price: np.ndarray  # list price, EUR
    size_system: np.ndarray  # NO_SIZE, SHOE or APPAREL
    first_product: np.ndarray  # per category

    @cached_property
    def product_ids(self) -> pa.Array:
        return columns.ids("P", np.arange(1, len(self.category) + 1), 5)

    def pick(self, rng: np.random.Generator, categories: np.ndarray, price_tier: np.ndarray) -> np.ndarray:
        """A product in each category; a low price tier leans to the expensive end of the range."""
        position = rng.random(len(categories)) ** price_tier
        return self.first_product[categories] + (position * PRODUCTS_PER_CATEGORY).astype(np.int64)

    def sizes(
        self, rng: np.random.Generator, products: np.ndarray, shoe_size: np.ndarray, apparel_size: np.ndarray,
        fidelity: float,
    ) -> np.ndarray:
        """Size code of each product for its customer: her own size, or a neighbour with 1 - fidelity."""
        system = self.size_system[products]
        own = np.where(system == SHOE, shoe_size, np.where(system == APPAREL, apparel_size, -1))
        step = np.where(rng.random(len(products)) < fidelity, 0, rng.choice([-1, 1], size=len(products)))
        low = np.where(system == APPAREL, _SIZE_RANGE[APPAREL][0], _SIZE_RANGE[SHOE][0])
        high = np.where(system == APPAREL, _SIZE_RANGE[APPAREL][1], _SIZE_RANGE[SHOE][1])
        return np.where(system == NO_SIZE, -1, np.clip(own + step, low, high)).astype(np.int8)


def build_catalogue(rng: np.random.Generator) -> Catalogue:
    """PRODUCTS_PER_CATEGORY products per category, list prices ending in .99."""
    category = np.repeat(np.arange(len(CATEGORIES)), PRODUCTS_PER_CATEGORY)
    mean_price = np.array([c.mean_price for c in CATEGORIES])[category]
    raw_price = mean_price * rng.lognormal(-0.1, 0.45, size=len(category))
    price = np.maximum(np.floor(raw_price), 2) + 0.99
    size_mix = np.array([c.size_mix for c in CATEGORIES])[category]
    size_system = choose_rows(rng, size_mix)
    order = np.lexsort((price, category))
    first_product = np.arange(len(CATEGORIES)) * PRODUCTS_PER_CATEGORY
    return Catalogue(category[order], price[order], size_system[order].astype(np.int8), first_product)


def search_terms(rng: np.random.Generator, categories: np.ndarray) -> np.ndarray:
    """A search term code (into SEARCH_TERMS) typical of each category."""
    return _SEARCH_START[categories] + (rng.random(len(categories)) * _SEARCH_COUNT[categories]).astype(np.int64)
