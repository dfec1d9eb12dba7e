"""Colours that mean the same thing on every page and in the report, with their legend.

Moves: down is warm, up is cool, staying is grey; new customers green, lost ones dark red.
Alerts: negative warm, positive cool. Segments: best cool, worst warm, in rank order.
"""

from __future__ import annotations

UP, DOWN, STAY, NEW, LOST = "up", "down", "stay", "new", "lost"
MOVES = {UP: "#1c7ed6", DOWN: "#e8590c", STAY: "#adb5bd", NEW: "#2b8a3e", LOST: "#a61e4d"}
MOVE_NAMES = {UP: "moved up", DOWN: "moved down", STAY: "stayed", NEW: "new customers", LOST: "lost (left the base)"}
KINDS = {"negative": MOVES[DOWN], "positive": MOVES[UP], "high_stakes": "#7048e8"}
NEUTRAL = "#868e96"
# best -> worst: cool blues through grey to warm oranges and reds
RAMP = ("#0b4f8a", "#1c7ed6", "#4dabf7", "#99c3de", "#c4c9ce", "#f4b183", "#f08c00", "#e8590c", "#c92a2a", "#862e2e")
# diverging scales for heatmaps, warm (negative) -> white -> cool (positive)
DIVERGING = [[0.0, "#b3400a"], [0.25, "#f08c4a"], [0.5, "#f8f9fa"], [0.75, "#4dabf7"], [1.0, "#0b4f8a"]]


def segment_colours(count: int) -> list[str]:
    """``count`` colours from best (cool) to worst (warm), spread over the ramp."""
    if count <= 0:
        return []
    if count == 1:
        return [RAMP[1]]
    step = (len(RAMP) - 1) / (count - 1)
    return [RAMP[round(i * step)] for i in range(count)]


def rgba(colour: str, alpha: float) -> str:
    """'#1c7ed6' at ``alpha`` opacity as an rgba() string (Sankey links are translucent)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def direction(from_rank: float | None, to_rank: float | None) -> str:
    """up, down, stay, new or lost from the ranks at both ends (None: not in the base then)."""
    if from_rank is None:
        return NEW if to_rank is not None else STAY
    if to_rank is None:
        return LOST
    return UP if to_rank < from_rank else DOWN if to_rank > from_rank else STAY


def legend(*keys: str) -> list[tuple[str, str]]:
    """(colour, meaning) pairs for a page's legend."""
    return [(MOVES[k], MOVE_NAMES[k]) for k in keys]
