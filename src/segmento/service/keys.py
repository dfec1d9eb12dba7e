"""API keys: created once, shown once, stored only as a SHA-256 hash with their scopes.

A key reads ``sgk_<key id>_<secret>``. The key id is public (it names the key in the
audit log and in ``segmento keys list``); the secret is 32 random bytes. Keys are
high-entropy random strings, so an unsalted SHA-256 is enough to make a stolen
``api_keys`` table useless (the same reasoning as GitHub tokens).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from typing import TYPE_CHECKING

from segmento.errors import SegmentoError
from segmento.store.quick import Source, rows

if TYPE_CHECKING:  # writes load Ibis and Arrow; listing keys needs neither (see store/quick.py)
    import ibis
    from ibis.backends import BaseBackend

KEYS = "api_keys"  # declared in store/registry.py
SCOPES = ("read", "write", "admin")
PREFIX = "sgk"


class ApiKeyError(SegmentoError):
    """A key that cannot be created or revoked, with the reason."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key as the service checks it (never the secret)."""

    key_id: str
    name: str
    key_hash: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None

    def allows(self, scope: str) -> bool:
        """admin may do everything; read and write are separate (an event producer need not read profiles)."""
        return self.revoked_at is None and (scope in self.scopes or "admin" in self.scopes)

    def public(self) -> dict:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "scopes": sorted(self.scopes),
            "created_at": self.created_at,
            "revoked": self.revoked_at is not None,
            "revoked_at": self.revoked_at,
        }


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_id_of(key: str) -> str | None:
    """The key id inside a presented key, or None if it is not shaped like one of ours."""
    parts = key.split("_")
    return parts[1] if len(parts) == 3 and parts[0] == PREFIX and parts[1] and parts[2] else None


def keys_table(con: BaseBackend) -> ibis.Table:
    from segmento.store.tables import table

    return table(con, KEYS)


def check_scopes(scopes: list[str] | tuple[str, ...]) -> frozenset[str]:
    wanted = frozenset(s.strip() for s in scopes if s.strip())
    unknown = sorted(wanted - set(SCOPES))
    if unknown or not wanted:
        raise ApiKeyError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
    return wanted


def create_key(con: BaseBackend, name: str, scopes: list[str] | tuple[str, ...]) -> tuple[str, ApiKey]:
    """A new key: returns (the full key, shown only now; its stored record)."""
    import pyarrow as pa

    from segmento.store.backend import append

    chosen = check_scopes(scopes)
    keys_table(con)
    key_id = secrets.token_hex(4)
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32).replace('_', '-')}"
    record = ApiKey(key_id, name, digest(key), chosen, datetime.now().replace(microsecond=0), None)
    row = {
        "key_id": [key_id], "name": [name], "key_hash": [record.key_hash], "scopes": [",".join(sorted(chosen))],
        "created_at": [record.created_at], "revoked_at": pa.array([None], pa.timestamp("us")),
    }
    append(con, KEYS, pa.table(row))
    return key, record


def list_keys(source: Source) -> list[ApiKey]:
    """Every key, oldest first, from a workspace's engine or straight from the file (``keys list``)."""
    return [
        ApiKey(r["key_id"], r["name"], r["key_hash"], frozenset(filter(None, r["scopes"].split(","))),
               r["created_at"], r["revoked_at"])
        for r in rows(source, f"SELECT * FROM {KEYS} ORDER BY created_at")
    ]


def revoke_key(con: BaseBackend, key_id: str) -> ApiKey:
    """Mark a key revoked (kept, so the audit log still names it)."""
    found = {k.key_id: k for k in list_keys(con)}
    if key_id not in found:
        raise ApiKeyError(f"no API key {key_id!r}; keys: {', '.join(found) or 'none'}")
    if found[key_id].revoked_at is None:
        import pyarrow as pa

        from segmento.store.engines import engine_of

        revoked = pa.table({"key_id": [key_id], "revoked_at": [datetime.now().replace(microsecond=0)]})
        engine_of(con).update(KEYS, revoked, "key_id")
    return {k.key_id: k for k in list_keys(con)}[key_id]


def verify(key: str, stored: dict[str, ApiKey]) -> ApiKey | None:
    """The stored key matching ``key`` (valid or revoked), compared in constant time."""
    key_id = key_id_of(key)
    record = stored.get(key_id) if key_id else None
    if record is None or not hmac.compare_digest(record.key_hash, digest(key)):
        return None
    return record
