"""The RFM map: which segment each (R, F, M) cell belongs to, checked when the project is read.

Plain Python (no numpy, no scikit-learn): the project file's validation uses it on every
CLI call, and the model (``rfm.py``) compiles the same map at fit time.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from typing import Any

NO_PURCHASE = "no_purchase"
AXES = ("r", "f", "m")

# Best first: the order is the rank. Cells on the 5-level scale.
DEFAULT_MAP: list[dict[str, Any]] = [
    {"id": "champions", "cells": ["r=5 fm=4-5"]},
    {"id": "loyal", "cells": ["r=3-4 fm=4-5"]},
    {"id": "potential_loyalists", "cells": ["r=4-5 fm=2-3"]},
    {"id": "new", "cells": ["r=5 fm=1"]},
    {"id": "promising", "cells": ["r=4 fm=1"]},
    {"id": "need_attention", "cells": ["r=3 fm=3"]},
    {"id": "cant_lose", "cells": ["r=1-2 fm=5"]},
    {"id": "at_risk", "cells": ["r=1-2 fm=3-4"]},
    {"id": "about_to_sleep", "cells": ["r=3 fm=1-2"]},
    {"id": "hibernating", "cells": ["r=2 fm=1-2"]},
    {"id": "lost", "cells": ["r=1 fm=1-2"]},
]

Cell = tuple[int, int, int]


# ---- the map --------------------------------------------------------------------------

def _parse_values(spec: str, bins: int, where: str) -> set[int]:
    if spec == "*":
        return set(range(1, bins + 1))
    found: set[int] = set()
    for part in spec.split(","):
        match = re.fullmatch(r"(\d)(?:-(\d))?", part.strip())
        if not match:
            raise ValueError(f"{where}: {part!r} is not a score, a range like 2-4, or *")
        low, high = int(match[1]), int(match[2] or match[1])
        if not 1 <= low <= high <= bins:
            raise ValueError(f"{where}: {part!r} is outside the scores 1..{bins}")
        found |= set(range(low, high + 1))
    return found


def parse_cells(pattern: str, bins: int, rescale: bool = False) -> set[Cell]:
    """The (r, f, m) cells a pattern like 'r=4-5 fm=4-5' covers (rescale: pattern on the 5-level scale)."""
    wanted: dict[str, set[int]] = {}
    scale = 5 if rescale else bins
    for token in [] if pattern.strip() == "*" else pattern.split():
        key, _, spec = token.partition("=")
        if key not in ("r", "f", "m", "fm") or not spec:
            raise ValueError(f"cell pattern {pattern!r}: {token!r} should be r=, f=, m= or fm= followed by scores")
        wanted[key] = _parse_values(spec, scale, f"cell pattern {pattern!r}")
    cells = set()
    for cell in itertools.product(range(1, bins + 1), repeat=3):
        r, f, m = (_to_five(s, bins) for s in cell) if rescale else cell
        values = {"r": r, "f": f, "m": m, "fm": (f + m) // 2}
        if all(values[key] in allowed for key, allowed in wanted.items()):
            cells.add(cell)
    return cells


def _to_five(s: int, bins: int) -> int:
    return 1 + math.floor((s - 1) * 4 / (bins - 1) + 0.5)


def compile_map(entries: Sequence[Any] | None, bins: int) -> dict[Cell, str]:
    """cell -> segment id, after checking that every cell is in exactly one segment."""
    rescale = entries is None
    items = [e if isinstance(e, dict) else e.model_dump() for e in (entries or DEFAULT_MAP)]
    ids = [e["id"] for e in items]
    if NO_PURCHASE in ids:
        raise ValueError(f"segment id {NO_PURCHASE!r} is reserved for customers who never bought")
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"RFM map: segment ids must be unique; repeated: {', '.join(repeated)}")
    owner: dict[Cell, str] = {}
    overlaps = []
    for entry in items:
        for pattern in entry["cells"]:
            for cell in sorted(parse_cells(pattern, bins, rescale)):
                if cell in owner and owner[cell] != entry["id"]:
                    overlaps.append(f"{cell_name(cell)} is in both {owner[cell]} and {entry['id']}")
                owner.setdefault(cell, entry["id"])
    missing = [cell_name(c) for c in itertools.product(range(1, bins + 1), repeat=3) if c not in owner]
    problems = []
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        problems.append(f"{len(missing)} cells are in no segment: {shown}")
    if overlaps:
        problems.append("; ".join(overlaps[:5]) + (" ..." if len(overlaps) > 5 else ""))
    if problems:
        raise ValueError(f"RFM map must put each of the {bins ** 3} cells in exactly one segment: " + "; ".join(problems))
    return owner


def cell_name(cell: Cell) -> str:
    return "R{}F{}M{}".format(*cell)
