"""The `segmento` command: every stage's verbs, in the order of the flow, under one error handler."""

from __future__ import annotations

import typer

from segmento.cli import activation, audiences, demo, dynamics, gdpr, predictive, segmentations, service, store
from segmento.cli.common import UserErrors

app = typer.Typer(
    cls=UserErrors, help="Segmento: customer knowledge and dynamic segmentation.", no_args_is_help=True
)
for stage in (demo, store, audiences, segmentations, dynamics, activation):
    app.add_typer(stage.app)
app.add_typer(predictive.app, name="predict")
app.add_typer(gdpr.app, name="gdpr")
app.add_typer(service.app)
