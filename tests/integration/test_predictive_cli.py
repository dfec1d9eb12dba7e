"""`segmento predict fit|show|report|traits` on a real DuckDB file holding the CDNOW transactions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_predictive_duckdb import cdnow_orders
from typer.testing import CliRunner

import segmento
from segmento.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("predict-cli") / "cdnow.duckdb"
    orders = cdnow_orders()
    first = orders.groupby("customer_id").ordered_at.min().dt.date
    with segmento.connect(path) as ws:
        ws.ingest("customers", pd.DataFrame({"customer_id": first.index, "signup_date": first.values}))
        ws.ingest("orders", orders)
    return str(path)


def test_predict_verbs(db: str, tmp_path: Path) -> None:
    result = invoke("predict", "traits", "--as-of", "1997-09-30", "--db", db)
    assert result.exit_code == 2
    assert "no predictive model fitted: run `segmento predict fit --as-of" in " ".join(result.output.split())

    config = tmp_path / "segmento.yaml"
    config.write_text("predictive:\n  model: bgnbd\n  unit: week\n  discount_rate: 0.01\n")
    result = invoke("predict", "fit", "--as-of", "1997-09-30", "--db", db, "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "predictive v1 (bgnbd, weeks) as of 1997-09-30: r=0.2426, alpha=4.414, a=0.7929, b=2.426" in result.output
    assert "2,357 customers" in result.output

    result = invoke("predict", "show", "--db", db)
    assert result.exit_code == 0 and "1997-09-30" in result.output and "spend p=6.25" in result.output

    result = invoke("predict", "report", "--as-of", "1998-06-30", "--holdout-days", "273", "--db", db)
    assert result.exit_code == 0, result.output
    assert "7+" in result.output and "total" in result.output and "actual 1,882" in result.output

    result = invoke("predict", "traits", "--as-of", "1998-06-30", "--customer", "c1", "--db", db)
    assert result.exit_code == 0 and "clv_12m" in result.output and "p_alive" in result.output

    config.write_text("predictive:\n  unit: month\n")
    result = invoke("predict", "fit", "--as-of", "1997-09-30", "--db", db, "--config", str(config))
    assert result.exit_code == 2 and "unit" in result.output


def test_importing_segmento_loads_no_model_code() -> None:
    """Opening the front door registers the traits; the estimators and formulas (scipy) load only to fit or score."""
    import subprocess
    import sys

    code = ("import sys, segmento.workspace, segmento.cli; "
            "print(sorted(m for m in sys.modules if m.startswith('segmento.predictive.')))")  # fmt: skip
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "segmento.predictive.models" not in loaded and "segmento.predictive.formulas" not in loaded
    assert "segmento.predictive.scoring" in loaded  # the traits are in the catalog
