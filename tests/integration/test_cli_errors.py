"""Every verb given bad input answers on one line and exits with code 2, never a traceback.

Bad input is the user's to fix (an empty base, an unknown name, a bad date, a missing
project file); a bug is not, and is left to surface as one (exit 1 with its exception).
"""

from __future__ import annotations

from datetime import date

import pytest
import typer
import typer.main
from typer.testing import CliRunner

import segmento
from segmento.cli import app
from segmento.cli.common import UserErrors
from segmento.config import parse_project
from segmento.demo import generate
from segmento.errors import NotFoundError

END = "2024-06-30"
PROJECT = """
segmentations:
  - name: value
    kind: tiers
    feature: spend_12m
    tiers:
      - {id: big, label: Big, quantile: 0.5}
      - {id: small, label: Small}
  - name: rfm
    kind: rfm
dynamics:
  rules:
    - {name: slide, segmentation: value, from: [big], direction: down, kind: negative}
audiences:
  - {name: big, rule: "spend_12m >= 500"}
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A small base with `value` fitted and snapshotted once; `rfm` declared but never fitted."""
    root = tmp_path_factory.mktemp("cli-errors")
    config = root / "segmento.yaml"
    config.write_text(PROJECT)
    db = root / "shop.duckdb"
    data = generate(customers=200, months=3, seed=5, end=date.fromisoformat(END))
    with segmento.connect(db, parse_project(PROJECT)) as ws:
        for table in ("customers", "orders", "order_lines", "events", "consents"):
            ws.ingest(table, getattr(data, table))
        ws.fit_segmentation("value", END)
        ws.snapshot(END, ["value"])
    empty = root / "empty"
    empty.mkdir()
    bad_where = root / "bad-where.yaml"
    bad_where.write_text(PROJECT.replace("kind: negative}", 'kind: negative, where: "p_alive <"}'))
    bad_trigger = root / "bad-trigger.yaml"
    bad_trigger.write_text(PROJECT.replace("direction: down,", "trigger: condition,"))
    return {"db": str(db), "config": str(config), "empty": str(empty / "empty.duckdb"), "dir": str(empty),
            "bad_where": str(bad_where), "bad_trigger": str(bad_trigger)}


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "60"}, prog_name="segmento")  # narrow: no wrap


def refused(result, *needles: str) -> str:
    """The result is a one-line user error containing every needle.

    A rule is the one exception: its error shows the rule again, with a caret under the fault.
    """
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    caret = len(lines) == 3 and set(lines[2].strip()) == {"^"}
    assert (len(lines) == 1 or caret) and lines[0].startswith("error: "), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# (arguments, words the message must contain); {db}, {config}, {empty}, {dir} are filled in.
CASES = [
    # a missing project file, named or not
    (["fit", "rfm", "--as-of", END, "--db", "{empty}"], ["segmento.yaml", "--config"]),
    (["snapshot", "--as-of", END, "--db", "{empty}"], ["segmento.yaml", "--config"]),
    (["status", "--config", "{dir}/nope.yaml"], ["nope.yaml", "not found"]),
    # the demo and the store
    (["demo-data", "--customers", "0", "--out", "{dir}/demo"], ["--customers"]),
    (["demo-data", "--end", "31/12/2024", "--out", "{dir}/demo"], ["31/12/2024", "YYYY-MM-DD"]),
    (["demo-responses", "--data", "{dir}/nope", "--db", "{empty}"], ["campaign_responses.parquet", "demo-data"]),
    (["ingest", "bogus", "{dir}/x.csv", "--db", "{empty}"], ["bogus", "customers"]),
    (["ingest", "orders", "{dir}/missing.csv", "--db", "{empty}"], ["missing.csv"]),
    (["ingest", "orders", "{dir}/x.csv", "-m", "order_id", "--db", "{empty}"], ["ours=theirs"]),
    (["load", "{dir}", "--db", "{empty}"], ["no customers"]),
    (["load", "--db", "{empty}"], ["no sources"]),
    (["quarantine", "--table", "bogus", "--db", "{empty}"], ["bogus", "customers"]),
    # audiences
    (["audiences", "--define", "x", "--db", "{empty}"], ["--rule"]),
    (["audiences", "--define", "x", "--rule", "spend_12m >", "--db", "{empty}"], ["column 11"]),
    (["refresh", "--as-of", "yesterday", "--db", "{empty}"], ["yesterday"]),
    (["members", "nope", "--db", "{empty}"], ["nope"]),
    (["guidance", "--as-of", "2024-13-01", "--db", "{empty}"], ["2024-13-01"]),
    # segmentations
    (["fit", "nope", "--as-of", END, "--db", "{db}", "--config", "{config}"], ["nope", "value, rfm"]),
    (["fit", "value", "--as-of", "June", "--db", "{db}", "--config", "{config}"], ["June"]),
    (["fit", "value", "--as-of", END, "--db", "{empty}", "--config", "{config}"], ["value"]),
    (["refit", "nope", "--as-of", END, "--db", "{db}", "--config", "{config}"], ["nope"]),
    (["models", "rfm", "--db", "{db}"], ["rfm", "segmento fit rfm"]),
    (["segments", "rfm", "--as-of", "1998-06-30", "--db", "{db}", "--config", "{config}"], ["rfm", "segmento fit"]),
    (["portraits", "rfm", "--as-of", "1998-06-30", "--db", "{db}", "--config", "{config}"], ["rfm", "segmento fit"]),
    (["quality", "rfm", "--as-of", "1998-06-30", "--db", "{db}", "--config", "{config}"], ["rfm", "segmento fit"]),
    (["segments", "value", "--as-of", "30/06/2024", "--db", "{db}", "--config", "{config}"], ["30/06/2024"]),
    # dynamics
    (["snapshot", "--as-of", END, "-s", "nope", "--db", "{db}", "--config", "{config}"], ["nope", "value"]),
    (["snapshot", "--as-of", "someday", "--db", "{db}", "--config", "{config}"], ["someday"]),
    (["backfill", "--from", "2024-06", "--to", "2024-01", "--db", "{db}", "--config", "{config}"], ["empty"]),
    (["snapshot", "--as-of", "2024-09", "-s", "value", "--db", "{db}", "--config", "{config}"], ["2024-09-30", "--force"]),
    (["month", "--as-of", END, "--db", "{db}", "--config", "{config}"], ["rfm", "segmento fit rfm"]),
    (["backfill", "--from", "2024-06", "--to", "2024-08", "--db", "{db}", "--config", "{config}"],
     ["2024-08-31", "--force"]),
    (["backfill", "--from", "2024-06", "--to", "2024-06", "--db", "{db}", "--config", "{bad_where}"],
     ["bad-where.yaml", "line 13", "in where", "p_alive <"]),
    (["snapshot", "--as-of", END, "--db", "{db}", "--config", "{bad_trigger}"],
     ["bad-trigger.yaml", "line 13", "trigger: condition needs `overdue` or `where`"]),
    (["transitions", "valu", "--from", "2024-05", "--to", "2024-06", "--db", "{db}", "--config", "{config}"],
     ["unknown segmentation 'valu'", "value"]),
    (["transitions", "value", "--from", "2024-01", "--to", "2024-06", "--db", "{db}", "--config", "{config}"],
     ["2024-01-31", "segmento backfill"]),
    (["trajectories", "rfm", "--db", "{db}", "--config", "{config}"], ["rfm", "snapshot"]),
    (["trajectories", "value", "--customer", "NOPE", "--db", "{db}", "--config", "{config}"], ["NOPE"]),
    (["trajectories", "valu", "--db", "{db}", "--config", "{config}"], ["unknown segmentation 'valu'"]),
    (["markov", "value", "--db", "{db}", "--config", "{config}"], ["2 snapshots", "segmento backfill"]),
    (["markov", "valu", "--db", "{db}", "--config", "{config}"], ["unknown segmentation 'valu'"]),
    (["alerts", "--kind", "bogus", "--db", "{db}", "--config", "{config}"], ["bogus", "negative, positive"]),
    (["alerts", "--period", "last", "--db", "{db}", "--config", "{config}"], ["last"]),
    # activation
    (["deliver", "--until", "never", "--db", "{empty}"], ["--until", "settled"]),
    (["deliver", "-d", "nope", "--db", "{db}", "--config", "{config}"], ["nope"]),
    (["delivery-status", "--config", "{dir}/nope.yaml"], ["nope.yaml"]),
    (["export", "nope", "--to", "crm", "--db", "{db}", "--config", "{config}"], ["unknown audience 'nope'"]),
    (["export", "big", "--to", "crm", "--db", "{db}", "--config", "{config}"], ["no destination named 'crm'"]),
    # campaigns
    (["campaign", "list", "--config", "{dir}/nope.yaml"], ["nope.yaml"]),
    (["campaign", "moves", "nope", "--db", "{db}", "--config", "{config}"], ["no campaign 'nope'"]),
    (["campaign", "moves", "nope", "--after", "0", "--db", "{empty}"], ["--after"]),
    (["campaign", "results", "nope", "--db", "{db}", "--config", "{config}"], ["no campaign 'nope'"]),
    (["campaign", "results", "nope", "--level", "95", "--db", "{empty}"], ["--level", "0.95"]),
    (["campaign", "launch", "nope", "--db", "{db}", "--config", "{config}"], ["no campaign 'nope'"]),
    (["campaign", "launch", "nope", "--at", "June", "--db", "{empty}"], ["--at", "June"]),
    (["campaign", "create", "c", "--to", "nowhere", "--start", "2024-01-01", "--audience", "a", "--db", "{empty}"],
     ["no destination named 'nowhere'"]),
    (["campaign", "create", "c", "--to", "x", "--start", "01/01/2024", "--db", "{empty}"], ["--start", "01/01/2024"]),
    (["campaign", "create", "c", "--to", "x", "--start", "2024-01-01", "--segment", "rfm", "--db", "{empty}"],
     ["--segment", "SEGMENTATION:SEGMENT"]),
    (["campaign", "create", "c", "--to", "x", "--start", "2024-01-01", "--audience", "a", "--control-share", "1.5",
      "--db", "{empty}"], ["--control-share"]),
    (["campaign", "create", "c", "--to", "x", "--start", "2024-01-01", "--db", "{empty}"],
     ["exactly one of audience, segment or alert"]),
    # predictive traits
    (["predict", "fit", "--as-of", "31/12/2024", "--db", "{empty}"], ["--as-of", "31/12/2024"]),
    (["predict", "show", "--db", "{db}", "--config", "{config}"], ["segmento predict fit"]),
    (["predict", "report", "--as-of", "someday", "--db", "{empty}"], ["--as-of", "someday"]),
    (["predict", "traits", "--as-of", END, "--db", "{db}", "--config", "{config}"], ["segmento predict fit"]),
    # GDPR
    (["gdpr", "export", "NOPE", "--db", "{empty}"], ["NOPE"]),
    (["gdpr", "forget", "C1", "--yes", "--config", "{dir}/nope.yaml"], ["nope.yaml"]),
    (["gdpr", "purge", "--db", "{empty}"], ["retention_days"]),
    (["gdpr", "audit", "--config", "{dir}/nope.yaml"], ["nope.yaml"]),
    (["gdpr", "compact", "--config", "{dir}/nope.yaml"], ["nope.yaml"]),
    (["gdpr", "status", "--config", "{dir}/nope.yaml"], ["nope.yaml"]),
    (["gdpr", "rotate-key", "--config", "{dir}/nope.yaml"], ["nope.yaml"]),
    # service
    (["serve", "--as-of", "31/12/2024", "--db", "{empty}"], ["31/12/2024"]),
    (["report", "--out", "{dir}/r.html", "--config", "{dir}/nope.yaml"], ["nope.yaml"]),
    (["keys", "create", "x", "--scope", "root", "--db", "{empty}"], ["root", "read, write, admin"]),
    (["keys", "revoke", "ffffffff", "--db", "{empty}"], ["ffffffff"]),
    (["keys", "list", "--config", "{dir}/nope.yaml"], ["nope.yaml"]),
]


@pytest.mark.parametrize(("args", "needles"), CASES, ids=[" ".join(a[:2]) for a, _ in CASES])
def test_bad_input_is_one_line_and_exit_2(shop, args, needles, monkeypatch):
    monkeypatch.chdir(shop["dir"])  # no segmento.yaml here
    refused(run(*(a.format(**shop) for a in args)), *needles)


USAGE = [  # the parser's own refusals: same one line and exit code as ours, naming the help to read
    (["--bogus"], ["No such option: --bogus", "segmento --help"]),
    (["fit"], ["Missing argument", "segmentation", "segmento fit --help"]),
    (["load", "--nope", "x"], ["No such option: --nope", "segmento load --help"]),
    (["alerts", "--limit", "ten"], ["--limit", "integer", "segmento alerts --help"]),
    (["gdpr", "forget"], ["Missing argument", "customer_id", "segmento gdpr forget --help"]),
    (["predict", "bogus"], ["No such command", "bogus", "segmento predict --help"]),
    (["frobnicate"], ["No such command", "frobnicate"]),
]


@pytest.mark.parametrize(("args", "needles"), USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_usage_errors_are_one_line_and_exit_2(args, needles):
    refused(run(*args), *needles)


def test_every_verb_has_a_bad_input_case():
    group = typer.main.get_group(app)
    verbs = {f"{name} {sub}" if hasattr(command, "commands") else name
             for name, command in group.commands.items() for sub in getattr(command, "commands", [""])}
    groups = {name for name, command in group.commands.items() if hasattr(command, "commands")}
    tried = {" ".join(a[:2]) if a[0] in groups else a[0] for a, _ in CASES}
    assert verbs - tried == set()


def test_a_bug_is_not_a_user_error():
    """A plain ValueError (or anything not a SegmentoError) escapes: exit 1 with the exception."""
    probe = typer.Typer(cls=UserErrors)

    @probe.command()
    def broken(kind: str) -> None:
        raise NotFoundError("no such thing") if kind == "user" else ValueError("a bug")

    @probe.command()
    def other() -> None:  # two commands, so `broken` is a sub-command as in the real app
        pass

    bug = CliRunner().invoke(probe, ["broken", "bug"])
    assert bug.exit_code == 1 and isinstance(bug.exception, ValueError)
    user = CliRunner().invoke(probe, ["broken", "user"])
    assert user.exit_code == 2 and user.output.strip() == "error: no such thing"
