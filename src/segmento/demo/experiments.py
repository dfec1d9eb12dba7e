"""Campaign experiments with a known effect: what each persona would buy because of a campaign.

Each experiment is a campaign on every customer signed up by its send, with a control
group. Its true effect differs by persona: the chance that a customer places one more
order within the attribution window *because* she received it (a promo hunter jumps on a
discount, a loyal customer would have bought anyway). ``planted_responses`` draws, for
every customer who could be targeted, whether she would answer and the order she would
place: the potential outcome under treatment. Only the customers actually sent the
campaign (the treated group, known once it is launched) get those orders, which is what
``segmento demo-responses`` loads. Since the draw is made for everyone, the true uplift of
any group of customers is known exactly, so measured uplifts can be checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc



@dataclass(frozen=True)
class Experiment:
    id: str
    name: str
    offer: str
    months_before_end: int  # sent in the month this many months before the window's last
    day: int  # day of that month, sent at 10:00
    effect: dict[str, float]  # persona -> chance of an extra order because of the campaign
    basket: float  # mean amount of that order
    discount: float  # share of the amount granted as discount
    attribution_days: int = 14
    control_share: float = 0.4


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("autumn-promo", "Autumn promotion: 20% off", "discount", 2, 10,
               {"promo_hunter": 0.45, "occasional": 0.10, "new": 0.08, "regular": 0.06, "lapsing": 0.05,
                "loyal_high_value": 0.0, "churned": 0.0}, basket=55.0, discount=0.2),
    Experiment("vip-preview", "Private preview of the new collection", "early_access", 1, 5,
               {"loyal_high_value": 0.20, "regular": 0.06}, basket=140.0, discount=0.0),
)
RESPONSES_SCHEMA = pa.schema([
    ("campaign_id", pa.string()), ("customer_id", pa.string()), ("persona", pa.string()), ("order_id", pa.string()),
    ("ordered_at", pa.timestamp("us")), ("amount", pa.float64()), ("discount_amount", pa.float64()),
    ("channel", pa.string()),
])


def send_at(experiment: Experiment, end: date) -> datetime:
    """When the experiment goes out, for a history ending on ``end``."""
    month = end.month - experiment.months_before_end
    year = end.year + (month - 1) // 12
    return datetime.combine(date(year, (month - 1) % 12 + 1, experiment.day), time(10))


def campaign_definitions(end: date, to: str, audience: str) -> list[dict[str, Any]]:
    """The experiments as the project file's ``campaigns:`` entries (what examples/demo.yaml declares)."""
    return [{"id": e.id, "name": e.name, "channel": "email", "offer": e.offer, "start": send_at(e, end).date(),
             "end": send_at(e, end).date() + timedelta(days=e.attribution_days), "audience": audience, "to": to,
             "control_share": e.control_share, "attribution_days": e.attribution_days} for e in EXPERIMENTS]


def planted_responses(customers: pa.Table, truth: pa.Table, end: date, seed: int = 42) -> pa.Table:
    """For every experiment and every customer signed up by its send: the order she would place because of
    it, if she would (one row per answer), with her persona at the send."""
    rng = np.random.default_rng(seed)
    batches = []
    for experiment in EXPERIMENTS:
        sent = send_at(experiment, end)
        month_end = _month_end(sent.date())
        personas = truth.filter(pc.equal(truth["month"], pa.scalar(month_end, pa.date32())))
        signed = customers.filter(pc.less_equal(customers["signup_date"], pa.scalar(sent.date(), pa.date32())))
        personas = personas.filter(pc.is_in(personas["customer_id"], signed["customer_id"]))
        ids = personas["customer_id"].to_numpy(zero_copy_only=False)
        names = personas["persona"].to_numpy(zero_copy_only=False)
        chance = np.array([experiment.effect.get(name, 0.0) for name in names])
        answers = rng.random(len(ids)) < chance
        n = int(answers.sum())
        offset = rng.uniform(0.05, experiment.attribution_days - 0.5, n)
        amount = np.round(rng.lognormal(np.log(experiment.basket) - 0.18, 0.6, n), 2)
        batches.append(pa.table({
            "campaign_id": pa.array([experiment.id] * n, pa.string()),
            "customer_id": pa.array(ids[answers], pa.string()),
            "persona": pa.array(names[answers], pa.string()),
            "order_id": pa.array([f"R-{experiment.id}-{c}" for c in ids[answers]], pa.string()),
            "ordered_at": pa.array([sent + timedelta(days=float(d)) for d in offset], pa.timestamp("us")),
            "amount": pa.array(amount, pa.float64()),
            "discount_amount": pa.array(np.round(amount * experiment.discount, 2), pa.float64()),
            "channel": pa.array(["web"] * n, pa.string()),
        }, schema=RESPONSES_SCHEMA))
    return pa.concat_tables(batches)


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)
