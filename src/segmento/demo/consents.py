"""The consent ledger: a grant or refusal per channel at signup, then withdrawals and late opt-ins.

The ledger is drawn before any activity, and campaigns read it back (`Consents.allows`), so
a customer is never emailed, texted or pushed outside a granted period.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa

from segmento.demo import columns
from segmento.demo.population import SIGNUP_SOURCES, SOURCE_APP, SOURCE_STORE, Population, customer_ids
from segmento.demo.sampling import chance
from segmento.demo.window import ONLINE_HOURS, STORE_HOURS, US_PER_DAY, Window, time_of_day
from segmento.store.schema import CONSENT_CHANNELS, CONSENTS

EMAIL, SMS, PHONE, PUSH, POST = (CONSENT_CHANNELS.index(c) for c in ("email", "sms", "phone", "push", "post"))
PURPOSE = "marketing"
NEVER = np.iinfo(np.int64).max
SIGNUP_GRANT = {EMAIL: 0.78, SMS: 0.45, PHONE: 0.15, PUSH: 0.65, POST: 0.50}  # push: app users only
MONTHLY_WITHDRAWAL = {EMAIL: 0.005, SMS: 0.007, PHONE: 0.004, PUSH: 0.010, POST: 0.003}
MONTHLY_LATE_OPT_IN = 0.003
SOURCES: tuple[str, ...] = (
    *SIGNUP_SOURCES, "call_centre", "unsubscribe_link", "stop_sms", "app_settings", "preference_centre"
)
_WITHDRAWAL_SOURCE = {
    EMAIL: SOURCES.index("unsubscribe_link"),
    SMS: SOURCES.index("stop_sms"),
    PHONE: SOURCES.index("call_centre"),
    PUSH: SOURCES.index("app_settings"),
    POST: SOURCES.index("preference_centre"),
}
_LATE_OPT_IN_SOURCES = np.array([SOURCES.index(s) for s in ("store", "web_form", "call_centre")])


@dataclass(frozen=True)
class ConsentRows:
    """Ledger rows as parallel arrays."""

    customer: np.ndarray
    channel: np.ndarray
    granted: np.ndarray
    recorded_us: np.ndarray
    source: np.ndarray

    @classmethod
    def of(
        cls, customers: np.ndarray, channel: int, granted: object, recorded_us: np.ndarray, source: object
    ) -> ConsentRows:
        """Rows for one channel; a scalar `granted` or `source` applies to every row."""
        n = len(customers)
        return cls(
            customers, np.full(n, channel, dtype=np.int8), np.broadcast_to(granted, n).astype(bool),
            recorded_us, np.broadcast_to(source, n).astype(np.int8),
        )

    @classmethod
    def concat(cls, batches: list[ConsentRows]) -> ConsentRows:
        return cls(*(np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(cls)))

    def by_customer_then_time(self) -> ConsentRows:
        order = np.lexsort((self.channel, self.recorded_us, self.customer))
        return ConsentRows(*(getattr(self, f.name)[order] for f in fields(self)))


@dataclass(frozen=True)
class Ledger:
    """The consent rows, plus each customer's granted period per channel for campaigns to check."""

    rows: ConsentRows
    granted_from: np.ndarray  # (channels, customers) instant the grant starts, NEVER if none
    granted_until: np.ndarray  # (channels, customers) instant of withdrawal, NEVER if none

    def allows(self, channel: int, customers: np.ndarray, at_us: np.ndarray) -> np.ndarray:
        """Whether each customer had granted `channel` at that instant."""
        return (self.granted_from[channel, customers] <= at_us) & (at_us < self.granted_until[channel, customers])


def build_ledger(rng: np.random.Generator, population: Population, window: Window) -> Ledger:
    """Every channel's history: asked at signup (push only for app users), then changes inside the window."""
    signup_us = population.signup_day * US_PER_DAY + _signup_time(rng, population)
    histories = [
        _channel_history(rng, population, window, channel, signup_us) for channel in range(len(CONSENT_CHANNELS))
    ]
    rows = ConsentRows.concat([rows for rows, _, _ in histories]).by_customer_then_time()
    return Ledger(rows, np.stack([start for _, start, _ in histories]), np.stack([end for _, _, end in histories]))


def _channel_history(
    rng: np.random.Generator, population: Population, window: Window, channel: int, signup_us: np.ndarray
) -> tuple[ConsentRows, np.ndarray, np.ndarray]:
    """One channel's rows (signup answer, withdrawals, late opt-ins) and each customer's granted period."""
    customers = np.flatnonzero(population.app_user) if channel == PUSH else np.arange(population.size)
    granted = chance(rng, SIGNUP_GRANT[channel], len(customers))
    source = np.full(len(customers), SOURCE_APP) if channel == PUSH else population.signup_source[customers]
    change_us = _change_instants(rng, population.signup_day[customers], window)
    can_change = change_us < NEVER
    withdraws = can_change & granted & chance(rng, _over_window(MONTHLY_WITHDRAWAL[channel], window), len(granted))
    opts_in = can_change & ~granted & chance(rng, _over_window(MONTHLY_LATE_OPT_IN, window), len(granted))
    late_source = rng.choice(_LATE_OPT_IN_SOURCES, size=int(opts_in.sum()))
    rows = ConsentRows.concat(
        [
            ConsentRows.of(customers, channel, granted, signup_us[customers], source),
            ConsentRows.of(customers[withdraws], channel, False, change_us[withdraws], _WITHDRAWAL_SOURCE[channel]),
            ConsentRows.of(customers[opts_in], channel, True, change_us[opts_in], late_source),
        ]
    )
    granted_from = np.full(population.size, NEVER, dtype=np.int64)
    granted_until = np.full(population.size, NEVER, dtype=np.int64)
    granted_from[customers[granted]] = signup_us[customers[granted]]
    granted_from[customers[opts_in]] = change_us[opts_in]
    granted_until[customers[withdraws]] = change_us[withdraws]
    return rows, granted_from, granted_until


def _signup_time(rng: np.random.Generator, population: Population) -> np.ndarray:
    """Time of day of the signup: opening hours in store, any hour online."""
    in_store = time_of_day(rng, population.size, STORE_HOURS)
    online = time_of_day(rng, population.size, ONLINE_HOURS)
    return np.where(population.signup_source == SOURCE_STORE, in_store, online)


def _over_window(monthly: float, window: Window) -> float:
    """Probability that a monthly event happens at least once in the window."""
    return 1 - (1 - monthly) ** len(window.months)


def _change_instants(rng: np.random.Generator, signup_day: np.ndarray, window: Window) -> np.ndarray:
    """An instant in the window, at least a day after signup (NEVER when no such day exists)."""
    first = np.maximum(signup_day + 1, window.start_day)
    has_room = first < window.stop_day
    day = first + np.floor(rng.random(len(first)) * np.maximum(window.stop_day - first, 1)).astype(np.int64)
    instant = day * US_PER_DAY + time_of_day(rng, len(first), ONLINE_HOURS)
    return np.where(has_room, instant, NEVER)


def consents_table(ledger: Ledger, population_size: int) -> pa.Table:
    """The consents table, by customer then time."""
    rows = ledger.rows
    return columns.table(
        CONSENTS,
        {
            "customer_id": customer_ids(rows.customer, population_size),
            "channel": columns.labels(CONSENT_CHANNELS, rows.channel),
            "purpose": columns.labels([PURPOSE], np.zeros(len(rows.customer), dtype=np.int8)),
            "granted": pa.array(rows.granted, type=pa.bool_()),
            "recorded_at": columns.timestamps(rows.recorded_us),
            "source": columns.labels(SOURCES, rows.source),
        },
    )
