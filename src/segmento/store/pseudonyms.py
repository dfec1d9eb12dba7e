"""Keyed pseudonyms: how the suppression list and the audit log name a customer without her id.

A pseudonym is HMAC-SHA256 under a secret kept outside the database: the environment
variable ``SEGMENTO_SECRET``, else a key file (``gdpr.key_file`` in the project file,
by default ``<database>.key``) created on first use with mode 0600. Without the secret,
hashing every candidate id matches nothing; with it, an id is recognised (that is how an
erased customer is kept out of later loads).

The secret is a chain of keys, oldest first: the pseudonym of an id is
HMAC(k_n, ... HMAC(k_1, id)). Rotation appends a key and re-keys every stored pseudonym
p as HMAC(k_new, p), which needs only the stored values: a leaked earlier key alone no
longer says anything. The database keeps a fingerprint of the chain, so a wrong or lost
secret is refused instead of silently letting erased customers back in.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from segmento.errors import SegmentoError, UnsupportedError
from segmento.store.quick import Source, is_file, rows

if TYPE_CHECKING:  # writes load Ibis and Arrow; checking the secret (`gdpr status`) needs neither
    from ibis.backends import BaseBackend

ENV = "SEGMENTO_SECRET"
KEY_TABLE = "gdpr_key"
SUPPRESSION_LIST = "erased_customers"  # store/registry.py's ERASED: erased ids by pseudonym and kind
CUSTOMER, ORDER = "customer", "order"  # kinds of erased id
_CHECK = "segmento key check"


class Pseudonyms:
    """The keyed pseudonym of ids under one key chain."""

    def __init__(self, keys: list[str], where: str) -> None:
        if not keys or not all(keys):
            raise SegmentoError(f"{where}: the GDPR secret is empty; set {ENV} or let the key file be created")
        self.keys = keys
        self.where = where  # 'SEGMENTO_SECRET' or the key file's path, for messages

    def of(self, value: str) -> str:
        """The pseudonym (hex) of one id."""
        digest = value
        for key in self.keys:
            digest = hmac.new(key.encode(), digest.encode(), hashlib.sha256).hexdigest()
        return digest

    def many(self, values: Iterable[str]) -> list[str]:
        return [self.of(v) for v in values]

    @property
    def fingerprint(self) -> str:
        return self.of(_CHECK)


def default_key_file(con: Source, configured: str | None = None, database: str | None = None) -> Path | None:
    """Where the key file is: the project's ``gdpr.key_file``, else beside the DuckDB file (or, on
    another engine, the operational store the project names); None for an in-memory base."""
    if configured:
        return Path(configured).expanduser()
    duckdb = con if is_file(con) else con.con if con.name == "duckdb" else None
    if duckdb is None:
        return Path(f"{database}.key") if database and "://" not in database else Path("segmento.key")
    path = duckdb.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    return Path(f"{path}.key") if path else None


def load(con: BaseBackend, path: Path | None) -> Pseudonyms:
    """The secret in force for this database: checked against its fingerprint, created on first use."""
    stored = _stored_fingerprint(con)
    if os.environ.get(ENV):
        found = Pseudonyms(os.environ[ENV].split(","), ENV)
    elif path is None:
        found = Pseudonyms([secrets.token_hex(32)], "an in-memory secret")
    else:
        _finish_rotation(path, stored)
        if not path.exists():
            if stored is not None:
                raise SegmentoError(
                    f"key file {path} is missing, but this database's suppression list was made with a key: "
                    f"restore it, set gdpr.key_file to where it is, or set {ENV}"
                )
            _write_key_file(path, [secrets.token_hex(32)])
        found = _read_key_file(path)
    if stored is None:
        _record_fingerprint(con, found)
    return _checked(found, stored)


def verify(source: Source, path: Path | None) -> Pseudonyms | None:
    """The secret in force, checked against this database's fingerprint without writing anything (``gdpr
    status`` on the file read directly); None where opening it writes (no fingerprint or key file yet, a
    rotation to finish, an in-memory base): ``load`` does that."""
    stored = _stored_fingerprint(source)
    if stored is None:
        return None
    if os.environ.get(ENV):
        return _checked(Pseudonyms(os.environ[ENV].split(","), ENV), stored)
    if path is None or not path.exists() or _pending(path).exists():
        return None
    return _checked(_read_key_file(path), stored)


def pending_erasures(source: Source) -> list[dict[str, object]]:
    """Erasures whose rows are deleted but whose bytes may remain in the file until compaction (by pseudonym)."""
    return rows(source, f"SELECT id_hash, erased_at FROM {SUPPRESSION_LIST} WHERE compacted_at IS NULL AND kind = ? "
                        "ORDER BY erased_at", CUSTOMER)


def _checked(found: Pseudonyms, stored: str | None) -> Pseudonyms:
    if stored is not None and stored != found.fingerprint:
        raise SegmentoError(
            f"the GDPR secret from {found.where} is not the one this database's suppression list was made "
            f"with: set {ENV} or gdpr.key_file to the right secret (a new one would let erased customers back in)"
        )
    return found


def rotate(con: BaseBackend, current: Pseudonyms, path: Path | None) -> Pseudonyms:
    """Append a new key and re-key the suppression list and audit log with it (one transaction).

    With a key file the new chain is written beside it first and moved into place after
    the commit (a crash in between is finished by the next ``load``); with ``SEGMENTO_SECRET``
    the caller must set the variable to the returned chain.
    """
    import sqlglot.expressions as sge

    from segmento.store.backend import delete_where, transaction
    from segmento.store.engines import engine_of

    if not engine_of(con).capabilities.transactions:
        raise UnsupportedError(
            f"rotate-key re-keys the suppression list, audit log and key fingerprint in one transaction, and "
            f"{engine_of(con).name} has none (a stopped rotation would let erased customers back in): keep the "
            f"current secret on this base, or rotate on a DuckDB base"
        )
    if path is None and current.where != ENV:
        raise UnsupportedError("rotate-key needs the secret kept outside the database (a key file or "
                               f"{ENV}); an in-memory base has neither")
    new_key = secrets.token_hex(32)
    rotated = Pseudonyms([*current.keys, new_key], current.where)
    if path is not None and current.where != ENV:
        _write_key_file(_pending(path), rotated.keys)

    def rekey(pseudonym: str) -> str:
        return hmac.new(new_key.encode(), pseudonym.encode(), hashlib.sha256).hexdigest()

    with transaction(con):
        _rekey_column(con, "erased_customers", "id_hash", "", rekey)
        _rekey_column(con, "audit_log", "target", "customer:", rekey)
        delete_where(con, KEY_TABLE, sge.true())
        _record_fingerprint(con, rotated)
    if path is not None and current.where != ENV:
        os.replace(_pending(path), path)
    return rotated


def _rekey_column(con: BaseBackend, name: str, column: str, prefix: str, rekey: Callable[[str], str]) -> None:
    """Replace each stored ``prefix + pseudonym`` by ``prefix + rekey(pseudonym)``."""
    import pyarrow as pa

    from segmento.store.engines import engine_of
    from segmento.store.tables import table

    t = table(con, name)
    values = t.filter(t[column].startswith(prefix)).select(column).distinct().to_pyarrow().column(column).to_pylist()
    if values:
        pairs = pa.table({"old": values, "new": [prefix + rekey(v[len(prefix):]) for v in values]})
        engine_of(con).replace_values(name, column, pairs)


def _stored_fingerprint(source: Source) -> str | None:
    stored = rows(source, f"SELECT fingerprint FROM {KEY_TABLE}")  # oldest first: rotation leaves one
    return stored[-1]["fingerprint"] if stored else None


def _record_fingerprint(con: BaseBackend, pseudonyms: Pseudonyms) -> None:
    import pyarrow as pa

    from segmento.store.backend import append

    row = {"fingerprint": [pseudonyms.fingerprint], "keys": [len(pseudonyms.keys)], "created_at": [datetime.now()]}
    append(con, KEY_TABLE, pa.table(row))


def _pending(path: Path) -> Path:
    return path.with_name(path.name + ".new")


def _finish_rotation(path: Path, stored: str | None) -> None:
    """A rotation committed in the database whose new key file was not moved into place yet."""
    pending = _pending(path)
    if stored is not None and pending.exists() and _read_key_file(pending).fingerprint == stored:
        os.replace(pending, path)


def _write_key_file(path: Path, keys: list[str]) -> None:
    """A new file readable by its owner only (0600), never an existing one overwritten in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(f"{key}\n" for key in keys))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _read_key_file(path: Path) -> Pseudonyms:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise SegmentoError(f"key file {path} can be read by others (mode {mode:o}): run chmod 600 {path}")
    keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return Pseudonyms(keys, str(path))
