"""Contactability and reactivity axis: consent per channel at D, email open and click rates.

Consent is the consent in force at D for purpose 'marketing', as ``store/consents.py``
decides it (from two aggregates this axis computes in its own group-by).
Rates are capped counts over emails sent in the period window (opens / sent, at most 1).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from segmento.features.model import Context, Feature, Windows, during, share
from segmento.store.consents import in_force, ledger_aggregates
from segmento.store.schema import CONSENT_CHANNELS

AXIS = "contactability"
PURPOSE = "marketing"


def _consent(channel: str) -> Feature:
    last, grant = f"_c_last_{channel}", f"_c_grant_{channel}"

    def partials(ctx: Context, c: ibis.Table) -> dict[str, ir.Scalar]:
        return dict(zip((last, grant), ledger_aggregates(c, (c.channel == channel) & (c.purpose == PURPOSE))))

    return Feature(
        f"consent_{channel}", AXIS, f"Marketing consent on {channel} at D (false if never given)", "", "boolean",
        "consents", partials=partials, value=lambda ctx, t: in_force(t[last], t[grant]),
    )  # fmt: skip


def _rate(kind: str, windows: Windows) -> Feature:
    period = windows.period
    sent, done = f"_e_email_sent_{period.label}", f"_e_email_{kind}_{period.label}"

    def partials(ctx: Context, e: ibis.Table) -> dict[str, ir.Scalar]:
        inside = ctx.as_of.within(e.occurred_at, period)

        def count(event_type: str) -> ir.Scalar:
            condition = e.type == event_type
            return e.count(where=condition if inside is None else condition & inside)

        return {sent: count("email_sent"), done: count(f"email_{kind}")}

    return Feature(
        f"email_{kind}_rate_{period.label}", AXIS,
        f"Emails {'opened' if kind == 'open' else 'clicked'} / emails sent {during(period)} (null if none sent)",
        "share", "float64", "events", partials=partials, window=period,
        value=lambda ctx, t: share(ibis.least(t[done].fill_null(0), t[sent].fill_null(0)), t[sent]),
    )  # fmt: skip


def features(windows: Windows, categories: tuple[str, ...] | None) -> list[Feature]:
    return [*(_consent(channel) for channel in CONSENT_CHANNELS), _rate("open", windows), _rate("click", windows)]
