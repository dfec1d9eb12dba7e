"""The brand's campaign calendar: a newsletter and a category email every month, sales and
Christmas campaigns by email, SMS and push in their season."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmento.demo.catalogue import CATEGORIES, CATEGORY_NAMES, category_season
from segmento.demo.window import US_PER_DAY, US_PER_HOUR, Window
from segmento.store.schema import EVENT_CHANNELS

EMAIL, SMS, PUSH = (EVENT_CHANNELS.index(c) for c in ("email", "sms", "push"))
_PREFIX = {EMAIL: "CMP", SMS: "SMS", PUSH: "PUSH"}
SALES_INTENSITY = 0.2  # months at least this promotional get sales campaigns
# (theme, day of month, hour) of each campaign kind
NEWSLETTER = ("newsletter", 4, 9)
CATEGORY = ("category", 15, 10)
SALES = ("sales", 8, 8)
CHRISTMAS = ("christmas", 6, 9)
_LATE_JUNE_SALES_DAY = 25


@dataclass(frozen=True)
class Campaign:
    id: str
    month: int  # index in the window
    channel: int  # EVENT_CHANNELS code: email, sms or push
    theme: str
    category: int  # category code for category campaigns, else -1
    send_us: int

    @property
    def promotional(self) -> bool:
        return self.theme in (SALES[0], CHRISTMAS[0])


def plan_campaigns(rng: np.random.Generator, window: Window) -> tuple[Campaign, ...]:
    """Every campaign of the window, in month order; those that would go out after the end are dropped."""
    season = category_season()
    appeal = np.array([c.appeal for c in CATEGORIES]).mean(axis=1)
    plan = []
    for month in window.months:
        weights = appeal * season[:, month.calendar_month - 1]
        featured = int(rng.choice(len(CATEGORIES), p=weights / weights.sum()))
        kinds = [(NEWSLETTER, -1, (EMAIL,)), (CATEGORY, featured, (EMAIL,))]
        if month.promo_intensity >= SALES_INTENSITY:
            day = _LATE_JUNE_SALES_DAY if month.calendar_month == 6 else SALES[1]
            kinds.append(((SALES[0], day, SALES[2]), -1, (EMAIL, SMS, PUSH)))
        if month.calendar_month == 12:
            kinds.append((CHRISTMAS, -1, (EMAIL, SMS, PUSH)))
        for (theme, day, hour), category, channels in kinds:
            send_day = month.start_day + day - 1
            if send_day >= month.stop_day:
                continue
            name = CATEGORY_NAMES[category].replace(" ", "-") if category >= 0 else theme
            for channel in channels:
                campaign_id = f"{_PREFIX[channel]}-{month.label}-{name}"
                send_us = send_day * US_PER_DAY + hour * US_PER_HOUR
                plan.append(Campaign(campaign_id, month.index, channel, theme, category, send_us))
    return tuple(plan)
