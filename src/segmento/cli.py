"""Typer CLI: one verb per stage."""
import typer
app = typer.Typer()
