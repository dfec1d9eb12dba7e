"""One month of events: browsing, the trail before purchases, campaigns, service contacts, social.

Each behaviour returns an EventBatch; `month_events` joins them, drops anything outside the
customer's life or the window (a reaction to a late-month email can fall after the end),
and sorts by time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from segmento.demo import consents
from segmento.demo.campaigns import EMAIL, PUSH, SMS, Campaign
from segmento.demo.catalogue import SHOE_SIZES, search_terms
from segmento.demo.context import MonthContext
from segmento.demo.events import (
    CHANNEL, CONTACT_TOPICS, PRODUCT_TOPICS, PROPERTIES, RESPONSES, SOCIAL_ACTIONS, SOCIAL_NETWORKS, TYPE, EventBatch,
)
from segmento.demo.interest import InterestMix, categories
from segmento.demo.purchases import APP as ORDER_APP
from segmento.demo.purchases import STORE as ORDER_STORE
from segmento.demo.purchases import Purchases
from segmento.demo.sampling import chance, exponential_us, poisson
from segmento.demo.window import ONLINE_HOURS, STORE_HOURS, US_PER_DAY, US_PER_HOUR, US_PER_MINUTE

BROWSE_TYPES = np.array([TYPE["page_view"], TYPE["product_view"], TYPE["search"], TYPE["add_to_cart"]])
BROWSE_SHARES = np.array([0.30, 0.38, 0.17, 0.15])
BROWSE_INTEREST = InterestMix(focus=0.70, previous_focus=0.0, favourite=0.20, anything=0.10)
CONTACT_INTEREST = InterestMix(focus=0.50, previous_focus=0.40, favourite=0.10, anything=0.0)
VIEW_SIZE_FIDELITY = 0.93  # views of a neighbouring size happen, but rarely
APP_SHARE_OF_APP_USERS = 0.7
HOME_PAGE_SHARE = 0.4  # page views without a category
SIZED_SEARCH_SHARE = 0.5  # shoe searches that name a size ("chaussures randonnée 43")
# The trail before an order: online orders are nearly always viewed first, store ones sometimes.
VIEW_BEFORE_ONLINE_ORDER, VIEW_BEFORE_STORE_ORDER, CART_BEFORE_ONLINE_ORDER = 0.8, 0.15, 0.5
# Who a campaign is sent to, among those who consented.
EMAIL_TARGETING = {"newsletter": 0.50, "sales": 0.60, "christmas": 0.65, "category": 0.06}
CATEGORY_FAN_TARGETING = 0.45
MOBILE_TARGETING = 0.7
RESPONSE_AFTER_CLICK = 0.3
MOBILE_RESPONSE_PER_CLICK_RATE = 0.3
SOCIAL_NETWORK_SHARES = np.array([0.50, 0.25, 0.15, 0.10])
SOCIAL_ACTION_SHARES = np.array([0.55, 0.15, 0.15, 0.15])
SOCIAL_WITH_CATEGORY = 0.5
CONTACTS_PER_ORDER = 0.4  # each order this month raises the contact rate by this share
_MOBILE_CONSENT = {SMS: consents.SMS, PUSH: consents.PUSH}  # campaign channel -> consent channel


@dataclass(frozen=True)
class ContactKind:
    type: str
    channel: str
    rate: str  # persona attribute
    hours: np.ndarray
    topics: tuple[float, ...]  # weights over CONTACT_TOPICS


CONTACT_KINDS = (
    ContactKind("chatbot", "chatbot", "chatbot_rate", ONLINE_HOURS, (0.35, 0.15, 0.15, 0.20, 0.10, 0.05)),
    ContactKind("call", "phone", "call_rate", STORE_HOURS, (0.25, 0.15, 0.10, 0.10, 0.15, 0.25)),
    ContactKind("selfcare", "selfcare", "selfcare_rate", ONLINE_HOURS, (0.35, 0.25, 0.10, 0.00, 0.30, 0.00)),
)


def month_events(
    rng: np.random.Generator, context: MonthContext, purchases: Purchases, campaigns: Sequence[tuple[int, Campaign]]
) -> EventBatch:
    """Every event of the month, in time order, none before signup or the window, none after the end."""
    batches = [browsing(rng, context), shopping_trail(rng, context, purchases)]
    for index, campaign in campaigns:
        campaign_events = email_campaign if campaign.channel == EMAIL else mobile_campaign
        batches.append(campaign_events(rng, context, campaign, index))
    batches += [contacts(rng, context, purchases, kind) for kind in CONTACT_KINDS]
    batches.append(social(rng, context))
    events = EventBatch.concat(batches)
    inside = (events.at_us >= context.earliest_us[events.customer]) & (events.at_us < context.window.stop_us)
    return events.take(inside).in_time_order()


def _customers_with(rng: np.random.Generator, context: MonthContext, rate: np.ndarray) -> np.ndarray:
    """One customer index per event, event counts drawn from a per-customer monthly rate."""
    return np.repeat(np.arange(context.population.size), poisson(rng, rate * context.exposure))


def browsing(rng: np.random.Generator, context: MonthContext) -> EventBatch:
    """Page views, product views, searches and add-to-carts on the web or the app, mostly in the focus category."""
    population = context.population
    rate = context.per_customer("browse_rate") * context.month.season * np.sqrt(population.activity)
    customer = _customers_with(rng, context, rate)
    kind = rng.choice(len(BROWSE_TYPES), size=len(customer), p=BROWSE_SHARES)
    category = categories(rng, customer, context.interest, population, context.month, BROWSE_INTEREST)
    product = context.catalogue.pick(rng, category, context.per_customer("price_tier")[customer])
    size = context.catalogue.sizes(
        rng, product, population.shoe_size[customer], population.apparel_size[customer], VIEW_SIZE_FIDELITY
    )
    page, search = kind == 0, kind == 2
    category[page & chance(rng, HOME_PAGE_SHARE, len(customer))] = -1
    sized_search = search & (size >= 0) & (size < len(SHOE_SIZES)) & chance(rng, SIZED_SEARCH_SHARE, len(customer))
    size[page | (search & ~sized_search)] = -1
    properties = np.where(search, PROPERTIES.search(search_terms(rng, np.maximum(category, 0)), size), -1)
    return EventBatch.of(
        customer, context.month.instants(rng, context.first_day[customer], ONLINE_HOURS), BROWSE_TYPES[kind],
        _online_channel(rng, context, customer), category, size, properties=properties,
    )


def _online_channel(rng: np.random.Generator, context: MonthContext, customer: np.ndarray) -> np.ndarray:
    """App for most app users' sessions, web otherwise."""
    on_app = context.population.app_user[customer] & chance(rng, APP_SHARE_OF_APP_USERS, len(customer))
    return np.where(on_app, CHANNEL["app"], CHANNEL["web"])


def shopping_trail(rng: np.random.Generator, context: MonthContext, purchases: Purchases) -> EventBatch:
    """A view of the first product before most orders, and an add-to-cart before online orders."""
    lines = purchases.lines
    first_line = lines.line_no == 1
    order = lines.order[first_line]
    category, size = lines.category[first_line], lines.size[first_line]
    customer, ordered_us = purchases.customer[order], purchases.ordered_us[order]
    online = purchases.channel[order] != ORDER_STORE
    n = len(order)
    viewed = chance(rng, np.where(online, VIEW_BEFORE_ONLINE_ORDER, VIEW_BEFORE_STORE_ORDER))
    view_lead = np.where(online, exponential_us(rng, 20 * US_PER_HOUR, n), exponential_us(rng, 3 * US_PER_DAY, n))
    ordered_on = np.where(purchases.channel[order] == ORDER_APP, CHANNEL["app"], CHANNEL["web"])
    channel = np.where(online, ordered_on, _online_channel(rng, context, customer))
    carted = online & chance(rng, CART_BEFORE_ONLINE_ORDER, n)
    cart_lead = exponential_us(rng, 10 * US_PER_MINUTE, n)
    views = EventBatch.of(customer, ordered_us - view_lead, TYPE["product_view"], channel, category, size)
    carts = EventBatch.of(customer, ordered_us - cart_lead, TYPE["add_to_cart"], channel, category, size)
    return EventBatch.concat([views.take(viewed), carts.take(carted)])


def email_campaign(rng: np.random.Generator, context: MonthContext, campaign: Campaign, index: int) -> EventBatch:
    """Sent to targeted customers who consented to email; opened and clicked as their persona reacts."""
    population = context.population
    favours = (population.favourites == campaign.category).any(axis=1)
    targeting = np.where(favours, CATEGORY_FAN_TARGETING, EMAIL_TARGETING[campaign.theme])
    candidates = np.flatnonzero(chance(rng, targeting))
    sent_to = candidates[context.ledger.allows(consents.EMAIL, candidates, np.int64(campaign.send_us))]
    persona_boost = _promotional_boost(context, sent_to) if campaign.promotional else 1.0
    open_chance = context.per_customer("email_open")[sent_to] * population.email_affinity[sent_to] * persona_boost
    opened = chance(rng, np.minimum(0.95, open_chance))
    open_us = campaign.send_us + exponential_us(rng, 6 * US_PER_HOUR, len(sent_to))
    click_chance = context.per_customer("email_click")[sent_to] * np.where(favours[sent_to], 1.5, 1.0)
    clicked = opened & chance(rng, np.minimum(0.95, click_chance))
    click_us = open_us + exponential_us(rng, 3 * US_PER_MINUTE, len(sent_to))
    responded = clicked & chance(rng, RESPONSE_AFTER_CLICK, len(sent_to))
    response_us = click_us + exponential_us(rng, US_PER_HOUR, len(sent_to))
    response = PROPERTIES.response(rng.integers(0, len(RESPONSES), size=len(sent_to)))
    email, category = CHANNEL["email"], campaign.category
    sends = EventBatch.of(sent_to, np.full(len(sent_to), campaign.send_us), TYPE["email_sent"], email, campaign=index)
    opens = EventBatch.of(sent_to, open_us, TYPE["email_open"], email, campaign=index)
    clicks = EventBatch.of(sent_to, click_us, TYPE["email_click"], email, category, campaign=index)
    responses = EventBatch.of(
        sent_to, response_us, TYPE["campaign_response"], email, category, campaign=index, properties=response
    )
    return EventBatch.concat([sends, opens.take(opened), clicks.take(clicked), responses.take(responded)])


def _promotional_boost(context: MonthContext, customers: np.ndarray) -> np.ndarray:
    """Promo-sensitive customers open sales emails more readily."""
    return 1 + 0.25 * (context.per_customer("promo_sensitivity")[customers] - 1)


def mobile_campaign(rng: np.random.Generator, context: MonthContext, campaign: Campaign, index: int) -> EventBatch:
    """SMS and push have no 'sent' event type: only the responses of consenting, targeted customers show."""
    consent_channel = _MOBILE_CONSENT[campaign.channel]
    candidates = np.flatnonzero(chance(rng, MOBILE_TARGETING, context.population.size))
    reached = candidates[context.ledger.allows(consent_channel, candidates, np.int64(campaign.send_us))]
    respond_chance = MOBILE_RESPONSE_PER_CLICK_RATE * context.per_customer("email_click")[reached]
    responded = chance(rng, respond_chance)
    at_us = campaign.send_us + exponential_us(rng, 2 * US_PER_HOUR, len(reached))
    response = PROPERTIES.response(rng.integers(0, len(RESPONSES), size=len(reached)))
    return EventBatch.of(
        reached, at_us, TYPE["campaign_response"], campaign.channel, campaign=index, properties=response
    ).take(responded)


def contacts(rng: np.random.Generator, context: MonthContext, purchases: Purchases, kind: ContactKind) -> EventBatch:
    """Chatbot, call or self-care contacts; more after orders; product questions carry category and size."""
    population = context.population
    orders = np.bincount(purchases.customer, minlength=population.size)
    customer = _customers_with(rng, context, context.per_customer(kind.rate) * (1 + CONTACTS_PER_ORDER * orders))
    weights = np.array(kind.topics)
    topic = rng.choice(len(CONTACT_TOPICS), size=len(customer), p=weights / weights.sum())
    about_product = np.isin(topic, [CONTACT_TOPICS.index(t) for t in PRODUCT_TOPICS])
    category = categories(rng, customer, context.interest, population, context.month, CONTACT_INTEREST)
    product = context.catalogue.pick(rng, category, context.per_customer("price_tier")[customer])
    size = context.catalogue.sizes(
        rng, product, population.shoe_size[customer], population.apparel_size[customer], VIEW_SIZE_FIDELITY
    )
    return EventBatch.of(
        customer, context.month.instants(rng, context.first_day[customer], kind.hours), TYPE[kind.type],
        CHANNEL[kind.channel], np.where(about_product, category, -1), np.where(about_product, size, -1),
        properties=PROPERTIES.topic(topic),
    )


def social(rng: np.random.Generator, context: MonthContext) -> EventBatch:
    """Likes, comments, shares and follows on the brand's social accounts."""
    customer = _customers_with(rng, context, context.per_customer("social_rate"))
    n = len(customer)
    network = rng.choice(len(SOCIAL_NETWORKS), size=n, p=SOCIAL_NETWORK_SHARES)
    action = rng.choice(len(SOCIAL_ACTIONS), size=n, p=SOCIAL_ACTION_SHARES)
    category = np.where(chance(rng, SOCIAL_WITH_CATEGORY, n), context.interest.focus[customer], -1)
    return EventBatch.of(
        customer, context.month.instants(rng, context.first_day[customer], ONLINE_HOURS), TYPE["social"],
        CHANNEL["social"], category, properties=PROPERTIES.social(network, action),
    )
