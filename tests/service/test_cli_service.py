"""The service's CLI verbs on a real DuckDB file: API keys are created (shown once),
listed without their secret, revoked; `serve` refuses a bad date before starting."""

from __future__ import annotations

import re

from typer.testing import CliRunner

import segmento
from segmento.cli import app
from segmento.service import keys as api_keys


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_keys_create_list_revoke(tmp_path) -> None:
    db = str(tmp_path / "shop.duckdb")
    created = invoke("keys", "create", "call-centre", "--scope", "read", "--scope", "write", "--db", db)
    assert created.exit_code == 0, created.output
    key = re.search(r"^sgk_\w+_\S+$", created.output, re.M).group(0)
    key_id = key.split("_")[1]
    listed = invoke("keys", "list", "--db", db)
    assert key_id in listed.output and "read, write" in listed.output and key not in listed.output
    with segmento.connect(db) as ws:
        assert api_keys.verify(key, {k.key_id: k for k in api_keys.list_keys(ws.con)}).allows("write")
    assert invoke("keys", "revoke", key_id, "--db", db).exit_code == 0
    with segmento.connect(db) as ws:
        assert not api_keys.verify(key, {k.key_id: k for k in api_keys.list_keys(ws.con)}).allows("read")
    wrong = invoke("keys", "create", "x", "--scope", "root", "--db", db)
    assert wrong.exit_code == 2 and "scopes must be some of read, write, admin" in wrong.output
    missing = invoke("keys", "revoke", "ffffffff", "--db", db)
    assert missing.exit_code == 2 and "no API key 'ffffffff'" in missing.output


def test_serve_refuses_a_bad_date(tmp_path) -> None:
    result = invoke("serve", "--as-of", "31/12/2024", "--db", str(tmp_path / "shop.duckdb"))
    assert result.exit_code == 2 and "not a date" in result.output
