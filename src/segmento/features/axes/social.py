"""Social engagement axis: interactions with the brand on social networks (events of type 'social')."""

from __future__ import annotations

from segmento.features.asof import Window, both
from segmento.features.model import Feature, Windows, counted, during

AXIS = "social"


def event_count(name: str, axis: str, description: str, event_type: str, window: Window) -> Feature:
    """Events of one type in a window: 0 when none."""
    return counted(
        name, axis, description, "events", "int64", "events", window, f"_e_{event_type}_{window.label}",
        lambda ctx, e: e.count(where=both(e.type == event_type, ctx.as_of.within(e.occurred_at, window))),
    )  # fmt: skip


def features(windows: Windows, categories: tuple[str, ...] | None) -> list[Feature]:
    return [
        event_count(f"social_{w.label}", AXIS, f"Social interactions {during(w)}", "social", w) for w in windows.social
    ]
