"""Activation: outbox write overhead per event, and messages per second delivered to a local receiver.

The receiver is a plain http.server in its own process (so it does not share our GIL);
the baseline posts the same batches with httpx and no outbox, no consent, no bookkeeping.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

import httpx
import pandas as pd
import pyarrow as pa

import segmento
from benchmarks.common import line, peak_rss_mb, section, timed
from segmento.activation.deliver import Deliverer, reopening
from segmento.activation.routing import enqueue_alerts
from segmento.config import Project, parse_project
from segmento.dynamics.alerts import ALERT_SCHEMA, ALERTS, alerts_table
from segmento.store.backend import append, transaction

RECEIVER = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count = 0
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers["Content-Length"]))
        count += body.count(b'"idempotency_key"')
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        text = str(count).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(text))); self.end_headers()
        self.wfile.write(text)
    def log_message(self, *args): pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_port, flush=True)
server.serve_forever()
"""


def alert_rows(count: int, tag: str = "") -> pa.Table:
    ids = [f"C{i:07d}" for i in range(count)]
    return pa.Table.from_pylist(
        [{"alert_id": f"slide{tag}|{c}", "period": date(2024, 2, 29), "customer_id": c, "rule": "slide",
          "segmentation": "value", "from_segment": "vip", "to_segment": "good", "kind": "negative",
          "journey": "win-back", "priority": 100.0, "created_at": datetime(2024, 3, 1)} for c in ids],
        ALERT_SCHEMA.to_pyarrow(),
    )


def project(url: str, destinations: int = 1, batch_size: int = 100, channel: str | None = None) -> Project:
    names = [f"d{i}" for i in range(destinations)]
    extra = f", channel: {channel}" if channel else ""
    listed = "".join(f"  - {{name: {n}, type: webhook, url: '{url}', batch_size: {batch_size}{extra}}}\n" for n in names)
    return parse_project(f"destinations:\n{listed}routes:\n  - {{name: all, alerts: '*', to: [{', '.join(names)}]}}\n")


def store_alerts(ws: segmento.Workspace, rows: pa.Table, enqueue_for: Project | None) -> None:
    """What a producer does: store the alerts, and queue their messages in the same transaction."""
    with transaction(ws.con):
        if enqueue_for is not None:
            enqueue_alerts(ws.con, enqueue_for, alerts=rows)
        append(ws.con, ALERTS, rows)


def write_overhead(directory: Path, events: int) -> None:
    rows = alert_rows(events)
    timings = {}
    for label, destinations in (("alerts only", 0), ("alerts + outbox, 1 destination", 1),
                                 ("alerts + outbox, 2 destinations", 2)):
        with segmento.connect(directory / f"write{destinations}.duckdb") as ws:
            alerts_table(ws.con)
            target = project("http://127.0.0.1:9/x", destinations) if destinations else None
            _, timings[label] = timed(lambda: store_alerts(ws, rows, target))
        line(label, timings[label], events)
    base = timings["alerts only"]
    for label in list(timings)[1:]:
        print(f"  outbox overhead ({label.split(', ')[1]}): {(timings[label] - base) / events * 1e6:,.1f} µs per event")


def delivery(directory: Path, url: str, messages: int, batch_size: int, process_mode: bool) -> float:
    """Seconds to deliver ``messages`` alerts in batches, in-process or with a connection per step."""
    db = directory / f"deliver-{batch_size}-{process_mode}.duckdb"
    config = project(url, batch_size=batch_size)
    with segmento.connect(db, config) as ws:
        alerts_table(ws.con)
        store_alerts(ws, alert_rows(messages, f"{batch_size}{process_mode}"), config)
        if not process_mode:
            report, seconds = timed(lambda: ws.deliver(until="settled"))
    if process_mode:
        deliverer = Deliverer(config, reopening(db))
        report, seconds = timed(lambda: deliverer.run("settled"))
        deliverer.close()
    assert report.tallies["d0"].delivered == messages, report
    return seconds


def baseline(url: str, messages: int, batch_size: int) -> float:
    """Plain httpx: the same JSON batches, no outbox, no consent, no retries."""
    payloads = [json.dumps({"idempotency_key": f"k{i}", "customer_id": f"C{i}", "type": "alert"}) for i in range(messages)]

    def post_all() -> None:
        with httpx.Client() as client:
            for start in range(0, messages, batch_size):
                body = '{"messages":[' + ",".join(payloads[start:start + batch_size]) + "]}"
                client.post(url, content=body, headers={"Content-Type": "application/json"}).raise_for_status()

    return timed(post_all)[1]


def consent_cost(directory: Path, url: str, messages: int) -> None:
    """The same delivery to an email-bound destination, with a ledger of two rows per customer."""
    config = project(url, channel="email")
    with segmento.connect(directory / "consent.duckdb", config) as ws:
        ids = [f"C{i:07d}" for i in range(messages)]
        ws.ingest("customers", pd.DataFrame({"customer_id": ids, "signup_date": "2023-01-01"}))
        ledger = pd.DataFrame({"customer_id": ids * 2, "channel": "email", "purpose": "marketing",
                               "granted": [True] * messages + [i % 4 != 0 for i in range(messages)],
                               "recorded_at": [datetime(2024, 1, 1)] * messages + [datetime(2024, 6, 1)] * messages})
        ws.ingest("consents", ledger)
        alerts_table(ws.con)
        store_alerts(ws, alert_rows(messages, "c"), config)
        report, seconds = timed(lambda: ws.deliver(until="settled"))
    tally = report.tallies["d0"]
    line(f"consent-checked delivery ({tally.filtered:,} held back)", seconds, messages)


def run(scale: float) -> None:
    events = max(int(200_000 * scale), 1_000)
    messages = max(int(50_000 * scale), 500)
    server = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{server.stdout.readline().strip()}/hook"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            with section(f"activation: outbox write overhead, {events:,} alerts in one transaction"):
                write_overhead(directory, events)
            with section(f"activation: delivery of {messages:,} messages to a local receiver"):
                for batch_size, count in ((100, messages), (1, max(messages // 20, 100))):
                    plain = baseline(url, count, batch_size)
                    line(f"plain httpx POST, batch {batch_size} (no outbox)", plain, count)
                    line(f"segmento deliver in-process, batch {batch_size}", delivery(directory, url, count, batch_size, False), count, plain)
                    line(f"segmento deliver, connection per step, batch {batch_size}", delivery(directory, url, count, batch_size, True), count, plain)
                consent_cost(directory, url, messages)
            print(f"  receiver counted {int(httpx.get(url).text):,} messages in all; peak RSS {peak_rss_mb():,.0f} MB")
    finally:
        server.terminate()
        server.wait()
