"""Plotly figures shared by the dashboard and the HTML report: one builder per chart,
taking what the stages return, giving a figure (no data access here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import plotly
import plotly.graph_objects as go

from segmento.dynamics.transitions import TransitionMatrix
from segmento.segmentations import Portrait

TEMPLATE = "plotly_white"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
MARGIN = dict(l=60, r=20, t=50, b=50)
COLOURS = ("#2f6fed", "#e8590c", "#2b8a3e", "#c2255c", "#7048e8", "#0b7285", "#e67700", "#5c940d", "#a61e4d",
           "#495057", "#1864ab", "#d9480f")


def _layout(fig: go.Figure, title: str, **extra: Any) -> go.Figure:
    fig.update_layout(title=title, template=TEMPLATE, **({"margin": MARGIN} | extra))
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def segment_mix(mix: pd.DataFrame, segmentation: str, share: bool = True) -> go.Figure:
    """Stacked areas: each segment's share of customers at every period."""
    fig = go.Figure()
    values = mix.div(mix.sum(axis=1).replace(0, 1), axis=0) * 100 if share else mix
    for label in mix.columns:
        fig.add_trace(go.Scatter(
            x=[str(p) for p in mix.index], y=values[label].round(2).tolist(), name=str(label), stackgroup="mix",
            mode="lines", customdata=mix[label].tolist(),
            hovertemplate="%{x}<br>" + f"{label}: " + "%{y:.1f}% (%{customdata:,} customers)<extra></extra>",
        ))
    return _layout(fig, f"{segmentation}: segment mix over time", yaxis_title="% of customers" if share else "customers",
                   height=420)


def transition_heatmap(matrix: TransitionMatrix) -> go.Figure:
    """Row percentages coloured, counts in the cells: where each segment went."""
    percent = matrix.row_percent
    counts = matrix.counts
    text = [[f"{p:.1f}%<br>{c:,}" for p, c in zip(prow, crow)] for prow, crow in zip(percent.to_numpy(), counts.to_numpy())]
    fig = go.Figure(go.Heatmap(
        z=percent.to_numpy().round(2).tolist(), x=list(percent.columns), y=list(percent.index), text=text,
        texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=100, colorbar=dict(title="% of row"),
        hovertemplate="from %{y} to %{x}: %{z:.1f}%<extra></extra>",
    ))
    title = f"{matrix.segmentation}: transitions {matrix.from_period} → {matrix.to_period}"
    return _layout(fig, title, xaxis_title="to", yaxis_title="from", yaxis_autorange="reversed",
                   height=140 + 45 * len(percent.index))


def trajectory_sankey(sankey: dict[str, Any], segmentation: str) -> go.Figure:
    """Customers flowing between segments over consecutive periods (one column per period)."""
    periods = sorted({node[:10] for node in sankey["nodes"]})  # nodes read "YYYY-MM-DD label"
    labels = [node[11:] for node in sankey["nodes"]]
    palette = {label: COLOURS[i % len(COLOURS)] for i, label in enumerate(dict.fromkeys(sorted(labels)))}
    fig = go.Figure(go.Sankey(
        node=dict(label=labels, color=[palette[label] for label in labels], pad=10, thickness=14,
                  customdata=[node[:10] for node in sankey["nodes"]],
                  hovertemplate="%{customdata} %{label}: %{value:,} customers<extra></extra>"),
        link=dict(source=sankey["source"], target=sankey["target"], value=sankey["value"]),
    ))
    for i, period in enumerate(periods):
        fig.add_annotation(x=i / max(len(periods) - 1, 1), y=1.06, xref="paper", yref="paper", text=period,
                           showarrow=False)
    return _layout(fig, f"{segmentation}: trajectories", height=560, margin=dict(l=20, r=20, t=80, b=20))


def portrait_shares(portraits: list[Portrait], title: str) -> go.Figure:
    """Share of customers against share of revenue, per segment."""
    labels = [p.label for p in portraits]
    fig = go.Figure([
        go.Bar(name="% of customers", x=labels, y=[round(p.share * 100, 2) for p in portraits]),
        go.Bar(name="% of revenue", x=labels, y=[round((p.revenue_share or 0) * 100, 2) for p in portraits]),
    ])
    return _layout(fig, title, barmode="group", yaxis_title="%", height=380)


def portrait_indexes(portraits: list[Portrait], title: str, features: int = 12) -> go.Figure:
    """Index (segment mean / base mean x 100) of the features that set segments apart."""
    chosen: list[str] = []
    for portrait in portraits:
        for feature, _z in portrait.distinctive:
            if feature not in chosen:
                chosen.append(feature)
    chosen = chosen[:features]
    z = [[_number(p.stats["index"].get(f)) for f in chosen] for p in portraits]
    fig = go.Figure(go.Heatmap(
        z=z, x=chosen, y=[p.label for p in portraits], colorscale="RdBu", zmin=0, zmid=100, zmax=200,
        colorbar=dict(title="index"), hovertemplate="%{y}<br>%{x}: index %{z:.0f}<extra></extra>",
    ))
    return _layout(fig, title, yaxis_autorange="reversed", height=160 + 40 * len(portraits))


def audience_sizes(sizes: dict[str, int], base: int) -> go.Figure:
    names = list(sizes)
    fig = go.Figure(go.Bar(
        x=names, y=[sizes[n] for n in names], text=[f"{sizes[n] / base:.1%}" if base else "" for n in names],
        textposition="outside", hovertemplate="%{x}: %{y:,} customers<extra></extra>",
    ))
    return _layout(fig, f"Audience sizes (base {base:,} customers)", yaxis_title="customers", height=380)


def audience_overlaps(overlaps: pd.DataFrame) -> go.Figure:
    """Shared members of every two audiences as a share of the row audience."""
    diagonal = pd.Series([overlaps.iat[i, i] for i in range(len(overlaps))], index=overlaps.index)
    share = overlaps.div(diagonal.replace(0, 1), axis=0) * 100
    fig = go.Figure(go.Heatmap(
        z=share.round(1).to_numpy().tolist(), x=list(overlaps.columns), y=list(overlaps.index),
        text=overlaps.to_numpy().tolist(), texttemplate="%{text:,}", colorscale="Purples", zmin=0, zmax=100,
        colorbar=dict(title="% of row"), hovertemplate="%{z:.0f}% of %{y} is in %{x}<extra></extra>",
    ))
    return _layout(fig, "Audience overlaps", yaxis_autorange="reversed", height=160 + 40 * len(overlaps))


def alert_counts(counts: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for kind, rows in counts.groupby("kind"):
        fig.add_trace(go.Bar(name=str(kind), x=[str(p) for p in rows.period], y=rows.alerts.tolist(),
                             customdata=rows.value.round(0).tolist(),
                             hovertemplate="%{x}: %{y:,} alerts, %{customdata:,.0f} at stake<extra></extra>"))
    return _layout(fig, "Trajectory alerts per period", barmode="stack", yaxis_title="alerts", height=360)


def customer_path(history: dict[str, list[dict[str, Any]]]) -> go.Figure:
    """One customer's segment in every segmentation, period by period (rank 1 = best, at the top)."""
    fig = go.Figure()
    for name, path in history.items():
        fig.add_trace(go.Scatter(
            x=[str(step["period"]) for step in path], y=[step["rank"] for step in path], name=name,
            mode="lines+markers", line_shape="hv", text=[step["label"] for step in path],
            hovertemplate=f"{name}<br>" + "%{x}: %{text} (rank %{y})<extra></extra>",
        ))
    return _layout(fig, "Segment history", yaxis=dict(title="segment rank (1 = best)", autorange="reversed"),
                   height=340)


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 1)
