"""One month of orders and order lines.

How often a customer orders, how many lines, how pricey and how promotional, all come from
her persona this month, scaled by the season and by her own activity level. Lines take
their category from her interest and their size from her own sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from segmento.demo import columns
from segmento.demo.catalogue import CATEGORIES, CATEGORY_NAMES, SIZES, Catalogue
from segmento.demo.context import MonthContext
from segmento.demo.interest import InterestMix, categories
from segmento.demo.personas import persona_values
from segmento.demo.population import Population, customer_ids
from segmento.demo.sampling import chance, choose_rows, poisson
from segmento.demo.window import ONLINE_HOURS, STORE_HOURS, Month
from segmento.store.schema import CHANNELS_ORDER, ORDER_LINES, ORDERS

STORE, WEB, APP = (CHANNELS_ORDER.index(c) for c in ("store", "web", "app"))
CURRENCY = "EUR"
ORDER_ID_WIDTH = 10
LINE_INTEREST = InterestMix(focus=0.50, previous_focus=0.15, favourite=0.25, anything=0.10)
SIZE_FIDELITY = 0.90  # share of sized lines bought in the customer's own size (the rest: gifts, other fits)
PROMO_DEPTHS = np.array([0.2, 0.3, 0.4, 0.5])
PROMO_DEPTH_WEIGHTS = np.array([0.4, 0.3, 0.2, 0.1])
COUPONS = np.array([5.0, 10.0, 15.0, 20.0])
HABIT_WEIGHT = 0.5  # how much a customer's usual channel outweighs her persona's mix
_EXTRA_UNITS = np.array([c.extra_units for c in CATEGORIES])


@dataclass(frozen=True)
class Lines:
    """Order lines, grouped by order and numbered from 1 within each."""

    order: np.ndarray  # index of the line's order in the month
    line_no: np.ndarray
    product: np.ndarray
    category: np.ndarray
    size: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    promo: np.ndarray


@dataclass(frozen=True)
class Purchases:
    """A month's orders, in time order, and their lines."""

    customer: np.ndarray
    ordered_us: np.ndarray
    channel: np.ndarray
    discount: np.ndarray
    amount: np.ndarray
    lines: Lines

    @property
    def order_count(self) -> int:
        return len(self.customer)


def order_rates(context: MonthContext) -> np.ndarray:
    """Expected orders per customer this month; promo-sensitive personas buy more in sales months."""
    month = context.month
    sales_pull = np.exp(1.2 * (context.per_customer("promo_sensitivity") - 1) * (month.promo_intensity - 0.15))
    personal = context.population.activity * context.exposure
    return context.per_customer("order_rate") * month.season * sales_pull * personal


def simulate_purchases(rng: np.random.Generator, context: MonthContext) -> Purchases:
    """Orders of the month, then their lines, then the amounts that follow from the lines."""
    customer, channel, ordered_us = _orders(rng, context)
    lines = _lines(rng, context, customer)
    subtotal = np.bincount(lines.order, weights=lines.quantity * lines.unit_price, minlength=len(customer))
    discount = _coupons(rng, subtotal, context.per_customer("promo_sensitivity")[customer], context.month)
    return Purchases(customer, ordered_us, channel, discount, np.round(subtotal - discount, 2), lines)


def _orders(rng: np.random.Generator, context: MonthContext) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who orders, on which channel, when: sorted by time so order ids follow the clock."""
    population = context.population
    customer = np.repeat(np.arange(population.size), poisson(rng, order_rates(context)))
    channel = _order_channels(rng, population, context.personas[customer], customer)
    ordered_us = _instants_by_channel(rng, context.month, context.first_day[customer], channel)
    by_time = np.argsort(ordered_us, kind="stable")
    return customer[by_time], channel[by_time], ordered_us[by_time]


def _lines(rng: np.random.Generator, context: MonthContext, order_customer: np.ndarray) -> Lines:
    """Lines of each order: category from interest, product by price tier, her size, promo by season."""
    population, persona = context.population, context.personas[order_customer]
    lines_per_order = 1 + poisson(rng, persona_values("basket_lines")[persona] - 1)
    order = np.repeat(np.arange(len(order_customer)), lines_per_order)
    line_no = np.arange(len(order)) - np.repeat(np.cumsum(lines_per_order) - lines_per_order, lines_per_order) + 1
    customer, line_persona = order_customer[order], persona[order]
    category = categories(rng, customer, context.interest, population, context.month, LINE_INTEREST)
    product = context.catalogue.pick(rng, category, persona_values("price_tier")[line_persona])
    size = context.catalogue.sizes(
        rng, product, population.shoe_size[customer], population.apparel_size[customer], SIZE_FIDELITY
    )
    quantity = 1 + poisson(rng, _EXTRA_UNITS[category])
    promo_chance = context.month.promo_intensity * persona_values("promo_sensitivity")[line_persona]
    promo = chance(rng, np.minimum(0.95, promo_chance))
    depth = np.where(promo, rng.choice(PROMO_DEPTHS, size=len(promo), p=PROMO_DEPTH_WEIGHTS), 0.0)
    unit_price = np.round(context.catalogue.price[product] * (1 - depth), 2)
    return Lines(order, line_no, product, category, size, quantity, unit_price, promo)


def _order_channels(
    rng: np.random.Generator, population: Population, persona: np.ndarray, customer: np.ndarray
) -> np.ndarray:
    """Store, web or app: the persona's mix pulled towards the customer's habit; the app needs the app."""
    weights = (1 - HABIT_WEIGHT) * persona_values("channel_mix")[persona]
    weights[np.arange(len(customer)), population.preferred_channel[customer]] += HABIT_WEIGHT
    weights[:, APP] *= population.app_user[customer]
    return choose_rows(rng, weights).astype(np.int8)


def _instants_by_channel(
    rng: np.random.Generator, month: Month, first_day: np.ndarray, channel: np.ndarray
) -> np.ndarray:
    """Store orders in opening hours, online orders any time (evenings mostly)."""
    instants = np.empty(len(channel), dtype=np.int64)
    in_store = channel == STORE
    instants[in_store] = month.instants(rng, first_day[in_store], STORE_HOURS)
    instants[~in_store] = month.instants(rng, first_day[~in_store], ONLINE_HOURS)
    return instants


def _coupons(rng: np.random.Generator, subtotal: np.ndarray, sensitivity: np.ndarray, month: Month) -> np.ndarray:
    """Order-level coupon, more often for promo-sensitive customers and in sales months; never over 30%."""
    used = chance(rng, np.minimum(0.5, 0.05 * sensitivity * (1 + 3 * month.promo_intensity)))
    value = np.minimum(rng.choice(COUPONS, size=len(subtotal)), np.floor(subtotal * 30) / 100)
    return np.where(used, value, 0.0)


def orders_table(purchases: Purchases, first_order_number: int, population_size: int) -> pa.Table:
    """Orders with ids numbered from `first_order_number`, in time order."""
    n = purchases.order_count
    return columns.table(
        ORDERS,
        {
            "order_id": order_ids(first_order_number + np.arange(n)),
            "customer_id": customer_ids(purchases.customer, population_size),
            "ordered_at": columns.timestamps(purchases.ordered_us),
            "amount": pa.array(purchases.amount, type=pa.float64()),
            "discount_amount": pa.array(purchases.discount, type=pa.float64()),
            "channel": columns.labels(CHANNELS_ORDER, purchases.channel),
            "currency": columns.labels([CURRENCY], np.zeros(n, dtype=np.int8)),
        },
    )


def lines_table(purchases: Purchases, first_order_number: int, catalogue: Catalogue) -> pa.Table:
    """Order lines, in order then line order."""
    lines = purchases.lines
    return columns.table(
        ORDER_LINES,
        {
            "order_id": order_ids(first_order_number + lines.order),
            "line_no": pa.array(lines.line_no, type=pa.int64()),
            "product_id": catalogue.product_ids.take(pa.array(lines.product)),
            "category": columns.labels(CATEGORY_NAMES, lines.category),
            "size": columns.labels(SIZES, lines.size),
            "quantity": pa.array(lines.quantity, type=pa.int64()),
            "unit_price": pa.array(lines.unit_price, type=pa.float64()),
            "promo": pa.array(lines.promo, type=pa.bool_()),
        },
    )


def order_ids(numbers: np.ndarray) -> pa.Array:
    """'O0000000001'-style order identifiers."""
    return columns.ids("O", numbers, ORDER_ID_WIDTH)
