"""The customer base: who each customer is, what she likes, when she joined.

Everything a customer keeps for the whole window (sizes, favourite categories, channel
habits, how active and how reactive she is) is drawn once here; the monthly simulation
only changes her persona and her current interest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from segmento.demo import columns
from segmento.demo.catalogue import CATEGORIES, SHOE_SIZES
from segmento.demo.personas import NEW, initial_personas, persona_values
from segmento.demo.places import CITIES, addresses
from segmento.demo.sampling import chance, choose_rows
from segmento.demo.window import SEASON, Window
from segmento.errors import SegmentoError
from segmento.store.schema import CHANNELS_ORDER, CUSTOMERS, GENDERS

FEMALE, MALE, NON_BINARY = range(3)
SIGNUP_SOURCES: tuple[str, ...] = ("store", "web_form", "app")
SOURCE_STORE, SOURCE_WEB_FORM, SOURCE_APP = range(len(SIGNUP_SOURCES))
APP_CHANNEL = CHANNELS_ORDER.index("app")
FAVOURITES = 3  # categories each customer favours
NEW_FOR_DAYS = 60  # customers who joined this recently before the window start as 'new'
JOINERS_PER_MONTH = 0.012  # share of the base that joins in each month of the window
MAX_JOINER_SHARE = 0.45
_DAYS_PER_YEAR = 365.25
_APPAREL_BY_GENDER = np.array(
    [
        [0.12, 0.32, 0.32, 0.16, 0.06, 0.02],  # F
        [0.02, 0.12, 0.30, 0.32, 0.17, 0.07],  # M
        [0.07, 0.22, 0.31, 0.24, 0.11, 0.05],  # X or unknown
    ]
)
_SHOE_SIZE_BY_GENDER = np.array([[38.6, 1.3], [42.6, 1.4], [40.5, 2.2]])  # mean, sd


@dataclass(frozen=True)
class Population:
    """Per-customer arrays, indexed by customer number - 1."""

    signup_day: np.ndarray
    signup_source: np.ndarray
    gender: np.ndarray  # FEMALE, MALE, NON_BINARY, -1 unknown
    birth_day: np.ndarray
    birth_unknown: np.ndarray
    age: np.ndarray  # years, at the end of the window
    address: np.ndarray
    app_user: np.ndarray
    loyalty_card: np.ndarray
    favourites: np.ndarray  # (n, FAVOURITES) category codes, strongest first
    shoe_size: np.ndarray  # size code
    apparel_size: np.ndarray  # size code
    preferred_channel: np.ndarray  # index into CHANNELS_ORDER
    activity: np.ndarray  # personal multiplier on order and browse rates, mean 1
    email_affinity: np.ndarray  # personal multiplier on email opens, mean 1
    initial_persona: np.ndarray
    traits_missing: np.ndarray

    @property
    def size(self) -> int:
        return len(self.signup_day)


def customer_ids(customers: np.ndarray, population_size: int) -> pa.Array:
    """'C0000001'-style identifiers of customer indexes."""
    return columns.ids("C", np.asarray(customers) + 1, max(7, len(str(population_size))))


def build_population(rng: np.random.Generator, n: int, window: Window) -> Population:
    """Draw n customers: profile, signup, habits and the persona they start the window with."""
    if n < 1:
        raise SegmentoError("customers must be at least 1")
    signup_day, joins_in_window = _signup_days(rng, n, window)
    gender = _genders(rng, n)
    age = _ages(rng, n, years_since_signup=(window.stop_day - 1 - signup_day) / _DAYS_PER_YEAR)
    persona = initial_personas(rng, n)
    persona[joins_in_window | (signup_day >= window.start_day - NEW_FOR_DAYS)] = NEW
    address = addresses().draw(rng, n)
    app_user = chance(rng, np.clip(0.85 - 0.012 * (age - 20), 0.1, 0.8))
    return Population(
        signup_day=signup_day,
        signup_source=_signup_sources(rng, app_user),
        gender=gender,
        birth_day=np.floor(window.stop_day - age * _DAYS_PER_YEAR).astype(np.int64),
        birth_unknown=chance(rng, 0.02, n),
        age=age,
        address=address,
        app_user=app_user,
        loyalty_card=chance(rng, persona_values("loyalty_card")[persona]),
        favourites=_favourites(rng, gender, age, address),
        shoe_size=_shoe_sizes(rng, gender),
        apparel_size=(len(SHOE_SIZES) + choose_rows(rng, _APPAREL_BY_GENDER[_gender_row(gender)])).astype(np.int8),
        preferred_channel=_preferred_channels(rng, persona, app_user),
        activity=rng.gamma(3.0, 1 / 3.0, size=n),
        email_affinity=rng.gamma(4.0, 1 / 4.0, size=n),
        initial_persona=persona,
        traits_missing=chance(rng, 0.15, n),
    )


def _signup_days(rng: np.random.Generator, n: int, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """Most customers joined before the window (recent years more often); some join during it."""
    joins = chance(rng, min(MAX_JOINER_SHARE, JOINERS_PER_MONTH * len(window.months)), n)
    years_before = np.minimum(rng.exponential(2.8, size=n), 12.0)
    signup = window.start_day - 1 - np.floor(years_before * _DAYS_PER_YEAR).astype(np.int64)
    month_weight = np.array([SEASON[m.calendar_month - 1] * (m.stop_day - m.start_day) for m in window.months])
    joining_month = rng.choice(len(window.months), size=int(joins.sum()), p=month_weight / month_weight.sum())
    joined = np.empty(len(joining_month), dtype=np.int64)
    for month in window.months:
        here = joining_month == month.index
        joined[here] = month.days(rng, np.full(int(here.sum()), month.start_day))
    signup[joins] = joined
    return signup, joins


def _genders(rng: np.random.Generator, n: int) -> np.ndarray:
    """F, M, X, or unknown (-1) for a few records."""
    code = rng.choice(4, size=n, p=[0.51, 0.46, 0.02, 0.01])
    return np.where(code == 3, -1, code).astype(np.int8)


def _gender_row(gender: np.ndarray) -> np.ndarray:
    """Row of a per-gender table: unknown gender uses the X row."""
    return np.where(gender < 0, NON_BINARY, gender)


def _ages(rng: np.random.Generator, n: int, years_since_signup: np.ndarray) -> np.ndarray:
    """Ages 18-85, two humps (young actives, 50-60s), and every customer was adult at signup."""
    young = rng.random(n) < 0.6
    age = np.where(young, rng.normal(36, 10, n), rng.normal(57, 11, n))
    return np.clip(np.maximum(age, 18 + years_since_signup), 18, 85.9)


def _signup_sources(rng: np.random.Generator, app_user: np.ndarray) -> np.ndarray:
    """Where the customer signed up: store, web form, or the app for app users."""
    source = rng.choice(3, size=len(app_user), p=[0.55, 0.33, 0.12])
    return np.where((source == SOURCE_APP) & ~app_user, SOURCE_WEB_FORM, source).astype(np.int8)


def _favourites(rng: np.random.Generator, gender: np.ndarray, age: np.ndarray, address: np.ndarray) -> np.ndarray:
    """Top categories per customer: appeal by gender and age, more mountain sports near mountains."""
    appeal = np.array([c.appeal for c in CATEGORIES]).T[_gender_row(gender)]
    peak = np.array([c.peak_age for c in CATEGORIES])
    spread = np.array([c.age_spread for c in CATEGORIES])
    age_fit = 0.25 + np.exp(-0.5 * ((age[:, None] - peak) / spread) ** 2)
    city_terrain = np.array([c.terrain or "" for c in CITIES])[addresses().city[address]]
    category_terrain = np.array([c.terrain or "-" for c in CATEGORIES])
    terrain_fit = np.where(city_terrain[:, None] == category_terrain, 2.5, 1.0)
    score = np.log(appeal * age_fit * terrain_fit) + rng.gumbel(size=appeal.shape)
    return np.argsort(-score, axis=1)[:, :FAVOURITES].astype(np.int16)


def _shoe_sizes(rng: np.random.Generator, gender: np.ndarray) -> np.ndarray:
    """Shoe size code: women around 38-39, men around 42-43."""
    mean, sd = _SHOE_SIZE_BY_GENDER[_gender_row(gender)].T
    size = np.rint(rng.normal(mean, sd))
    return np.clip(size - int(SHOE_SIZES[0]), 0, len(SHOE_SIZES) - 1).astype(np.int8)


def _preferred_channels(rng: np.random.Generator, persona: np.ndarray, app_user: np.ndarray) -> np.ndarray:
    """Each customer's habitual channel, drawn from her persona's mix (no app without the app)."""
    mix = persona_values("channel_mix")[persona].copy()
    mix[~app_user, APP_CHANNEL] = 0.0
    return choose_rows(rng, mix).astype(np.int8)


# --- the customers table -------------------------------------------------------------------


_STORES: tuple[str | None, ...] = (None, *sorted({c.store for c in CITIES if c.store}))


def _trait_vocabulary() -> list[str]:
    """Every traits JSON a customer can have: loyalty card x preferred store x app user."""
    vocabulary = []
    for card in (False, True):
        for store in _STORES:
            for app in (False, True):
                traits: dict[str, object] = {"loyalty_card": card}
                if store:
                    traits["preferred_store"] = store
                if app:
                    traits["app_user"] = True
                vocabulary.append(json.dumps(traits, ensure_ascii=False))
    return vocabulary


def _trait_codes(population: Population) -> np.ndarray:
    """Code of each customer's traits JSON in the trait vocabulary (-1 when not recorded)."""
    store_of_city = np.array([_STORES.index(c.store) for c in CITIES])
    store = store_of_city[addresses().city[population.address]]
    code = (population.loyalty_card * len(_STORES) + store) * 2 + population.app_user
    return np.where(population.traits_missing, -1, code)


def customers_table(population: Population) -> pa.Table:
    """The customers table, in customer_id order."""
    places = addresses()
    city = places.city[population.address]
    return columns.table(
        CUSTOMERS,
        {
            "customer_id": customer_ids(np.arange(population.size), population.size),
            "birth_date": columns.dates(population.birth_day, missing=population.birth_unknown),
            "gender": columns.labels(GENDERS, population.gender),
            "city": columns.labels([c.name for c in CITIES], city),
            "postcode": columns.labels(places.postcodes, population.address),
            "country": columns.labels([c.country for c in CITIES], city),
            "signup_date": columns.dates(population.signup_day),
            "traits": columns.labels(_trait_vocabulary(), _trait_codes(population)),
        },
    )
