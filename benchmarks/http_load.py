"""HTTP load from this process against a server in another: raw keep-alive HTTP/1.1 over
asyncio (uvloop when installed), so the load costs little of the CPU the server shares.

Two shapes: ``saturate`` sends as fast as the server answers over a few connections (what
a lookup endpoint can sustain); ``mixed`` sends reads at a steady rate beside event POSTs
at a steady rate (what a write costs while channels read). Latency is per request, from
the first byte sent to the last byte read.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Load:
    """What one run measured."""

    requests: int
    seconds: float
    latencies: np.ndarray  # seconds
    errors: int
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else float("nan")

    def ms(self, q: float) -> float:
        return float(np.percentile(self.latencies, q) * 1000) if len(self.latencies) else float("nan")

    def __str__(self) -> str:
        top = self.latencies.max() * 1000 if len(self.latencies) else float("nan")
        return (f"{self.rate:>8,.0f} req/s  p50 {self.ms(50):6.2f} ms  p95 {self.ms(95):6.2f} ms  "
                f"max {top:7.2f} ms  ({self.requests:,} in {self.seconds:.1f} s, {self.errors} errors)")


def _loop_policy() -> None:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover
        pass


def get(path: str, headers: dict[str, str]) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode()


def post(path: str, headers: dict[str, str], body: dict) -> bytes:
    data = json.dumps(body).encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (f"POST {path} HTTP/1.1\r\nHost: bench\r\n{extra}Content-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode() + data


class _Recorder:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    async def send(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> None:
        began = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        self.latencies.append(time.perf_counter() - began)
        status = int(head[9:12])
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def load(self, seconds: float) -> Load:
        errors = sum(n for status, n in self.statuses.items() if status >= 300)
        return Load(len(self.latencies), seconds, np.array(self.latencies), errors, self.statuses)


def saturate(port: int, requests: list[bytes], connections: int, limit: int, seconds: float) -> Load:
    """``limit`` requests at most, for ``seconds`` at most, over ``connections`` keep-alive connections."""
    _loop_policy()

    async def main() -> Load:
        recorder, deadline, sent = _Recorder(), time.perf_counter() + seconds, 0

        async def client() -> None:
            nonlocal sent
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            while sent < limit and time.perf_counter() < deadline:
                request = requests[sent % len(requests)]
                sent += 1
                await recorder.send(reader, writer, request)
            writer.close()

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(connections)))
        return recorder.load(time.perf_counter() - began)

    return asyncio.run(main())


def mixed(port: int, reads: list[bytes], read_rate: float, write: Callable[[int], bytes], write_rate: float,
          seconds: float, connections: int = 4) -> tuple[Load, Load]:
    """Reads at ``read_rate`` per second over ``connections`` beside writes at ``write_rate`` on one more:
    (reads, writes). Each connection keeps its own schedule; a late answer delays its next request only."""
    _loop_policy()

    async def paced(recorder: _Recorder, make: Callable[[int], bytes], rate: float, offset: int, step: int,
                    deadline: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        due, i = time.perf_counter(), offset
        while time.perf_counter() < deadline:
            await recorder.send(reader, writer, make(i))
            i += step
            due += 1 / rate
            pause = due - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
        writer.close()

    async def main() -> tuple[Load, Load]:
        read, written = _Recorder(), _Recorder()
        deadline = time.perf_counter() + seconds
        began = time.perf_counter()
        await asyncio.gather(
            paced(written, write, write_rate, 0, 1, deadline),
            *(paced(read, lambda i: reads[i % len(reads)], read_rate / connections, c, connections, deadline)
              for c in range(connections)),
        )
        took = time.perf_counter() - began
        return read.load(took), written.load(took)

    return asyncio.run(main())


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    """A process's resident memory now (VmRSS) or at its peak so far (VmHWM), in MB."""
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith(f"{field_name}:"):
            return int(row.split()[1]) / 1024
    return float("nan")
