"""One customer's charts (segment history per segmentation, orders and events) as plain Plotly specs.

The customer page is built per request, so its figures skip plotly's validated figure objects
(10-15 ms a chart, more than the page's queries) and are written as the dicts they would
serialise to. Their left margin is sized for the longest axis label, so that Plotly draws each
once: axes keep ``automargin`` as a safety net, but a margin pushed after the first layout costs
the browser a second full draw.
"""

from __future__ import annotations

from typing import Any

from segmento.report.charts import FONT, money_format
from segmento.report.views import SegmentInfo

CHAR_PX, TICK_PAD_PX = 7.5, 14  # a 13 px sans-serif character, the tick label's gap to the axis


def _layout(title: str, labels: list[str], height: int, **extra: Any) -> dict[str, Any]:
    left = round(TICK_PAD_PX + CHAR_PX * max((len(label) for label in labels), default=0))
    return {"title": {"text": title, "x": 0, "xanchor": "left"}, "font": FONT, "height": height,
            "hoverlabel": {"font": {"size": 13}}, "showlegend": False,
            "margin": {"l": max(left, 60), "r": 20, "t": 40, "b": 40},
            "xaxis": {"automargin": True}, **extra}


def customer_history(name: str, path: list[dict[str, Any]], info: dict[str, SegmentInfo]) -> dict[str, Any]:
    """One customer's segment in one segmentation, period by period, on that segmentation's own
    scale (its segment labels, best at the top)."""
    labels = [s.label for s in info.values()] or list(dict.fromkeys(step["label"] for step in path))
    colours = {s.label: s.colour for s in info.values()}
    trace = {
        "type": "scatter", "mode": "lines+markers",
        "x": [str(step["period"]) for step in path], "y": [step["label"] for step in path],
        "line": {"shape": "hv", "color": "#adb5bd"},
        "marker": {"size": 9, "color": [colours.get(step["label"], "#495057") for step in path]},
        "customdata": [step["segment_id"] for step in path],
        "hovertemplate": "%{x}: %{y} <i>(%{customdata})</i><extra></extra>",
    }
    yaxis = {"automargin": True, "categoryorder": "array", "categoryarray": labels[::-1],
             "range": [-0.5, len(labels) - 0.5]}
    return {"data": [trace], "layout": _layout(name, labels, 120 + 26 * len(labels), yaxis=yaxis)}


def customer_timeline(orders: list[dict[str, Any]], events: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    """Orders (size = amount) and events on one time axis, one row per kind."""
    before, after = money_format(currency)
    data = []
    if orders:
        amounts = [float(o["amount"] or 0) for o in orders]
        biggest = max(amounts + [1.0])
        data.append({
            "type": "scatter", "mode": "markers", "name": "orders",
            "x": [o["ordered_at"].isoformat() for o in orders], "y": ["order"] * len(orders),
            "marker": {"size": [round(8 + 22 * (a / biggest) ** 0.5, 1) for a in amounts], "color": "#0b4f8a",
                       "opacity": 0.7},
            "customdata": [[o["order_id"], round(a, 2), o["channel"]] for o, a in zip(orders, amounts)],
            "hovertemplate": f"%{{x}}<br>order %{{customdata[0]}}: {before}%{{customdata[1]:,.2f}}{after} "
                             "(%{customdata[2]})<extra></extra>"})
    if events:
        data.append({
            "type": "scatter", "mode": "markers", "name": "events",
            "x": [e["occurred_at"].isoformat() for e in events], "y": [e["type"] for e in events],
            "marker": {"size": 7, "color": "#f08c00", "opacity": 0.6},
            "customdata": [[e["channel"], e["category"] or ""] for e in events],
            "hovertemplate": "%{x}<br>%{y} on %{customdata[0]} %{customdata[1]}<extra></extra>"})
    kinds = list(dict.fromkeys(["order"] * bool(orders) + [e["type"] for e in events]))
    return {"data": data, "layout": _layout("Orders and events", kinds, 140 + 30 * max(len(kinds), 1),
                                            yaxis={"automargin": True})}
