"""The loop back: a customer's campaign history becomes features as of any date.

A campaign is *received* when the customer was in its treated group and it was sent by
D (``campaign_targets``), or when an ``email_sent`` event of a campaign run elsewhere says
so; it is *responded to* when a ``campaign_response`` event of that campaign follows the
send, by D. Counts cover the 12 months up to D, per channel, with the offer types
received and responded to as lists (``'discount' IN offers_responded_12m``). The measured
promo sensitivity is the response rate to promotional offers minus that to the others.
These are registered as provided features, so audiences, segmentations and portraits use
them like any other; nothing later than D is read. A base where no campaign was ever sent
by D leaves them out of "every feature" (asked by name, they are 0 or null).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmento.features.asof import AsOf
from segmento.features.model import Feature
from segmento.features.providers import Provider, register_provider
from segmento.store.registry import CAMPAIGN_TARGETS
from segmento.store.tables import beside, table

AXIS = "campaigns"
CHANNELS = ("email", "sms", "push")
PROMOTIONAL = ("discount", "coupon", "sale", "promotion", "free_shipping")  # offer types counted as promotions
WINDOW_DAYS = 365
FEATURES = (
    Feature("campaigns_received_12m", AXIS, "Campaigns received in the last 12 months", "campaigns", "int64", "provided"),
    Feature("campaigns_responded_12m", AXIS, "Campaigns received in the last 12 months and responded to", "campaigns",
            "int64", "provided"),
    Feature("campaign_response_rate_12m", AXIS, "Campaigns responded to / received, last 12 months (null if none)",
            "share", "float64", "provided"),
    *(Feature(f"campaigns_{kind}_{channel}_12m", AXIS, f"{channel.upper() if channel == 'sms' else channel.title()} "
              f"campaigns {kind} in the last 12 months", "campaigns", "int64", "provided")
      for channel in CHANNELS for kind in ("received", "responded")),
    Feature("offers_received_12m", AXIS, "Offer types of the campaigns received, last 12 months", "", "array<string>",
            "provided"),
    Feature("offers_responded_12m", AXIS, "Offer types of the campaigns responded to, last 12 months", "",
            "array<string>", "provided"),
    Feature("last_campaign_response_days", AXIS, "Days since the last response to any campaign (null if never)",
            "days", "int64", "provided"),
    Feature("promo_sensitivity_12m", AXIS, "Response rate to promotional offers minus that to other campaigns, "
            "last 12 months (null unless both were received)", "share", "float64", "provided"),
)  # fmt: skip


def _received(con: BaseBackend, as_of: AsOf, since: ir.TimestampScalar) -> ibis.Table:
    """(customer, campaign) received within the window, with channel, offer and when."""
    targets = table(con, CAMPAIGN_TARGETS.name)
    sent = targets.filter((targets.arm == "treated") & as_of.visible(targets.sent_at) & (targets.sent_at >= since))
    # the targets may live in the operational store (beside a Spark warehouse): their few columns come over
    sent = beside(con, sent.select("customer_id", "campaign_id", "channel", "offer", at=sent.sent_at))
    sent = sent.mutate(at=sent.at.cast("timestamp"))
    events = con.table("events")
    mailed = events.filter((events.type == "email_sent") & events.campaign_id.notnull()
                           & as_of.visible(events.occurred_at) & (events.occurred_at >= since))
    mailed = mailed.select("customer_id", "campaign_id", channel=ibis.literal("email"),
                           offer=ibis.null("string"), at=mailed.occurred_at.cast("timestamp"))  # one precision
    both = sent.union(mailed)
    return both.group_by(["customer_id", "campaign_id"]).agg(channel=both.channel.max(), offer=both.offer.max(),
                                                             at=both.at.min())


def history_table(con: BaseBackend, as_of: AsOf, names: Sequence[str]) -> ibis.Table:
    """The campaign history features of every customer as of D."""
    since = ibis.timestamp(as_of.end) - ibis.interval(days=WINDOW_DAYS)
    received = _received(con, as_of, since)
    events = con.table("events")
    responses = events.filter((events.type == "campaign_response") & events.campaign_id.notnull()
                              & as_of.visible(events.occurred_at))
    answered = responses.group_by(["customer_id", "campaign_id"]).agg(answered_at=responses.occurred_at.max())
    rows = received.left_join(answered, ["customer_id", "campaign_id"])
    rows = rows.mutate(responded=(rows.answered_at >= rows.at).fill_null(False),
                       promo=rows.offer.isin(PROMOTIONAL).fill_null(False))
    per_channel = {}
    for channel in CHANNELS:
        on = rows.channel == channel
        per_channel[f"campaigns_received_{channel}_12m"] = on.sum()
        per_channel[f"campaigns_responded_{channel}_12m"] = (on & rows.responded).sum()
    promo_rate = (rows.promo & rows.responded).sum() / rows.promo.sum().nullif(0)
    other_rate = (~rows.promo & rows.responded).sum() / (~rows.promo).sum().nullif(0)
    summary = rows.group_by("customer_id").agg(
        campaigns_received_12m=rows.count(), campaigns_responded_12m=rows.responded.sum(), **per_channel,
        offers_received_12m=rows.offer.collect(distinct=True),
        offers_responded_12m=rows.offer.collect(where=rows.responded, distinct=True),
        promo_sensitivity_12m=(promo_rate - other_rate).cast("float64"),
    )
    last = responses.group_by("customer_id").agg(_last=responses.occurred_at.max())
    customers = con.table("customers")
    customers = customers.filter(customers.signup_date <= ibis.date(as_of.day)).select("customer_id")
    out = customers.left_join(summary, "customer_id").drop("customer_id_right")
    out = out.left_join(last, "customer_id").drop("customer_id_right")
    counts = [f.name for f in FEATURES if f.dtype == "int64" and f.name.startswith("campaigns_")]
    columns = {name: out[name].fill_null(0).cast("int64") for name in counts}
    columns["campaign_response_rate_12m"] = (columns["campaigns_responded_12m"]
                                             / columns["campaigns_received_12m"].nullif(0)).cast("float64")
    for name in ("offers_received_12m", "offers_responded_12m"):  # none known: null on every engine (not [])
        columns[name] = ibis.ifelse(out[name].length().fill_null(0) > 0, out[name], ibis.null("array<string>"))
    columns["last_campaign_response_days"] = as_of.days_since(out._last.date()).cast("int64")
    columns["promo_sensitivity_12m"] = out.promo_sensitivity_12m
    return out.select("customer_id", **{name: columns[name] for name in names})


def has_history(con: BaseBackend, as_of: AsOf) -> bool:
    """Whether any campaign was sent by D: without one, computing every feature leaves these out
    (asking for one by name still gives its value). One row is enough: the scans stop there, so a
    backfill asking at every month end does not read the growing history each time."""
    targets = table(con, CAMPAIGN_TARGETS.name)
    if targets.filter(as_of.visible(targets.sent_at)).limit(1).count().execute():
        return True
    events = con.table("events")
    sent = events.filter(events.campaign_id.notnull() & as_of.visible(events.occurred_at))
    return bool(sent.limit(1).count().execute())


register_provider(Provider(AXIS, FEATURES, history_table, has_history))
