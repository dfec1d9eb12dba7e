"""Plain JSON responses: FastAPI's generic encoder costs more than a 360 lookup itself,
and NaN (an empty segment's mean) is not JSON, so it becomes null."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from fastapi import HTTPException, Response


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, Decimal)):
        return float(value)
    if isinstance(value, (np.ndarray, tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, np.floating):
        return finite(float(value))
    return value


def dumps(data: Any) -> bytes:
    try:
        text = json.dumps(data, default=_default, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except ValueError:  # a NaN somewhere: the slow path
        text = json.dumps(finite(data), default=_default, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


def respond(data: Any, status: int = 200) -> Response:
    return Response(dumps(data), status_code=status, media_type="application/json")


def not_found(what: str) -> HTTPException:
    return HTTPException(404, what)


def unprocessable(message: str) -> HTTPException:
    return HTTPException(422, message)
