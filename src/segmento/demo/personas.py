"""Latent personas: how each kind of customer shops and reacts, and how customers drift between them.

A customer holds one persona per month (the `truth` table). The persona sets that month's
rates; the transition matrix moves customers between personas from one month to the next,
so the base holds real trajectories (a loyal customer sliding to regular, an occasional
buyer becoming regular, a lapsing customer churning) for segmentation dynamics to find.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache

import numpy as np

from segmento.demo.sampling import choose_rows


@dataclass(frozen=True)
class Persona:
    """One kind of customer. Rates are per month, for an average month and an average customer."""

    name: str
    initial_share: float  # among customers who joined before the window
    order_rate: float
    basket_lines: float  # mean lines per order
    price_tier: float  # < 1 favours the pricier products of a category, > 1 the cheaper ones
    channel_mix: tuple[float, float, float]  # store, web, app
    promo_sensitivity: float  # multiplies the season's promotion share; also drives sales-month buying
    email_open: float  # probability of opening an email received
    email_click: float  # probability of clicking an email opened
    browse_rate: float  # web/app page views, product views, searches, add-to-carts
    chatbot_rate: float
    call_rate: float
    selfcare_rate: float
    social_rate: float
    loyalty_card: float  # probability of holding the loyalty card


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "loyal_high_value", initial_share=0.12, order_rate=4.00, basket_lines=2.3,
        price_tier=0.6, channel_mix=(0.45, 0.25, 0.30), promo_sensitivity=0.6,
        email_open=0.48, email_click=0.32, browse_rate=1.8, chatbot_rate=0.05,
        call_rate=0.04, selfcare_rate=0.10, social_rate=0.35, loyalty_card=0.85,
    ),
    Persona(
        "regular", initial_share=0.28, order_rate=2.00, basket_lines=1.9,
        price_tier=0.85, channel_mix=(0.55, 0.30, 0.15), promo_sensitivity=0.9,
        email_open=0.34, email_click=0.22, browse_rate=1.1, chatbot_rate=0.04,
        call_rate=0.03, selfcare_rate=0.06, social_rate=0.15, loyalty_card=0.55,
    ),
    Persona(
        "occasional", initial_share=0.30, order_rate=0.72, basket_lines=1.5,
        price_tier=1.0, channel_mix=(0.62, 0.33, 0.05), promo_sensitivity=1.0,
        email_open=0.20, email_click=0.14, browse_rate=0.55, chatbot_rate=0.02,
        call_rate=0.02, selfcare_rate=0.03, social_rate=0.06, loyalty_card=0.25,
    ),
    Persona(
        "promo_hunter", initial_share=0.12, order_rate=1.45, basket_lines=2.0,
        price_tier=1.6, channel_mix=(0.35, 0.45, 0.20), promo_sensitivity=2.6,
        email_open=0.40, email_click=0.35, browse_rate=1.15, chatbot_rate=0.04,
        call_rate=0.02, selfcare_rate=0.05, social_rate=0.20, loyalty_card=0.45,
    ),
    Persona(
        "new", initial_share=0.00, order_rate=1.65, basket_lines=1.6,
        price_tier=1.0, channel_mix=(0.45, 0.35, 0.20), promo_sensitivity=1.2,
        email_open=0.44, email_click=0.28, browse_rate=1.45, chatbot_rate=0.07,
        call_rate=0.04, selfcare_rate=0.05, social_rate=0.15, loyalty_card=0.30,
    ),
    Persona(
        "lapsing", initial_share=0.08, order_rate=0.33, basket_lines=1.3,
        price_tier=1.1, channel_mix=(0.60, 0.32, 0.08), promo_sensitivity=1.0,
        email_open=0.10, email_click=0.08, browse_rate=0.4, chatbot_rate=0.04,
        call_rate=0.07, selfcare_rate=0.03, social_rate=0.03, loyalty_card=0.35,
    ),
    Persona(
        "churned", initial_share=0.10, order_rate=0.01, basket_lines=1.2,
        price_tier=1.2, channel_mix=(0.60, 0.40, 0.00), promo_sensitivity=1.0,
        email_open=0.03, email_click=0.04, browse_rate=0.05, chatbot_rate=0.004,
        call_rate=0.004, selfcare_rate=0.003, social_rate=0.005, loyalty_card=0.25,
    ),
)
PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)
LOYAL_HIGH_VALUE, REGULAR, OCCASIONAL, PROMO_HUNTER, NEW, LAPSING, CHURNED = range(len(PERSONAS))

# Monthly transitions: row = persona this month, column = persona next month (PERSONAS order).
# Loyal customers mostly stay but slide to regular; regulars can rise or fall; occasional
# buyers sometimes become regular; new customers settle within a few months; lapsing
# customers churn unless won back; churned customers very rarely come back.
TRANSITIONS = np.array(
    [
        # loyal  regular occas.  promo   new     lapsing churned
        [0.945, 0.035, 0.005, 0.003, 0.000, 0.010, 0.002],  # loyal_high_value
        [0.025, 0.915, 0.030, 0.010, 0.000, 0.015, 0.005],  # regular
        [0.004, 0.045, 0.895, 0.020, 0.000, 0.026, 0.010],  # occasional
        [0.002, 0.025, 0.030, 0.915, 0.000, 0.018, 0.010],  # promo_hunter
        [0.030, 0.150, 0.170, 0.060, 0.500, 0.070, 0.020],  # new
        [0.000, 0.025, 0.090, 0.010, 0.000, 0.755, 0.120],  # lapsing
        [0.000, 0.003, 0.015, 0.004, 0.000, 0.006, 0.972],  # churned
    ]
)


@cache
def persona_values(attribute: str) -> np.ndarray:
    """One persona attribute as an array indexed by persona code, to look up a whole month at once."""
    if attribute not in {f.name for f in fields(Persona)} - {"name"}:
        raise KeyError(f"no persona attribute {attribute!r}")
    return np.array([getattr(p, attribute) for p in PERSONAS], dtype=float)


def initial_personas(rng: np.random.Generator, n: int) -> np.ndarray:
    """Personas of customers who joined before the window."""
    shares = persona_values("initial_share")
    return rng.choice(len(PERSONAS), size=n, p=shares / shares.sum()).astype(np.int8)


def drift(rng: np.random.Generator, personas: np.ndarray) -> np.ndarray:
    """Next month's personas: one draw per customer from its row of the transition matrix."""
    return choose_rows(rng, TRANSITIONS[personas]).astype(np.int8)
