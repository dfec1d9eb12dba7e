"""Keyed pseudonyms: the suppression list and the audit log cannot be reversed from the
database alone by hashing every candidate id; with the secret they can be recognised.
The secret lives outside the database, is created 0600, is checked, and can be rotated."""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

import pandas as pd
import pytest

import segmento
from segmento.errors import SegmentoError

ERASED = [f"C{n:07d}" for n in (42, 4242, 99_001)]


def candidates() -> list[str]:
    """The id space an attacker would enumerate: C0000000..C0099999 holds every erased id."""
    return [f"C{n:07d}" for n in range(100_000)]


def stored_pseudonyms(path: Path) -> set[str]:
    """Every value in the suppression list and the audit log's targets, read from the file alone."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as raw:
        erased = {row[0] for row in raw.execute("SELECT id_hash FROM erased_customers").fetchall()}
        audit = {row[0].split(":", 1)[1] for row in raw.execute(
            "SELECT target FROM audit_log WHERE target LIKE 'customer:%'").fetchall()}
    return erased | audit


@pytest.fixture
def erased_base(tmp_path: Path) -> Path:
    path = tmp_path / "shop.duckdb"
    with segmento.connect(path) as ws:
        ws.ingest("customers", pd.DataFrame({"customer_id": ERASED + ["C0000001"], "signup_date": ["2023-01-01"] * 4}))
        for customer in ERASED:
            ws.forget(customer)
    return path


def test_pseudonyms_cannot_be_reversed_without_the_key_file_and_can_with_it(erased_base: Path) -> None:
    stored = stored_pseudonyms(erased_base)
    assert len(stored) == 3
    plain = {hashlib.sha256(c.encode()).hexdigest() for c in candidates()}
    assert stored.isdisjoint(plain)  # the enumeration an attacker holding only the file can run
    [key] = Path(f"{erased_base}.key").read_text().split()
    keyed = {hmac.new(key.encode(), c.encode(), hashlib.sha256).hexdigest(): c for c in candidates()}
    assert sorted(keyed[p] for p in stored) == ERASED


def test_key_file_is_private_and_a_wrong_or_missing_secret_is_refused(
    erased_base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = Path(f"{erased_base}.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    monkeypatch.setenv("SEGMENTO_SECRET", "not-the-key")
    with segmento.connect(erased_base) as ws, pytest.raises(SegmentoError, match="not the one"):
        ws.ingest("customers", pd.DataFrame({"customer_id": ["C0000042"], "signup_date": ["2023-01-01"]}))
    monkeypatch.delenv("SEGMENTO_SECRET")
    key_file.chmod(0o644)
    with segmento.connect(erased_base) as ws, pytest.raises(SegmentoError, match="chmod 600"):
        ws.forget("C0000001")
    key_file.rename(f"{key_file}.away")
    with segmento.connect(erased_base) as ws, pytest.raises(SegmentoError, match="is missing"):
        ws.forget("C0000001")


def test_the_secret_can_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMENTO_SECRET", "an env secret")
    path = tmp_path / "shop.duckdb"
    with segmento.connect(path) as ws:
        ws.ingest("customers", pd.DataFrame({"customer_id": ["C0000042"], "signup_date": ["2023-01-01"]}))
        ws.forget("C0000042", compact=False)
        report = ws.ingest("customers", pd.DataFrame({"customer_id": ["C0000042"], "signup_date": ["2023-01-01"]}))
    assert report.suppressed == 1 and not Path(f"{path}.key").exists()
    expected = hmac.new(b"an env secret", b"C0000042", hashlib.sha256).hexdigest()
    assert expected in stored_pseudonyms(path)


def test_rotation_rekeys_so_the_old_key_alone_matches_nothing_and_suppression_holds(erased_base: Path) -> None:
    key_file = Path(f"{erased_base}.key")
    [old] = key_file.read_text().split()
    from typer.testing import CliRunner

    from segmento.cli import app

    result = CliRunner().invoke(app, ["gdpr", "rotate-key", "--db", str(erased_base)])
    assert result.exit_code == 0, result.output
    keys = key_file.read_text().split()
    assert keys[0] == old and len(keys) == 2 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    stored = stored_pseudonyms(erased_base)
    with_old = {hmac.new(old.encode(), c.encode(), hashlib.sha256).hexdigest() for c in candidates()}
    assert stored.isdisjoint(with_old)
    with segmento.connect(erased_base) as ws:
        report = ws.ingest("customers", pd.DataFrame({"customer_id": ERASED, "signup_date": ["2023-01-01"] * 3}))
    assert (report.suppressed, report.loaded) == (3, 0)
