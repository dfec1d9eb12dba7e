"""Features provided by a later stage (e.g. predictive traits), listed in the catalog like any other.

A provider declares its features and one function returning a per-customer Ibis
table (``customer_id`` plus one column per feature) as of D. The features stage only
calls it: it never imports the stage that registers it, so the flow keeps one
direction. ``ready(con, as_of)`` says whether the provider can answer (a model fitted
by then); computing every feature skips providers that cannot, while asking for one
of their features by name raises the provider's own error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis
from ibis.backends import BaseBackend

from segmento.features.asof import AsOf
from segmento.features.model import Feature

TableFn = Callable[[BaseBackend, AsOf, Sequence[str]], ibis.Table]
ReadyFn = Callable[[BaseBackend, AsOf], bool]


@dataclass(frozen=True)
class Provider:
    """A group of features computed together by a later stage."""

    name: str
    features: tuple[Feature, ...]
    table: TableFn
    ready: ReadyFn


_PROVIDERS: dict[str, Provider] = {}


def register_provider(provider: Provider) -> None:
    """Add (or replace) a provider; its features get ``source='provided'``."""
    _PROVIDERS[provider.name] = provider


def provided_features() -> list[Feature]:
    return [spec for provider in _PROVIDERS.values() for spec in provider.features]


def provider_of(spec: Feature) -> Provider:
    for provider in _PROVIDERS.values():
        if any(f.name == spec.name for f in provider.features):
            return provider
    raise KeyError(spec.name)


def unready(con: BaseBackend, as_of: AsOf) -> set[str]:
    """Names of provided features that cannot be computed as of D (skipped when computing all)."""
    return {f.name for p in _PROVIDERS.values() if not p.ready(con, as_of) for f in p.features}
