"""HTML rendering shared by the dashboard and the report: one Jinja environment, one
way to put a Plotly figure in a page (compact JSON; the chart template sent once per page)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jinja2
import plotly.graph_objects as go
import plotly.io as pio

REPORT_DIR = Path(__file__).parent
SERVICE_TEMPLATES = REPORT_DIR.parent / "service" / "templates"
STATIC = REPORT_DIR / "static"
TEMPLATE = "plotly_white"


def _safe(text: str) -> str:
    return text.replace("</", "<\\/")  # '</' cannot close the <script> element holding it


def figure_json(fig: go.Figure) -> str:
    """The figure as JSON safe inside a <script> element, without its template (sent once)."""
    data = json.loads(fig.to_json())
    data["layout"].pop("template", None)
    return _safe(json.dumps(data, separators=(",", ":"), ensure_ascii=False))


@cache
def plotly_template() -> str:
    """The chart template every figure of a page shares."""
    return _safe(json.dumps(pio.templates[TEMPLATE].to_plotly_json(), separators=(",", ":")))


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([REPORT_DIR / "templates", SERVICE_TEMPLATES]),
        autoescape=jinja2.select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["figure_json"] = figure_json
    env.globals["static_text"] = lambda name: (STATIC / name).read_text(encoding="utf-8")
    env.globals["plotly_template"] = plotly_template
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)
