"""The `segmento` command: every stage's verbs, in the order of the flow, under one error handler."""

from __future__ import annotations

import typer

from segmento.cli import activation, audiences, campaigns, demo, dynamics, gdpr, predictive, segmentations, service, store
from segmento.cli.common import UserErrors

# (title in the reference, module, group name or None for verbs at the top level):
# a new verb goes in the module of the stage it runs.
STAGES = (
    ("demo data", demo, None),
    ("knowledge base", store, None),
    ("audiences", audiences, None),
    ("segmentations", segmentations, None),
    ("predictive traits", predictive, "predict"),
    ("dynamics", dynamics, None),
    ("activation", activation, None),
    ("campaigns", campaigns, "campaign"),
    ("GDPR", gdpr, "gdpr"),
    ("service", service, None),
)

app = typer.Typer(
    cls=UserErrors, help="Segmento: customer knowledge and dynamic segmentation.", no_args_is_help=True
)
for _, stage, group in STAGES:
    if group:
        app.add_typer(stage.app, name=group)
    else:
        app.add_typer(stage.app)
