"""Typer CLI: one module per stage of the flow, assembled in app.py."""

from segmento.cli.app import app

__all__ = ["app"]
