"""The CLI on a real DuckDB file, through Typer's runner."""

from pathlib import Path

from typer.testing import CliRunner

from segmento.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})


def test_ingest_load_quarantine_and_status(tmp_path: Path):
    db = str(tmp_path / "shop.duckdb")
    data = tmp_path / "data"
    data.mkdir()
    (data / "customers.csv").write_text("customer_id,signup_date\nC1,2024-01-01\nC2,2024-01-02\n")
    (data / "orders.csv").write_text("order_id,customer_id,ordered_at,amount,channel\nO1,C1,2024-02-01,9.5,web\nO2,C3,2024-02-01,1,web\n")
    result = invoke("load", str(data), "--db", db)
    assert result.exit_code == 0, result.output
    assert "customers <- " in result.output and "2 in, 2 loaded, 0 duplicates, 0 rejected" in result.output
    assert "2 in, 1 loaded, 0 duplicates, 1 rejected" in result.output

    ventes = tmp_path / "ventes.csv"
    ventes.write_text("Num;Client;Date;Montant;Canal\nV1;C2;03/02/2024 10:00;4,5;store\nV2;C2;03/02/2024 11:00;12;store\n")
    result = invoke("ingest", "orders", str(ventes), "--db", db, "-m", "order_id=Num", "-m", "customer_id=Client",
                    "-m", "ordered_at=Date", "-m", "amount=Montant", "-m", "channel=Canal",
                    "--timestamp-format", "%d/%m/%Y %H:%M")
    assert result.exit_code == 0, result.output
    assert "2 in, 1 loaded, 0 duplicates, 1 rejected" in result.output

    result = invoke("quarantine", "--db", db)
    assert "2 rejected rows" in result.output
    assert "unknown customer_id 'C3' (not in customers)" in result.output
    assert "'4,5' is not a valid float" in result.output

    result = invoke("status", "--db", db)
    assert result.exit_code == 0
    assert "orders" in result.output and "quarantine" in result.output


def test_errors_exit_2_with_a_message(tmp_path: Path):
    db = str(tmp_path / "shop.duckdb")
    result = invoke("ingest", "orders", str(tmp_path / "missing.csv"), "--db", db)
    assert result.exit_code == 2
    assert "missing.csv: file not found" in result.output
    result = invoke("ingest", "orders", str(tmp_path / "missing.csv"), "--db", db, "-m", "order_id")
    assert result.exit_code == 2 and "expected ours=theirs" in result.output


def test_project_sources_are_loaded(tmp_path: Path):
    (tmp_path / "clients.csv").write_text("id;inscription\nC1;01/03/2024\n")
    (tmp_path / "segmento.yaml").write_text(
        f"database: {tmp_path / 'p.duckdb'}\nsources:\n"
        f"  - table: customers\n    path: {tmp_path / 'clients.csv'}\n    date_format: '%d/%m/%Y'\n"
        "    columns: {customer_id: id, signup_date: inscription}\n"
    )
    result = invoke("load", "--config", str(tmp_path / "segmento.yaml"))
    assert result.exit_code == 0, result.output
    assert "1 in, 1 loaded" in result.output


def test_demo_data_generates_files_that_load_without_rejections(tmp_path: Path):
    out = tmp_path / "demo"
    result = invoke("demo-data", "--customers", "300", "--months", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= {"customers.parquet", "orders.parquet", "order_lines.parquet",
                                               "events.parquet", "consents.parquet", "truth.parquet"}
    result = invoke("load", str(out), "--db", str(tmp_path / "demo.duckdb"))
    assert result.exit_code == 0, result.output
    assert result.output.count(" 0 rejected") == 5


def test_listing_verbs_say_the_same_from_the_file_as_through_the_workspace(tmp_path: Path):
    """status, quarantine, keys list and gdpr status read the DuckDB file directly (no Ibis) when they can; while a
    workspace of this process holds the file they go through its Ibis connection. Same output both ways."""
    import segmento

    db = str(tmp_path / "shop.duckdb")
    data = tmp_path / "data"
    data.mkdir()
    (data / "customers.csv").write_text("customer_id,signup_date\nC1,2024-01-01\nC2,2024-01-02\n")
    (data / "orders.csv").write_text("order_id,customer_id,ordered_at,amount,channel\n"
                                     "O1,C1,2024-02-01,9.5,web\nO2,C3,2024-02-01,1,web\nO3,C1,2024-13-01,2,web\n")
    assert invoke("load", str(data), "--db", db).exit_code == 0
    assert invoke("keys", "create", "crm", "--scope", "read", "--db", db).exit_code == 0
    assert invoke("gdpr", "forget", "C2", "--yes", "--no-compact", "--db", db).exit_code == 0
    verbs = [["status"], ["quarantine"], ["quarantine", "--table", "orders", "--limit", "1"],
             ["quarantine", "--table", "customers"], ["keys", "list"], ["gdpr", "status"]]
    direct = [invoke(*verb, "--db", db).output for verb in verbs]
    with segmento.connect(db):  # the file is open read-write here: a read-only connection is refused
        through_ibis = [invoke(*verb, "--db", db).output for verb in verbs]
    assert through_ibis == direct
    assert "2 rejected rows" in direct[1] and "1 rejected rows" not in direct[2] and "0 rejected rows" in direct[3]
    assert "crm" in direct[4] and "1 API keys" in direct[4]
    assert "1 erasure(s) pending compaction" in direct[5] and f"{db}.key (checked)" in direct[5]
    wrong = runner.invoke(app, ["gdpr", "status", "--db", db], env={"SEGMENTO_SECRET": "not-the-key"})
    assert wrong.exit_code == 2 and "is not the one this database's suppression list was made with" in wrong.output
