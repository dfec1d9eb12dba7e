"""Audiences: rule-based, overlapping groups of customers, their history and real-time updates.

    ws.audiences.define("men_30_40_tennis", "gender = 'M' AND age BETWEEN 30 AND 40 AND 'tennis' IN interests_90d")
    ws.audience_members("men_30_40_tennis", "2024-06-30")     # batch, as of any date
    ws.refresh_audiences()                                     # as of now: time alone moves people
    ws.push_event({...})                                       # real time: returns enter/exit changes
    ws.audience_guidance()                                     # sizes, overlaps, warnings

Rules are SQL conditions parsed by sqlglot into a small AST (ast.py, parser.py, check.py),
compiled to Ibis for batch (to_ibis.py) and to a Python predicate for real time
(to_python.py). History is the append-only ``audience_changes`` table (tables.py).

Importing this package stays light (the project file's audience settings live here, and every
CLI call reads them): each name below loads its module, with Ibis and pandas, on first use.
"""

from __future__ import annotations

from segmento.lazy import loader

_HOME = {
    "Audience": "definitions", "AudienceError": "definitions", "Audiences": "service", "Change": "history",
    "EventError": "realtime", "Guidance": "guidance", "RefreshReport": "history", "RuleError": "ast",
    "Thresholds": "guidance",
}  # fmt: skip

__all__ = sorted(_HOME)
__getattr__ = loader(__name__, _HOME)
