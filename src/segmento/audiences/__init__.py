"""Audiences: rule-based, overlapping groups of customers, their history and real-time updates.

    ws.audiences.define("men_30_40_tennis", "gender = 'M' AND age BETWEEN 30 AND 40 AND 'tennis' IN interests_90d")
    ws.audience_members("men_30_40_tennis", "2024-06-30")     # batch, as of any date
    ws.refresh_audiences()                                     # as of now: time alone moves people
    ws.push_event({...})                                       # real time: returns enter/exit changes
    ws.audience_guidance()                                     # sizes, overlaps, warnings

Rules are SQL conditions parsed by sqlglot into a small AST (ast.py, parser.py, check.py),
compiled to Ibis for batch (to_ibis.py) and to a Python predicate for real time
(to_python.py). History is the append-only ``audience_changes`` table (tables.py).
"""

from segmento.audiences.ast import RuleError
from segmento.audiences.definitions import Audience, AudienceError
from segmento.audiences.guidance import Guidance, Thresholds
from segmento.audiences.history import Change, RefreshReport
from segmento.audiences.realtime import EventError
from segmento.audiences.service import Audiences

__all__ = [
    "Audience",
    "AudienceError",
    "Audiences",
    "Change",
    "EventError",
    "Guidance",
    "RefreshReport",
    "RuleError",
    "Thresholds",
]
