"""Plotly figures of audiences and alerts, shared by the dashboard and the report
(same conventions as ``charts``: names for people, ids in the hover, palette colours)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from segmento import formatting as fmt
from segmento.report import palette
from segmento.report.charts import _layout, money_format

KIND_ORDER = ("negative", "high_stakes", "positive")


def audience_sizes(sizes: dict[str, int], base: int) -> go.Figure:
    names = list(sizes)
    fig = go.Figure(go.Bar(
        x=names, y=[sizes[n] for n in names], marker_color="#4dabf7",
        text=[f"{sizes[n]:,} · {sizes[n] / base:.1%}" if base else f"{sizes[n]:,}" for n in names],
        textposition="outside", cliponaxis=False, hovertemplate="%{x}: %{y:,} customers<extra></extra>",
    ))
    return _layout(fig, f"Audience sizes (base {base:,} customers)", yaxis_title="customers", height=360)


def audience_trend(history: pd.DataFrame) -> go.Figure:
    """Members of each audience at the end of every period."""
    fig = go.Figure()
    for audience, rows in history.groupby("audience", sort=False):
        fig.add_trace(go.Scatter(x=rows.period.tolist(), y=rows.members.tolist(), name=str(audience), mode="lines+markers",
                                 hovertemplate=f"{audience}<br>" + "%{x}: %{y:,} members<extra></extra>"))
    return _layout(fig, "Audience sizes over time", yaxis=dict(title="members", rangemode="tozero"), height=340,
                   legend=dict(orientation="h", y=-0.2))


def audience_moves(history: pd.DataFrame) -> go.Figure:
    """Entries (up, cool) and exits (down, warm) per period, summed over the audiences, by audience in the hover."""
    fig = go.Figure()
    for column, sign, move in (("entries", 1, palette.UP), ("exits", -1, palette.DOWN)):
        totals = history.groupby("period", sort=True)[column].sum()
        detail = history.groupby("period", sort=True).apply(
            lambda rows, c=column: "<br>".join(f"{a}: {n:,}" for a, n in zip(rows.audience, rows[c]) if n))
        fig.add_trace(go.Bar(x=totals.index.tolist(), y=(sign * totals).tolist(), name=column,
                             marker_color=palette.MOVES[move], customdata=detail.reindex(totals.index).tolist(),
                             hovertemplate=f"%{{x}}: {column} %{{y:,}}<br>" + "%{customdata}<extra></extra>"))
    return _layout(fig, "Entries and exits per period (all audiences)", barmode="relative", yaxis_title="customers",
                   height=320, legend=dict(orientation="h", y=1.12))


def audience_overlaps(overlaps: pd.DataFrame) -> go.Figure:
    """Shared members of every two audiences as a share of the row audience: colour and text in %."""
    diagonal = pd.Series([overlaps.iat[i, i] for i in range(len(overlaps))], index=overlaps.index)
    share = overlaps.div(diagonal.replace(0, 1), axis=0) * 100
    fig = go.Figure(go.Heatmap(
        z=share.round(1).to_numpy().tolist(), x=list(overlaps.columns), y=list(overlaps.index),
        customdata=overlaps.to_numpy().tolist(), texttemplate="%{z:.0f}%", colorscale="Blues", zmin=0, zmax=100,
        xgap=1, ygap=1, colorbar=dict(title="% of row", ticksuffix="%"),
        hovertemplate="%{z:.1f}% of %{y} is also in %{x} (%{customdata:,} customers)<extra></extra>",
    ))
    return _layout(fig, "Audience overlaps (% of the row audience)", yaxis_autorange="reversed",
                   height=200 + 44 * len(overlaps))


def alert_counts(counts: pd.DataFrame, currency: str) -> go.Figure:
    before, after = money_format(currency)
    fig = go.Figure()
    kinds = sorted(counts.kind.unique(), key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else 9, k))
    periods = sorted({fmt.day(p) for p in counts.period})  # in time order, whichever kind a period starts with
    for kind in kinds:
        rows = counts[counts.kind == kind]
        fig.add_trace(go.Bar(name=str(kind), x=[fmt.day(p) for p in rows.period], y=rows.alerts.tolist(),
                             marker_color=palette.KINDS.get(kind, palette.NEUTRAL),
                             customdata=rows.value.round(0).tolist(),
                             hovertemplate=f"{kind} · %{{x}}: %{{y:,}} alerts, {before}%{{customdata:,.0f}}{after} "
                                           "at stake<extra></extra>"))
    return _layout(fig, "Trajectory alerts per period", barmode="stack", yaxis_title="alerts", height=340,
                   xaxis=dict(type="category", title="period", categoryorder="array", categoryarray=periods),
                   legend=dict(orientation="h", y=1.12))
