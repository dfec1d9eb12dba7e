"""The predictive traits' section: the model in use, its calibration/holdout validation, CLV per segment.

Shared by the HTML report and the dashboard's Predictive page.
"""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go

from segmento.errors import NotReadyError
from segmento.report import charts, views
from segmento.report.sections import Section, Table
from segmento.workspace import Workspace


def predictive(ws: Workspace, as_of: date | None = None, holdout_days: int | None = None) -> Section:
    """Validation of the latest model (or the one fitted by ``as_of``) and expected value per segment."""
    from segmento.predictive import fitted_versions, model_as_of

    section = Section("Predictive traits: probability alive, expected orders, lifetime value", anchor="predictive")
    versions = fitted_versions(ws.con)
    if versions.empty:
        section.notes.append("No predictive model fitted yet: run `segmento predict fit --as-of YYYY-MM-DD`.")
        return section
    try:
        model = model_as_of(ws.con, as_of) if as_of else ws.predictive_model()
    except NotReadyError as exc:
        section.notes.append(str(exc))
        return section
    section.notes.append(f"Model in use: {model}. Fitted on {model.fit['customers']:,} customers "
                         f"({model.fit['distinct_triples']:,} distinct histories).")  # fmt: skip
    report = ws.predictive_report(model.as_of, holdout_days)
    table = report.table
    section.figures.append(holdout_chart(table, report.model.kind))
    section.tables.append(Table(
        ["calibration frequency", "customers", "actual", "predicted", "error", "relative error"],
        [[row.frequency, int(row.customers), f"{row.actual:,.0f}", f"{row.predicted:,.1f}", f"{row.error:+,.1f}",
          "" if row.relative_error != row.relative_error else f"{row.relative_error:+.1%}"]
         for row in table.itertuples()],
        f"repeat purchases in the holdout: {report.summary_line()}",
    ))  # fmt: skip
    for name in views.fitted_segmentations(ws):
        periods = ws.periods(name)
        if periods and periods[-1] >= model.as_of:
            values = ws.segment_value(name, periods[-1])
            section.tables.append(Table(
                ["segment", "customers", "mean p_alive", "mean clv_12m", "total clv_12m"],
                [[row.segment_label, int(row.customers), f"{row.p_alive:.2f}", f"{row.clv_12m:,.2f}",
                  f"{row.total_clv_12m:,.0f}"] for row in values.itertuples()],
                f"{name}: expected 12-month value per segment at {periods[-1]}",
            ))  # fmt: skip
    return section


def holdout_chart(table, kind: str) -> go.Figure:  # noqa: ANN001
    rows = table[table.frequency != "total"]
    fig = go.Figure([
        go.Bar(name="actual", x=rows.frequency, y=rows.actual),
        go.Bar(name=f"predicted ({kind})", x=rows.frequency, y=rows.predicted.round(1)),
    ])  # fmt: skip
    fig.update_layout(barmode="group", xaxis_title="repeat purchases in the calibration period",
                      yaxis_title="repeat purchases in the holdout")  # fmt: skip
    return charts._layout(fig, "predicted vs actual in the holdout, per calibration frequency")
