"""The static HTML report: the dashboard's charts in one self-contained file (Plotly
inlined, no network needed to open it), for people who will not run a server.

    from segmento.report import build_report
    build_report(ws, "report.html")
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from segmento import formatting as fmt
from segmento.report import sections, sections_activity, views
from segmento.report.campaigns import campaigns, with_campaigns
from segmento.report.predictive import predictive
from segmento.report.charts import PLOTLY_JS
from segmento.report.headline import data_as_of, headline_section, stamp
from segmento.report.render import render
from segmento.workspace import Workspace


def report_sections(ws: Workspace) -> list[sections.Section]:
    """The headline, then every section segmentation by segmentation, then audiences and alerts."""
    found: list[sections.Section] = [headline_section(ws)]
    for name in views.fitted_segmentations(ws):
        found.append(sections.mix(ws, name))
        found.append(sections.transitions(ws, name))
        found.append(sections.trajectories(ws, name))
        found.append(sections.markov(ws, name))
        found.append(with_campaigns(ws, sections.portraits(ws, name), name))
        found.append(sections.quality(ws, name))
    found.append(predictive(ws))
    found.append(sections_activity.audiences(ws))
    found.append(sections_activity.alerts(ws))
    found.append(campaigns(ws))
    return found


def build_report(ws: Workspace, out_path: str | Path) -> Path:
    """Write the report to ``out_path`` and return its path."""
    out = Path(out_path)
    found = report_sections(ws)
    summary = {
        "data as of": fmt.day(data_as_of(ws)),
        "customers": fmt.count(ws.table("customers").count().execute()),
        "orders": fmt.count(ws.table("orders").count().execute()),
        "segmentations": ", ".join(views.fitted_segmentations(ws)) or "none fitted",
        "generated": datetime.now().strftime("%Y-%m-%d %H:%M"),
    }
    html = render("report.html", title=f"Segmento report: {ws.project.name}", summary=summary, sections=found,
                  stamp=stamp(ws),
                  plotly_js=PLOTLY_JS.read_text(encoding="utf-8"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
