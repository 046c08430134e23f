"""A small HTTP load generator for ``bench_api`` where ``wrk`` is not installed.

``python -m tests.bench.api_load URL COOKIE DURATION_S CONNECTIONS`` prints "<requests/s> <p99 ms>".
Runs in its own process so its CPU is not the server's.
"""

from __future__ import annotations

import asyncio
import sys
import time

import httpx


async def _worker(client: httpx.AsyncClient, url: str, until: float, latencies: list[float]) -> None:
    while time.perf_counter() < until:
        began = time.perf_counter()
        response = await client.get(url)
        response.raise_for_status()
        latencies.append(time.perf_counter() - began)


async def main(url: str, cookie: str, duration_s: float, connections: int) -> tuple[float, float]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers={"Cookie": cookie}, limits=limits, timeout=10) as client:
        began = time.perf_counter()
        until = began + duration_s
        await asyncio.gather(*(_worker(client, url, until, latencies) for _ in range(connections)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return len(latencies) / elapsed, latencies[int(len(latencies) * 0.99)] * 1000


if __name__ == "__main__":
    rps, p99_ms = asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
    print(f"{rps:.1f} {p99_ms:.2f}")
