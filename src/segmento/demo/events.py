"""Event rows as integer-coded arrays, the properties vocabulary, and the events table.

Every column of an event is a code into a small vocabulary (types, channels, categories,
sizes, campaigns, property JSONs), so batches concatenate, filter and sort as plain numpy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa

from segmento.demo import columns
from segmento.demo.campaigns import Campaign
from segmento.demo.catalogue import CATEGORY_NAMES, SEARCH_TERMS, SIZES
from segmento.demo.population import customer_ids
from segmento.store.schema import EVENT_CHANNELS, EVENT_TYPES, EVENTS

EVENT_ID_WIDTH = 11
TYPE = {name: code for code, name in enumerate(EVENT_TYPES)}
CHANNEL = {name: code for code, name in enumerate(EVENT_CHANNELS)}

CONTACT_TOPICS: tuple[str, ...] = (
    "order_status", "return", "size_exchange", "product_advice", "loyalty_points", "complaint"
)
PRODUCT_TOPICS = frozenset({"size_exchange", "product_advice"})  # contacts about a product carry its category and size
SOCIAL_NETWORKS: tuple[str, ...] = ("instagram", "facebook", "tiktok", "youtube")
SOCIAL_ACTIONS: tuple[str, ...] = ("like", "comment", "share", "follow")
RESPONSES: tuple[str, ...] = ("offer_viewed", "coupon_redeemed", "store_visit")


@dataclass(frozen=True)
class PropertyVocabulary:
    """Every properties JSON an event can carry, and where each family starts in it."""

    texts: tuple[str, ...]
    search_start: int
    topic_start: int
    social_start: int
    response_start: int

    def search(self, term: np.ndarray, size: np.ndarray) -> np.ndarray:
        """{"query": "<term> [size]"} codes; size -1 leaves the size out."""
        return self.search_start + term * (len(SIZES) + 1) + (size + 1)

    def topic(self, topic: np.ndarray) -> np.ndarray:
        return self.topic_start + topic

    def social(self, network: np.ndarray, action: np.ndarray) -> np.ndarray:
        return self.social_start + network * len(SOCIAL_ACTIONS) + action

    def response(self, response: np.ndarray) -> np.ndarray:
        return self.response_start + response


def _property_vocabulary() -> PropertyVocabulary:
    def dumps(value: dict[str, str]) -> str:
        return json.dumps(value, ensure_ascii=False)

    searches = [dumps({"query": f"{term} {size}" if size else term}) for term in SEARCH_TERMS for size in ("", *SIZES)]
    topics = [dumps({"topic": topic}) for topic in CONTACT_TOPICS]
    social = [dumps({"network": network, "action": action}) for network in SOCIAL_NETWORKS for action in SOCIAL_ACTIONS]
    responses = [dumps({"response": response}) for response in RESPONSES]
    starts = np.cumsum([0, len(searches), len(topics), len(social)])
    return PropertyVocabulary(tuple(searches + topics + social + responses), *(int(s) for s in starts))


PROPERTIES = _property_vocabulary()


@dataclass(frozen=True)
class EventBatch:
    """Events as parallel code arrays; -1 is a null."""

    customer: np.ndarray
    at_us: np.ndarray
    type: np.ndarray
    channel: np.ndarray
    category: np.ndarray
    size: np.ndarray
    campaign: np.ndarray  # index into the window's campaign plan
    properties: np.ndarray  # code into PROPERTIES.texts

    @classmethod
    def of(
        cls, customer: np.ndarray, at_us: np.ndarray, type: int | np.ndarray, channel: int | np.ndarray,
        category: int | np.ndarray = -1, size: int | np.ndarray = -1, campaign: int | np.ndarray = -1,
        properties: int | np.ndarray = -1,
    ) -> EventBatch:
        """A batch where any column may be given as one value for every row."""
        codes = (type, channel, category, size, campaign, properties)
        return cls(
            np.asarray(customer, dtype=np.int64),
            np.asarray(at_us, dtype=np.int64),
            *(np.broadcast_to(np.asarray(code, dtype=np.int32), (len(customer),)) for code in codes),
        )

    def __len__(self) -> int:
        return len(self.customer)

    def take(self, rows: np.ndarray) -> EventBatch:
        """Rows selected by a boolean mask or an index array."""
        return EventBatch(*(getattr(self, f.name)[rows] for f in fields(self)))

    @classmethod
    def concat(cls, batches: Sequence[EventBatch]) -> EventBatch:
        return cls(*(np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(cls)))

    def in_time_order(self) -> EventBatch:
        return self.take(np.argsort(self.at_us, kind="stable"))


def events_table(
    batch: EventBatch, first_event_number: int, population_size: int, campaigns: Sequence[Campaign]
) -> pa.Table:
    """The events table for a batch, ids numbered from `first_event_number` in row order."""
    return columns.table(
        EVENTS,
        {
            "event_id": columns.ids("E", first_event_number + np.arange(len(batch)), EVENT_ID_WIDTH),
            "customer_id": customer_ids(batch.customer, population_size),
            "occurred_at": columns.timestamps(batch.at_us),
            "type": columns.labels(EVENT_TYPES, batch.type),
            "channel": columns.labels(EVENT_CHANNELS, batch.channel),
            "category": columns.labels(CATEGORY_NAMES, batch.category),
            "size": columns.labels(SIZES, batch.size),
            "campaign_id": columns.labels([c.id for c in campaigns], batch.campaign),
            "properties": columns.labels(PROPERTIES.texts, batch.properties),
        },
    )
