"""A small HTTP load generator for ``bench_api`` where ``wrk`` is not installed.

``python -m tests.bench.api_load URL COOKIE DURATION_S CONNECTIONS`` prints "<requests/s> <p99 ms>".
Runs in its own process so its CPU is not the server's. Each connection is a raw keep-alive
HTTP/1.1 stream sending one pre-built request at a time and reading the answer by its
Content-Length: a full HTTP client would spend more CPU than the server it measures, and on a
two-core machine that CPU is taken from the server.
"""

from __future__ import annotations

import asyncio
import sys
import time
from urllib.parse import urlsplit

#: Longest wait for one answer before the run fails: a stalled server is a fault, not a figure.
ANSWER_TIMEOUT_S = 10.0


def request_bytes(url: str, cookie: str) -> tuple[str, int, bytes]:
    """Host, port and the bytes of ``GET url`` with the session cookie, keep-alive."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    head = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\nConnection: keep-alive\r\n\r\n"
    return host, port, head.encode()


async def _answer(reader: asyncio.StreamReader) -> None:
    """Read one response; refuse anything but 200 with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, headers = head.partition(b"\r\n")
    if b" 200 " not in status_line:
        raise RuntimeError(f"server answered {status_line.decode(errors='replace')}")
    for line in headers.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            await reader.readexactly(int(value))
            return
    raise RuntimeError("answer without Content-Length")


async def _connection(host: str, port: int, request: bytes, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            began = time.perf_counter()
            writer.write(request)
            await asyncio.wait_for(_answer(reader), ANSWER_TIMEOUT_S)
            latencies.append(time.perf_counter() - began)
    finally:
        writer.close()


async def main(url: str, cookie: str, duration_s: float, connections: int) -> tuple[float, float]:
    """Requests per second over the run and the p99 latency in milliseconds."""
    host, port, request = request_bytes(url, cookie)
    latencies: list[float] = []
    began = time.perf_counter()
    until = began + duration_s
    await asyncio.gather(*(_connection(host, port, request, until, latencies) for _ in range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return len(latencies) / elapsed, latencies[int(len(latencies) * 0.99)] * 1000


if __name__ == "__main__":
    import uvloop  # pinned with uvicorn: the generator's own loop costs less CPU, leaving more to the server

    rps, p99_ms = uvloop.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
    print(f"{rps:.1f} {p99_ms:.2f}")
