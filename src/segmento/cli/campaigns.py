"""Campaigns: declare, launch with a control group held out, and read the results by segment."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from segmento.cli.common import ConfigOption, DbOption, console, day, fail, open_workspace

app = typer.Typer(help="Campaigns: declare, launch (control group held out), results by segment.", no_args_is_help=True)


@app.command("list")
def list_campaigns(db: DbOption = None, config: ConfigOption = None) -> None:
    """Every campaign (project file and stored) with its target and how many were drawn."""
    with open_workspace(db, config) as ws:
        items = ws.campaigns.list()
        counts = ws.campaigns.targets().group_by(["campaign_id", "arm"]).agg(n=lambda t: t.count()).to_pyarrow()
        drawn = {(r["campaign_id"], r["arm"]): r["n"] for r in counts.to_pylist()}
        out = Table("campaign", "name", "target", "to", "start", "control share", "treated", "control",
                    title=f"{len(items)} campaigns")
        for c in items:
            out.add_row(c.id, c.name or "", f"{c.target_kind} {c.target}", c.to, str(c.start), f"{c.control_share:.0%}",
                        f"{drawn.get((c.id, 'treated'), 0):,}", f"{drawn.get((c.id, 'control'), 0):,}")
        console.print(out)


@app.command()
def create(
    campaign_id: Annotated[str, typer.Argument(metavar="ID", help="Campaign id (letters, digits, - and _).")],
    to: Annotated[str, typer.Option("--to", help="Destination that carries it.")],
    start: Annotated[str, typer.Option("--start", help="First day it may be sent (YYYY-MM-DD).")],
    audience: Annotated[Optional[str], typer.Option(help="Target an audience's members.")] = None,
    segment: Annotated[Optional[str], typer.Option(help="Target a segment: SEGMENTATION:SEGMENT.")] = None,
    alert: Annotated[Optional[str], typer.Option(help="Target the alerts of a trajectory rule (a journey).")] = None,
    name: Annotated[Optional[str], typer.Option(help="Name for people.")] = None,
    channel: Annotated[Optional[str], typer.Option(help="email, sms, phone, push or post (default: the destination's).")] = None,
    offer: Annotated[Optional[str], typer.Option(help="Offer type, e.g. discount.")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="Last day (YYYY-MM-DD).")] = None,
    journey: Annotated[Optional[str], typer.Option(help="Journey name in the messages.")] = None,
    control_share: Annotated[float, typer.Option("--control-share", help="Share held out as control group.")] = 0.1,
    attribution_days: Annotated[int, typer.Option("--attribution-days", help="Days an order counts as a conversion.")] = 14,
    replace: Annotated[bool, typer.Option(help="Replace a stored campaign of that id.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Store a campaign (as the project file's campaigns: section would declare it)."""
    target = None
    if segment is not None:
        segmentation, _, wanted = segment.partition(":")
        if not segmentation or not wanted:
            fail(f"--segment {segment!r}: write SEGMENTATION:SEGMENT, e.g. rfm:champions")
        target = {"segmentation": segmentation, "segment": wanted}
    definition = {"id": campaign_id, "to": to, "start": day(start, "--start"), "audience": audience, "segment": target,
                  "alert": alert, "name": name, "channel": channel, "offer": offer,
                  "end": day(end, "--end") if end else None, "journey": journey, "control_share": control_share,
                  "attribution_days": attribution_days}
    with open_workspace(db, config) as ws:
        created = ws.campaigns.create({k: v for k, v in definition.items() if v is not None}, replace=replace,
                                      spell=lambda field: f"--{field.replace('_', '-')}")
        console.print(f"campaign {created.id} stored: {created.target_kind} {created.target} -> {created.to}, "
                      f"{created.control_share:.0%} held out", highlight=False)


@app.command()
def launch(
    campaign_id: Annotated[str, typer.Argument(metavar="ID", help="Campaign id.")],
    at: Annotated[Optional[str], typer.Option("--at", help="Launch date for a replay (default: now).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Draw the control group among reachable members, record both groups, queue the treated (then `deliver`)."""
    with open_workspace(db, config) as ws:
        report = ws.campaigns.launch(campaign_id, day(at, "--at") if at else None)
        console.print(str(report), highlight=False)


@app.command()
def results(
    campaign_id: Annotated[str, typer.Argument(metavar="ID", help="Campaign id.")],
    segmentation: Annotated[Optional[str], typer.Option("--segmentation", "-s", help="Per segment of this segmentation at the send.")] = None,
    level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Treated vs control, in total and per segment: reach, responses, conversion, revenue, uplift with intervals."""
    from segmento import formatting as fmt
    from segmento.campaigns.results import uplift_text

    if not 0.5 <= level < 1:
        fail(f"--level {level}: give a confidence level between 0.5 and 1, e.g. 0.95")
    with open_workspace(db, config) as ws:
        found = ws.campaigns.results(campaign_id, segmentation, level)
    title = f"{found.campaign_id}: orders within {found.attribution_days} days of the send, {level:.0%} intervals"
    out = Table("segment", "treated / control", "reached", "responded", "converted (T / C)", "conversion uplift",
                "revenue per customer (T / C)", "revenue uplift",
                title=title + (f", by segment of {segmentation} at the send" if segmentation else ""))
    for group in (found.total, *found.segments):
        out.add_row(group.label, f"{group.treated:,} / {group.control:,}", f"{group.reached:,}",
                    f"{group.responded[0]:,} / {group.responded[1]:,}",
                    f"{fmt.percent(group.conversion.treated)} / {fmt.percent(group.conversion.control)}",
                    uplift_text(group.conversion),
                    f"{fmt.money(group.revenue.treated, digits=2)} / {fmt.money(group.revenue.control, digits=2)}",
                    uplift_text(group.revenue, money=True))
    console.print(out)


@app.command()
def moves(
    campaign_id: Annotated[str, typer.Argument(metavar="ID", help="Campaign id of a journey (on an alert rule).")],
    after: Annotated[int, typer.Option(help="Snapshot periods after the alert.")] = 1,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """A journey's treated vs control customers: where they were some periods after their alert, who moved back up."""
    from segmento import formatting as fmt
    from segmento.campaigns.results import uplift_text

    if after < 1:
        fail(f"--after {after}: give a number of periods, 1 or more")
    with open_workspace(db, config) as ws:
        found = ws.campaigns.journey_moves(campaign_id, after)
    shares = found.probabilities
    out = Table("group", *map(str, shares.columns), "customers",
                title=f"{found.campaign_id}: segment of {found.segmentation} {after} period(s) after the alert")
    for arm, row in shares.iterrows():
        out.add_row(str(arm), *(fmt.percent(v) for v in row), fmt.count(found.counts.loc[arm].sum()))
    console.print(out)
    console.print(f"moved back up: {fmt.percent(found.moved_up.treated)} of treated, "
                  f"{fmt.percent(found.moved_up.control)} of control; uplift {uplift_text(found.moved_up)}",
                  highlight=False)
