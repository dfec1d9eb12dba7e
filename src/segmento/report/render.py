"""HTML rendering shared by the dashboard and the report: one Jinja environment, one
way to put a Plotly figure in a page (compact JSON; the chart template sent once per page)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
import plotly.io as pio

REPORT_DIR = Path(__file__).parent
SERVICE_TEMPLATES = REPORT_DIR.parent / "service" / "templates"
STATIC = REPORT_DIR / "static"
TEMPLATE = "plotly_white"


def _safe(text: str) -> str:
    return text.replace("</", "<\\/")  # '</' cannot close the <script> element holding it


def figure_json(fig: go.Figure | dict[str, Any]) -> str:
    """The figure (or its plain spec) as JSON safe inside a <script> element, without its template (sent once)."""
    if not isinstance(fig, dict):
        fig = json.loads(fig.to_json())
        fig["layout"].pop("template", None)
    return _safe(json.dumps(fig, separators=(",", ":"), ensure_ascii=False))


@cache
def plotly_template() -> str:
    """The chart template every figure of a page shares."""
    return _safe(json.dumps(pio.templates[TEMPLATE].to_plotly_json(), separators=(",", ":")))


@cache
def static_version(name: str) -> str:
    """A digest of a static file for its address: a browser may keep the file for good, since a
    changed file gets a new address."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


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
    env.globals["static_version"] = static_version
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)
