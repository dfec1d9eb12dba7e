"""Destinations: where messages go. A webhook, a file drop, or a platform connector plug-in.

Every destination is a ``Sender``: ``send(batch)`` returns when the whole batch is
accepted and raises ``DeliveryError`` otherwise. The deliverer owns retries, backoff,
dead letters, rate limits and consent, so a plug-in only has to speak its platform's API.

Webhook contract (for the receiving side):
- ``POST <url>`` with body ``{"messages": [<message>, ...]}``; each message carries its
  ``idempotency_key``: a re-sent message has the same key, so drop keys already seen.
- ``X-Segmento-Timestamp: <unix seconds>`` and, when a secret is set,
  ``X-Segmento-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>``.
- ``Idempotency-Key``: the message's key for a one-message batch, else a digest of the keys.
- Any 2xx accepts the batch; anything else (or no answer within ``timeout``) is retried,
  after ``Retry-After`` seconds when the answer gives them.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import importlib
import json
import os
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from segmento.activation.outbox import Message
from segmento.activation.settings import DestinationBase, FileDestination, PluginDestination, WebhookDestination

if TYPE_CHECKING:
    from segmento.config import Project

USER_AGENT = "segmento-activation/1"


class DeliveryError(Exception):
    """A batch was not accepted. ``retry_after`` (seconds) asks for a later retry; ``permanent`` for none."""

    def __init__(self, reason: str, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent


@runtime_checkable
class Sender(Protocol):
    """What a destination (built-in or plug-in) implements."""

    def send(self, batch: Sequence[Message]) -> None:
        """Deliver the whole batch, or raise DeliveryError."""

    def close(self) -> None:
        """Release connections and files."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Segmento-Signature value: HMAC-SHA256 over '<timestamp>.<body>'."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def batch_key(batch: Sequence[Message]) -> str:
    """One key for a batch: the message's own for a single message, else a digest of them all."""
    if len(batch) == 1:
        return batch[0].message_id
    return hashlib.sha256("\n".join(sorted(m.message_id for m in batch)).encode()).hexdigest()[:32]


class WebhookSender:
    """POST signed JSON batches; one HTTP client per destination keeps connections alive."""

    def __init__(self, config: WebhookDestination) -> None:
        self.config = config
        self.secret = os.environ.get(config.secret_env) if config.secret_env else config.secret
        if config.secret_env and not self.secret:
            raise DeliveryError(f"destination {config.name}: environment variable {config.secret_env} is not set")
        self.client = httpx.Client(timeout=config.timeout, headers={"User-Agent": USER_AGENT, **config.headers})

    def send(self, batch: Sequence[Message]) -> None:
        body = ('{"messages":[' + ",".join(m.payload for m in batch) + "]}").encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Segmento-Timestamp": timestamp,
                   "Idempotency-Key": batch_key(batch)}
        if self.secret:
            headers["X-Segmento-Signature"] = signature(self.secret, timestamp, body)
        try:
            response = self.client.post(self.config.url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise DeliveryError(f"no answer within {self.config.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        if not response.is_success:
            raise DeliveryError(
                f"HTTP {response.status_code}: {response.text[:200]}", retry_after=_retry_after(response)
            )

    def close(self) -> None:
        self.client.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date is rare from marketing platforms; fall back to our backoff


class FileSender:
    """Write each batch as a CSV/Parquet file per topic (audience or alert kind) with a manifest.

    A file is named after its messages (creation time + digest of their keys), so a batch
    re-sent after a crash overwrites the same file instead of adding a second one. The
    data file is moved into place before its manifest: a reader that waits for the
    manifest never sees a half-written file.
    """

    def __init__(self, config: FileDestination) -> None:
        self.config = config
        self.root = Path(config.path)

    def send(self, batch: Sequence[Message]) -> None:
        by_topic: dict[str, list[Message]] = {}
        for message in batch:
            by_topic.setdefault(message.topic, []).append(message)
        try:
            for topic, messages in by_topic.items():
                table = rows_table([flatten(json.loads(m.payload)) for m in messages])
                stem = f"{min(m.created_at for m in messages):%Y%m%dT%H%M%S}-{batch_key(messages)[:16]}"
                write_table(self.root / topic, stem, table, self.config.format,
                            {"destination": self.config.name, "topic": topic})
        except OSError as exc:
            raise DeliveryError(f"cannot write under {self.root}: {exc}") from None

    def close(self) -> None:
        pass


def write_table(folder: Path, stem: str, table: pa.Table, fmt: str, about: dict[str, Any]) -> Path:
    """Write ``<stem>.<fmt>`` and then ``<stem>.manifest.json`` (the signal it is complete); return the data file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.{fmt}"
    partial = folder / f".{stem}.{fmt}.partial"
    if fmt == "parquet":
        pq.write_table(table, partial)
    else:
        pa_csv.write_csv(table, partial)
    os.replace(partial, path)
    manifest = {
        **about,
        "file": path.name,
        "format": fmt,
        "rows": table.num_rows,
        "columns": table.column_names,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "written_at": datetime.now().isoformat(timespec="seconds"),
    }
    partial_manifest = folder / f".{stem}.manifest.json.partial"
    partial_manifest.write_text(json.dumps(manifest, indent=2, default=str))
    os.replace(partial_manifest, folder / f"{stem}.manifest.json")
    return path


MANIFEST_FACTS = ("file", "format", "rows", "columns", "sha256", "written_at")


def erase_from_drops(project: Project, customer_id: str) -> int:
    """Right to erasure for files still in the drop folders: rewrite them without the customer.

    Returns rows removed. Files the platform has already taken away are out of our reach.
    """
    roots = [Path(d.path) for d in project.destinations if isinstance(d, FileDestination)]
    return sum(_erase_under(root, customer_id) for root in roots if root.exists())


def _erase_under(root: Path, customer_id: str) -> int:
    removed = 0
    for manifest_path in sorted(root.rglob("*.manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        path = manifest_path.with_name(manifest["file"])
        if not path.exists():
            continue
        table = pq.read_table(path) if manifest["format"] == "parquet" else _read_csv_as_text(path)
        if "customer_id" not in table.column_names:
            continue
        kept = table.filter(pc.fill_null(pc.not_equal(table["customer_id"], customer_id), True))
        if kept.num_rows < table.num_rows:
            removed += table.num_rows - kept.num_rows
            about = {k: v for k, v in manifest.items() if k not in MANIFEST_FACTS}
            write_table(path.parent, path.name.rsplit(".", 1)[0], kept, manifest["format"], about)
    return removed


def _read_csv_as_text(path: Path) -> pa.Table:
    """Every column as text, so a rewrite keeps values as written (postcodes keep their zeros)."""
    with path.open(encoding="utf-8") as handle:
        names = next(csv.reader(handle), [])
    types = {name: pa.string() for name in names}
    return pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(column_types=types))


def flatten(payload: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested payload keys as dotted columns (trajectory.from); lists stay JSON text."""
    flat: dict[str, Any] = {}
    for key, value in payload.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = json.dumps(value) if isinstance(value, list) else value
    return flat


def rows_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows with possibly different keys as one table; a column of mixed types becomes text."""
    names = list(dict.fromkeys(key for row in rows for key in row))
    arrays = {}
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    return pa.table(arrays) if names else pa.table({"idempotency_key": pa.array([], pa.string())})


def load_plugin(config: PluginDestination) -> Sender:
    """Instantiate 'package.module:Class' with the destination's config; it must implement Sender."""
    module_name, _, class_name = config.plugin.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise DeliveryError(f"destination {config.name}: cannot load plug-in {config.plugin}: {exc}") from None
    sender = factory(config)
    if not isinstance(sender, Sender):
        raise DeliveryError(f"destination {config.name}: {config.plugin} has no send(batch) and close()")
    return sender


def open_sender(config: DestinationBase) -> Sender:
    """The sender for a declared destination."""
    if isinstance(config, WebhookDestination):
        return WebhookSender(config)
    if isinstance(config, FileDestination):
        return FileSender(config)
    if isinstance(config, PluginDestination):
        return load_plugin(config)
    raise TypeError(f"unknown destination type {type(config).__name__}")
