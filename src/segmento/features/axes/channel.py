"""Channel mix axis: where the customer buys (share of orders per channel) and how she contacts service."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from segmento.features.axes.purchase import n_orders
from segmento.features.axes.social import event_count
from segmento.features.model import Context, Feature, Windows, during, share
from segmento.store.schema import CHANNELS_ORDER

AXIS = "channel"
SERVICE = {"chatbot": "Chatbot conversations", "call": "Calls to the call centre", "selfcare": "Self-care visits"}


def _channel_share(channel: str, windows: Windows) -> Feature:
    period = windows.period
    n_key, n_fn = n_orders(period)
    key = f"_o_{channel}_{period.label}"

    def partials(ctx: Context, r: ibis.Table) -> dict[str, ir.Scalar]:
        inside = ctx.as_of.within(r.ordered_at, period)
        condition = r.channel == channel
        return {n_key: n_fn(ctx, r), key: r.count(where=condition if inside is None else condition & inside)}

    return Feature(
        f"share_{channel}_{period.label}", AXIS, f"Share of orders placed {'in' if channel == 'store' else 'on'} "
        f"{channel} {during(period)}", "share", "float64", "orders", partials=partials, window=period,
        value=lambda ctx, t: share(t[key], t[n_key]),
    )  # fmt: skip


def features(windows: Windows, categories: tuple[str, ...] | None) -> list[Feature]:
    shares = [_channel_share(channel, windows) for channel in CHANNELS_ORDER]
    contacts = [
        event_count(f"{kind}_{w.label}", AXIS, f"{text} {during(w)}", kind, w)
        for w in windows.service
        for kind, text in SERVICE.items()
    ]
    return shares + contacts
