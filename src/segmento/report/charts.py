"""Plotly figures of segments shared by the dashboard and the HTML report: one builder per
chart, taking what the stages and views return, giving a figure (no data access here).

Segments are shown by label (their id in the hover), figures with thousands separators,
colours from ``palette`` so that a colour means the same on every chart.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from segmento import formatting as fmt
from segmento.dynamics.store import EXIT, NEW
from segmento.dynamics.transitions import TransitionMatrix
from segmento.report import palette
from segmento.report.views import LOST_NAME, NEW_NAME, Flows, SegmentInfo
from segmento.segmentations import Portrait

PLOTLY_JS = Path(__file__).parent / "static" / "plotly.min.js"  # core + bar, heatmap, sankey (tools/plotly)
TEMPLATE = "plotly_white"
MARGIN = dict(l=60, r=20, t=50, b=50)
FONT = dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13, color="#1f2933")
SANKEY_HEIGHT, SANKEY_PAD = 560, 12
SANKEY_PLOT_PX = SANKEY_HEIGHT - 80 - 20  # minus the top and bottom margins: the height the nodes share
SANKEY_LABEL_PX = 20  # a node shorter than a line of 13 px text gets no name (its neighbours' would collide)


def _layout(fig: go.Figure, title: str, **extra: Any) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0, xanchor="left"), font=FONT,
                      **({"margin": MARGIN, "hoverlabel": dict(font_size=13)} | extra))
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def wrap(label: str, width: int = 18) -> str:
    """A long label on several lines (<br>) so that axis labels stay horizontal and readable."""
    words, lines, line = label.split(" "), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "<br>".join([*lines, line])


def money_format(currency: str) -> tuple[str, str]:
    """(prefix, suffix) around a d3 number in a hover template: ('€', '') or ('', ' SEK')."""
    symbol = fmt.SYMBOLS.get(currency)
    return (symbol, "") if symbol else ("", f" {currency}")


def segment_mix(mix: pd.DataFrame, info: dict[str, SegmentInfo], segmentation: str,
                incomplete_until: date | None = None) -> go.Figure:
    """Stacked areas: each segment's share of customers at every period, best segment on top."""
    fig = go.Figure()
    shares = mix.div(mix.sum(axis=1).replace(0, 1), axis=0) * 100
    for segment in reversed(list(mix.columns)):
        s = info[segment]
        fig.add_trace(go.Scatter(
            x=list(mix.index), y=shares[segment].round(2).tolist(), name=s.label, stackgroup="mix", mode="lines",
            line=dict(width=0.5, color=s.colour), fillcolor=s.colour, customdata=mix[segment].tolist(),
            hovertemplate=f"{s.label} <i>({s.id})</i><br>" + "%{x}: %{y:.1f}% · %{customdata:,} customers<extra></extra>",
        ))
    if incomplete_until is not None and mix.index[0] < incomplete_until.isoformat():
        end = min(incomplete_until.isoformat(), mix.index[-1])
        fig.add_vrect(x0=mix.index[0], x1=end, fillcolor="#fff", opacity=0.45, line_width=1, line_dash="dot",
                      annotation_text="12-month windows incomplete", annotation_position="top left",
                      annotation_font_size=12)
    return _layout(fig, f"{segmentation}: segment mix over time", yaxis=dict(title="% of customers", range=[0, 100]),
                   legend=dict(traceorder="reversed"), height=420, hovermode="x unified")


def _signed_share(matrix: TransitionMatrix, info: dict[str, SegmentInfo]) -> list[list[float]]:
    """Row % signed by direction: up positive (cool), down negative (warm), stay/new/lost 0."""
    percent = matrix.row_percent
    z = []
    for a in percent.index:
        row = []
        for b in percent.columns:
            ranks = [None if x in (NEW, EXIT) else info[x].rank if x in info else None for x in (a, b)]
            move = palette.direction(*ranks)
            sign = 1 if move == palette.UP else -1 if move in (palette.DOWN, palette.LOST) and a != NEW else 0
            row.append(round(sign * float(percent.at[a, b]), 1))
        z.append(row)
    return z


def _name(segment: str, info: dict[str, SegmentInfo]) -> str:
    return NEW_NAME if segment == NEW else LOST_NAME if segment == EXIT else info[segment].label if segment in info \
        else segment


def transition_heatmap(matrix: TransitionMatrix, info: dict[str, SegmentInfo], currency: str) -> go.Figure:
    """Where each segment went: % of the row, customers and their revenue in every cell; cells
    coloured by direction (down warm, up cool, staying white)."""
    counts, revenue, percent = matrix.counts, matrix.revenue, matrix.row_percent
    rows = [_name(s, info) for s in counts.index]
    columns = [wrap(_name(s, info), 14) for s in counts.columns]
    ids = [[f"{a} → {b}" for b in counts.columns] for a in counts.index]
    text = [[f"{p:.0f}%<br>{c:,}<br>{fmt.compact_money(r, currency)}" if c else ""
             for p, c, r in zip(prow, crow, rrow)]
            for prow, crow, rrow in zip(percent.to_numpy(), counts.to_numpy(), revenue.to_numpy())]
    before, after = money_format(currency)
    custom = [[[ids[i][j], int(counts.iat[i, j]), round(float(revenue.iat[i, j])), round(float(percent.iat[i, j]), 1)]
               for j in range(len(columns))] for i in range(len(rows))]
    fig = go.Figure(go.Heatmap(
        z=_signed_share(matrix, info), x=columns, y=rows, text=text, texttemplate="%{text}", customdata=custom,
        colorscale=palette.DIVERGING, zmin=-50, zmid=0, zmax=50, xgap=1, ygap=1,
        colorbar=dict(title="% of row", tickvals=[-50, -25, 0, 25, 50], ticktext=["50 down", "25", "0", "25", "50 up"]),
        hovertemplate="from %{y} to %{x} <i>(%{customdata[0]})</i><br>%{customdata[3]:.1f}% of the row · "
                      f"%{{customdata[1]:,}} customers · {before}%{{customdata[2]:,}}{after} revenue<extra></extra>",
    ))
    title = f"{matrix.segmentation}: transitions {matrix.from_period} → {matrix.to_period}"
    return _layout(fig, title, xaxis=dict(title="to", tickangle=0), yaxis=dict(title="from", autorange="reversed"),
                   height=200 + 62 * len(rows))


def trajectory_sankey(flows: Flows, segmentation: str) -> go.Figure:
    """Customers flowing between segments over consecutive periods, best segments at the top of
    each column, links coloured by direction. Names on the first and last columns only, and only
    on nodes at least as tall as a line of text, so that they never overlap (the segment colours,
    in the legend, carry the rest; hover names all)."""
    columns = len(flows.periods)
    out: dict[int, int] = {}
    into: dict[int, int] = {}
    for source, target, n, _move in flows.links:
        out[source] = out.get(source, 0) + n
        into[target] = into.get(target, 0) + n
    size = {i: max(out.get(i, 0), into.get(i, 0)) for i in range(len(flows.nodes))}
    column_total: dict[int, int] = {}
    for i, (col, _name_, _colour) in enumerate(flows.nodes):
        column_total[col] = column_total.get(col, 0) + size[i]
    per_column = Counter(col for col, _name, _colour in flows.nodes)
    # Plotly scales every column alike: pixels per customer of the fullest column, pads taken out.
    scale = min((SANKEY_PLOT_PX - SANKEY_PAD * (n - 1)) / max(column_total[col], 1) for col, n in per_column.items())
    labels, x, y, seen = [], [], [], {}
    for i, (col, name, _colour) in enumerate(flows.nodes):
        share = size[i] / max(column_total[col], 1)
        labels.append(name if col in (0, columns - 1) and size[i] * scale >= SANKEY_LABEL_PX else "")
        top = seen.get(col, 0.0)
        x.append(0.001 + 0.998 * col / max(columns - 1, 1))
        y.append(min(max(top + share / 2, 0.001), 0.999))
        seen[col] = top + share
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node=dict(label=labels, x=x, y=y, color=[c for _, _, c in flows.nodes], pad=SANKEY_PAD, thickness=16,
                  customdata=[[flows.periods[col], name] for col, name, _ in flows.nodes],
                  line=dict(width=0),
                  hovertemplate="%{customdata[0]} · %{customdata[1]}: %{value:,} customers<extra></extra>"),
        link=dict(source=[s for s, _, _, _ in flows.links], target=[t for _, t, _, _ in flows.links],
                  value=[n for _, _, n, _ in flows.links],
                  color=[palette.rgba(palette.MOVES[m], 0.55 if m != palette.STAY else 0.3) for *_, m in flows.links],
                  customdata=[palette.MOVE_NAMES[m] for *_, m in flows.links],
                  hovertemplate="%{source.customdata[1]} → %{target.customdata[1]}: %{value:,} customers "
                                "(%{customdata})<extra></extra>"),
    ))
    for i, period in enumerate(flows.periods):
        fig.add_annotation(x=i / max(columns - 1, 1), y=1.0, xref="paper", yref="paper", text=period,
                           showarrow=False, yanchor="bottom", font_size=12)
    return _layout(fig, f"{segmentation}: trajectories", height=SANKEY_HEIGHT, margin=dict(l=20, r=20, t=80, b=20))


def portrait_shares(portraits: list[Portrait], title: str, colours: dict[str, str] | None = None) -> go.Figure:
    """Share of customers against share of revenue, per segment."""
    labels = [wrap(p.label) for p in portraits]
    ids = [p.segment_id for p in portraits]
    fig = go.Figure([
        go.Bar(name="% of customers", x=labels, y=[round(p.share * 100, 2) for p in portraits], customdata=ids,
               marker_color="#99c3de", texttemplate="%{y:.1f}%", textposition="outside",
               hovertemplate="%{x} <i>(%{customdata})</i>: %{y:.1f}% of customers<extra></extra>"),
        go.Bar(name="% of revenue", x=labels, y=[round((p.revenue_share or 0) * 100, 2) for p in portraits],
               customdata=ids, marker_color="#0b4f8a", texttemplate="%{y:.1f}%", textposition="outside",
               hovertemplate="%{x} <i>(%{customdata})</i>: %{y:.1f}% of revenue<extra></extra>"),
    ])
    return _layout(fig, title, barmode="group", yaxis_title="%", height=380, legend=dict(orientation="h", y=1.1))


def portrait_indexes(portraits: list[Portrait], names: dict[str, str], title: str, features: int = 12) -> go.Figure:
    """Index (segment mean / base mean x 100) of the features that set segments apart, printed in
    each cell: a row per feature (long labels stay readable), a column per segment. Colours on a
    log scale centred on 100 (50 and 200 equally far), stretched to the largest index (never
    capped); missing values grey with 'n/a'."""
    chosen: list[str] = []
    for portrait in portraits:
        for feature, _z in portrait.distinctive:
            if feature not in chosen:
                chosen.append(feature)
    chosen = chosen[:features]
    z = [[_number(p.stats["index"].get(f)) for p in portraits] for f in chosen]
    ratios = [[None if v is None else math.log2(max(v, 1.0) / 100) for v in row] for row in z]
    spread = max([abs(r) for row in ratios for r in row if r is not None] + [1.0])
    ticks = [t for t in (1, 3, 6, 12, 25, 50, 100, 200, 400, 800, 1600, 3200, 6400) if abs(math.log2(t / 100)) <= spread]
    text = [[f"{v:,.0f}" if v is not None else "n/a" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        z=ratios, x=[wrap(p.label, 14) for p in portraits], y=[wrap(names.get(f, f), 34) for f in chosen], text=text,
        texttemplate="%{text}", customdata=[[f] * len(portraits) for f in chosen], colorscale=palette.DIVERGING,
        zmin=-spread, zmid=0, zmax=spread, xgap=2, ygap=2, hoverongaps=False,
        colorbar=dict(title="index", tickvals=[math.log2(t / 100) for t in ticks], ticktext=[f"{t:,}" for t in ticks]),
        hovertemplate="%{x}<br>%{y} <i>(%{customdata})</i>: index %{text}<extra></extra>",
    ))
    fig.update_layout(plot_bgcolor="#ced4da")  # missing cells show this grey, not the white of index 100
    fig.update_xaxes(tickangle=0, showgrid=False, tickfont_size=11, side="top")
    return _layout(fig, title, yaxis=dict(autorange="reversed", showgrid=False, tickfont_size=12),
                   height=200 + 40 * len(chosen))


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 1)
