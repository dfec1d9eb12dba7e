"""HTML rendering shared by the dashboard and the report: one Jinja environment, one
way to put a Plotly figure in a page."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2
import plotly.graph_objects as go

REPORT_DIR = Path(__file__).parent
SERVICE_TEMPLATES = REPORT_DIR.parent / "service" / "templates"
STATIC = REPORT_DIR / "static"


def figure_json(fig: go.Figure) -> str:
    """The figure as JSON safe inside a <script> element ('</' cannot close it)."""
    return fig.to_json().replace("</", "<\\/")


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
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)
