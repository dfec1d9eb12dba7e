"""Shared by the activation tests: a real webhook receiver on loopback and planted data.

The receiver fails, stalls and throttles at random (seeded), checks signatures with its
own HMAC code and counts what it accepted by idempotency key, so the tests judge the
deliverer against something that shares no code with it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

import segmento
from segmento.config import Project, parse_project
from segmento.dynamics.alerts import ALERTS, alerts_table


class Receiver:
    """Accepts POSTed ``{"messages": [...]}`` batches; the odds of each misbehaviour are per request.

    - fail: answer 500 without keeping the batch;
    - throttle: answer 429 with ``Retry-After``;
    - slow: wait ``slow_seconds`` (longer than the sender's timeout), then keep the batch:
      the sender gives up and re-sends, so the same keys arrive twice;
    - lose: keep the batch but answer 500 (a lost acknowledgement, same effect).
    ``gate_at``: the n-th request keeps its batch and then blocks until ``release`` is set,
    so a test can kill the sender in the middle of a batch.
    """

    def __init__(self, secret: str | None = None, seed: int = 0, fail: float = 0.0, throttle: float = 0.0,
                 slow: float = 0.0, lose: float = 0.0, slow_seconds: float = 0.6, retry_after: str = "0",
                 gate_at: int | None = None) -> None:
        self.secret = secret
        self.rng = random.Random(seed)
        self.odds = {"fail": fail, "throttle": throttle, "slow": slow, "lose": lose}
        self.slow_seconds = slow_seconds
        self.retry_after = retry_after
        self.gate_at = gate_at
        self.gated = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.accepted: Counter[str] = Counter()  # idempotency key -> times kept
        self.first: dict[str, dict[str, Any]] = {}  # idempotency key -> message as first kept
        self.changed_payloads = 0  # a key re-sent with a different message
        self.bad_signatures = 0
        self.truncated = 0
        self.requests = 0
        self.fates: Counter[str] = Counter()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def signed_correctly(self, headers: Any, body: bytes) -> bool:
        if self.secret is None:
            return True
        timestamp = headers.get("X-Segmento-Timestamp", "")
        mac = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(headers.get("X-Segmento-Signature", ""), f"sha256={mac}")

    def keep(self, body: bytes) -> None:
        with self.lock:
            for message in json.loads(body)["messages"]:
                key = message["idempotency_key"]
                self.accepted[key] += 1
                if key in self.first and self.first[key] != message:
                    self.changed_payloads += 1
                self.first.setdefault(key, message)

    def fate(self) -> str:
        with self.lock:
            self.requests += 1
            if self.gate_at is not None and self.requests == self.gate_at:
                fate = "gate"
            else:
                draw, fate = self.rng.random(), "ok"
                for name, odds in self.odds.items():
                    if draw < odds:
                        fate = name
                        break
                    draw -= odds
            self.fates[fate] += 1
            return fate

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died while sending: not a signing error
                    with receiver.lock:
                        receiver.truncated += 1
                    return None
                if not receiver.signed_correctly(self.headers, body):
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    return self.answer(401)
                fate = receiver.fate()
                if fate == "fail":
                    return self.answer(500)
                if fate == "throttle":
                    return self.answer(429, {"Retry-After": receiver.retry_after})
                if fate == "slow":
                    time.sleep(receiver.slow_seconds)
                receiver.keep(body)
                if fate == "gate":
                    receiver.gated.set()
                    receiver.release.wait(30)
                self.answer(500 if fate == "lose" else 200)

            def answer(self, code: int, headers: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(code)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender hung up (timed out or was killed)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


PERIOD = date(2024, 2, 29)


def customers(count: int) -> list[str]:
    return [f"C{i:05d}" for i in range(count)]


def plant_alerts(ws: segmento.Workspace, count: int, seed: int = 0) -> pd.DataFrame:
    """``count`` customers, each with one stored trajectory alert (rows we write ourselves)."""
    rng = random.Random(seed)
    ids = customers(count)
    ws.ingest("customers", pd.DataFrame({"customer_id": ids, "signup_date": "2023-01-01"}))
    alerts = pd.DataFrame({
        "alert_id": [f"vip_slide|{PERIOD}|{c}" for c in ids],
        "period": PERIOD,
        "customer_id": ids,
        "rule": "vip_slide",
        "segmentation": "value",
        "from_segment": "vip",
        "to_segment": "good",
        "kind": "negative",
        "journey": "win-back",
        "priority": [round(rng.uniform(10, 900), 2) for _ in ids],
        "created_at": datetime(2024, 3, 1),
    })
    alerts_table(ws.con)
    ws.con.insert(ALERTS, alerts)
    return alerts


def webhook_project(url: str, secret: str | None = "s3cret", extra: str = "", **destination: Any) -> Project:
    """One webhook destination 'crm' taking every alert, with destination options as YAML values."""
    options = "".join(f"\n    {key}: {json.dumps(value)}" for key, value in destination.items())
    secret_line = f"\n    secret: {secret}" if secret else ""
    return parse_project(
        f"destinations:\n  - name: crm\n    type: webhook\n    url: {url}{secret_line}{options}\n{extra}"
        "routes:\n  - name: all\n    alerts: '*'\n    to: [crm]\n",
        Path("segmento.yaml"),
    )
