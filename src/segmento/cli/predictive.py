"""Predictive stage: `segmento predict fit|show|report|traits`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from segmento.cli.common import ConfigOption, DbOption, console, day, open_workspace, print_frame

app = typer.Typer(help="Predictive traits: probability alive, expected orders, lifetime value.",
              no_args_is_help=True)  # fmt: skip


@app.command("fit")
def predict_fit(
    as_of: Annotated[str, typer.Option("--as-of", help="Fit on the history up to this date (YYYY-MM-DD).")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Fit the purchase and spend models (settings: `predictive` in segmento.yaml): a new frozen version."""
    with open_workspace(db, config) as ws, console.status("fitting"):
        model = ws.fit_predictive(day(as_of, "--as-of"))
    console.print(str(model), highlight=False)
    fit = model.fit
    console.print(f"  {fit['customers']:,} customers in {fit['distinct_triples']:,} distinct (frequency, recency, T); "
                  f"log-likelihood {fit['log_likelihood']:,.3f}; spend model on {fit['repeat_customers']:,} "
                  f"repeat customers", highlight=False)  # fmt: skip


@app.command("show")
def predict_show(
    version: Annotated[Optional[int], typer.Option(help="Version to show (default: the latest).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Stored versions (fitted as of which date) and one version's parameters."""
    from segmento.predictive import fitted_versions, load_model

    with open_workspace(db, config) as ws:
        model = load_model(ws.con, version)
        versions = fitted_versions(ws.con).set_index("version")
    print_frame(versions.astype(str), "predictive models")
    console.print(str(model), highlight=False)


@app.command("report")
def predict_report(
    as_of: Annotated[str, typer.Option("--as-of", help="End of the holdout period (YYYY-MM-DD).")],
    holdout_days: Annotated[Optional[int], typer.Option(help="Holdout length (default: predictive.holdout_days).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Calibration/holdout validation: predicted vs actual repeat purchases per frequency bucket and in total."""
    with open_workspace(db, config) as ws, console.status("fitting on the calibration period"):
        report = ws.predictive_report(day(as_of, "--as-of"), holdout_days)
    table = report.table.set_index("frequency")
    print_frame(table.drop(columns="relative_error"), f"repeat purchases in the holdout (model {report.model.kind})", 1)
    console.print(report.summary_line(), highlight=False)


@app.command("traits")
def predict_traits(
    as_of: Annotated[str, typer.Option("--as-of", help="Date (YYYY-MM-DD).")],
    customer: Annotated[Optional[str], typer.Option(help="One customer's traits.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Distribution of the traits as of a date (quartiles), or one customer's."""
    with open_workspace(db, config) as ws:
        table = ws.predictive_traits(day(as_of, "--as-of"))
        if customer is not None:
            table = table.filter(table.customer_id == customer)
        frame = table.to_pandas().set_index("customer_id")
    if customer is not None:
        print_frame(frame.T, f"{customer} as of {as_of}", 3)
        return
    print_frame(frame.describe(percentiles=[0.25, 0.5, 0.75]).T.drop(columns="count"), f"traits as of {as_of}", 3)
