"""Dynamics stage: snapshots per period, transitions, trajectories, Markov forecasts, alerts."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from segmento.cli.common import (
    ConfigOption,
    DbOption,
    console,
    open_reader,
    open_workspace,
    print_frame,
    project_value,
    segment_names,
)

app = typer.Typer()


@app.command()
def snapshot(
    as_of: Annotated[str, typer.Option("--as-of", help="Period (YYYY-MM or a date in it).")],
    segmentation: Annotated[Optional[list[str]], typer.Option("--segmentation", "-s", help="Only these.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Take it even if the period ends after the last loaded data.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Snapshot every segmentation at a period end, and raise (and queue) the period's trajectory alerts."""
    with open_workspace(db, config) as ws:
        console.print(str(ws.snapshot(as_of, segmentation or None, force=force)), highlight=False)


@app.command()
def month(
    as_of: Annotated[str, typer.Option("--as-of", help="Period (YYYY-MM or a date in it).")],
    force: Annotated[bool, typer.Option("--force", help="Even if the period ends after the last loaded data.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The monthly run: snapshot with its alerts, then the audience refresh at the period end, all queued.

    The same as `snapshot` then `refresh --as-of` the period's last day, in one step that computes
    what both read (the predictive traits) once."""
    with open_workspace(db, config) as ws:
        taken, refreshed = ws.monthly_run(as_of, force=force)
        console.print(str(taken), highlight=False)
        console.print(str(refreshed), highlight=False)


@app.command()
def backfill(
    from_period: Annotated[str, typer.Option("--from", help="First period (YYYY-MM).")],
    to_period: Annotated[str, typer.Option("--to", help="Last period (YYYY-MM).")],
    segmentation: Annotated[Optional[list[str]], typer.Option("--segmentation", "-s", help="Only these.")] = None,
    deliver: Annotated[bool, typer.Option("--deliver", help="Queue the new alerts for the journeys (routes' max age applies).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Even if the last period ends after the last loaded data.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Rebuild past periods from raw history, point in time, with the frozen models.

    History is not news: the alerts are stored, not sent, unless --deliver."""
    with open_workspace(db, config) as ws:
        ws.backfill(from_period, to_period, segmentation or None, deliver=deliver, force=force,
                    on_period=lambda report: console.print(str(report), highlight=False))
        if not deliver:
            console.print("alerts stored, none queued for the journeys (history is not news; --deliver to send)")


@app.command()
def transitions(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    from_period: Annotated[str, typer.Option("--from", help="Earlier period (YYYY-MM or date).")],
    to_period: Annotated[str, typer.Option("--to", help="Later period (YYYY-MM or date).")],
    percent: Annotated[bool, typer.Option(help="Row percentages instead of counts.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Transition matrix of a segmentation between two snapshot periods."""
    with open_workspace(db, config) as ws:
        matrix = ws.transitions(segmentation, from_period, to_period)
        if as_json:
            console.print_json(data=matrix.to_dict())
            return
        names = segment_names(ws.con, segmentation)
        frame = (matrix.row_percent if percent else matrix.counts).rename(index=names, columns=names)
        print_frame(frame, f"{segmentation}: {matrix.from_period} -> {matrix.to_period}", 1 if percent else 0)


@app.command()
def trajectories(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    last: Annotated[int, typer.Option(help="Number of most recent periods.")] = 6,
    top: Annotated[int, typer.Option(help="Most frequent paths to show.")] = 15,
    customer: Annotated[Optional[str], typer.Option(help="One customer's path.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The most frequent paths that changed segment through a segmentation (or one customer's path)."""
    from segmento import formatting as fmt
    from segmento.report.views import changed_paths

    with open_workspace(db, config) as ws:
        result = ws.trajectories(segmentation, last=last, customer_id=customer)
        if customer:
            for row in result.paths.to_dict("records"):
                console.print(f"{row['customer_id']}: {row['path']}", highlight=False)
            return
        changed, steady = changed_paths(result, top)
        total = max(result.customers, 1)
    print_frame(changed.set_index("path"), f"{segmentation}: most frequent paths that changed over {last} periods")
    console.print(f"{fmt.count(steady)} customers ({fmt.percent(steady / total)}) kept one segment throughout",
                  highlight=False)


@app.command()
def markov(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    steps: Annotated[int, typer.Option(help="Periods to forecast.")] = 6,
    horizon: Annotated[int, typer.Option(help="Periods of expected value.")] = 12,
    backtest: Annotated[bool, typer.Option(help="Also forecast from --steps periods back and compare.")] = True,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Average transition matrix, mix forecast with new customers and its interval, backtest, value per segment.

    The backtest forecasts from --steps periods back and compares with what happened; the long run shows the
    stationary mix and the expected value per segment."""
    with open_workspace(db, config) as ws:
        model = ws.markov(segmentation)
        import pandas as pd

        names = segment_names(ws.con, segmentation)
        labels = [names.get(s, s) for s in model.states]
        print_frame(pd.DataFrame(model.P * 100, index=labels, columns=labels),
                    f"{segmentation}: average transition % over {len(model.periods) - 1} period pairs", 1)
        bands = ws.markov_interval(segmentation, steps).query("periods_ahead == @steps").set_index("state")
        mix = model.forecast_with_inflow(steps)
        print_frame((mix * 100).rename(columns=names), "segment mix forecast with new customers arriving (%)", 1)
        print_frame((bands[["low", "median", "high"]] * 100).rename(index=names),
                    f"in {steps} periods: 90% interval (Dirichlet) (%)", 1)
        summary = pd.DataFrame({
            "stationary %": model.stationary() * 100,
            f"expected value ({horizon} periods)": model.expected_value(horizon, ws.project.dynamics.discount_rate),
        }).rename(index=names)
        print_frame(summary, "long run", 1)
        if ws.predictive_ready(model.periods[-1]):
            value = ws.segment_value(segmentation, model.periods[-1]).set_index("segment_label").rename_axis("segment")
            print_frame(value.drop(columns=["segment_rank", "segment_id"]).astype({"customers": "int64"}),
                        f"expected 12-month value per segment at {model.periods[-1]} (predictive traits)",
                        {"p_alive": 2})
        if backtest and len(model.periods) >= steps + 2:
            console.print(str(ws.markov_backtest(segmentation, steps)), highlight=False)


@app.command()
def alerts(
    period: Annotated[Optional[str], typer.Option(help="Period end (YYYY-MM or date).")] = None,
    kind: Annotated[Optional[str], typer.Option(help="negative, positive or high_stakes.")] = None,
    rule: Annotated[Optional[str], typer.Option(help="Rule name.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Trajectory alerts with why, latest period first then highest value at stake; totals per rule follow.

    The title counts every alert matched, not only the rows shown."""
    from segmento import formatting as fmt
    from segmento.dynamics.alert_reads import alert_rows, alert_totals
    from segmento.dynamics.periods import period_end

    with open_reader(db, config) as source:
        when = period_end(period, project_value(config, "dynamics", "grid") or "monthly") if period else None
        rows = alert_rows(source, when, kind, rule, limit)  # latest first, as on the dashboard
        names = {s: segment_names(source, s) for s in {r["segmentation"] for r in rows}}
        totals = alert_totals(source, when, kind, rule)
    total = sum(t["alerts"] for t in totals)
    totals = [t for t in totals if t["period"] in {r["period"] for r in rows}]
    shown = f"{fmt.count(total)} alerts" if len(rows) == total else f"{fmt.count(len(rows))} of {fmt.count(total)} alerts"
    listed = [(fmt.day(r["period"]), r["customer_id"], r["rule"], _move(names[r["segmentation"]], r), r["kind"],
               r["journey"] or "", fmt.count(r["priority"]), r["reason"] or "") for r in rows]
    _print_alerts(listed, f"{shown}, latest period first")
    if totals:
        out = Table("period", "kind", "rule", "alerts", "value at stake", title="totals per period, kind and rule")
        for column in out.columns[-2:]:
            column.justify = "right"
        for t in totals:
            out.add_row(fmt.day(t["period"]), t["kind"], t["rule"], fmt.count(t["alerts"]), fmt.count(t["value_at_stake"]))
        console.print(out)


def _move(label: dict[str, str], alert: dict) -> str:
    return f"{label.get(alert['from_segment'], alert['from_segment'])} -> {label.get(alert['to_segment'], alert['to_segment'])}"


def _print_alerts(listed: list[tuple[str, ...]], title: str) -> None:
    """A table on a wide terminal; on a narrow one each alert on its own lines, so the why stays readable."""
    if console.width >= 140:
        out = Table("period", "customer", "rule", "move", "kind", "journey", "value at stake", "why", title=title)
        out.columns[-2].justify = "right"
        for row in listed:
            out.add_row(*row)
        console.print(out)
        return
    console.print(title, style="bold", highlight=False)
    for period, customer, rule, move, kind, journey, stake, why in listed:
        console.print(f"{period}  {customer}  {rule} ({kind}{', ' + journey if journey else ''}), {stake} at stake",
                      highlight=False)
        console.print(f"    {move}" + (f": {why}" if why else ""), highlight=False, style="dim" if not why else None)

