"""Segmento: customer knowledge and dynamic segmentation.

`segmento.connect` and `segmento.Workspace` are loaded on first use, so that importing
the package (the CLI does, for `--help`) costs nothing of the stages behind them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segmento.workspace import Workspace, connect

__all__ = ["Workspace", "connect"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in __all__:
        from segmento import workspace

        return getattr(workspace, name)
    raise AttributeError(f"module 'segmento' has no attribute {name!r}")
