"""The monthly run (`segmento month`) is the snapshot then the refresh at the period end, in one step:
on two copies of the same fitted demo base, it stores the same snapshot, alerts, audience changes
and queued messages as the two verbs run one after the other."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import segmento
from segmento.cli.app import app
from segmento.config import parse_project
from segmento.demo import generate

DEMO = Path(__file__).parents[2] / "examples" / "demo.yaml"
END, BEFORE, FIT = date(2024, 12, 31), date(2024, 11, 30), date(2024, 10, 31)


def project_text(exports: Path, database: Path) -> str:
    """The demo project, its file destination in ``exports``."""
    demo = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    for destination in demo["destinations"]:
        destination["path"] = str(exports)
    demo["database"] = str(database)
    return yaml.safe_dump(demo, sort_keys=False)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo base with the three segmentations and the predictive model fitted, November taken and refreshed."""
    folder = tmp_path_factory.mktemp("monthly")
    data = generate(customers=700, months=16, seed=5, end=END)
    text = project_text(folder / "exports", folder / "base.duckdb")
    with segmento.connect(folder / "base.duckdb", parse_project(text)) as ws:
        for name in ("customers", "orders", "order_lines", "events", "consents"):
            assert ws.ingest(name, getattr(data, name)).rejected == 0
        for name in ("value", "rfm", "behaviour"):
            ws.fit_segmentation(name, FIT)
        ws.fit_predictive(FIT)
        ws.backfill("2024-08", "2024-11")
        ws.refresh_audiences(BEFORE)
    return folder / "base.duckdb"


def stored(path: Path, exports: Path) -> dict[str, list[tuple]]:
    """What a month stored, without what differs by construction (refresh ids, clocks, message ids)."""
    with segmento.connect(path, parse_project(project_text(exports, path))) as ws:
        raw = ws.con.con

        def rows(sql: str) -> list[tuple]:
            return sorted(raw.execute(sql).fetchall(), key=repr)

        return {
            "snapshots": rows(f"SELECT * FROM segment_snapshots WHERE period = DATE '{END}'"),
            "alerts": rows(f"SELECT * EXCLUDE (created_at) FROM alerts WHERE period = DATE '{END}'"),
            "changes": rows("SELECT seq, customer_id, audience, kind, \"at\", why FROM audience_changes"),
            "queued": rows("SELECT destination, source, CASE WHEN source = 'alert' THEN source_id END, topic, customer_id, "
                           "priority FROM activation_outbox"),  # an audience change's id holds its refresh's
        }


def test_the_monthly_run_stores_what_the_snapshot_then_the_refresh_store(
    fitted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENTO_SECRET", "one-brand-secret")  # both copies draw the same campaign control group
    apart, together = tmp_path / "apart.duckdb", tmp_path / "together.duckdb"
    shutil.copy(fitted, apart)
    shutil.copy(fitted, together)
    config = tmp_path / "segmento.yaml"
    with segmento.connect(apart, parse_project(project_text(tmp_path / "a", apart))) as ws:
        ws.snapshot(END)
        ws.refresh_audiences(END)
    config.write_text(project_text(tmp_path / "b", together), encoding="utf-8")
    result = CliRunner().invoke(app, ["month", "--as-of", "2024-12", "--config", str(config), "--db", str(together)])
    assert result.exit_code == 0, result.output
    assert "2024-12-31: value" in result.output and "refresh " in result.output
    got, expected = stored(together, tmp_path / "b"), stored(apart, tmp_path / "a")
    assert all(expected[name] for name in ("snapshots", "alerts", "changes", "queued")), {k: len(v) for k, v in expected.items()}
    assert got == expected



def test_the_monthly_run_computes_the_features_of_the_period_end_once(
    fitted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot, its alerts and the refresh read the features of the period end: one query computes
    them for all (the period before, read by the alerts' edges and the why of each change, is not shared)."""
    import segmento.features.compute as compute

    path = tmp_path / "month.duckdb"
    shutil.copy(fitted, path)
    computed: list[date] = []
    depth = [0]  # a features query may read features itself (the predictive traits' purchase summary)
    real = compute.features_at

    def counted(con, at, project, names, aggregate):  # the real computation, each outermost one written down
        if not depth[0]:
            computed.append(at.day)
        depth[0] += 1
        try:
            return real(con, at, project, names, aggregate)
        finally:
            depth[0] -= 1

    monkeypatch.setattr(compute, "features_at", counted)
    with segmento.connect(path, parse_project(project_text(tmp_path / "exports", path))) as ws:
        snapshot, refresh = ws.monthly_run(END)
    assert snapshot.alerts and refresh.enters and refresh.exits  # every part read features
    assert computed.count(END) == 1 and BEFORE in computed, computed
