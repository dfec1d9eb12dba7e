"""Memory handed back to the system after a bulk load."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache

import pyarrow as pa


def release_memory() -> None:
    """Hand freed memory back to the system after a bulk load: Arrow's pool and the C heap keep it
    otherwise (about 150 MB after the real-time state of 1M customers is read)."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim (None elsewhere); looked up once: finding the C library runs ldconfig."""
    libc = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None
