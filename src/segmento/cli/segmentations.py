"""Segmentations stage: fit frozen versions, assign segments, portraits and quality."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from segmento.cli.common import ConfigOption, DbOption, console, open_reader, open_workspace, print_frame

app = typer.Typer()


@app.command()
def fit(
    segmentation: Annotated[str, typer.Argument(help="Segmentation declared in segmento.yaml.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Fit on features as of this date (YYYY-MM-DD).")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Fit a segmentation: a new frozen version, matched to the previous one."""
    with open_workspace(db, config) as ws:
        model = ws.fit_segmentation(segmentation, as_of)
        console.print(f"{model.name} version {model.version} fitted as of {model.as_of} on {model.fit_rows:,} customers")
        for segment in model.segments:
            console.print(f"  {segment.rank:>2}. {segment.id:<20} {segment.label}", highlight=False)
        print_match(model)


def print_match(model) -> None:
    """The match to the previous version: old id -> new id, agreement, new and retired ids."""
    from segmento.segmentations.matching import match_lines

    for text in match_lines(model.match) if model.match else []:
        console.print(f"  {text}", highlight=False)


@app.command()
def refit(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    as_of: Annotated[str, typer.Option("--as-of", help="New cut points or centres as of this date.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """A new version of a segmentation, its segments matched to the previous version's."""
    with open_workspace(db, config) as ws:
        model = ws.refit_segmentation(segmentation, as_of)
        console.print(str(model), highlight=False)
        print_match(model)


@app.command()
def models(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Stored versions of a segmentation, and the latest one in full."""
    from segmento.segmentations.stored import describe, model_document, versions

    with open_reader(db, config) as source:
        latest = model_document(source, segmentation)
        console.print(f"versions: {', '.join(map(str, versions(source, segmentation)))}")
        console.print(describe(latest), highlight=False)


@app.command()
def segments(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Date (YYYY-MM-DD).")],
    out: Annotated[Optional[Path], typer.Option(help="Write every membership to this Parquet or CSV file.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Who is in which segment as of a date (sizes, or every membership to a file)."""
    with open_workspace(db, config) as ws:
        members = ws.segments(segmentation, as_of)
        if out:
            (members.to_parquet if out.suffix == ".parquet" else members.to_csv)(out)
            console.print(f"wrote {out}")
            return
        sizes = members.group_by(["segment_rank", "segment_id", "segment_label"]).agg(customers=members.customer_id.count())
        print_frame(sizes.order_by("segment_rank").to_pandas().set_index("segment_rank"), f"{segmentation} as of {as_of}")


@app.command()
def portraits(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Date (YYYY-MM-DD).")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """A portrait of each segment: size, revenue, what distinguishes it, channel, reach, a description."""
    with open_workspace(db, config) as ws:
        items = ws.portraits(segmentation, as_of)
        from segmento import formatting as fmt

        for p in items:
            revenue = f", {fmt.percent(p.revenue_share)} of revenue" if p.revenue_share is not None else ""
            generated = "" if p.generated_label.lower() in (p.label.lower(), "") else f" ({p.generated_label})"
            console.print(Text.assemble((f"{p.rank}. {p.label}", "bold"), f"{generated}: {fmt.count(p.size)} customers, "
                          f"{fmt.percent(p.share)} of the base{revenue}"), highlight=False)
            console.print(f"   {p.description}", highlight=False)
            if "clv_12m" in p.predicted:
                console.print(f"   expected 12-month value {p.predicted['clv_12m']:,.2f} per customer, "
                              f"p_alive {p.predicted['p_alive']:.2f} on average", highlight=False)  # fmt: skip
            if p.next_best_action:
                console.print(f"   Next best action: {p.next_best_action}", highlight=False)


@app.command()
def quality(
    segmentation: Annotated[str, typer.Argument(help="Segmentation name.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Date (YYYY-MM-DD).")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Homogeneity, separation, stability and predictive power, with warnings."""
    with open_workspace(db, config) as ws:
        console.print(str(ws.quality(segmentation, as_of)), highlight=False)
