"""Segmento: customer knowledge and dynamic segmentation."""

from segmento.workspace import Workspace, connect

__all__ = ["Workspace", "connect"]
__version__ = "0.1.0"
